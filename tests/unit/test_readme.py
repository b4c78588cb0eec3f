"""The README's promises: its commands work, its settings table is complete."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

from lsp_server.settings import SETTINGS
from tests.support.lsp import ROOT, SERVER_ENV

README = (ROOT / "README.md").read_text()
COMMANDS = [
    line
    for line in README.split("```sh", 1)[1].split("```", 1)[0].splitlines()
    if line and not line.startswith("#")
]


def test_readme_starts_with_the_two_commands():
    assert len(COMMANDS) == 2
    assert "codellama-lsp complete" in COMMANDS[0]
    assert "pytest" in COMMANDS[1]


def test_ci_runs_the_readme_test_command():
    assert COMMANDS[1] in (ROOT / ".ci" / "run").read_text()


def test_first_command_prints_a_completion():
    """The main job, minus its `pip install` (done by the test setup itself)."""
    complete = COMMANDS[0].split("&&", 1)[1].strip()
    args = shlex.split(complete)
    assert args[0] == "codellama-lsp"
    out = subprocess.run(
        [sys.executable, "-m", "lsp_server", *args[1:]],
        cwd=ROOT,
        env=SERVER_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip(), out.stderr


def test_settings_table_lists_every_setting():
    table = set(re.findall(r"^\| `(\w+)` \|", README, flags=re.M))
    assert set(SETTINGS) <= table
