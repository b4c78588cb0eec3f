"""Held-out infilling cuts of the full HumanEval programs, for the filters' oracle.

The two shared sets cut each program in few ways (one line; one light random
span). Filters tuned on them can still damage correct answers on other cuts
(issue 13), so this module cuts the same 164 programs (`prompt + canonical
middle + suffix` of the random-span set) anew, deterministically:

* `multiline`: whole-line holes of 2 to 8 lines of the function body;
* `span`: random spans that start and end anywhere in the body (usually
  mid-line), 1 to 400 characters.

Problems are split in two halves by a seeded shuffle: `tune` (look at its
failures, change the filters) and `report` (the numbers in RESULTS.md, never
used to change a rule). Every case keeps the problem's `test` and
`entry_point`, so `filters_oracle.program` runs it as is.

    python -m benchmarks.heldout_cuts            # prints the counts per kind and part
"""

from __future__ import annotations

import gzip
import json
import random
import re
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "eval" / "human-eval-infilling"
SOURCE = DATA / "HumanEval-RandomSpanInfillingLight.jsonl.gz"
SEED = 13
KINDS = ("multiline", "span")
PARTS = ("tune", "report")
PER_PROBLEM = {"multiline": 8, "span": 12}
_DOCSTRING_END = re.compile(r'("""|\'\'\')\s*\n')


@lru_cache(maxsize=1)
def programs() -> tuple[dict, ...]:
    """Each problem's full program and where its body starts (after the docstring)."""
    with gzip.open(SOURCE, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    out = []
    for row in rows:
        text = row["prompt"] + row["canonical_solution"] + row["suffix"]
        out.append({**row, "program": text, "body": _body_start(text, row["entry_point"])})
    return tuple(out)


def _body_start(text: str, entry: str) -> int:
    """Offset of the first line after the entry point's signature and docstring."""
    at = text.find(f"def {entry}(")
    at = 0 if at < 0 else at
    line_end = text.find("\n", at) + 1
    opening = text.find('"""', at)
    opening = opening if opening >= 0 else text.find("'''", at)
    if opening >= 0 and text[line_end:opening].strip() == "":
        end = _DOCSTRING_END.search(text, opening + 3)
        if end is not None:
            return end.end()
    return line_end


def split(problem_ids: list[str]) -> dict[str, set[str]]:
    """Problem ids per part: a seeded half each."""
    ids = sorted(problem_ids)
    random.Random(SEED).shuffle(ids)
    half = len(ids) // 2
    return {"tune": set(ids[:half]), "report": set(ids[half:])}


def _problem_id(task_id: str) -> str:
    return task_id.split("/")[2]


def cases(kind: str, part: str | None = None) -> list[dict]:
    """The held-out cases of `kind` ("multiline" | "span"), of one part or both."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    rows = programs()
    parts = split([_problem_id(r["task_id"]) for r in rows])
    out = []
    for row in rows:
        pid = _problem_id(row["task_id"])
        if part is not None and pid not in parts[part]:
            continue
        rng = random.Random(f"{SEED}/{kind}/{pid}")
        cut = _multiline if kind == "multiline" else _span
        seen: set[tuple[int, int]] = set()
        for n in range(PER_PROBLEM[kind] * 3):
            if len(seen) >= PER_PROBLEM[kind]:
                break
            span = cut(row, rng)
            if span is None or span in seen:
                continue
            seen.add(span)
            start, end = span
            text = row["program"]
            out.append(
                {
                    "task_id": f"{kind}/{pid}/{n}",
                    "part": "tune" if pid in parts["tune"] else "report",
                    "entry_point": row["entry_point"],
                    "test": row["test"],
                    "prompt": text[:start],
                    "canonical_solution": text[start:end],
                    "suffix": text[end:],
                }
            )
    return out


def _multiline(row: dict, rng: random.Random) -> tuple[int, int] | None:
    """A hole of 2 to 8 whole lines of the body (from a line start to a line start)."""
    text, body = row["program"], row["body"]
    starts = [body] + [i + 1 for i in range(body, len(text)) if text[i] == "\n"]
    starts = [s for s in starts if s <= len(text)]
    if len(starts) < 3:
        return None
    first = rng.randrange(len(starts) - 2)
    count = rng.randint(2, 8)
    last = min(first + count, len(starts) - 1)
    start, end = starts[first], starts[last]
    if not text[start:end].strip():
        return None
    return start, end


def _span(row: dict, rng: random.Random) -> tuple[int, int] | None:
    """Characters `start:end` of the body, 1 to 400 of them, anywhere."""
    text, body = row["program"], row["body"]
    end_of_code = len(text.rstrip())
    if end_of_code - body < 2:
        return None
    start = rng.randrange(body, end_of_code - 1)
    end = min(start + rng.randint(1, 400), end_of_code)
    if not text[start:end].strip():
        return None
    return start, end


def main() -> int:
    for kind in KINDS:
        for part in PARTS:
            print(f"{kind:<10} {part:<7} {len(cases(kind, part)):>5} cases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
