"""Bad command lines get one line saying what is wrong and what to do, and exit 2.

Each case runs the real command in a subprocess (`python -m lsp_server`) and
checks the whole of stderr: one line, the user's own 1-based numbers, no
traceback, nothing on stdout.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.engines.transformers.loader import gpu_driver_present
from tests.support.lsp import ROOT, SERVER_ENV

SOURCE = "import os\n\n\ndef list_files(path):\n    return os.listdir(path)\n"  # 6 lines


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lsp_server", *args],
        cwd=ROOT,
        env=env or SERVER_ENV,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard, not a speed test
    )


def one_line_error(done: subprocess.CompletedProcess) -> str:
    """The single stderr line of a usage error (exit 2, nothing on stdout)."""
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.endswith("\n") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert line.startswith("codellama-lsp")
    return line


@pytest.fixture
def source(tmp_path: Path) -> str:
    path = tmp_path / "files.py"
    path.write_text(SOURCE)
    return str(path)


def at(source: str, line: int = 4, column: int = 1, *more: str) -> tuple[str, ...]:
    return ("complete", source, "--line", str(line), "--column", str(column), *more)


def test_binary_file(tmp_path):
    path = tmp_path / "program"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + b"\xd0\xff" * 8)
    line = one_line_error(run("complete", str(path), "--line", "1", "--column", "1"))
    assert f"cannot read {path}: not UTF-8 text (byte 0xd0 at offset 8)" in line
    assert "UTF-8 source file" in line


def test_missing_file(tmp_path):
    line = one_line_error(run(*at(str(tmp_path / "nope.py"))))
    assert "nope.py: No such file or directory" in line


def test_settings_not_json(source):
    line = one_line_error(run(*at(source, 4, 1, "--settings", "not json")))
    assert "--settings is not valid JSON (Expecting value at character 1)" in line
    assert "pass a JSON object" in line


def test_settings_not_an_object(source):
    line = one_line_error(run(*at(source, 4, 1, "--settings", "[1, 2]")))
    assert "--settings must be a JSON object, not list" in line


def test_unknown_setting_is_reported(source):
    line = one_line_error(run(*at(source, 4, 1, "--settings", '{"maxTokens": 5}')))
    assert "unknown setting 'maxTokens' (did you mean 'maxNewTokens'?)" in line


def test_invalid_setting_uses_command_line_wording(source):
    line = one_line_error(run(*at(source, 4, 1, "--settings", '{"maxNewTokens": -5}')))
    assert "'maxNewTokens' must be at least 1; got -5" in line
    assert "previous settings kept" not in line


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        (0, 1, "--line 0 is not a line; lines are numbered from 1"),
        (-3, 1, "--line -3 is not a line; lines are numbered from 1"),
        (50, 1, "--line 50 is past the end of the file (6 lines); use 1 to 6"),
        (4, 0, "--column 0 is not a column; columns are numbered from 1"),
        (4, 500, ":4: --column 500 is past the end of line 4 (21 characters); use 1 to 22"),
    ],
)
def test_positions_in_the_users_numbers(source, line, column, message):
    assert message in one_line_error(run(*at(source, line, column)))


def test_last_line_and_column_are_accepted(source):
    """The bounds the messages name are real: line 6 column 1 and line 4 column 22 work."""
    for line, column in ((6, 1), (4, 22)):
        done = run("prompt", source, "--line", str(line), "--column", str(column))
        assert done.returncode == 0, done.stderr


def test_not_a_number():
    line = one_line_error(run("complete", "x.py", "--line", "x", "--column", "1"))
    assert "argument --line: invalid int value: 'x'" in line
    assert "see codellama-lsp complete --help" in line


def test_tcp_not_a_port():
    line = one_line_error(run("serve", "--tcp", "notaport"))
    assert "--tcp notaport: expected HOST:PORT with a port from 1 to 65535" in line


def test_tcp_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("serve", "--tcp", f"127.0.0.1:{port}")
    assert done.returncode == 2, done.stderr
    [*_, line] = done.stderr.strip().splitlines()  # after "serving LSP on ..."
    assert f"cannot listen on 127.0.0.1:{port}:" in line and "choose another --tcp" in line
    assert "Traceback" not in done.stderr


def test_cuda_without_a_gpu(source):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    line = one_line_error(run(*at(source, 4, 1, "--device", "cuda")))
    assert "PyTorch sees no CUDA GPU; use --device cpu" in line
    assert "bundled" not in line


def offline_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An empty hub cache and no proxy: the hub is only what `extra` says."""
    env = {k: v for k, v in SERVER_ENV.items() if "proxy" not in k.lower()}
    return {**env, "HF_HOME": str(tmp_path / "hf"), **extra}


@pytest.mark.parametrize(
    "extra",
    [{"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": "http://127.0.0.1:9"}],  # port 9: nobody listens
    ids=["offline-mode", "unreachable"],
)
def test_hub_id_that_cannot_be_fetched(tmp_path, source, extra):
    args = ("prompt", source, "--line", "4", "--column", "1", "--model", "someorg/no-such-model")
    line = one_line_error(run(*args, env=offline_env(tmp_path, **extra)))
    assert "Could not load model 'someorg/no-such-model': it is not in the local" in line
    assert "hf download someorg/no-such-model" in line
    assert "Retry" not in line


@pytest.mark.skipif(gpu_driver_present(), reason="a GPU driver: torch decides about CUDA")
def test_prompt_does_not_import_torch(source):
    position = ("--line", "4", "--column", "1")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lsp_server", "prompt", source, *position],
        cwd=ROOT,
        env=SERVER_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "<PRE>" in done.stdout and "def list_files(path):" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "lsp_server.cli" in imported and "torch" not in imported
