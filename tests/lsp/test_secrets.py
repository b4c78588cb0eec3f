"""No secret in anything the server writes: stdout frames, stderr with -v, stats, messages.

The token is configured the ways users do (initialize options, a changed
setting, the environment), used against a loopback TGI fake, and then
mistyped in the ways that used to be quoted back (a list, CRLF, non-Latin-1).
"""

from __future__ import annotations

import pytest

from benchmarks.fake_server import FakeServer
from lsp_server.server.custom_methods import STATS
from tests.support.raw_stdio import RawServer

pytestmark = pytest.mark.timeout(240)
MARK = "SECRET-4242"
TOKEN = f"sk-hostile-{MARK}-token"
ENV_TOKEN = f"env-{MARK}-token"
URI = "file:///secrets/m.py"


def configure(srv: RawServer, **settings) -> None:
    srv.notify("workspace/didChangeConfiguration", {"settings": {"codellamaLsp": settings}})


def test_the_token_never_appears_in_any_output() -> None:
    with FakeServer(token=TOKEN) as fake:
        srv = RawServer(verbose=True, env={"CODELLAMA_LSP_API_TOKEN": ENV_TOKEN})
        try:
            srv.initialize({"engine": "tgi", "endpoint": fake.url, "apiToken": TOKEN})
            info = srv.wait_ready()
            assert info["state"] == "ready", info
            assert info["settings"]["apiToken"] == "***"
            srv.open(URI, "def f(x):\n    ")
            assert srv.inline(URI, 1, 4)["result"], "the remote engine answered"
            for bad in ([TOKEN], {"t": TOKEN}, TOKEN + "\r\nX-Evil: 1", TOKEN + "é€😀"):
                configure(srv, apiToken=bad)
            configure(srv, apiToken="wrong-" + TOKEN)  # the fake refuses it: 401
            assert srv.inline(URI, 1, 4)["result"] == []
            assert srv.call(STATS, {})["result"]["settings"]["apiToken"] == "***"
            srv.call("shutdown")
            srv.notify("exit")
            assert srv.wait_exit(20) == 0
            stdout = b"".join(srv.received).decode("utf-8", "replace")
            stderr = srv.stderr()
        finally:
            srv.close()
    # The test can fail: the token was really used, and -v logged the traffic.
    assert any(r["headers"].get("authorization") == f"Bearer {TOKEN}" for r in fake.requests)
    assert "Sending data" in stderr and "Language server initialized" in stderr
    messages = [m for m in srv.seen if m.get("method", "").startswith("window/")]
    assert any("apiToken" in m["params"]["message"] for m in messages), messages
    assert any("refused the API token" in m["params"]["message"] for m in messages), messages
    for where, text in (("stdout", stdout), ("stderr", stderr)):
        assert MARK not in text, f"{where} leaks the token"
        assert "sk-hostile" not in text, f"{where} leaks part of the token"
