"""End to end in Emacs 30: real eglot, editor_configs/emacs/codellama-lsp.el, the
real server from this checkout and the bundled model.

`eglot_driver.el` does what a user does in `emacs --batch` (completion at
point, "Write docstring" and "Generate unit tests" picked from
`eglot-code-actions`, the edit prompt answered "y", buffers saved) and writes
what it saw to a JSON file; this test checks that and the files on disk.
The workspace has no `tests/` folder: eglot announces no `resourceOperations`,
so the server must create the test file itself.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "editor_configs" / "emacs" / "codellama-lsp.el"
DRIVER = Path(__file__).with_name("eglot_driver.el")
INSTALL = "tests/editors/install_emacs.sh"
TIMEOUT = 400


def emacs_30() -> str | None:
    emacs = shutil.which("emacs")
    if emacs is None:
        return None
    probe = subprocess.run(
        [emacs, "--batch", "--eval", "(princ emacs-major-version)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return emacs if probe.returncode == 0 and int(probe.stdout or 0) >= 30 else None


EMACS = emacs_30()
pytestmark = pytest.mark.skipif(
    EMACS is None, reason=f"Emacs 30 (eglot 1.17) not installed: run {INSTALL}"
)

SOURCE = '''def reverse_words(text):
    """Reverse the order of words in text."""
    return " ".join(reversed(text.split()))


def add(a, b):
    total = a + b
    return total


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)
'''


def run_emacs(workspace: Path, result: Path) -> subprocess.CompletedProcess[str]:
    """Emacs and the server it starts in their own process group, killed whatever happens."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    assert EMACS is not None  # the module is skipped without it
    argv = [EMACS, "--batch", "-Q", "-l", str(DRIVER)]
    argv += [str(workspace), str(result), sys.executable, str(CONFIG)]
    proc = subprocess.Popen(
        argv,
        cwd=workspace,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        output = "(timed out)"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # eglot's server, if it outlived Emacs
        proc.wait(10)
    return subprocess.CompletedProcess(argv, proc.returncode, output, "")


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> tuple[Path, dict]:
    workspace = tmp_path_factory.mktemp("eglot") / "ws"
    (workspace / "pkg").mkdir(parents=True)
    (workspace / "pkg" / "__init__.py").write_text("")
    (workspace / "pyproject.toml").write_text("")
    (workspace / "pkg" / "strs.py").write_text(SOURCE)
    result_file = workspace.parent / "result.json"
    run = run_emacs(workspace, result_file)
    assert result_file.exists(), run.stdout
    results = json.loads(result_file.read_text())
    assert "error" not in results, f"{results['error']}\n{run.stdout}"
    assert results.get("ok"), run.stdout
    return workspace, results


def test_the_config_keeps_other_servers_settings(session):
    _, results = session
    assert results["server_class"] == "codellama-lsp-server"
    configuration = results["configuration"]
    assert configuration["pylsp"] == {"plugins": {"jedi": {"enabled": True}}}
    assert configuration["codellamaLsp"]["model"] == "bundled"


def test_requests_to_this_server_get_the_longer_timeout(session):
    _, results = session
    timeouts = dict(results["timeouts"])
    for method in (":textDocument/completion", ":textDocument/codeAction", ":codeAction/resolve"):
        assert timeouts.get(method) == 120, (method, results["timeouts"])


def test_completion_at_point_inserts_the_models_suggestion(session):
    _, results = session
    (candidate,) = results["candidates"]
    assert candidate.strip()
    assert results["completed"]
    assert results["line_after"] == "        self." + candidate.split("\n")[0]


def test_write_docstring_is_applied_and_saved(session):
    workspace, results = session
    saved = (workspace / "pkg" / "strs.py").read_text()
    assert saved == results["docstring_buffer"]
    tree = ast.parse(saved)
    add = next(n for n in tree.body if getattr(n, "name", "") == "add")
    assert ast.get_docstring(add)
    head, _, rest = SOURCE.partition("def add(a, b):\n")
    assert saved.startswith(head + "def add(a, b):\n")
    assert saved.endswith(rest[rest.index("    total = a + b") :])  # the body, all after it


def test_generate_unit_tests_creates_the_file_in_a_new_tests_folder(session):
    workspace, results = session
    test_file = workspace / "tests" / "test_strs.py"
    assert results["tests_file_existed_before_save"]  # created by the server, not by eglot
    assert results["tests_prompt"], "eglot asks before editing a file it does not visit"
    text = test_file.read_text()
    assert text == results["tests_buffer"]
    assert text.startswith("from pkg.strs import reverse_words\n\n\ndef test_reverse_words():\n")
    ast.parse(text)
