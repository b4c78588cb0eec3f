"""Where the unit tests of a function go, and what a new test file starts with.

Each language's convention lives in its module (`lsp_server/syntax/languages/`);
in short (also in the README):

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

import re
from pathlib import Path

from lsp_server.syntax import FunctionInfo, ParsedDocument
from lsp_server.syntax.languages import UnitTestFile, UnitTestFileError

__all__ = ["UnitTestFile", "UnitTestFileError", "append_offset", "locate_test_file"]


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
    make = doc.spec.test_file
    if make is None:  # pragma: no cover - every language with a grammar has one
        raise UnitTestFileError(f"no test convention for {doc.spec.name}")
    plan = make(root, source, doc, func, existing or "")
    path = plan.path.resolve()
    if not path.is_relative_to(root):
        raise UnitTestFileError(f"the test file {path} would be outside the workspace {root}")
    return plan


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
