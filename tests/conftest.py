"""Shared fixtures: the real server over stdio, driven by pytest-lsp's client."""

from __future__ import annotations

import sys

import pytest
from pytest_lsp import LanguageClient

from tests.support.lsp import CONFIG, initialize
from tests.support.server_processes import leaked_servers, lsp_fixture


def pytest_configure(config: pytest.Config) -> None:
    import torch

    torch.set_num_threads(1)


@lsp_fixture(CONFIG)
async def client(lsp_client: LanguageClient):
    """A fresh server per test; the test initializes it the way it needs.

    Stopped (shutdown/exit, else killed) when the test ends, initialized or not.
    """
    yield


@lsp_fixture(CONFIG, scope="module")
async def shared(lsp_client: LanguageClient):
    """One server for a whole module (bundled model, default settings), to keep the suite fast.

    Modules using it need `pytestmark = pytest.mark.asyncio(loop_scope="module")`.
    """
    await initialize(lsp_client, {"model": "bundled"})
    yield


_WORKER_LEAKS = "leaked_servers"  # what a pytest-xdist worker hands its controller
_LEAKS = pytest.StashKey[list[str]]()  # the controller's collection of them


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist controller: keep what a worker found leaked (its exit status is not used)."""
    output = getattr(node, "workeroutput", None) or {}
    leaked = node.config.stash.setdefault(_LEAKS, [])
    leaked.extend(f"{node.gateway.id}: {line}" for line in output.get(_WORKER_LEAKS, []))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run, loudly, if a server process the suite started is still alive (then kill it).

    Under pytest-xdist each worker checks its own children and hands the list to the
    controller (`pytest_testnodedown`), which fails the run.
    """
    leaked = leaked_servers()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker
        workeroutput[_WORKER_LEAKS] = leaked
        return
    from_workers: list[str] = session.config.stash.get(_LEAKS, [])
    leaked += from_workers
    if leaked:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["LEAKED SERVER PROCESSES (killed now; a fixture did not stop them):", *leaked]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True, bold=True)
        else:
            print("\n".join(lines), file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
