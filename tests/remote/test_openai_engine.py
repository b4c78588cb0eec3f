"""The OpenAI-compatible engine (`/v1/completions`) against the loopback fake."""

from __future__ import annotations

import threading

import pytest

from benchmarks.fake_server import FakeServer, Reply, Tok
from lsp_server.engines.remote.http_stream import RemoteError
from lsp_server.generation import CancelToken
from tests.support.remote_helpers import make_engine, run, text_request


def test_streams_a_schema_valid_completion(fake):
    fake.plan("/v1/completions", Reply(tokens=[Tok(" return"), Tok(" x")]))
    engine = make_engine("openai", fake.url)
    result = run(engine, text_request(max_new_tokens=16, stops=(" <EOT>", "<EOT>")))
    assert (result.text, result.stop_reason) == (" return x", "eot")
    body = fake.requests[-1]["body"]
    assert body == {
        "prompt": ["<PRE> def f(x): <SUF>\n <MID>"],
        "max_tokens": 16,
        "temperature": 0.0,
        "stream": True,
        "model": "codellama/CodeLlama-13b-hf",
        "stop": [" <EOT>", "<EOT>"],
    }
    assert [r["path"] for r in fake.requests] == ["/v1/models", "/v1/completions"]


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_endpoint_with_or_without_v1(fake, suffix):
    engine = make_engine("openai", fake.url + suffix)
    assert run(engine, text_request()).text == " return x\n"
    assert fake.requests[-1]["path"] == "/v1/completions"


def test_length_finish(fake):
    fake.plan("/v1/completions", Reply(tokens=[Tok(" a"), Tok(" b")], finish="length"))
    result = run(make_engine("openai", fake.url), text_request())
    assert (result.text, result.stop_reason) == (" a b", "length")


def test_stop_string_is_cut_client_side(fake):
    fake.plan("/v1/completions", Reply(tokens=[Tok("x = 1"), Tok("<|file_sep|>b.py"), Tok("...")]))
    request = text_request(stops=("<|endoftext|>", "<|file_sep|>"))
    result = run(make_engine("openai", fake.url, family="qwen"), request)
    assert (result.text, result.stop_reason) == ("x = 1", "eot")


def test_cancel_mid_stream(fake):
    fake.plan("/v1/completions", Reply(tokens=[Tok(f" t{i}") for i in range(100)], delay=0.02))
    engine = make_engine("openai", fake.url)
    cancel = CancelToken()
    threading.Thread(target=lambda: fake.wait_sent(3) and cancel.set(), daemon=True).start()
    result = run(engine, text_request(), cancel)
    assert result.stop_reason == "cancelled"
    assert fake.disconnected.wait(5)
    assert fake.tokens_sent < 100


def test_vllm_model_listing_bounds_the_budget():
    with FakeServer(model_id="Qwen/Qwen2.5-Coder-7B", vllm_models=3000) as server:
        engine = make_engine("openai", server.url)
        assert engine.describe().model_id == "Qwen/Qwen2.5-Coder-7B"
        assert engine.profile.family.name == "qwen"
        assert engine.prompt_budget(64, 8192) == 3000 - 64
        assert server.errors == []


def test_string_prompt_after_a_server_refuses_a_list():
    refusal = "json: cannot unmarshal array into Go struct field .prompt of type string"
    with FakeServer() as server:
        server.plan("/v1/completions", Reply(status=400, error=refusal))
        engine = make_engine("openai", server.url)
        assert run(engine, text_request()).text == " return x\n"
        bodies = [r["body"] for r in server.requests if r["path"] == "/v1/completions"]
        assert isinstance(bodies[0]["prompt"], list) and isinstance(bodies[1]["prompt"], str)
        # The spec wants a list: the fake flags the string form, which is what Ollama needs.
        assert len(server.errors) == 1 and "prompt" in server.errors[0]
        run(engine, text_request())  # remembered: no second refusal
        assert len([r for r in server.requests if r["path"] == "/v1/completions"]) == 3


def test_other_400s_are_not_retried_as_strings(fake):
    fake.plan("/v1/completions", Reply(status=400, error="max_tokens must be at least 1"))
    with pytest.raises(RemoteError, match="HTTP 400"):
        run(make_engine("openai", fake.url), text_request())
    assert len([r for r in fake.requests if r["path"] == "/v1/completions"]) == 1


def test_model_setting_picks_one_of_several_served_models():
    names = ("qwen2.5-coder:7b-base", "starcoder2:3b")
    with FakeServer(model_id="codellama:13b-code", other_models=names) as server:
        engine = make_engine("openai", server.url, model="codellama:13b-code")
        assert engine.profile.family.name == "codellama"
        run(engine, text_request())
        assert server.requests[-1]["body"]["model"] == "codellama:13b-code"
        # Without the setting the first listed model is used.
        assert make_engine("openai", server.url).describe().model_id == names[0]
        assert server.errors == []
