"""Failures a shared server produces, and the messages a user gets for them."""

from __future__ import annotations

import logging
import socket

import pytest

from benchmarks.fake_server import FakeServer, Reply, Tok
from lsp_server.engines.factory import TOKEN_ENV
from lsp_server.engines.remote.errors import RemoteError
from tests.support.remote_helpers import make_engine, run, text_request

VALIDATION = (
    "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 2048. "
    "Given: 2045 `inputs` tokens and 64 `max_new_tokens`"
)


def test_429_and_503_are_retried_with_backoff(fake):
    fake.plan(
        "/generate_stream",
        Reply(status=429, error="Model is overloaded", error_type="overloaded", retry_after="0"),
        Reply(status=503, error="Service Unavailable", error_type="overloaded"),
        Reply(tokens=[Tok(" ok", 3431)]),
    )
    result = run(make_engine("tgi", fake.url), text_request())
    assert result.text == " ok"
    assert [r["path"] for r in fake.requests].count("/generate_stream") == 3


def test_retries_are_bounded(fake):
    overloaded = Reply(status=429, error="Model is overloaded", error_type="overloaded")
    fake.plan("/generate_stream", overloaded, overloaded, overloaded, overloaded)
    with pytest.raises(RemoteError, match=r"overloaded \(HTTP 429\) after 3 tries"):
        run(make_engine("tgi", fake.url, retries=2), text_request())
    assert [r["path"] for r in fake.requests].count("/generate_stream") == 3


def test_422_message_quotes_the_server_and_names_the_setting(fake):
    fake.plan("/generate_stream", Reply(status=422, error=VALIDATION))
    with pytest.raises(RemoteError) as info:
        run(make_engine("tgi", fake.url), text_request())
    message = str(info.value)
    assert "HTTP 422" in message and "must be <= 2048" in message
    assert "codellamaLsp.contextWindow" in message
    assert info.value.status == 422
    assert [r["path"] for r in fake.requests].count("/generate_stream") == 1  # no retry


def test_timeout_before_the_first_byte(fake):
    fake.plan("/generate_stream", Reply(stall=1.0))
    with pytest.raises(RemoteError, match=r"sent nothing for 0.3 s|[Tt]imed out"):
        run(make_engine("tgi", fake.url, read_timeout=0.3), text_request())


def test_timeout_in_the_middle_of_a_stream(fake):
    tokens = [Tok(" a", 1), Tok(" b", 2), Tok(" c", 3)]
    fake.plan("/generate_stream", Reply(tokens=tokens, delay=1.0))
    with pytest.raises(RemoteError, match=r"sent nothing for 0.3 s"):
        run(make_engine("tgi", fake.url, read_timeout=0.3), text_request())


def test_dropped_connection_mid_stream(fake):
    tokens = [Tok(f" t{i}", i) for i in range(10)]
    fake.plan("/generate_stream", Reply(tokens=tokens, drop_after=2))
    with pytest.raises(RemoteError, match="closed the connection in the middle of an answer"):
        run(make_engine("tgi", fake.url), text_request())


def test_error_event_inside_the_stream(fake):
    oom = "Request failed during generation: CUDA out of memory"
    tokens = [Tok(" a", 1), Tok(" b", 2)]
    fake.plan(
        "/generate_stream", Reply(tokens=tokens, fail_after=1, error=oom, error_type="generation")
    )
    with pytest.raises(RemoteError, match="failed while generating: Request failed during"):
        run(make_engine("tgi", fake.url), text_request())


def test_wrong_token_is_refused_and_never_shown(caplog):
    caplog.set_level(logging.DEBUG)
    with FakeServer(token="right-token-1234") as server:
        engine = make_engine("tgi", server.url, token="wrong-token-5678")
        with pytest.raises(RemoteError) as info:
            engine.describe()
        message = str(info.value)
        assert "refused the API token (HTTP 401)" in message
        assert "codellamaLsp.apiToken" in message and TOKEN_ENV in message
        assert "wrong-token-5678" not in message
        assert "wrong-token-5678" not in repr(engine.client) + repr(engine)
        assert "wrong-token-5678" not in caplog.text
        assert server.errors == []


def test_token_from_environment_is_sent(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "env-token-42")
    with FakeServer(token="env-token-42") as server:
        engine = make_engine("tgi", server.url)
        assert run(engine, text_request()).text == " return x\n"
        assert server.requests[-1]["headers"]["authorization"] == "Bearer env-token-42"


def test_missing_token(caplog):
    with (
        FakeServer(token="needed") as server,
        pytest.raises(RemoteError, match=r"requires an API token \(HTTP 401\)"),
    ):
        make_engine("tgi", server.url).describe()


def test_server_echoing_the_token_is_scrubbed(fake):
    fake.plan("/generate_stream", Reply(status=422, error="bad header Bearer tok-SECRET-9"))
    with pytest.raises(RemoteError) as info:
        run(make_engine("tgi", fake.url, token="tok-SECRET-9"), text_request())
    assert "tok-SECRET-9" not in str(info.value) and "***" in str(info.value)


def test_unreachable_server():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = make_engine("tgi", f"http://127.0.0.1:{port}")
    with pytest.raises(RemoteError, match=r"Cannot reach the tgi server .* connection refused"):
        engine.describe()


def test_wrong_engine_kind_gets_a_404_hint():
    with FakeServer() as server:
        engine = make_engine("openai", server.url + "/api")  # no such base path
        with pytest.raises(RemoteError, match=r"HTTP 404.*codellamaLsp.engine"):
            run(engine, text_request())


def test_not_json_answer(fake):
    fake.plan("/generate_stream", Reply(status=500, body=b"<html>Bad Gateway</html>"))
    with pytest.raises(RemoteError, match=r"failed \(HTTP 500\): <html>Bad Gateway"):
        run(make_engine("tgi", fake.url), text_request())


@pytest.mark.parametrize(
    "endpoint", ["", "localhost:8080", "ftp://host/", "http://host:port/", "ftp://u:pw@host"]
)
def test_bad_endpoint_setting(endpoint):
    with pytest.raises(RemoteError, match=r"codellamaLsp\.endpoint") as info:
        make_engine("tgi", endpoint)
    assert "pw" not in str(info.value)
