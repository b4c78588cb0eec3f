"""The benchmark sandbox that runs untrusted HumanEval programs."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.sandbox import Sandbox


def verdicts(sources: list[str], timeout: float = 3) -> list[bool]:
    async def go():
        box = Sandbox(timeout=timeout, jobs=2)
        return [await box.passes(s) for s in sources]

    return asyncio.run(go())


def test_exit_status_decides():
    assert verdicts(["assert 1 + 1 == 2", "assert 1 + 1 == 3", "raise SystemExit(0)"]) == [
        True,
        False,
        True,
    ]


def test_runaway_programs_are_stopped():
    loop, memory = "while True: pass", "x = bytearray(4 * 1024**3)"
    assert verdicts([loop, memory], timeout=2) == [False, False]


def test_no_network_and_no_site_packages(tmp_path):
    async def go():
        box = Sandbox(timeout=5)
        if not box.network_isolated:
            pytest.skip("unshare is not allowed here: the benchmark prints a warning")
        connect = (
            "import socket\n"
            "try:\n    socket.create_connection(('127.0.0.1', 9), timeout=2)\n"
            "except OSError as e:\n    assert 'unreachable' in str(e).lower(), e\n"
        )
        return [await box.passes(connect), await box.passes("import pytest")]

    assert asyncio.run(go()) == [True, False]


def test_each_program_starts_alone_in_a_fresh_temporary_directory():
    source = (
        "import os, tempfile\n"
        "assert os.getcwd().startswith(tempfile.gettempdir()), os.getcwd()\n"
        "assert os.listdir('.') == ['check.py'], os.listdir('.')\n"
        "open('left-behind', 'w').close()\n"
    )
    assert verdicts([source, source + "# a second, distinct program\n"]) == [True, True]
