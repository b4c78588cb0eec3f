"""A remote server that misbehaves delays one request, never wedges the worker.

Each hostile answer (benchmarks/fake_server.py `HOSTILE`) must end the
request within its deadline with one clear message or a capped answer, and
the next request to the same engine, or over the wire to the same server
process, is then served normally.
"""

from __future__ import annotations

import time

import pytest

from benchmarks.fake_server import HOSTILE, FakeServer, Reply
from lsp_server.engines.remote.errors import RemoteError
from tests.support.raw_stdio import RawServer
from tests.support.remote_helpers import make_engine, run, text_request

pytestmark = pytest.mark.timeout(300)
DEADLINE = 2.0
# A bound for a wedged request, far above the deadline (the machine is shared).
BOUND = DEADLINE * 3 + 10
EXPECTED = {  # what each misbehaviour ends as: an error naming it, or a capped answer
    "drip": "within",
    "keepalive": "within",
    "blackhole": "within",
    "empty": "length",
    "infinite": "length",
    "huge": "malformed",
    "huge_events": "length",
    "bad_utf8": "not UTF-8",
    "wrong_types": "wrong type",
    "token_list": "malformed",
}


def test_every_mode_is_covered() -> None:
    assert set(EXPECTED) == set(HOSTILE)


@pytest.mark.parametrize("mode", HOSTILE)
def test_a_hostile_answer_ends_within_the_deadline_and_the_next_is_served(mode: str) -> None:
    with FakeServer(check_answers=False) as fake:
        engine = make_engine("tgi", fake.url, total_timeout=DEADLINE, read_timeout=DEADLINE * 4)
        fake.plan("/generate_stream", Reply(hostile=mode))
        started = time.monotonic()
        try:
            result = run(engine, text_request(max_new_tokens=16))
            outcome: str = result.stop_reason  # a str enum: `in` reads its value
            assert len(result.text) <= 16 * 65536
        except RemoteError as exc:
            outcome = str(exc)
            assert "Traceback" not in outcome and "codellamaLsp" in outcome
        assert time.monotonic() - started < BOUND
        assert EXPECTED[mode] in outcome, outcome
        after = run(engine, text_request(max_new_tokens=16))
        assert after.text == " return x\n" and after.stop_reason == "eos"
        engine.close()


@pytest.fixture(scope="module")
def wire():
    with FakeServer(check_answers=False, lifetime=280) as fake:
        srv = RawServer()
        try:
            options = {"engine": "tgi", "endpoint": fake.url, "remoteDeadline": DEADLINE}
            srv.initialize(options)
            assert srv.wait_ready()["state"] == "ready"
            srv.open("file:///hostile/m.py", "def f(x):\n    ")
            yield srv, fake
        finally:
            srv.close()


@pytest.mark.parametrize("mode", HOSTILE)
def test_over_the_wire_a_hostile_server_never_wedges_the_worker(wire, mode: str) -> None:
    srv, fake = wire
    fake.plan("/generate_stream", Reply(hostile=mode))
    answer = srv.inline("file:///hostile/m.py", 1, 4, timeout=BOUND)
    assert "result" in answer, answer  # an answer, not an internal error
    # Nothing more planned: the fake answers " return x\n" as a healthy server.
    normal = srv.inline("file:///hostile/m.py", 1, 4, timeout=BOUND)
    assert normal["result"] and normal["result"][0]["insertText"].startswith("return x")
    errors = [m for m in srv.seen if m.get("method") == "window/showMessage"]
    assert all("Traceback" not in m["params"]["message"] for m in errors)
