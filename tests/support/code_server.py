"""A real VS Code for the tests: code-server with the built extension, seen through Chromium.

`tests/editors/install_clients.sh` installs code-server (npm), Debian's chromium and the
Playwright package, and builds the .vsix; `missing_tools()` says what is absent so the
tests skip with that script's name instead of installing anything themselves. Every
process started here is killed at the end: code-server runs in its own process group
(the extension host and the language server inherit it), and the browser is closed
and any process left below this one is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]  # tests/support/ -> the checkout
INSTALL_SCRIPT = "tests/editors/install_clients.sh"
TOOLS = Path(
    os.environ.get("CODELLAMA_LSP_EDITOR_TOOLS")
    or Path.home() / ".cache" / "codellama-lsp" / "editor-tools"
)
CODE_SERVER = TOOLS / "node_modules" / ".bin" / "code-server"
EXTENSION = ROOT / "editor_configs" / "vscode"
SERVER_ENV = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def vsix() -> Path:
    version = json.loads((EXTENSION / "package.json").read_text())["version"]
    return EXTENSION / f"codellama-lsp-{version}.vsix"


def missing_tools() -> str | None:
    """Why the real-VS-Code tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"the playwright package is not installed: run `bash {INSTALL_SCRIPT}`"
    if not os.access(CODE_SERVER, os.X_OK):
        return f"code-server is not installed at {CODE_SERVER}: run `bash {INSTALL_SCRIPT}`"
    if chromium() is None:
        return f"Debian's chromium is not installed: run `bash {INSTALL_SCRIPT}`"
    package = vsix()
    if not package.exists():
        return f"{package.name} is not built: run `bash {INSTALL_SCRIPT}`"
    sources = [*(EXTENSION / "src").glob("*.ts"), EXTENSION / "package.json"]
    if any(s.stat().st_mtime > package.stat().st_mtime for s in sources):
        return f"{package.name} is older than the extension's sources: run `bash {INSTALL_SCRIPT}`"
    return None


def user_settings(server_args: list[str]) -> dict:
    """A user's settings.json: the server from this checkout, a quiet workbench."""
    return {
        "codellamaLsp.client.serverPath": sys.executable,
        "codellamaLsp.client.serverArgs": server_args,
        "codellamaLsp.model": "bundled",
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "security.workspace.trust.enabled": False,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "extensions.autoUpdate": False,
        "files.autoSave": "off",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        # The group may outlive its leader (the extension host, the language server).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return


@contextlib.contextmanager
def code_server(base: Path, workspace: Path, server_args: list[str]) -> Iterator[str]:
    """code-server with the .vsix installed and `settings`; yields the workspace's URL."""
    data, extensions = base / "user-data", base / "extensions"
    for scope in ("User", "Machine"):  # serverPath is machine-scoped
        (data / scope).mkdir(parents=True, exist_ok=True)
        (data / scope / "settings.json").write_text(json.dumps(user_settings(server_args)))
    env = {**os.environ, **SERVER_ENV, "HOME": str(base / "home")}
    common = ["--user-data-dir", str(data), "--extensions-dir", str(extensions)]
    subprocess.run(
        [str(CODE_SERVER), *common, "--install-extension", str(vsix())],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = _free_port()
    log = (base / "code-server.log").open("w")
    proc = subprocess.Popen(
        [
            str(CODE_SERVER),
            *common,
            "--auth=none",
            f"--bind-addr=127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--disable-getting-started-override",
            str(workspace),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"code-server exited: {(base / 'code-server.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/?folder={workspace}"
    finally:
        _kill_group(proc)
        log.close()


@contextlib.contextmanager
def browser_page(screenshots: Path) -> Iterator:
    """A Chromium page (Debian's binary, no Playwright browser download)."""
    from playwright.sync_api import sync_playwright

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(120_000)
            yield page
        finally:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(screenshots / "last.png"))
            browser.close()
    finally:
        pw.stop()
        for child in psutil.Process().children(recursive=True):
            if child.pid not in before:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
