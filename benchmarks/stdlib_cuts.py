"""The filters' oracle on code nobody tuned them on: standard-library modules.

Cuts a few modules of the running Python's standard library (`textwrap`,
`json.decoder`, `calendar`, `colorsys`, `shlex`) with the held-out cutting code
of `heldout_cuts.py` inside function bodies, as there (whole-line multi-line
holes and random spans, seed 13)
and feeds the filters the true middle alone and followed by each run-on
variant of `oracle_runon.py`, with the stop reason `filters_oracle` uses.
There are no unit tests to run, so a case passes when the filtered file has
the same syntax tree as the original (blank lines and trailing spaces aside).

    python -m benchmarks.stdlib_cuts [--per-module N] [--engine-stop]
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import random
import sys

from benchmarks.filters_oracle import filtered
from benchmarks.heldout_cuts import SEED, _multiline, _span
from benchmarks.oracle_runon import VARIANTS, runon
from lsp_server.completion.context import CompletionContext

MODULES = ("textwrap", "json.decoder", "calendar", "colorsys", "shlex")


def functions(text: str) -> list[tuple[int, int]]:
    """(body start, end) offsets of every function and method with a body of
    two statements or more; the body starts after the docstring, as in
    `heldout_cuts` (which cuts HumanEval function bodies)."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    found = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        if ast.get_docstring(node) is not None:
            body = body[1:]
        if len(body) < 2 or node.end_lineno is None:
            continue
        found.append((starts[body[0].lineno - 1], starts[node.end_lineno]))
    return sorted(found)


def cases(module: str, kind: str, count: int) -> list[tuple[str, str, str]]:
    """(prefix, middle, suffix) cuts inside `module`'s function bodies."""
    text = inspect.getsource(importlib.import_module(module))
    bodies = functions(text)
    rng = random.Random(f"{SEED}/{kind}/{module}")
    cut = _multiline if kind == "multiline" else _span
    seen: set[tuple[int, int]] = set()
    for _ in range(count * 3):
        if len(seen) >= count:
            break
        start, end = rng.choice(bodies)
        span = cut({"program": text[:end], "body": start}, rng)
        if span is not None:
            seen.add(span)
    return [(text[:a], text[a:b], text[b:]) for a, b in sorted(seen)]


def same_tree(source: str, want: str) -> bool:
    try:
        return ast.dump(ast.parse(source)) == want
    except SyntaxError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-module", type=int, default=60, help="cuts per module and kind")
    parser.add_argument("--show-failures", type=int, default=0, metavar="K")
    parser.add_argument(
        "--engine-stop", action="store_true", help="filter what the engine would generate"
    )
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}; modules: {', '.join(MODULES)}")
    if args.engine_stop:
        print("engine stop: the filters get what the engine would have generated")
    print(f"\n{'kind':<10} {'run-on':<7} {'filters on':>11} {'filters off':>12}  cases")
    shown = 0
    for kind in ("multiline", "span"):
        counts = {"plain": [0, 0, 0], "runon": [0, 0, 0]}
        for module in MODULES:
            want = ast.dump(ast.parse(inspect.getsource(importlib.import_module(module))))
            for prefix, middle, suffix in cases(module, kind, args.per_module):
                ctx = CompletionContext(prefix, suffix, "python")
                for variant in ("none", *VARIANTS):
                    raw = middle if variant == "none" else runon(middle, prefix, suffix, variant)
                    got = filtered(raw, ctx, variant, args.engine_stop)
                    row = counts["plain" if variant == "none" else "runon"]
                    ok = same_tree(prefix + got + suffix, want)
                    row[0] += ok
                    row[1] += same_tree(prefix + raw + suffix, want)
                    row[2] += 1
                    if not ok and shown < args.show_failures:
                        shown += 1
                        print(f"FAIL {module} {kind} [{variant}]\n  raw: {raw!r}\n  got: {got!r}")
        for name, (on, off, n) in counts.items():
            label = "no" if name == "plain" else "yes"
            print(f"{kind:<10} {label:<7} {on / n:>11.1%} {off / n:>12.1%}  {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
