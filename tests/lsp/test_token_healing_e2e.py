"""Token healing over the LSP wire: the cursor after an auto-indent, with the setting on/off."""

from __future__ import annotations

import pytest

from lsp_server.server.custom_methods import PROMPT
from tests.support.lsp import configure, custom, inline, open_doc, stats

pytestmark = pytest.mark.asyncio(loop_scope="module")

# The editor's state after Enter in a function body: the cursor after the indent.
TEXT = "def add(a, b):\n    \n\n\nprint(add(1, 2))\n"
URI = "file:///ws/healing.py"
AT = {"textDocument": {"uri": URI}, "position": {"line": 1, "character": 4}}


async def test_the_indent_is_healed_and_answered(shared):
    open_doc(shared, URI, TEXT)
    configure(shared, tokenHealing=True)
    prompt = await custom(shared, PROMPT, AT)
    assert prompt["healed"] == "    " and prompt["prefix"] == "def add(a, b):\n    "
    items = await inline(shared, URI, 1, 4)
    assert items, "the tiny model answers after the indent once healed"
    assert items[0].insert_text.strip()
    # The model re-wrote the 4 spaces (and may indent further, as it chose to here):
    # what the editor shows starts at the cursor, after the document's own indent.
    assert items[0].range.start.character == 4
    last = (await stats(shared))["last"]
    assert last["stop_reason"] != "control"


async def test_off_sends_the_prompt_as_typed(shared):
    configure(shared, tokenHealing=False)
    try:
        prompt = await custom(shared, PROMPT, AT)
        assert prompt["healed"] == "" and prompt["prefix"] == "def add(a, b):\n    "
    finally:
        configure(shared, tokenHealing=True)
