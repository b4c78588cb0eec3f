"""Code-action fixtures shared by the end-to-end tests: one small function per language."""

from __future__ import annotations

from lsprotocol import types

OPTIONS = {"model": "bundled"}

SOURCES = {
    "python": (
        "files.py",
        "import os\n\n\ndef list_files(path):\n    files = []\n"
        "    for name in os.listdir(path):\n        files.append(name)\n    return files\n",
        "files.append",
        "import os",
    ),
    "typescript": (
        "add.ts",
        "const base = 10;\n\nexport function add(a: number, b: number): number {\n"
        "  return a + b + base;\n}\n",
        "return a",
        "const base",
    ),
    "javascript": (
        "add.js",
        "const base = 10;\n\nfunction add(a, b) {\n  return a + b + base;\n}\n",
        "return a",
        "const base",
    ),
    "java": (
        "Calc.java",
        "package demo;\n\npublic class Calc {\n  private int base = 10;\n\n"
        "  public int add(int a, int b) {\n    return a + b + base;\n  }\n}\n",
        "return a",
        "private int base",
    ),
    "cpp": (
        "sum.cpp",
        "#include <vector>\n\nint sum(const std::vector<int>& xs) {\n  int total = 0;\n"
        "  for (int x : xs) total += x;\n  return total;\n}\n",
        "total += x",
        "#include",
    ),
    "csharp": (
        "Calc.cs",
        "public class Calc\n{\n    private int count;\n\n    public int Add(int a, int b)\n"
        "    {\n        return a + b;\n    }\n}\n",
        "return a",
        "private int count",
    ),
    "php": (
        "calc.php",
        "<?php\n\n$base = 10;\n\nfunction add($a, $b) {\n    return $a + $b;\n}\n",
        "return $a",
        "$base = 10",
    ),
    "shellscript": (
        "greet.sh",
        '#!/usr/bin/env bash\nNAME=world\n\ngreet() {\n  echo "hello $1"\n}\n',
        "echo",
        "NAME=world",
    ),
}


def position_of(text: str, needle: str) -> types.Position:
    before = text[: text.index(needle)]
    return types.Position(line=before.count("\n"), character=len(before) - before.rfind("\n") - 1)


def action_params(uri: str, position: types.Position, only=None) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=position, end=position),
        context=types.CodeActionContext(diagnostics=[], only=only),
    )


async def actions_at(client, uri: str, text: str, needle: str, only=None):
    return await client.text_document_code_action_async(
        action_params(uri, position_of(text, needle), only)
    )
