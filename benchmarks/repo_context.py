"""Context from the workspace, measured on code nobody here wrote.

    python -m benchmarks.repo_context [--per-package 30] [--no-model] [--skip-10k]

Downloads the source distributions of requests, click, rich and flask with
pip into `benchmarks/.cache/repo_context/` (git ignores it), and picks, with
a fixed seed, lines of each package that call a function or class defined
in another module of the same package. The cursor goes where the call's
name starts plus its first two characters, and the rest of that line is
gone (the user is typing it). Cases are split in two halves by the seed:
`tune` (anything adjusted was looked at on these) and `report`. Printed:

- recall: the callee's signature line is in the prompt, with the context
  and without it (then only a same-file definition could be there: none is);
- exact match (report half only: the model is slow on this machine): the
  bundled model's greedy completion finishes the called name, with the
  context on and off (the bundled model's 2,048 positions);
- selection time per keystroke (p50/p95), typing each case's line key by
  key in a 2,000-file workspace (copies of the four packages);
- index build time and memory (tracemalloc, retained after the build) for
  2,000 and 10,000 files;
- prefill tokens per key in that replay, context on and off: the ids after
  the longest common prefix with the previous key's prompt (what the KV
  cache reuse cannot skip).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import tracemalloc
from dataclasses import dataclass, replace
from pathlib import Path

from lsp_server.completion.context import CompletionContext
from lsp_server.completion.prompter import IdsPrompter
from lsp_server.completion.service import CompletionService
from lsp_server.prompts.codellama_ids import PromptBuilder
from lsp_server.server.workspace_context import snippet_chars
from lsp_server.settings import Settings
from lsp_server.workspace.index import WorkspaceIndex
from lsp_server.workspace.selection import ContextSelector

CACHE = Path(__file__).resolve().parent / ".cache" / "repo_context"
PACKAGES = {
    "requests": ("2.32.3", "src/requests"),
    "click": ("8.1.7", "src/click"),
    "rich": ("13.9.4", "rich"),
    "flask": ("3.1.0", "src/flask"),
}
PIP_DOWNLOAD = (sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:")
SEED = 15
TYPED = 2  # characters of the name already typed
_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\(")


@dataclass
class Case:
    package: str
    path: Path
    line: int
    column: int  # where the called name starts
    name: str
    signature: str

    def document(self) -> tuple[str, int]:
        """The file with the call's line cut after the typed characters; the cursor offset."""
        text = self.path.read_text()
        lines = text.split("\n")
        before = "\n".join(lines[: self.line])
        typed = lines[self.line][: self.column + TYPED]
        after = "\n".join(lines[self.line + 1 :])
        head = before + "\n" + typed if self.line else typed
        return head + "\n" + after, len(head)


def download() -> dict[str, Path]:
    """Each package's unpacked sdist root (downloaded once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wanted = [f"{name}=={version}" for name, (version, _) in PACKAGES.items()]
    missing = [w for w in wanted if not list(CACHE.glob(w.replace("==", "-") + ".tar.gz"))]
    if missing:
        subprocess.run(
            [*PIP_DOWNLOAD, *missing, "-d", str(CACHE)],
            check=True,
            capture_output=True,
        )
    roots = {}
    for name, (version, _) in PACKAGES.items():
        root = CACHE / "src" / f"{name}-{version}"
        if not root.is_dir():
            with tarfile.open(CACHE / f"{name}-{version}.tar.gz") as tar:
                tar.extractall(CACHE / "src", filter="data")
        roots[name] = root
    return roots


def find_cases(name: str, root: Path, index: WorkspaceIndex, rng: random.Random) -> list[Case]:
    """Calls of a function/class that another module of the package defines."""
    package = (root / PACKAGES[name][1]).resolve()
    found: list[Case] = []
    for key, entry in sorted(index.files.items()):
        path = Path(key)
        if package not in path.parents:
            continue
        own = {d.name for d in entry.definitions}
        for number, line in enumerate(path.read_text().split("\n")):
            stripped = line.strip()
            if stripped.startswith(("#", "def ", "class ", "import ", "from ", "@")):
                continue
            for match in _CALL.finditer(line):
                callee = match.group(1)
                if callee in own or '"' in line[: match.start()] or "'" in line[: match.start()]:
                    continue
                defs = [
                    (p, d)
                    for p in index.defining(callee)
                    if package in Path(p).parents and p != key
                    for d in index.files[p].definitions
                    if d.name == callee and d.kind in ("function", "class")
                ]
                if len(defs) == 1:
                    sig = defs[0][1].signature
                    found.append(Case(name, path, number, match.start(), callee, sig))
                break  # the first call of a line
    rng.shuffle(found)
    return found


def settings(**changes) -> Settings:
    return Settings().merged({"model": "bundled", "device": "cpu", **changes})


def prompt_for(
    service: CompletionService, case: Case, s: Settings, with_context: bool
) -> tuple[CompletionContext, str]:
    text, offset = case.document()
    ctx = CompletionContext(text[:offset], text[offset:], "python")
    if with_context:
        selector = ContextSelector(INDEX[case.package])
        blocks = selector.select("case", str(case.path), text, offset, "python", snippet_chars(s))
        ctx = replace(ctx, context=blocks)
    built = service.prompter.completion(ctx, s)
    return ctx, built.context + built.prefix + built.suffix


INDEX: dict[str, WorkspaceIndex] = {}


def quality(cases: list[Case], service: CompletionService, use_model: bool, window: int) -> dict:
    s = settings(contextWindow=window, maxNewTokens=8)
    rows = {"recall_on": 0, "recall_off": 0, "match_on": 0, "match_off": 0}
    for case in cases:
        for on in (True, False):
            ctx, shown = prompt_for(service, case, s, on)
            rows["recall_on" if on else "recall_off"] += case.signature in shown
            if use_model:
                text = service.complete(ctx, s).text
                rest = case.name[TYPED:]
                hit = text.startswith(rest) and not text[len(rest) : len(rest) + 1].isidentifier()
                rows["match_on" if on else "match_off"] += hit
    return {k: v / max(len(cases), 1) for k, v in rows.items()}


def synthesize(roots: dict[str, Path], files: int) -> Path:
    """A workspace of `files` Python files: copies of the packages' own files."""
    target = CACHE / f"workspace-{files}"
    if target.is_dir() and len(list(target.rglob("*.py"))) >= files:
        return target
    shutil.rmtree(target, ignore_errors=True)
    sources = sorted(p for root in roots.values() for p in root.rglob("*.py"))
    count, copy = 0, 0
    while count < files:
        for src in sources:
            if count >= files:
                break
            root = next(r for r in roots.values() if r in src.parents)
            dest = target / f"copy{copy}" / root.name / src.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            count += 1
        copy += 1
    return target


def build_index(folder: Path, measure_memory: bool) -> tuple[WorkspaceIndex, float, float]:
    gc.collect()
    if measure_memory:
        tracemalloc.start()
    started = time.perf_counter()
    index = WorkspaceIndex([folder])
    index.build()
    seconds = time.perf_counter() - started
    megabytes = 0.0
    if measure_memory:
        gc.collect()
        megabytes = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
    return index, seconds, megabytes


def replay(cases: list[Case], index: WorkspaceIndex, ws: Path, roots, service) -> dict:
    """Type each case's line key by key in the big workspace: selection time, prefill/key."""
    times: list[float] = []
    prefill = {True: 0, False: 0}
    keys = 0
    s = settings()
    for case in cases:
        root = roots[case.package]
        path = ws / "copy0" / root.name / case.path.relative_to(root.resolve())
        lines = path.read_text().split("\n")
        line = lines[case.line]
        indent = len(line) - len(line.lstrip())
        before = "\n".join(lines[: case.line]) + "\n" + line[:indent]
        after = "\n" + "\n".join(lines[case.line + 1 :])
        selector = ContextSelector(index)
        real = str(path.resolve())
        chars = snippet_chars(s)
        previous: dict[bool, list[int]] = {True: [], False: []}
        for typed in range(indent, len(line) + 1):
            prefix = before + line[indent:typed]
            text = prefix + after
            started = time.perf_counter()
            blocks = selector.select("doc", real, text, len(prefix), "python", chars)
            times.append(time.perf_counter() - started)
            keys += 1
            for on in (True, False):
                ctx = CompletionContext(prefix, after, "python", blocks if on else ())
                ids = service.prompter.completion(ctx, s).ids
                prefill[on] += len(ids) - _common(ids, previous[on])
                previous[on] = ids
    times.sort()
    return {
        "keys": keys,
        "p50_ms": 1000 * statistics.median(times),
        "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))],
        "prefill_on": prefill[True] / keys,
        "prefill_off": prefill[False] / keys,
    }


def _common(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--per-package", type=int, default=20, help="cases per half and package")
    p.add_argument("--no-model", action="store_true", help="skip the exact-match runs")
    p.add_argument("--skip-10k", action="store_true")
    args = p.parse_args(argv)
    roots = download()
    rng = random.Random(SEED)
    tune: list[Case] = []
    report: list[Case] = []
    for name, root in roots.items():
        INDEX[name] = index = WorkspaceIndex([root])
        index.build()
        found = find_cases(name, root, index, rng)[: 2 * args.per_package]
        tune += found[0::2]
        report += found[1::2]
    if args.no_model:
        from lsp_server.engines.transformers.loader import load_tokenizer, resolve_model

        tok, positions = load_tokenizer(resolve_model("bundled", "cpu")[0])
        prompter = IdsPrompter(PromptBuilder(tok), positions)
        service = CompletionService(None, prompter)  # type: ignore[arg-type]
    else:
        import torch

        from lsp_server.cli import _load

        torch.set_num_threads(1)
        service = _load(settings())
    ids_prompter = service.prompter
    assert isinstance(ids_prompter, IdsPrompter)  # the bundled model, in process
    print(f"# repo_context  {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"# {platform.machine()} {platform.processor() or ''}; packages: {dict(PACKAGES)}")
    for label, cases in (("tune", tune), ("report", report)):
        for window in (2048, 4096):
            model = not args.no_model and window == 2048 and label == "report"
            ids_prompter.max_positions = 0 if window == 4096 else ids_prompter.max_positions
            q = quality(cases, service, model, window)
            match = (
                f"  exact match on {q['match_on']:.0%} / off {q['match_off']:.0%}" if model else ""
            )
            print(
                f"{label:6} n={len(cases):3} window {window}: recall on {q['recall_on']:.0%} "
                f"/ off {q['recall_off']:.0%}{match}",
                flush=True,
            )
    ids_prompter.max_positions = 2048
    ws2k = synthesize(roots, 2000)
    index2k, seconds, megabytes = build_index(ws2k, measure_memory=False)
    print(f"index 2,000 files: {len(index2k.files)} indexed in {seconds:.1f} s")
    _, _, megabytes = build_index(ws2k, measure_memory=True)
    print(f"index 2,000 files: {megabytes:.1f} MB retained (tracemalloc)")
    r = replay(report[:20], index2k, ws2k, roots, service)
    print(
        f"replay {r['keys']} keys, 2,000 files: selection p50 {r['p50_ms']:.2f} ms, "
        f"p95 {r['p95_ms']:.2f} ms; prefill tokens/key on {r['prefill_on']:.1f} / off "
        f"{r['prefill_off']:.1f} (x{r['prefill_on'] / max(r['prefill_off'], 1e-9):.2f})"
    )
    if not args.skip_10k:
        ws10k = synthesize(roots, 10000)
        index10k, seconds, _ = build_index(ws10k, measure_memory=False)
        print(f"index 10,000 files: {len(index10k.files)} indexed in {seconds:.1f} s")
        del index10k
        _, _, megabytes = build_index(ws10k, measure_memory=True)
        print(f"index 10,000 files: {megabytes:.1f} MB retained (tracemalloc)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
