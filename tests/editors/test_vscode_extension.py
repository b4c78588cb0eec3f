"""The VS Code extension builds, passes its Node protocol tests and packages to a .vsix.

`npm ci` only needs the npm registry; the Node tests run the real server through
`vscode-languageserver-protocol` with VS Code's own client capabilities.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.support.lsp import ROOT, SERVER_ENV

VSCODE = ROOT / "editor_configs" / "vscode"
pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")


def npm(*args: str) -> subprocess.CompletedProcess:
    env = {**SERVER_ENV, "PYTHON": sys.executable, "CI": "true"}
    return subprocess.run(
        ["npm", *args], cwd=VSCODE, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.timeout(900)  # npm ci, the Node tests and packaging, each bounded at 900 s
def test_build_test_and_package(tmp_path):
    """The .vsix goes to a temporary folder: the checkout's one (what install_clients.sh
    built, and tests/editors/test_vscode_real.py installs, maybe at the same time on
    another pytest-xdist worker) is never rewritten under it."""
    out = tmp_path / "codellama-lsp.vsix"
    outputs = {}
    steps = (
        ("ci", "--no-audit", "--no-fund"),
        ("test",),
        ("run", "package", "--", "--out", str(out)),
    )
    for step in steps:
        done = npm(*step)
        log = f"npm {' '.join(step)}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        assert done.returncode == 0, log
        outputs[step[0]] = done.stdout
    assert "# fail 0" in outputs["test"] and "# pass " in outputs["test"]
    assert out.stat().st_size > 10_000
