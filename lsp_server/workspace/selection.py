"""Which definitions from other files the prompt shows at a cursor, in a stable order.

The identifiers near the cursor (the current statement and the lines of the
enclosing block above it), the word being typed and the file's imports are
resolved to definitions in other workspace files: imports first (they say
exactly which file), then by name. The most similar window of a recently
edited open document follows.

The block sits at the top of the prefix, so any change to it throws away
the KV cache from that point on. It is therefore kept while the user types:
recomputed only when the cursor's line or the set of complete identifiers
near it changes (the word being typed does not count) or another file of
the index changes (not the document's own edits), and a recompute keeps
the blocks it already had in their order, appending new ones after them.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field

from lsp_server.workspace import render, similar
from lsp_server.workspace.imports import Imported, imports_of
from lsp_server.workspace.index import WorkspaceIndex

Key = tuple[str, str]  # (absolute path, definition name); ("~similar", uri) for a window
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ATTRIBUTE = re.compile(r"\b([A-Za-z_$][\w$]*)\.([A-Za-z_$][\w$]*)")
_WORD_START = re.compile(r"[\w$]+")
_PARTIAL = re.compile(r"([A-Za-z_$][\w$]*\.)?([A-Za-z_$][\w$]*)?$")
LINES_ABOVE = 40
NAME_MATCHES = 3  # a name defined in more files than this says nothing
PREFIX_MATCHES = 4
RETAIN_RANK = 32  # an old block stays if the new ranking still has it this high
RECENT_DOCUMENTS = 8
_COMMON_WORDS = (
    "self cls None True False and or not if else elif for while return def class import from "
    "as in is with try except finally raise pass break continue lambda yield async await "
    "print len str int float list dict set tuple bool range object super type isinstance "
    "const let var function new this null undefined true false public private protected "
    "static void final string number boolean any export default extends implements"
)
_COMMON = frozenset(_COMMON_WORDS.split())


@dataclass
class _State:
    line: int
    words: frozenset[str]
    keys: list[Key]
    blocks: tuple[str, ...]
    others_version: int  # index version minus the document's own updates


@dataclass
class _Recent:
    path: str
    text: str
    language: str


@dataclass
class ContextSelector:
    """Per-document selection state over one workspace index."""

    index: WorkspaceIndex
    recomputes: int = 0
    _states: dict[str, _State] = field(default_factory=dict)
    _recent: OrderedDict[str, _Recent] = field(default_factory=OrderedDict)

    def edited(self, uri: str, path: str, text: str, language: str) -> None:
        """Remember an edited open document (for similar windows)."""
        self._recent.pop(uri, None)
        self._recent[uri] = _Recent(path, text, language)
        while len(self._recent) > RECENT_DOCUMENTS:
            self._recent.popitem(last=False)

    def forget(self, uri: str) -> None:
        self._states.pop(uri, None)
        self._recent.pop(uri, None)

    def select(
        self, uri: str, path: str, text: str, offset: int, language: str, max_chars: int
    ) -> tuple[str, ...]:
        """The snippet blocks for a cursor at `offset` of `text`, best first."""
        if max_chars <= 0 or not self.index.folders:
            return ()
        line_start = text.rfind("\n", 0, offset) + 1
        line = text.count("\n", 0, line_start) if line_start else 0
        partial_match = _PARTIAL.search(text, line_start, offset)
        partial = partial_match.group(2) or "" if partial_match else ""
        window = _window(text, line_start, offset - len(partial), offset)
        words = frozenset(_WORD.findall(window))
        state = self._states.get(uri)
        others = self.index.version - self.index.updates_of(path)
        if state is not None and (state.line, state.words, state.others_version) == (
            line,
            words,
            others,
        ):
            return state.blocks
        self.recomputes += 1
        owner = partial_match.group(1)[:-1] if partial_match and partial_match.group(1) else ""
        ranked = self._rank(text, path, language, window, partial, owner)
        keys = _merge(state.keys if state else [], ranked)
        blocks, kept = self._render(keys, language, max_chars)
        window_block = self._similar(uri, text[max(0, line_start - 2000) : offset], language)
        if window_block and sum(map(len, blocks)) + len(window_block) <= max_chars:
            blocks.append(window_block)
        self._states[uri] = _State(line, words, kept, tuple(blocks), others)
        return tuple(blocks)

    # -- ranking -----------------------------------------------------------------

    def _rank(
        self, text: str, path: str, language: str, window: str, partial: str, owner: str
    ) -> list[Key]:
        index = self.index
        imports = imports_of(text, language, path, index)
        out: list[Key] = []
        if owner and (module := imports.get(owner)) and module.name is None:
            out += self._members_starting(module.path, partial)
        if partial:
            for local, target in imports.items():
                if local.startswith(partial):
                    out += self._resolve(target, local, path)
        for name in _nearest_first(window):
            if name in imports:
                out += self._resolve(imports[name], name, path)
            elif name not in _COMMON and len(name) > 2:
                out += self._by_name(name, path)
        for owner_name, attribute in _ATTRIBUTE.findall(window):
            module = imports.get(owner_name)
            if module is not None and module.name is None:
                out += self._defined(module.path, attribute)
        if len(partial) >= 2:
            for name in index.starting_with(partial)[:PREFIX_MATCHES]:
                out += self._by_name(name, path)
        for local, target in imports.items():
            out += self._resolve(target, local, path)
        return list(dict.fromkeys(k for k in out if k[0] != path))

    def _resolve(self, target: Imported, local: str, path: str) -> list[Key]:
        if target.name is None:
            return []
        found = self._defined(target.path, target.name)
        return found or self._by_name(target.name, path)  # re-exported from elsewhere

    def _defined(self, file: str, name: str) -> list[Key]:
        entry = self.index.entry(file)
        if entry is not None and any(d.name == name for d in entry.definitions):
            return [(file, name)]
        return []

    def _by_name(self, name: str, path: str) -> list[Key]:
        files = [p for p in self.index.defining(name) if p != path]
        if not files or len(files) > NAME_MATCHES:
            return []
        here = os.path.dirname(path)
        files.sort(key=lambda p: (os.path.dirname(p) != here, len(p)))
        return [(p, name) for p in files]

    def _members_starting(self, file: str, partial: str) -> list[Key]:
        entry = self.index.entry(file)
        if entry is None:
            return []
        names = [d.name for d in entry.definitions if d.name.startswith(partial)]
        return [(file, n) for n in names[:PREFIX_MATCHES]]

    # -- rendering ---------------------------------------------------------------

    def _render(
        self, keys: list[Key], language: str, max_chars: int
    ) -> tuple[list[str], list[Key]]:
        blocks: list[str] = []
        kept: list[Key] = []
        used = 0
        for path, name in keys:
            entry = self.index.entry(path)
            if entry is None:
                continue
            definition = next((d for d in entry.definitions if d.name == name), None)
            if definition is None:
                continue
            block = render.definition_block(entry.relpath, definition, language, entry.language)
            if used + len(block) > max_chars:
                break
            used += len(block)
            blocks.append(block)
            kept.append((path, name))
        return blocks, kept

    def _similar(self, uri: str, above: str, language: str) -> str:
        query = similar.words("\n".join(above.split("\n")[-similar.WINDOW :]))
        best = (0.0, "", "")
        for other, recent in self._recent.items():
            # Only documents the index holds: inside the workspace, not ignored, no secrets.
            entry = self.index.entry(recent.path)
            if other == uri or entry is None:
                continue
            score, _, chunk = similar.best_window(query, recent.text)
            if score > best[0]:
                best = (score, chunk, entry.relpath)
        if not best[1]:
            return ""
        return render.snippet_block(best[2], best[1].rstrip().split("\n"), language)


def _window(text: str, line_start: int, word_start: int, offset: int) -> str:
    """The current statement and the enclosing block above it (up to LINES_ABOVE lines).

    The rest of the cursor's line counts too (the statement being edited),
    but not the word at the cursor: it changes with every key.
    """
    start = line_start
    for _ in range(LINES_ABOVE):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
        if text[start : start + 1] not in (" ", "\t", "\n", "\r", "", "@", ")", "]", "}"):
            break  # a top-level line: the enclosing definition starts here
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    after = text[offset:end]
    rest = _WORD_START.match(after)
    return text[start:word_start] + " " + (after[rest.end() :] if rest else after)


def _nearest_first(window: str) -> list[str]:
    return list(dict.fromkeys(reversed(_WORD.findall(window))))


def _merge(old: list[Key], ranked: list[Key]) -> list[Key]:
    """Old keys still ranked high keep their places; new ones follow in rank order."""
    wanted = set(ranked[:RETAIN_RANK])
    kept = [k for k in old if k in wanted]
    seen = set(kept)
    return kept + [k for k in ranked if k not in seen]
