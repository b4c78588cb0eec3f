"""Capture raw outputs of the bundled tiny model for the filters' golden cases.

Runs the vendored tiny Code Llama FIM model greedily (48 new tokens, SPM
layout, cut at `<EOT>`) on realistic Python cursors and writes one JSON file
per cursor to `tests/unit/golden/filters/`, keeping any `expected` already
judged by hand there (new cases get `expected: null` to be filled in).

    python -m benchmarks.capture_tiny_outputs

The tests only replay the stored raw text; they never run the model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import transformers

from lsp_server.prompts.fim_tokenizer import FimTokenizer

ROOT = Path(__file__).resolve().parents[1]

MODEL = ROOT / "lsp_server" / "models" / "tiny-codellama-fim"
OUT = ROOT / "tests" / "unit" / "golden" / "filters"
MAX_NEW_TOKENS = 48
EOT = 32010

_CLASS = '''import os


class Stack:
    """A last-in first-out stack."""

    def __init__(self):
        self.items = []

    def push(self, item):
'''

# name -> (what the cursor is at, prefix, suffix); the cursor sits between them.
CURSORS: dict[str, tuple[str, str, str]] = {
    "after_def_push": (
        "end of a `def ...:` line in a class, methods follow",
        _CLASS.rstrip("\n"),
        "\n\n    def pop(self):\n        return self.items.pop()\n",
    ),
    "after_def_docstring": (
        "inside a new docstring right after `def ...:`",
        'import os\n\n\ndef list_files(path):\n    """',
        "\n\n\ndef main():\n    print(list_files('.'))\n",
    ),
    "end_of_line_return": (
        "end of line after `return `",
        "def add(a, b):\n    return ",
        "\n\n\nprint(add(1, 2))\n",
    ),
    "mid_line_call_args": (
        "mid-line: inside a call, code after the cursor",
        "import os\n\n\ndef join_all(parts):\n    return os.path.join(",
        "*parts)\n",
    ),
    "mid_line_condition": (
        "mid-line: between `if` and the rest of the condition",
        "def clamp(x, low, high):\n    if x < low",
        " and low < high:\n        return low\n    return min(x, high)\n",
    ),
    "empty_parens": (
        "inside empty parentheses (only closers after the cursor)",
        "import sys\n\n\ndef main():\n    args = sys.argv[1:]\n    print(",
        ")\n    return 0\n",
    ),
    "blank_line_in_loop": (
        "blank line inside a loop body, more code below",
        "def total(values):\n    result = 0\n    for value in values:\n        ",
        "\n    return result\n",
    ),
    "blank_line_after_if": (
        "blank line after an `if` header, `else` below",
        "def sign(x):\n    if x > 0:\n        ",
        "\n    else:\n        return -1\n",
    ),
    "blank_line_end_of_function": (
        "end of the last line of a function, another function follows",
        "def read_lines(path):\n    with open(path) as f:\n        lines = f.readlines()",
        "\n\n\ndef write_lines(path, lines):\n"
        "    with open(path, 'w') as f:\n        f.writelines(lines)\n",
    ),
    "end_of_line_assignment": (
        "end of an assignment line inside a method",
        _CLASS + "        self.items.append(item)\n\n    def peek(self):\n        top = ",
        "\n        return top\n",
    ),
    "end_of_line_for_header": (
        "end of a `for` header line (colon missing)",
        "def count_words(text):\n    counts = {}\n    for word in text.split()",
        "\n    return counts\n",
    ),
    "start_of_line_before_code": (
        "column 0 of an existing line of code",
        "def mean(values):\n    if not values:\n        return 0.0\n",
        "    return total / len(values)\n",
    ),
    "mid_line_string_argument": (
        "mid-line: inside a string argument",
        "import logging\n\nlogger = logging.getLogger(__name__)\n\n\n"
        'def warn(name):\n    logger.warning("',
        '", name)\n',
    ),
    "after_def_property": (
        "end of a property `def ...:` line, more methods below",
        _CLASS + "        self.items.append(item)\n\n    @property\n    def size(self):",
        "\n\n    def is_empty(self):\n        return not self.items\n",
    ),
    "module_level_import": (
        "module level: mid-word in the import block",
        "import os\nimport sys\nimport o",
        "\n\n\ndef main():\n    print(sys.argv)\n",
    ),
}


def generate(model, tok: FimTokenizer, prefix: str, suffix: str) -> str:
    ids = [1, 32007, 32008, *tok.encode_infilling(suffix), 32009, *tok.encode(prefix)]
    with torch.no_grad():
        out = model.generate(
            torch.tensor([ids]),
            max_new_tokens=MAX_NEW_TOKENS,
            do_sample=False,
            eos_token_id=[2, EOT],
            pad_token_id=2,
        )
    new = out[0, len(ids) :].tolist()
    if EOT in new:
        new = new[: new.index(EOT)]
    new = [t for t in new if t != 2]
    return tok.decode_infilling(new)


def main() -> int:
    torch.set_num_threads(1)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        MODEL, dtype=torch.float32, use_safetensors=True
    )
    model.eval()
    tok = FimTokenizer.from_file(MODEL / "tokenizer.json")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (about, prefix, suffix) in CURSORS.items():
        raw = generate(model, tok, prefix, suffix)
        path = OUT / f"{name}.json"
        old = json.loads(path.read_text()) if path.exists() else {}
        case = {
            "about": about,
            "language_id": "python",
            "prefix": prefix,
            "suffix": suffix,
            "raw": raw,
            "expected": old.get("expected") if old.get("raw") == raw else None,
            "judgement": old.get("judgement", "") if old.get("raw") == raw else "",
        }
        path.write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n")
        print(f"{name}: {raw!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
