"""Serve one client on stdin/stdout until `exit`, end of input or the client dies.

pygls' stdio loop turned `exit` into exit code 0 whatever came before, kept
running after stdin closed while a generation was in flight, and trusted
every frame. Frames come from `framing.frames` on a reader thread (which also
parses JSON, so big bodies never block the event loop) and go one at a time
to `DocumentProtocol.receive` on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, BinaryIO

from pygls.io_ import StdoutWriter

from lsp_server.server.framing import frames

if TYPE_CHECKING:
    from lsp_server.server.document_sync import DocumentProtocol

log = logging.getLogger(__name__)


def serve_stdio(protocol: DocumentProtocol, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Run the session; returns the process exit code (LSP: 0 only after shutdown)."""
    return asyncio.run(_session(protocol, stdin, stdout))


async def _session(protocol: DocumentProtocol, stdin: BinaryIO, stdout: BinaryIO) -> int:
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[int] = loop.create_future()
    protocol.finished = finished
    protocol.set_writer(StdoutWriter(stdout))

    async def deliver(item: object) -> None:
        if not finished.done():
            protocol.receive(item)

    def pump() -> None:
        try:
            for item in frames(stdin):
                if finished.done():
                    return
                # One frame at a time: the reader never runs far ahead of the loop.
                asyncio.run_coroutine_threadsafe(deliver(item), loop).result()
        except Exception:
            log.exception("the message reader failed")
        finally:
            log.info("end of input")
            loop.call_soon_threadsafe(lambda: protocol.finish(0 if protocol._shutdown else 1))

    threading.Thread(target=pump, name="lsp-reader", daemon=True).start()
    return await finished
