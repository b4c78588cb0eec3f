"""A test that fails early leaves no server behind, and a leaked server fails the run.

Each case runs a small pytest session in a subprocess with the suite's own
fixtures and hooks (`-p tests.conftest`), so the outer run stays clean. The
subprocess timeout only bounds a hang (pytest-lsp's own fixture waited forever
for a server that was never told to exit).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.support.lsp import ROOT

FAILS_BEFORE_INITIALIZE = """
from pathlib import Path

async def test_fails_before_initialize(client):
    Path({pid_file!r}).write_text(str(client._server.pid))
    raise AssertionError("failed before initialize")
"""

LEAKS_A_SERVER = """
import subprocess, sys
from pathlib import Path

def test_starts_a_server_and_forgets_it():
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsp_server", "serve"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    Path({pid_file!r}).write_text(str(proc.pid))
"""


def run_inner(tmp_path: Path, source: str, *args: str) -> tuple[subprocess.CompletedProcess, int]:
    """Run `source` as a test file under the suite's conftest; return the result and server pid."""
    pid_file = tmp_path / "server.pid"
    test_file = tmp_path / "test_inner.py"
    test_file.write_text(source.format(pid_file=str(pid_file)))
    plugins = ["-p", "tests.conftest", "-p", "no:cacheprovider"]
    config = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, *config, "-q", *args, str(test_file)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=240,  # a hang guard: the run takes seconds
    )
    return done, int(pid_file.read_text())


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_failing_before_initialize_stops_the_server(tmp_path):
    done, pid = run_inner(tmp_path, FAILS_BEFORE_INITIALIZE, "-n", "0")  # one process
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 failed" in out and "failed before initialize" in out
    assert "LEAKED" not in out
    assert not alive(pid)


# pyproject's addopts run the suite on pytest-xdist workers: a worker's leak must fail
# the controller's run too.
@pytest.mark.parametrize("workers", ["0", "1"], ids=["one-process", "xdist-worker"])
def test_a_server_left_running_fails_the_run(tmp_path, workers):
    done, pid = run_inner(tmp_path, LEAKS_A_SERVER, "-n", workers)
    out = done.stdout + done.stderr
    assert "1 passed" in out, out
    assert done.returncode == 1, out
    assert "LEAKED SERVER PROCESSES" in out and f"pid {pid}: " in out
    assert not alive(pid)  # and the check killed it
