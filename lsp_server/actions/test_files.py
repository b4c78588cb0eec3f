"""Where the unit tests of a function go, and what a new test file starts with.

Conventions (also in the README):

- Python: `<root>/tests/test_<module>.py`, pytest, importing from the module's
  dotted path relative to the workspace (a leading `src/` dropped).
- TypeScript / JavaScript: `<name>.test.ts` / `.test.js` next to the source;
  Jest globals, or Vitest imports when `package.json` names vitest.
- Java: `src/test/java/<package>/<Class>Test.java` (mirrors `src/main/java`), JUnit 5.
- C++: `<root>/tests/test_<name>.cpp`, GoogleTest, including the header next
  to the source (`.h`, `.hpp`, `.hh`), else the source itself.
- C#: `<root>/tests/<Class>Tests.cs`, xUnit.
- PHP: `<root>/tests/<Class>Test.php`, PHPUnit, `require_once` of the source.
- Bash: `<root>/tests/test_<name>.sh`, shunit2 functions, sourcing the script.

New tests are appended: at the end of the file, or before the closing brace
of the test class (Java, C#, PHP), or before the final `. shunit2` line.
Nothing already in a test file is ever changed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..syntax import FunctionInfo, ParsedDocument
from .safe_read import read_regular_text


class UnitTestFileError(RuntimeError):
    """No test file can be made for this function (a clear reason for the user)."""


@dataclass(frozen=True)
class UnitTestFile:
    """The test file for one function and how new tests are written into it."""

    path: Path
    language_id: str  # of the test file, for parsing what the model writes
    framework: str
    header: str  # a new file's start: imports, the test class opening
    footer: str  # a new file's end: the class's closing brace, `. shunit2`
    imports: str  # lines an existing file needs to see the function
    test_name: str  # the first test's name, unique in the existing file
    # The first test's signature, ending in a newline (a prompt ending in
    # spaces splits the indentation's tokens unnaturally): the base model
    # continues it.
    seed: str
    indent: str  # of each test (inside a class for Java, C#, PHP)
    comment: str  # line comment marker, for showing the model the source


def locate_test_file(
    root: Path, source: Path, doc: ParsedDocument, func: FunctionInfo, existing: str | None
) -> UnitTestFile:
    """The test file for `func` in `source`; raises UnitTestFileError.

    `existing` is the current text of the test file, or None when it does not
    exist yet (test names are made unique against it).
    """
    root, source = root.resolve(), source.resolve()
    if not source.is_relative_to(root):
        raise UnitTestFileError(f"{source} is outside the workspace {root}")
    make = _CONVENTIONS.get(doc.spec.name)
    if make is None:  # pragma: no cover - every language in LANGUAGES has one
        raise UnitTestFileError(f"no test convention for {doc.spec.name}")
    plan = make(root, source, doc, func, existing or "")
    path = plan.path.resolve()
    if not path.is_relative_to(root):
        raise UnitTestFileError(f"the test file {path} would be outside the workspace {root}")
    return plan


def _unique(existing: str, name: str, pattern: str) -> str:
    """`name`, or name2, name3 … when the existing file already defines it."""
    candidate, n = name, 1
    while re.search(pattern.format(re.escape(candidate)), existing):
        n += 1
        candidate = f"{name}{n}"
    return candidate


def _short(func: FunctionInfo) -> str:
    return func.name.split("::")[-1].split(".")[-1].lstrip("~")


def _python(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    parts = list(source.relative_to(root).with_suffix("").parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        raise UnitTestFileError(
            f"{source.relative_to(root)} is not importable as a module from the workspace root"
        )
    module = ".".join(parts)
    target = func.class_name or func.name
    name = _unique(existing, f"test_{_snake(func.name)}", r"def {}\(")
    imports = f"from {module} import {target}\n"
    return UnitTestFile(
        path=root / "tests" / f"test_{parts[-1]}.py",
        language_id="python",
        framework="pytest",
        header=imports + "\n\n",
        footer="",
        imports="" if imports in existing else imports,
        test_name=name,
        seed=f"def {name}():\n",
        indent="",
        comment="#",
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _js(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    stem, suffix = source.stem, source.suffix
    if stem.endswith((".test", ".spec")):
        raise UnitTestFileError(f"{source.name} is already a test file")
    target = func.class_name or func.name
    typed = doc.spec.name in ("typescript", "tsx")
    if not typed and ("module.exports" in doc.text or "require(" in doc.text):
        imports = f'const {{ {target} }} = require("./{stem}");\n'
    else:
        spec = f"./{stem}" if typed else f"./{source.name}"
        imports = f'import {{ {target} }} from "{spec}";\n'
    package = root / "package.json"
    try:
        vitest = "vitest" in (read_regular_text(package) or "")
    except OSError:
        vitest = False
    framework = "Vitest" if vitest else "Jest"
    if vitest:
        imports = 'import { describe, expect, test } from "vitest";\n' + imports
    bound = re.search(
        r"(?m)^\s*(?:import|const|let|var)\b[^\n]*\b" + re.escape(target) + r"\b[^\n]*"
        r"(?:from|require)",
        existing,
    )
    language_id = {".ts": "typescript", ".tsx": "typescriptreact", ".mts": "typescript"}
    return UnitTestFile(
        path=source.with_name(f"{stem}.test{suffix}"),
        language_id=language_id.get(suffix, "javascript"),
        framework=framework,
        header=imports + "\n",
        footer="",
        imports="" if bound else imports,
        test_name=func.name,
        seed=f'test("{_short(func)}", () => {{\n',
        indent="",
        comment="//",
    )


def _java(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    package = _declared(doc, ("package_declaration",), r"package\s+([\w.]+)")
    cls = func.class_name or source.stem
    rel = source.relative_to(root).as_posix()
    base = root / rel.split("src/main/java/")[0] if "src/main/java/" in rel else root
    folder = base / "src" / "test" / "java" / Path(*package.split(".")) if package else None
    folder = folder or base / "src" / "test" / "java"
    name = _unique(existing, "test" + _short(func)[:1].upper() + _short(func)[1:], r"void {}\(")
    head = f"package {package};\n\n" if package else ""
    return UnitTestFile(
        path=folder / f"{cls}Test.java",
        language_id="java",
        framework="JUnit 5",
        header=head + "import static org.junit.jupiter.api.Assertions.*;\n\n"
        "import org.junit.jupiter.api.Test;\n\n"
        f"class {cls}Test {{\n",
        footer="}\n",
        imports="",
        test_name=name,
        seed=f"    @Test\n    void {name}() {{\n",
        indent="    ",
        comment="//",
    )


def _cpp(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    folder = root / "tests"
    header = next(
        (source.with_suffix(s) for s in (".h", ".hpp", ".hh") if source.with_suffix(s).is_file()),
        source,
    )
    include = f'#include "{Path(os.path.relpath(header, folder)).as_posix()}"\n'
    suite = f"{source.stem.title().replace('_', '')}Test"
    case = _short(func)[:1].upper() + _short(func)[1:]
    case = _unique(existing, case, r"TEST\(\s*" + re.escape(suite) + r"\s*,\s*{}\s*\)")
    return UnitTestFile(
        path=folder / f"test_{source.stem}.cpp",
        language_id="cpp",
        framework="GoogleTest",
        header="#include <gtest/gtest.h>\n\n" + include + "\n",
        footer="",
        imports="" if include in existing else include,
        test_name=case,
        seed=f"TEST({suite}, {case}) {{\n",
        indent="",
        comment="//",
    )


def _csharp(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    namespace = _declared(
        doc,
        ("namespace_declaration", "file_scoped_namespace_declaration"),
        r"namespace\s+([\w.]+)",
    )
    cls = func.class_name or source.stem
    name = _unique(existing, _short(func).replace("operator ", "Operator") + "Test", r"void {}\(")
    usings = "using Xunit;\n" + (f"using {namespace};\n" if namespace else "")
    return UnitTestFile(
        path=root / "tests" / f"{cls}Tests.cs",
        language_id="csharp",
        framework="xUnit",
        header=usings + f"\npublic class {cls}Tests\n{{\n",
        footer="}\n",
        imports="",
        test_name=name,
        seed=f"    [Fact]\n    public void {name}()\n    {{\n",
        indent="    ",
        comment="//",
    )


def _php(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    folder = root / "tests"
    namespace = _declared(doc, ("namespace_definition",), r"namespace\s+([\w\\]+)")
    cls = func.class_name or source.stem.title().replace("_", "")
    rel = Path(os.path.relpath(source, folder)).as_posix()
    uses = "use PHPUnit\\Framework\\TestCase;\n"
    if namespace and func.class_name:
        uses += f"use {namespace}\\{func.class_name};\n"
    elif namespace:
        uses += f"use function {namespace}\\{func.name};\n"
    short = _short(func)
    name = _unique(existing, "test" + short[:1].upper() + short[1:], r"function {}\(")
    return UnitTestFile(
        path=folder / f"{cls}Test.php",
        language_id="php",
        framework="PHPUnit",
        header=f"<?php\n\n{uses}\nrequire_once __DIR__ . '/{rel}';\n\n"
        f"final class {cls}Test extends TestCase\n{{\n",
        footer="}\n",
        imports="",
        test_name=name,
        seed=f"    public function {name}(): void\n    {{\n",
        indent="    ",
        comment="//",
    )


def _bash(root: Path, source: Path, doc, func, existing: str) -> UnitTestFile:
    folder = root / "tests"
    rel = Path(os.path.relpath(source, folder)).as_posix()
    name = _unique(existing, f"test_{func.name.replace('-', '_')}", r"(?m)^\s*{}\s*\(\)")
    return UnitTestFile(
        path=folder / f"test_{source.stem}.sh",
        language_id="shellscript",
        framework="shunit2",
        header="#!/usr/bin/env bash\n# shunit2 tests: run `bash "
        f"tests/test_{source.stem}.sh` with shunit2 on PATH.\n\n"
        f'. "$(dirname "${{BASH_SOURCE[0]}}")/{rel}"\n\n',
        footer="\n. shunit2\n",
        imports="",
        test_name=name,
        seed=f"{name}() {{\n",
        indent="",
        comment="#",
    )


def _declared(doc: ParsedDocument, types: tuple[str, ...], pattern: str) -> str:
    """A package/namespace name declared at the top level of the source."""
    nodes = [doc.tree.root_node]
    for node in nodes:
        if node.type in types:
            found = re.match(pattern, doc.node_text(node))
            return found.group(1) if found else ""
        if node.type in ("program", "compilation_unit", "translation_unit"):
            nodes.extend(node.named_children)
    return ""


_CONVENTIONS = {
    "python": _python,
    "javascript": _js,
    "typescript": _js,
    "tsx": _js,
    "java": _java,
    "cpp": _cpp,
    "csharp": _csharp,
    "php": _php,
    "bash": _bash,
}

_SHUNIT = re.compile(r"(?m)^[ \t]*(?:\.|source)[ \t]+\S*shunit2\S*[ \t]*$")


def append_offset(plan: UnitTestFile, existing: str) -> int:
    """Where new tests go in an existing test file: nothing after it moves."""
    if plan.footer.strip() == "}":
        close = existing.rstrip().rfind("}")
        if close < 0:
            raise UnitTestFileError(f"{plan.path.name} has no closing brace to add tests before")
        line_start = existing.rfind("\n", 0, close) + 1
        return line_start if not existing[line_start:close].strip() else close
    if plan.footer.strip() == ". shunit2":
        matches = list(_SHUNIT.finditer(existing))
        if matches:
            return matches[-1].start()
    return len(existing)
