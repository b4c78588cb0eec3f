"""Listing code actions: instant, no model call.

The listed action carries only `data` (which action, where, for which
document version); the edit is computed in `codeAction/resolve`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from lsp_server.completion.context import PositionError, offset_at
from lsp_server.syntax import DocumentCache, FunctionInfo, UnsupportedLanguage, enclosing_function

DOCSTRING_KIND = "refactor.rewrite.docstring"
TESTS_KIND = "refactor.generate.tests"
KINDS = (DOCSTRING_KIND, TESTS_KIND)
COMMAND = "codellama.applyCodeAction"  # for clients without codeAction/resolve


class ActionFailed(RuntimeError):
    """A code action that cannot be completed; the message is for the user."""


@dataclass(frozen=True)
class ActionData:
    """What a listed action needs to be resolved later (sent as `data`)."""

    action: str  # "docstring" | "tests"
    uri: str
    version: int
    line: int
    character: int

    @classmethod
    def parse(cls, data: Any) -> ActionData:
        if hasattr(data, "_asdict"):
            data = data._asdict()
        if not isinstance(data, dict):
            raise JsonRpcInvalidParams("this code action has no data object")
        fields = {"action": str, "uri": str, "version": int, "line": int, "character": int}
        for name, kind in fields.items():
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise JsonRpcInvalidParams(f"code action data.{name} must be a {kind.__name__}")
        out = cls(**{k: data[k] for k in fields})
        if out.action not in ("docstring", "tests"):
            raise JsonRpcInvalidParams(f"unknown code action {out.action!r}")
        if min(out.version, out.line, out.character) < 0:
            raise JsonRpcInvalidParams("code action data positions must not be negative")
        return out

    def json(self) -> dict[str, Any]:
        return asdict(self)


def wanted(only: Sequence[str] | None, kind: str) -> bool:
    """LSP `context.only`: a kind matches itself and its sub-kinds."""
    return not only or any(kind == o or kind.startswith(o + ".") for o in only)


def find_function(
    cache: DocumentCache,
    uri: str,
    text: str,
    language_id: str,
    line: int,
    character: int,
    encoding: str,
) -> FunctionInfo | None:
    """The function at an LSP position, or None (unsupported language, bad position)."""
    try:
        index = offset_at(text, line, character, encoding)
        doc = cache.get(uri, text, language_id)
    except (PositionError, UnsupportedLanguage):
        return None
    return enclosing_function(doc, index)


def list_actions(
    func: FunctionInfo | None,
    uri: str,
    version: int,
    position: types.Position,
    only: Sequence[str] | None,
    resolve_support: bool,
) -> list[types.CodeAction]:
    """The actions offered at `position`: nothing outside a function."""
    if func is None:
        return []
    out = []
    if wanted(only, DOCSTRING_KIND) and (func.docstring or func.doc_insert_at is not None):
        verb = "Rewrite" if func.docstring else "Write"
        out.append(_action(f"{verb} docstring for `{func.name}`", DOCSTRING_KIND, "docstring"))
    if wanted(only, TESTS_KIND):
        out.append(_action(f"Generate unit tests for `{func.name}`", TESTS_KIND, "tests"))
    for action in out:
        data = ActionData(
            cast(str, action.data), uri, version, position.line, position.character
        ).json()
        action.data = data
        if not resolve_support:  # the client cannot resolve: run it as a command
            action.command = types.Command(title=action.title, command=COMMAND, arguments=[data])
    return out


def _action(title: str, kind: str, action: str) -> types.CodeAction:
    return types.CodeAction(title=title, kind=kind, data=action)
