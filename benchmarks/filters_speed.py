"""Cost of the filters on the keystroke path.

The engine calls `is_complete` after every decode step, on the whole text so
far, so a request of N tokens costs N calls on a growing text. Prints the
total per request for a few lengths (one thread, this machine).

    python -m benchmarks.filters_speed
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.filters import is_complete, postprocess

ROOT = Path(__file__).resolve().parents[1]

CHARS_PER_TOKEN = 3.2


def main() -> int:
    source = (ROOT / "lsp_server" / "completion" / "context.py").read_text()
    # A 250 KB file with the cursor in a function body, code after it.
    ctx = CompletionContext(
        source * 20 + "def f(x):\n    ", "\n    return x\n" + source * 20, "python"
    )
    text = "".join(f"    y{i} = foo(x, [{i}, {i + 1}])  # note\n" for i in range(400))
    postprocess(text[:10], ctx)  # the per-request facts, computed once
    print(f"{'new tokens':>10} {'is_complete calls':>18} {'total ms':>9} {'last call ms':>13}")
    for tokens in (64, 256, 1024):
        steps = [int(i * CHARS_PER_TOKEN) for i in range(1, tokens + 1)]
        start = time.perf_counter()
        for end in steps:
            is_complete(text[:end], ctx)
        total = time.perf_counter() - start
        start = time.perf_counter()
        is_complete(text[: steps[-1]], ctx)
        last = time.perf_counter() - start
        print(f"{tokens:>10} {tokens:>18} {total * 1e3:>9.1f} {last * 1e3:>13.3f}")
    # Once per answer: postprocess, whose syntax checks parse a window of the file.
    for reason in ("eot", "length"):
        for name, answer in (
            ("multi-line", text[:400]),
            ("mid-line run-on", "x, y)\n" + text[:400]),
        ):
            mid = CompletionContext(ctx.prefix + "    z = f(", ", w)\n" + ctx.suffix, "python")
            use = mid if name.startswith("mid") else ctx
            postprocess(answer, use, reason)  # the per-request facts
            start = time.perf_counter()
            for _ in range(20):
                postprocess(answer, use, reason)
            took = (time.perf_counter() - start) / 20
            print(f"postprocess {name:<16} stop {reason:<7} {took * 1e3:7.2f} ms")
    start = time.perf_counter()
    fresh = CompletionContext(ctx.prefix, ctx.suffix + " ", "python")
    is_complete("x", fresh)
    print(
        f"first call on a new 250 KB context (scans the file once): "
        f"{(time.perf_counter() - start) * 1e3:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
