"""Deterministic "run-on" text: what a FIM model adds when it misses `<EOT>`.

`runon(middle, prefix, suffix, variant)` returns the correct middle followed
by the kind of text real models write after it (measured faults of Code
Llama and of the bundled tiny model, see its MODEL_CARD):

* `suffix`: the code after the hole, re-typed, cut by the token limit
  (usually mid-line);
* `suffix_lines`: its first one to three lines, then `<EOT>`;
* `suffix_drift`: its first line of code, then made-up code at the same
  indentation (models re-type the next line, then diverge);
* `next_function`: the rest of the cursor line, then a new top-level
  function the model made up;
* `closing_junk`: stray closing lines or dedented script code
  (`)`, `]`, `if __name__ == "__main__":` …);
* `repeat_lines`: the last line before the end of the middle, looped until
  the token limit.

Everything random is drawn from a generator seeded by the variant and the
text itself, so a case always gets the same run-on. The quality benchmark
(issue 6) reuses this module.
"""

from __future__ import annotations

import hashlib
import random

VARIANTS = (
    "suffix",
    "suffix_lines",
    "suffix_drift",
    "next_function",
    "closing_junk",
    "repeat_lines",
)
# About 48 new tokens of Python (≈3 characters a token): the usual limit.
_BUDGET = (60, 200)

_HELPERS = (
    "def helper(x):\n    return x\n",
    "def main():\n    print({entry}())\n",
    'def test_{entry}():\n    assert {entry} is not None\n    print("ok")\n',
    "class Solution:\n    def solve(self, *args):\n        return {entry}(*args)\n",
)
_DRIFT = (
    "print({entry})",
    "pass",
    "return None",
    "result = {entry}()",
    "# TODO: handle the remaining cases",
)
_JUNK = (
    "\n)\n",
    "\n    ]\n)",
    '\n\nif __name__ == "__main__":\n    import doctest\n    doctest.testmod()\n',
    "\n\nprint({entry}())\n",
    "\n}}\n",
    "\n\n# Test\nassert {entry}\n",
)


def _rng(variant: str, *texts: str, seed: int = 0) -> random.Random:
    digest = hashlib.sha256("\0".join((str(seed), variant, *texts)).encode()).hexdigest()
    return random.Random(int(digest[:16], 16))


def _cursor_line_rest(suffix: str) -> str:
    end = suffix.find("\n")
    return suffix if end < 0 else suffix[:end]


def _entry_name(prefix: str) -> str:
    start = prefix.rfind("\ndef ")
    if start < 0:
        return "solution"
    name = prefix[start + 5 :].split("(", 1)[0].strip()
    return name if name.isidentifier() else "solution"


def runon(middle: str, prefix: str, suffix: str, variant: str, seed: int = 0) -> str:
    """`middle` followed by realistic run-on text of the given variant."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown run-on variant {variant!r}; expected one of {VARIANTS}")
    rng = _rng(variant, prefix, middle, suffix, seed=seed)
    budget = rng.randint(*_BUDGET)
    entry = _entry_name(prefix)
    if variant == "suffix":
        return middle + suffix[:budget]
    if variant == "suffix_lines":
        lines = suffix.split("\n")
        count = rng.randint(1, 3)
        text = "\n".join(lines[: count + 1]) if lines[0] == "" else "\n".join(lines[:count])
        return middle + text + ("\n" if rng.random() < 0.5 else "")
    if variant == "suffix_drift":
        first_nl = suffix.find("\n")
        rest_of_line = suffix if first_nl < 0 else suffix[:first_nl]
        after = "" if first_nl < 0 else suffix[first_nl + 1 :]
        line = next((w for w in after.split("\n") if w.strip()), "")
        if rest_of_line.strip() or not line:
            line = rest_of_line  # the cursor line's own rest is the next code
            lead = ""
        else:
            lead = rest_of_line + "\n"
        indent = line[: len(line) - len(line.lstrip())]
        drift = rng.choice(_DRIFT).format(entry=entry)
        return middle + lead + line + "\n" + indent + drift + "\n"
    if variant == "next_function":
        helper = rng.choice(_HELPERS).format(entry=entry)
        rest = _cursor_line_rest(suffix)
        return (middle + rest + "\n\n\n" + helper)[: len(middle) + budget]
    if variant == "closing_junk":
        junk = rng.choice(_JUNK).format(entry=entry)
        return middle + junk
    # repeat_lines: the last line written so far, looped to the token limit.
    written = (prefix + middle).rstrip("\n").split("\n")
    line = next((w for w in reversed(written) if w.strip()), "pass")
    start = "" if middle.endswith("\n") else "\n"
    blank = "\n" if rng.random() < 0.5 else ""
    loop = (line + "\n" + blank) * (budget // max(len(line), 1) + 3)
    return middle + (start + loop)[: max(budget, 3 * len(line) + 4)]
