"""A document's imports, resolved to workspace files: name → (file, definition).

Read with regular expressions from the open document's text (it may not
parse while the user types), for Python, JavaScript/TypeScript and Java.
A name bound by an import maps to the file that defines it and the name it
has there (None when the name is the module itself, as in `import a.b as m`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from lsp_server.workspace.index import WorkspaceIndex

_PY_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)", re.M)
_PY_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#]+)", re.M)
_JS_IMPORT = re.compile(
    r"""^[ \t]*(?:import|export)\s+(?:type\s+)?([\w*{}\s,$]+?)\s+from\s+['"]([^'"]+)['"]""", re.M
)
_JS_REQUIRE = re.compile(
    r"""(?:const|let|var)\s+([\w{}\s,:$]+?)\s*=\s*require\(\s*['"]([^'"]+)['"]\s*\)"""
)
_JAVA_IMPORT = re.compile(r"^[ \t]*import[ \t]+(?:static[ \t]+)?([\w.]+)(\.\*)?[ \t]*;", re.M)
_JS_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs")


@dataclass(frozen=True)
class Imported:
    """What a local name refers to: a definition `name` in `path`, or the module `path`."""

    path: str
    name: str | None


def imports_of(text: str, language: str, path: str, index: WorkspaceIndex) -> dict[str, Imported]:
    """Local names bound by the document's imports that resolve to indexed files."""
    if language == "python":
        return _python(text, path, index)
    if language == "java":
        return _java(text, index)
    if language in ("javascript", "typescript", "tsx"):
        return _javascript(text, path, index)
    return {}


def _import_lines(text: str) -> list[int]:
    """Starts of the lines that contain `import` (found with str.find: C speed on big files)."""
    starts: list[int] = []
    at = text.find("import")
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        if not starts or starts[-1] != start:
            starts.append(start)
        at = text.find("import", at + 6)
    return starts


def _python(text: str, path: str, index: WorkspaceIndex) -> dict[str, Imported]:
    out: dict[str, Imported] = {}
    starts = _import_lines(text)
    froms = [m for m in (_PY_FROM.match(text, s) for s in starts) if m]
    plain = [m for m in (_PY_IMPORT.match(text, s) for s in starts) if m]
    for match in froms:
        module, names = match.group(1), match.group(2).strip("()")
        base = _py_module(module, path, index)
        for item in names.replace("\n", " ").split(","):
            parts = item.split()
            if not parts or parts[0] == "*":
                continue
            name, local = parts[0], parts[-1]
            sub = _py_module(
                f"{module}.{name}" if module.strip(".") else module + name, path, index
            )
            if sub is not None:
                out[local] = Imported(sub, None)
            elif base is not None:
                out[local] = Imported(base, name)
    for match in plain:
        for item in match.group(1).split(","):
            parts = item.split()
            if not parts:
                continue
            module = parts[0]
            found = _py_module(module, path, index)
            if found is None:
                continue
            local = parts[-1] if len(parts) == 3 and parts[1] == "as" else module
            out[local] = Imported(found, None)
    return out


def _py_module(module: str, path: str, index: WorkspaceIndex) -> str | None:
    """The file of a (possibly relative) Python module, as imported from `path`."""
    if not module.startswith("."):
        return index.module_file(module)
    dots = len(module) - len(module.lstrip("."))
    base = os.path.dirname(path)
    for _ in range(dots - 1):
        base = os.path.dirname(base)
    rest = module[dots:].split(".") if module[dots:] else []
    target = os.path.join(base, *rest)
    for candidate in (target + ".py", os.path.join(target, "__init__.py")):
        if index.entry(candidate) is not None:
            return candidate
    return None


def _javascript(text: str, path: str, index: WorkspaceIndex) -> dict[str, Imported]:
    out: dict[str, Imported] = {}
    for regex in (_JS_IMPORT, _JS_REQUIRE):
        for match in regex.finditer(text):
            clause, source = match.group(1), match.group(2)
            found = _js_module(source, path, index)
            if found is None:
                continue
            inner = clause[clause.find("{") + 1 : clause.rfind("}")] if "{" in clause else ""
            for item in inner.split(","):
                parts = item.replace(":", " as ").split()
                if parts:
                    out[parts[-1]] = Imported(found, parts[0])
            outer = re.sub(r"\{[^}]*\}", "", clause).replace(",", " ").split()
            if outer:
                out[outer[-1]] = Imported(found, None)
    return out


def _js_module(source: str, path: str, index: WorkspaceIndex) -> str | None:
    if not source.startswith("."):
        return None
    target = os.path.normpath(os.path.join(os.path.dirname(path), source))
    candidates = [target] + [target + s for s in _JS_SUFFIXES]
    candidates += [os.path.join(target, "index" + s) for s in _JS_SUFFIXES]
    if target.endswith(".js"):  # TypeScript imports "./a.js" for a.ts
        candidates += [target[:-3] + s for s in (".ts", ".tsx")]
    return next((c for c in candidates if index.entry(c) is not None), None)


def _java(text: str, index: WorkspaceIndex) -> dict[str, Imported]:
    out: dict[str, Imported] = {}
    for match in _JAVA_IMPORT.finditer(text):
        dotted = match.group(1)
        name = dotted.rsplit(".", 1)[-1]
        for path in index.stems.get(name, ()):
            if path.replace(os.sep, ".").endswith(dotted + ".java"):
                out[name] = Imported(path, name)
                break
    return out
