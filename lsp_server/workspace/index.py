"""The workspace index: every indexable file's definitions, by path and by name.

Built once in the background (a thread of its own: never the event loop,
never the model's worker) and kept current one file at a time. Readers on
the event loop never take the lock: each lookup table maps to immutable
tuples that an update replaces whole, so a reader sees the old or the new
entry, never half of one.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from lsp_server.workspace.extract import SUFFIX_LANGUAGES, Definition, extract
from lsp_server.workspace.walker import (
    indexable_name,
    inside,
    is_ignored,
    read_source,
    workspace_files,
)

# Files indexed per folder at most: a home directory opened by mistake must not
# take the machine (the walk stops there; 20,000 files are about 90 MB).
MAX_FILES = 20_000


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One indexed file: where it is shown from, and what it defines."""

    folder: Path
    relpath: str  # workspace-relative, with "/" (what the prompt shows)
    language: str
    definitions: tuple[Definition, ...]
    version: int


class WorkspaceIndex:
    """Definitions of the files in some workspace folders."""

    def __init__(self, folders: Iterable[Path] = ()) -> None:
        self.folders = [Path(f).resolve() for f in folders]
        self.files: dict[str, FileEntry] = {}  # absolute path → entry
        self.names: dict[str, tuple[str, ...]] = {}  # name → absolute paths defining it
        self.stems: dict[str, tuple[str, ...]] = {}  # module stem → absolute paths
        self.prefixes: dict[str, tuple[str, ...]] = {}  # first two characters → names
        self.ready = False
        self.build_seconds = 0.0
        self._lock = threading.Lock()
        self._version = 0
        self._allowed_paths: dict[str, bool] = {}
        self._updates: dict[str, int] = {}  # path → how many times it changed
        self._modules: dict[str, str | None] = {}  # dotted module → file (until files come or go)

    # -- building ---------------------------------------------------------------

    def build(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Index every file of the folders; returns how many were indexed."""
        started = time.perf_counter()
        paths = [
            (folder, p)
            for folder in self.folders
            for p in itertools.islice(workspace_files(folder), MAX_FILES)
        ]
        self._allowed_paths.update((str(p), True) for _, p in paths)
        for done, (folder, path) in enumerate(paths, 1):
            text = read_source(path)
            if text is not None:
                self._store(folder, path, text)
            if progress is not None and (done % 200 == 0 or done == len(paths)):
                progress(done, len(paths))
        self.build_seconds = time.perf_counter() - started
        self.ready = True
        return len(self.files)

    def folder_of(self, path: Path) -> Path | None:
        return inside(path, self.folders)

    def update(self, path: Path, text: str | None = None) -> bool:
        """(Re)index one file from `text` or from disk; False if it is not indexable."""
        folder = self.folder_of(path)
        if folder is None or not indexable_name(path.name):
            self.remove(path)
            return False
        real = path.resolve()
        if not self._allowed(real, folder):
            return False
        if text is None:
            text = read_source(real)
            if text is None:
                self.remove(real)
                return False
        return self._store(folder, real, text)

    def _store(self, folder: Path, real: Path, text: str) -> bool:
        """Index `text` as the file `real` (resolved, inside `folder`, allowed)."""
        rel = real.relative_to(folder)
        language = SUFFIX_LANGUAGES[real.suffix]
        try:
            definitions = extract(text, language)
        except (ValueError, RecursionError):
            return False
        with self._lock:
            self._version += 1
            key = str(real)
            self._updates[key] = self._updates.get(key, 0) + 1
            old = self.files.get(key)
            entry = FileEntry(folder, rel.as_posix(), language, definitions, self._version)
            self.files[key] = entry
            self._reindex_names(key, old, entry)
        return True

    def _allowed(self, real: Path, folder: Path) -> bool:
        """Not ignored (asked once per path: git is a process away)."""
        key = str(real)
        allowed = self._allowed_paths.get(key)
        if allowed is None:
            allowed = not is_ignored(real, folder)
            self._allowed_paths[key] = allowed
        return allowed

    def remove(self, path: Path) -> None:
        try:
            key = str(path.resolve())
        except OSError:
            return
        with self._lock:
            old = self.files.pop(key, None)
            if old is not None:
                self._version += 1
                self._updates[key] = self._updates.get(key, 0) + 1
                self._reindex_names(key, old, None)

    def _reindex_names(self, key: str, old: FileEntry | None, new: FileEntry | None) -> None:
        before = _names(old) if old else set()
        after = _names(new) if new else set()
        for name in before - after:
            left = tuple(p for p in self.names.get(name, ()) if p != key)
            if left:
                self.names[name] = left
            else:
                self.names.pop(name, None)
                head = name[:2]
                self.prefixes[head] = tuple(n for n in self.prefixes.get(head, ()) if n != name)
        for name in after - before:
            if name not in self.names:
                self.prefixes[name[:2]] = (*self.prefixes.get(name[:2], ()), name)
            self.names[name] = (*self.names.get(name, ()), key)
        stem = _stem(key)
        paths = self.stems.get(stem, ())
        if new is None:
            self.stems[stem] = tuple(p for p in paths if p != key)
            self._modules.clear()
        elif key not in paths:
            self.stems[stem] = (*paths, key)
            self._modules.clear()

    # -- lookups ---------------------------------------------------------------

    def defining(self, name: str) -> tuple[str, ...]:
        return self.names.get(name, ())

    def starting_with(self, prefix: str) -> list[str]:
        """Defined names that start with `prefix` (two characters or more)."""
        return [n for n in self.prefixes.get(prefix[:2], ()) if n.startswith(prefix)]

    @property
    def version(self) -> int:
        return self._version

    def updates_of(self, path: str) -> int:
        """How many times `path` changed: `version` minus this moves only for other files."""
        return self._updates.get(path, 0)

    def entry(self, path: str) -> FileEntry | None:
        return self.files.get(path)

    def module_file(self, dotted: str) -> str | None:
        """The indexed file of a Python module (`a.b.c` → …/a/b/c.py or …/a/b/c/__init__.py)."""
        try:
            return self._modules[dotted]
        except KeyError:
            pass
        found = None
        parts = [p for p in dotted.split(".") if p]
        if parts:
            want = os.sep + os.sep.join(parts)
            for suffix in (".py", ".pyi", os.sep + "__init__.py"):
                ending = want + suffix
                paths = self.stems.get("__init__" if suffix.endswith("__init__.py") else parts[-1])
                matches = [
                    p
                    for p in paths or ()
                    if p.endswith(ending) and not self._in_package(p[: len(p) - len(ending)])
                ]
                if matches:
                    found = min(matches, key=len)
                    break
        if len(self._modules) > 10_000:
            self._modules.clear()
        self._modules[dotted] = found
        return found

    def _in_package(self, folder: str) -> bool:
        """Whether `folder` is itself a package (then `a.b` there is really `pkg.a.b`)."""
        return os.path.join(folder, "__init__.py") in self.files

    def stats(self) -> dict[str, float]:
        defs = sum(len(e.definitions) for e in self.files.values())
        return {
            "files": len(self.files),
            "definitions": defs,
            "seconds": round(self.build_seconds, 3),
        }


def _names(entry: FileEntry) -> set[str]:
    names = set()
    for d in entry.definitions:
        names.add(d.name)
    return names


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]
