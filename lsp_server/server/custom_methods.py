"""The server's own requests, beyond LSP: names and shapes, defined once.

`docs/protocol.md` documents them for client authors; the VS Code and Neovim
clients use the names as written here (a test reads the editors' sources and
compares). Params arrive as pygls gives custom params (namedtuples or dicts);
`text_position` and `text_document_uri` read them with clear errors.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

STATS = "codellamaLsp/stats"
PROMPT = "codellamaLsp/prompt"
DOCUMENT = "codellamaLsp/document"
METHODS = (STATS, PROMPT, DOCUMENT)


class StatsResult(TypedDict, total=False):
    """`codellamaLsp/stats` (params: `{}`): what the server is doing and has done."""

    state: Literal["idle", "loading", "ready", "failed"]  # the completion model
    error: str | None  # why it failed to load
    model: str  # its description, e.g. "tiny-codellama-fim on cpu (float32)"
    instruct: dict[str, Any]  # the Instruct model's slot: state, model, error
    settings: dict[str, Any]  # the settings in force (camelCase, as sent)
    model_calls: int
    typed_through: int
    cancelled: int
    generations: int
    prefilled_tokens: int
    decode_steps: int
    drafted_tokens: int  # prompt-lookup drafting: tokens proposed
    accepted_tokens: int  # and accepted
    cancelled_steps: int
    cancel_lag_steps: int  # decode steps after a cancel arrived (at most 1)
    compile: str  # how the background compile ended
    superseded: int
    preemptions: int  # code-action steps given up to ghost text
    superseded_loads: int  # model loads a newer one replaced
    workspace: dict[str, Any]  # the workspace index (files, state)
    torch_threads: int | None  # on the model's thread; None: torch unused
    shared_generations: int
    max_generating: int  # most generations ever in flight at once (1)
    # The last model-made completion: timings, tokens, stop_reason, decode path,
    # and `filtered_by`: the filters that changed its text, the cutting one first.
    last: dict[str, Any]


class PromptResult(TypedDict):
    """`codellamaLsp/prompt` (params: TextDocumentPositionParams): the exact prompt
    a completion there would send."""

    kind: Literal["ids", "text"]  # which the engine takes
    engine: str
    ids: list[int]  # Code Llama ids (empty for a text engine)
    text: str  # the ids decoded, or the text sent
    prefix: str  # the part of the document before the cursor that was kept
    healed: str  # its tail the model re-writes (token healing; not in ids/text)
    suffix: str  # and after it
    context: str  # the workspace snippet blocks at the top of the prefix ("" if none)


class DocumentResult(TypedDict):
    """`codellamaLsp/document` (params: `{textDocument: {uri}}`): the server's copy."""

    text: str
    version: int


def field(obj: Any, name: str) -> Any:
    """Field of a custom request's params (pygls gives them as namedtuples)."""
    value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    if value is None:
        raise JsonRpcInvalidParams(f"missing '{name}'")
    return value


def text_document_uri(params: Any) -> str:
    return field(field(params, "textDocument"), "uri")


def text_position(params: Any) -> tuple[str, types.Position]:
    uri = text_document_uri(params)
    pos = field(params, "position")
    line, character = field(pos, "line"), field(pos, "character")
    if not isinstance(line, int) or not isinstance(character, int):
        raise JsonRpcInvalidParams("position.line and position.character must be integers")
    return uri, types.Position(line=line, character=character)
