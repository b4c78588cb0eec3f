"""Models over the wire: one in memory at a time, newest load wins, failures stay contained.

RSS is sampled every few milliseconds while the bundled model reloads: the
peak must stay under 1.3x the steady state, and its rise under 1.5x the
model's own weights (two models held at once rose by about twice them).
"""

from __future__ import annotations

import math
import sys
import threading
import time

import psutil
import pytest
from safetensors import safe_open

from benchmarks.fake_server import FakeServer, Reply, Tok
from lsp_server.server.custom_methods import STATS
from tests.support.lsp import BUNDLED
from tests.support.raw_stdio import RawServer

pytestmark = pytest.mark.timeout(300)
URI = "file:///life/m.py"
TEXT = "def add(a, b):\n    return "


def weights_bytes() -> int:
    """The bundled model's parameters in float32 (how the CPU holds them)."""
    total = 0
    for path in BUNDLED.glob("*.safetensors"):
        with safe_open(str(path), "pt") as f:
            for name in f.keys():  # noqa: SIM118 (safe_open is not iterable)
                total += math.prod(f.get_slice(name).get_shape()) * 4
    return total


def configure(srv: RawServer, **settings) -> None:
    srv.notify("workspace/didChangeConfiguration", {"settings": {"codellamaLsp": settings}})


def test_rss_during_a_reload_stays_near_one_model() -> None:
    srv = RawServer()
    try:
        proc = psutil.Process(srv.proc.pid)
        srv.initialize()
        srv.wait_ready()
        srv.open(URI, TEXT)
        assert srv.inline(URI, 1, 11)["result"]
        time.sleep(0.3)
        steady = proc.memory_info().rss
        peak = [steady]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], proc.memory_info().rss)
                time.sleep(0.003)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        configure(srv, kvCacheMaxMB=64)  # a reload key: the model loads again
        assert srv.inline(URI, 1, 11)["result"]
        stop.set()
        sampler.join(5)
        rise, model = peak[0] - steady, weights_bytes()
        print(
            f"steady {steady >> 20} MB, peak {peak[0] >> 20} MB (x{peak[0] / steady:.3f}), "
            f"rise {rise >> 20} MB, weights {model >> 20} MB"
        )
        assert peak[0] < 1.3 * steady
        assert rise < 1.5 * model
    finally:
        srv.close()


def test_two_quick_reloads_load_once_and_the_newest_wins() -> None:
    srv = RawServer()
    try:
        srv.initialize()
        srv.wait_ready()
        srv.open(URI, TEXT)
        configure(srv, kvCacheMaxMB=32)
        configure(srv, kvCacheMaxMB=48)
        assert srv.inline(URI, 1, 11)["result"]
        info = srv.wait_ready()
        assert info["state"] == "ready" and info["settings"]["kvCacheMaxMB"] == 48
        assert info["superseded_loads"] == 1
    finally:
        srv.close()


# Runs the real server with the engine's generate failing once, as a bug would.
FAULTY = (
    "import sys\n"
    "from lsp_server.engines.transformers import engine as t\n"
    "real = t.TransformersEngine.generate\n"
    "calls = []\n"
    "def generate(self, request, cancel):\n"
    "    calls.append(1)\n"
    "    if len(calls) == 1:\n"
    "        raise RuntimeError('injected fault')\n"
    "    return real(self, request, cancel)\n"
    "t.TransformersEngine.generate = generate\n"
    "from lsp_server.cli import main\n"
    "sys.exit(main(['serve']))\n"
)


def test_an_unexpected_exception_is_one_message_and_the_server_keeps_working() -> None:
    srv = RawServer(command=[sys.executable, "-c", FAULTY])
    try:
        srv.initialize()
        srv.wait_ready()
        srv.open(URI, TEXT)
        first = srv.inline(URI, 1, 11)
        assert first["result"] == [], first
        assert srv.inline(URI, 1, 11)["result"], "the next completion is served"
        popups = [m for m in srv.seen if m.get("method") == "window/showMessage"]
        assert len(popups) == 1 and "RuntimeError: injected fault" in popups[0]["params"]["message"]
        assert "Traceback" not in popups[0]["params"]["message"]
    finally:
        srv.close()


def test_did_close_cancels_the_documents_generation() -> None:
    slow = [Tok(" x", 921)] * 200
    with FakeServer(check_answers=False) as fake:
        srv = RawServer()
        try:
            srv.initialize({"engine": "tgi", "endpoint": fake.url, "maxNewTokens": 200})
            srv.wait_ready()
            srv.open(URI, TEXT)
            fake.plan("/generate_stream", Reply(tokens=slow, delay=0.1))
            pending = srv.request(
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": URI},
                    "position": {"line": 1, "character": 11},
                    "context": {"triggerKind": 2},
                },
            )
            assert fake.wait_sent(3, timeout=30)
            srv.notify("textDocument/didClose", {"textDocument": {"uri": URI}})
            assert srv.response(pending)["result"] == []
            assert fake.disconnected.wait(10), "the stream was dropped"
            assert fake.tokens_sent < 200
            assert srv.call(STATS, {})["result"]["cancelled"] >= 1
        finally:
            srv.close()
