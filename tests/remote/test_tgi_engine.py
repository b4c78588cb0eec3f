"""The TGI engine against the loopback fake: streaming, stops, cancel, budget."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from benchmarks.fake_server import FakeServer, Reply, Tok
from lsp_server.generation import CancelToken
from lsp_server.prompts.families import FamilyError
from tests.support.remote_helpers import make_engine, run, text_request


def test_info_gives_model_family_and_budget(fake):
    engine = make_engine("tgi", fake.url)
    served = engine.describe()
    assert served.model_id == "codellama/CodeLlama-13b-hf"
    assert (served.max_input_tokens, served.max_total_tokens) == (1024, 2048)
    assert engine.profile.family.name == "codellama"
    assert engine.profile.fim
    # min(max_input_tokens, max_total - new, contextWindow - new, family window - new)
    assert engine.prompt_budget(64, 4096) == 1024
    assert engine.prompt_budget(1500, 4096) == 2048 - 1500
    assert engine.prompt_budget(64, 512) == 512 - 64
    assert [r["path"] for r in fake.requests] == ["/info"]  # asked once


def test_streams_text_and_sends_a_schema_valid_request(fake):
    fake.plan("/generate_stream", Reply(tokens=[Tok(" return", 736), Tok(" x", 921)]))
    engine = make_engine("tgi", fake.url)
    result = run(engine, text_request(max_new_tokens=32, stops=(" <EOT>", "<EOT>")))
    assert result.text == " return x"
    assert result.stop_reason == "eos"
    assert result.steps == 2
    body = fake.requests[-1]["body"]
    assert body["inputs"] == "<PRE> def f(x): <SUF>\n <MID>"
    params = body["parameters"]
    assert params["max_new_tokens"] == 32
    assert params["return_full_text"] is False and params["details"] is True
    assert params["stop"] == [" <EOT>", "<EOT>"]
    assert "temperature" not in params and params["do_sample"] is False


def test_sampling_parameters_only_when_sampling(fake):
    engine = make_engine("tgi", fake.url)
    run(engine, text_request(temperature=0.2, top_p=0.95))
    params = fake.requests[-1]["body"]["parameters"]
    assert params["do_sample"] is True
    assert params["temperature"] == 0.2 and params["top_p"] == 0.95


def test_schema_check_catches_an_invalid_request():
    """The fake's validation can fail: a zero temperature breaks TGI's schema."""
    with FakeServer() as server:
        engine = make_engine("tgi", server.url)
        body = engine.request_body(text_request())
        body["parameters"]["temperature"] = 0.0
        server.check("request /generate_stream", "GenerateRequest", body)
        assert any("temperature" in e for e in server.errors)


def test_stop_id_ends_the_middle(fake):
    tokens = [Tok(" a", 263), Tok(" +", 718), Tok(" <EOT>", 32010), Tok(" junk", 999)]
    fake.plan("/generate_stream", Reply(tokens=tokens, finish="length"))
    result = run(make_engine("tgi", fake.url), text_request())
    assert (result.text, result.stop_reason) == (" a +", "eot")


def test_special_token_ends_the_middle(fake):
    tokens = [Tok("x = 1", 10), Tok("<|endoftext|>", 0, special=True)]
    fake.plan("/generate_stream", Reply(tokens=tokens))
    result = run(make_engine("tgi", fake.url), text_request(stop_ids=()))
    assert (result.text, result.stop_reason) == ("x = 1", "eot")


def test_stop_string_split_across_tokens_is_cut(fake) -> None:
    tokens = [Tok(" y", 1), Tok(" <E", 2), Tok("OT> more", 3), Tok(" text", 4)]
    fake.plan("/generate_stream", Reply(tokens=tokens))
    seen: list[str] = []

    def should_stop(text: str) -> bool:
        seen.append(text)
        return False

    request = text_request(stop_ids=(), stops=(" <EOT>", "<EOT>"), should_stop=should_stop)
    result = run(make_engine("tgi", fake.url), request)
    assert (result.text, result.stop_reason) == (" y", "eot")
    assert all("<E" not in s for s in seen)  # a half-arrived stop is never shown


def test_should_stop_closes_the_stream_and_the_server_sees_it(fake):
    tokens = [Tok(f" t{i}", 100 + i) for i in range(40)]
    fake.plan("/generate_stream", Reply(tokens=tokens, delay=0.02))
    request = text_request(should_stop=lambda text: text.count(" t") >= 3)
    result = run(make_engine("tgi", fake.url), request)
    assert (result.text, result.stop_reason) == (" t0 t1 t2", "stop")
    assert fake.disconnected.wait(5)
    assert fake.tokens_sent < 40


def test_cancel_mid_stream_closes_the_connection(fake):
    tokens = [Tok(f" t{i}", 100 + i) for i in range(100)]
    fake.plan("/generate_stream", Reply(tokens=tokens, delay=0.02))
    engine = make_engine("tgi", fake.url)
    cancel = CancelToken()
    threading.Thread(target=lambda: fake.wait_sent(3) and cancel.set(), daemon=True).start()
    result = run(engine, text_request(max_new_tokens=100), cancel)
    assert result.stop_reason == "cancelled"
    assert fake.disconnected.wait(5)  # the server saw the client go away
    assert fake.tokens_sent < 100


def test_cancel_while_waiting_for_the_first_token(fake):
    fake.plan("/generate_stream", Reply(stall=1.5))
    engine = make_engine("tgi", fake.url, read_timeout=10.0)
    cancel = CancelToken()
    threading.Timer(0.2, cancel.set).start()
    result = run(engine, text_request(), cancel)
    assert result.stop_reason == "cancelled"
    assert result.text == "" and fake.tokens_sent == 0


def test_connection_is_reused_between_requests(fake):
    engine = make_engine("tgi", fake.url)
    run(engine, text_request())
    first = engine.client._idle
    assert first is not None
    run(engine, text_request())
    assert engine.client._idle is first


def test_stop_sequences_capped_by_server_limit():
    with FakeServer(max_stop_sequences=2) as server:
        engine = make_engine("tgi", server.url)
        run(engine, text_request(stops=("a", "b", "c", "a")))
        assert server.requests[-1]["body"]["parameters"]["stop"] == ["a", "b"]
        assert server.errors == []


def test_model_family_setting_overrides_detection():
    with FakeServer(model_id="/data/my-finetune") as server:
        with pytest.raises(FamilyError, match="modelFamily"):
            _ = make_engine("tgi", server.url).profile
        engine = make_engine("tgi", server.url, family="qwen")
        assert engine.profile.family.name == "qwen"


def test_budget_refuses_when_no_room_is_left(fake):
    engine = make_engine("tgi", fake.url)
    with pytest.raises(Exception, match="maxNewTokens"):
        engine.prompt_budget(2040, 4096)


def test_fake_server_answers_generate_per_the_spec(fake):
    """The fake's non-streaming /generate (the engine streams; this keeps the fake honest)."""
    body = {"inputs": "def f():", "parameters": {"max_new_tokens": 4, "details": False}}
    request = urllib.request.Request(
        fake.url + "/generate", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert json.loads(resp.read()) == {"generated_text": " return x\n"}
    fake.check("request /generate", "GenerateRequest", {"inputs": 42})
    assert len(fake.errors) == 1  # an invalid request is caught
    fake.errors.clear()
