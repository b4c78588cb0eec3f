"""The VS Code extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3), driven
through Chromium the way a user works: the .vsix installed, the server started by the
extension from this checkout, ghost text accepted with Tab and saved, "Write docstring"
and "Generate unit tests" from the lightbulb, the status bar, and a broken server
command reported in the server's own words.

Needs the tools of `tests/editors/install_clients.sh` (skipped without them; CI runs
the script first). Set CODELLAMA_LSP_SCREENSHOTS=DIR to keep screenshots of each step.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest

from tests.support.code_server import browser_page, code_server, missing_tools

_missing = missing_tools()
pytestmark = [
    pytest.mark.skipif(_missing is not None, reason=_missing or ""),
    pytest.mark.timeout(900),
]

SERVE = ["-m", "lsp_server", "serve"]
STACK = (
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n"
    "    def push(self, item):\n        "
)
CALC = "def add(a, b):\n    total = a + b\n    return total\n"
STRS = (  # a function the bundled model writes a whole pytest test for
    'def reverse_words(text):\n    """Reverse the order of words in text."""\n'
    '    return " ".join(reversed(text.split()))\n'
)
STATUS = "#codellama-lsp\\.codellama-lsp"  # the extension's status bar item
GHOST = ".ghost-text-decoration, .ghost-text"
MODEL_LOAD_MS = 240_000  # a loaded 2-core machine can take a minute to start and load
MODEL_RUN_MS = 180_000


class Session:
    """One code-server window on a temporary workspace, with screenshots on request."""

    def __init__(self, page, shots: Path | None):
        self.page, self.shots = page, shots

    def shot(self, name: str) -> None:
        if self.shots is not None:
            self.page.screenshot(path=str(self.shots / f"{name}.png"))

    def open(self, name: str) -> None:
        """Quick Open (Ctrl+P) the file, as a user would."""
        page = self.page
        page.keyboard.press("Control+p")
        page.locator(".quick-input-widget input").fill(name)
        page.locator(".quick-input-list .monaco-list-row", has_text=name).first.click()
        page.locator(f".tab.active[data-resource-name='{name}']").wait_for()
        page.locator(".monaco-editor .view-lines").first.click()

    def describe(self) -> str:
        """What the user sees, for a failure message: the editor, messages, status bar."""
        page = self.page
        editor = page.locator(".monaco-editor .view-lines").first.inner_text()
        toasts = page.locator(".notification-toast").all_inner_texts()
        return f"editor: {editor!r}; messages: {toasts}; status: {self.status_label()!r}"

    def status_label(self) -> str:
        return self.page.locator(f"{STATUS} a").get_attribute("aria-label") or ""

    def wait_status(self, icon: str, timeout_ms: int) -> str:
        self.page.locator(f"{STATUS} .codicon-{icon}").wait_for(timeout=timeout_ms)
        return self.status_label()

    def save(self) -> None:
        self.page.keyboard.press("Control+s")
        self.page.locator(".tab.active.dirty").wait_for(state="detached")

    def code_action(self, title_start: str) -> None:
        """Click the lightbulb and the action whose title starts with `title_start`."""
        page = self.page
        bulb = page.locator(".lightBulbWidget")
        bulb.wait_for(timeout=60_000)
        bulb.click()
        # Chosen with the keyboard: the menu's pointer block swallows synthetic clicks.
        focused = page.locator(".action-widget .monaco-list-row.focused")
        for _ in range(10):
            if (focused.get_attribute("aria-label") or "").startswith(title_start):
                page.keyboard.press("Enter")
                # The menu closes when the action runs (it stays if Enter hit a menu
                # that was being redrawn: fail with what the user sees).
                try:
                    page.locator(".action-widget").wait_for(state="hidden", timeout=30_000)
                except Exception as exc:
                    raise AssertionError(f"the menu stayed open; {self.describe()}") from exc
                return
            page.keyboard.press("ArrowDown")
        rows = page.locator(".action-widget .monaco-list-row").all_inner_texts()
        raise AssertionError(f"no code action {title_start!r} in the lightbulb menu: {rows}")


@pytest.fixture
def shots(tmp_path: Path) -> Path | None:
    keep = os.environ.get("CODELLAMA_LSP_SCREENSHOTS")
    if not keep:
        return None
    Path(keep).mkdir(parents=True, exist_ok=True)
    return Path(keep)


def session(tmp_path: Path, shots: Path | None, server_args: list[str]):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "stack.py").write_text(STACK)
    (workspace / "calc.py").write_text(CALC)
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "__init__.py").write_text("")
    (workspace / "pkg" / "strs.py").write_text(STRS)
    return workspace, code_server(tmp_path, workspace, server_args), browser_page(shots or tmp_path)


def wait_for_file(path: Path, needle: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and needle in (text := path.read_text()):
            return text
        time.sleep(0.5)
    found = path.read_text() if path.exists() else "(no file)"
    raise AssertionError(f"{path} never contained {needle!r}: {found!r}")


def test_ghost_text_tab_docstring_and_unit_tests(tmp_path, shots):
    workspace, server, browser = session(tmp_path, shots, SERVE)
    with server as url, browser as page:
        page.goto(url)
        page.locator(".monaco-workbench").wait_for()
        s = Session(page, shots)
        s.open("stack.py")
        ready = s.wait_status("sparkle", MODEL_LOAD_MS)
        assert "Code Llama is ready" in ready and "tiny-codellama-fim" in ready
        s.shot("1-ready")

        # Ghost text while typing; Tab accepts it; the saved file has it.
        page.keyboard.press("Control+End")
        page.keyboard.type("self.", delay=40)
        ghost = page.locator(GHOST).first
        ghost.wait_for(timeout=MODEL_RUN_MS)
        shown = ghost.inner_text()
        s.shot("2-ghost")
        assert shown.strip(), "an empty ghost text element"
        page.keyboard.press("Tab")
        page.locator(GHOST).first.wait_for(state="detached")
        s.save()
        saved = (workspace / "stack.py").read_text()
        assert saved.startswith(STACK + "self." + shown.splitlines()[0]), saved
        s.shot("3-accepted")

        # Write docstring from the lightbulb on `add`.
        s.open("calc.py")
        page.keyboard.press("Control+Home")
        page.keyboard.press("End")
        s.code_action("Write docstring for `add`")
        text = wait_for_file_after_save(s, workspace / "calc.py", '"""')
        assert text.startswith("def add(a, b):\n    ") and '"""' in text.split("\n")[1], text
        assert text.endswith("    total = a + b\n    return total\n"), "the body changed"
        s.shot("4-docstring")

        # Generate unit tests: tests/ does not exist; the file lands on disk.
        assert not (workspace / "tests").exists()
        s.open("strs.py")
        page.keyboard.press("Control+End")
        page.keyboard.press("ArrowUp")
        page.keyboard.press("End")
        s.code_action("Generate unit tests for `reverse_words`")
        tests_file = workspace / "tests" / "test_strs.py"
        # VS Code creates the file and saves it (files.refactoring.autoSave), unopened.
        try:
            generated = wait_for_file(tests_file, "def test_", MODEL_RUN_MS / 1000)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; {s.describe()}") from None
        assert "from pkg.strs import reverse_words" in generated, generated
        assert (workspace / "pkg" / "strs.py").read_text() == STRS
        s.shot("5-tests")

        assert "Code Llama is ready" in s.status_label()

        # The server dies: the status bar says how, the extension restarts it, ready again.
        (server_process,) = [  # the extension starts it in the workspace folder
            p
            for p in psutil.Process().children(recursive=True)
            if "lsp_server" in p.cmdline() and p.cwd() == str(workspace)
        ]
        server_process.kill()
        crashed = s.wait_status("error", 60_000)
        assert "stopped unexpectedly" in crashed and "SIGKILL" in crashed, crashed
        s.shot("6-restarting")
        assert "Code Llama is ready" in s.wait_status("sparkle", MODEL_LOAD_MS)
        assert page.locator(".notification-toast", has_text="stopped").count() == 0


def wait_for_file_after_save(s: Session, path: Path, needle: str) -> str:
    """Wait until the editor shows `needle`, save, and read the file back."""
    try:
        s.page.locator(".monaco-editor .view-lines", has_text=needle).first.wait_for(
            timeout=MODEL_RUN_MS
        )
    except Exception as exc:
        raise AssertionError(f"{needle!r} never showed in the editor; {s.describe()}") from exc
    s.save()
    return wait_for_file(path, needle, 30)


def test_broken_server_command_shows_the_servers_own_error(tmp_path, shots):
    _, server, browser = session(tmp_path, shots, [*SERVE, "--no-such-flag"])
    with server as url, browser as page:
        page.goto(url)
        page.locator(".monaco-workbench").wait_for()
        s = Session(page, shots)
        s.open("stack.py")
        label = s.wait_status("error", MODEL_LOAD_MS)
        s.shot("7-broken")
        # argparse's own line, not the client's "connection got disposed".
        assert "unrecognized arguments: --no-such-flag" in label, label
        assert "exit code 2" in label and "disposed" not in label, label
        toasts = page.locator(".notification-toast", has_text="--no-such-flag")
        toasts.first.wait_for()
        time.sleep(5)  # a restart loop would add more
        assert toasts.count() == 1
        assert page.locator(".notification-toast", has_text="disposed").count() == 0
        assert page.locator(".notification-toast", has_text="couldn't create").count() == 0
