"""Server processes the tests start always stop, and a run that leaks one fails.

pytest-lsp's fixture skips `shutdown`/`exit` when the server has no
capabilities yet (a test that failed before `initialize`), then waits for the
process with no bound: the suite hangs and the server is orphaned. `lsp_fixture`
replaces `pytest_lsp.fixture` with a teardown that always ends the process:
a polite `shutdown`/`exit` when the session was initialized, closing its stdin,
then terminate and kill, each step bounded. `leaked_servers` finds server
processes still alive at the end of the run (the conftest hook fails the run).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable
from typing import Any

import psutil
import pytest_asyncio
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.plugin import get_fixture_arguments

SHUTDOWN_GRACE = 10.0  # seconds for `shutdown` to be answered (a model may be loading)
EXIT_GRACE = 3.0  # seconds for the process to exit after `exit` or end of input


async def stop_server(client: LanguageClient) -> None:
    """End the client's server process whatever state it is in; never waits unbounded."""
    server = client._server
    if server is not None and server.returncode is None:
        if client.capabilities is not None and client.error is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.shutdown_async(None), SHUTDOWN_GRACE)
        with contextlib.suppress(Exception):
            client.exit(None)  # also ends a server that was never initialized
        if server.stdin is not None:
            with contextlib.suppress(Exception):
                server.stdin.close()  # end of input: pygls stops reading
        for signal_it in (None, server.terminate, server.kill):
            if signal_it is not None:
                with contextlib.suppress(ProcessLookupError):
                    signal_it()
            try:
                await asyncio.wait_for(server.wait(), EXIT_GRACE)
                break
            except asyncio.TimeoutError:
                continue
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.stop(), EXIT_GRACE)


def lsp_fixture(config: ClientServerConfig, **kwargs: Any) -> Callable:
    """Like `pytest_lsp.fixture`, but the server is stopped even if the test or fixture fails.

    The fixture function receives `lsp_client`, may `yield` once, and needs no
    teardown of its own (`stop_server` sends `shutdown`/`exit`).
    """

    def wrapper(fn: Callable) -> Callable:
        if "scope" in kwargs:
            kwargs["loop_scope"] = kwargs["scope"]

        @pytest_asyncio.fixture(**kwargs)
        async def the_fixture(request):
            client = await config.start(devtools=request.config.getoption("devtools"))
            try:
                result = fn(**get_fixture_arguments(fn, client, request))
                if inspect.isasyncgen(result):
                    with contextlib.suppress(StopAsyncIteration):
                        await anext(result)
                elif inspect.iscoroutine(result):
                    await result
                yield client
                if inspect.isasyncgen(result):
                    with contextlib.suppress(StopAsyncIteration):
                        await anext(result)
            finally:
                await stop_server(client)

        the_fixture.__name__ = fn.__name__
        the_fixture.__doc__ = fn.__doc__
        return the_fixture

    return wrapper


def is_server(proc: psutil.Process) -> bool:
    """A codellama-lsp server (`python -m lsp_server ...` or the entry point), not a zombie."""
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return "lsp_server" in cmdline or "codellama-lsp" in cmdline


def leaked_servers(grace: float = EXIT_GRACE) -> list[str]:
    """Server processes this process started (at any depth) still alive; killed after `grace`.

    Returns one line per leaked process (pid and command line), empty when none.
    """
    servers = [p for p in psutil.Process().children(recursive=True) if is_server(p)]
    _, alive = psutil.wait_procs(servers, timeout=grace)
    leaked = []
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            leaked.append(f"pid {proc.pid}: {' '.join(proc.cmdline())}")
            proc.kill()
    return leaked
