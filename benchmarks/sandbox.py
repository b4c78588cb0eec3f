"""Run untrusted benchmark programs: own process, temp dir, no network, limits.

Each program runs in a fresh `python -I -S` (no site-packages, no user
paths) in an empty temporary directory, with CPU, memory, file-size and
open-file limits set in the child before exec, and in a new network
namespace when `unshare` allows it (`network_isolated` says whether it did).
A program that overruns its timeout is killed with its whole process group.
It runs as the benchmark's own user: it cannot reach the network, but could
write files that user may write (dropping to `nobody` would also lose access
to the interpreter under /root on this machine).
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

_MEMORY = 1024**3  # address space: HumanEval programs need a few MB
_FILE_SIZE = 1024**2


def _no_network_prefix() -> list[str]:
    """`unshare -rn` (new user + network namespace) if this machine allows it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    try:
        ok = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [unshare, "-rn"] if ok.returncode == 0 else []


class Sandbox:
    """Runs programs concurrently (at most `jobs` at a time); caches verdicts."""

    def __init__(self, timeout: float = 10.0, jobs: int = 2) -> None:
        self.timeout = timeout
        self._prefix = _no_network_prefix()
        self._slots = asyncio.Semaphore(jobs)
        self._verdicts: dict[str, asyncio.Task[bool]] = {}
        self.timeouts = 0

    @property
    def network_isolated(self) -> bool:
        return bool(self._prefix)

    def passes(self, source: str) -> asyncio.Task[bool]:
        """A task that is True when `source` exits with status 0 in time."""
        task = self._verdicts.get(source)
        if task is None:
            task = self._verdicts[source] = asyncio.ensure_future(self._run(source))
        return task

    async def _run(self, source: str) -> bool:
        async with self._slots:
            with tempfile.TemporaryDirectory(prefix="codellama-bench-") as tmp:
                Path(tmp, "check.py").write_text(source, encoding="utf-8")
                proc = await asyncio.create_subprocess_exec(
                    *self._prefix,
                    sys.executable,
                    "-I",
                    "-S",
                    "check.py",
                    cwd=tmp,
                    env={"PATH": os.defpath, "HOME": tmp, "PYTHONHASHSEED": "0"},
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    preexec_fn=self._limits,
                    start_new_session=True,
                )
                try:
                    return await asyncio.wait_for(proc.wait(), self.timeout) == 0
                except asyncio.TimeoutError:
                    self.timeouts += 1
                    os.killpg(proc.pid, signal.SIGKILL)
                    await proc.wait()
                    return False

    def _limits(self) -> None:
        """In the child, before exec: bound CPU, memory, files, core dumps."""
        cpu = int(self.timeout) + 1
        for limit, value in (
            (resource.RLIMIT_CPU, cpu),
            (resource.RLIMIT_AS, _MEMORY),
            (resource.RLIMIT_FSIZE, _FILE_SIZE),
            (resource.RLIMIT_NOFILE, 64),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(limit, (value, value))
