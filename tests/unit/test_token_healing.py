"""Token healing on the bundled model: the prompt side, the decode constraint, KV reuse.

Prompts are built the way the server builds them, after random edits of a
real Python file (`keystroke_edits`), with healing on: many of them end in
an indent or half a word, which is what healing is for.
"""

from __future__ import annotations

import pytest

from lsp_server.completion.service import SNAP_LINES
from lsp_server.engines.transformers.engine import TransformersEngine
from lsp_server.engines.transformers.healing import Healer, HealingLookup
from lsp_server.generation import CancelToken, GenerationRequest, Prompt
from lsp_server.prompts.healing import heal_split, strip_healed, trim_horizontal
from tests.support.keystroke_edits import BUDGET, SOURCE, builder, edits, loaded

__all__ = ["builder", "loaded"]  # fixtures


@pytest.mark.parametrize(
    ("prefix", "kept", "removed"),
    [
        # A word carries one space (`▁▁▁` + `▁return`): only the last space goes.
        ("def f(x):\n    ", "def f(x):\n   ", " "),
        ("def f(x):\n    ret", "def f(x):\n   ", " ret"),
        ("\t\treturn", "\t\t", "return"),  # a tab is a token of its own
        ("    return x", "    return", " x"),
        ("x = foo(", "x = foo", "("),
        ("y = a =", "y = a", " ="),
        ("n = 12", "n =", " 12"),
        ("done\n", "done\n", ""),
        ("", "", ""),
        ("a\tb\t", "a\tb\t", ""),
    ],
)
def test_heal_split_backs_off_what_the_tokenizer_would_merge(prefix, kept, removed):
    assert heal_split(prefix) == (kept, removed)


def test_heal_split_never_crosses_a_line_and_stays_short():
    kept, removed = heal_split("x = 1\n" + "a" * 100)
    assert "\n" not in removed and len(removed) <= 32 and kept + removed == "x = 1\n" + "a" * 100


def test_strip_healed_and_remote_trim():
    assert strip_healed("    return x", "    ") == "return x"
    assert strip_healed("  ", "    ") == ""  # stopped inside the removed text
    assert strip_healed("  return", "    ") == "return"  # an unconstrained remote model
    assert strip_healed("\nx", "    ") == "\nx"
    assert trim_horizontal("if x:\n    ") == ("if x:\n   ", " ")  # a word carries one space
    assert trim_horizontal("if x:\n\t") == ("if x:\n\t", "")  # a tab is its own token
    assert trim_horizontal("    ret") == ("    ret", "")


def test_lookup_allows_exactly_the_consistent_pieces(loaded):
    tok = loaded.tokenizer
    lookup = HealingLookup(tok, excluded=tok.control_ids())
    allowed = {tok.piece(int(i)).replace("▁", " ") for i in lookup.allowed("    ret")}
    assert allowed == {" ", "  ", "   ", "    "}  # no piece spans "    ret"
    for token_id in lookup.allowed(" ret").tolist():
        text = tok.piece(token_id).replace("▁", " ")
        assert text.startswith(" ret") or " ret".startswith(text)
    assert not set(lookup.allowed(" ").tolist()) & tok.control_ids()


def _request(builder, text: str, cursor: int, order: str = "spm", **kw) -> GenerationRequest:
    built = builder.build(
        text[:cursor], text[cursor:], BUDGET, order, snap_lines=SNAP_LINES, heal=True
    )
    assert text[:cursor].endswith(built.prefix + built.healed)
    assert built.healed == heal_split(text[:cursor])[1]
    kw.setdefault("max_new_tokens", 8)
    return GenerationRequest(Prompt(ids=built.ids, heal=built.healed), **kw)


def _generate(engine, req: GenerationRequest, key: str | None):
    return engine.generate(
        GenerationRequest(req.prompt, req.max_new_tokens, cache_key=key), CancelToken()
    )


def _healing_edits(count: int, seed: int):
    """Random edits, plus cursors after an indent and inside a word of the real file."""
    yield from edits(seed=seed, count=count, docs=2)
    after_indent = SOURCE.index("    unicode_whitespace_trans") + 4
    mid_word = SOURCE.index("word_punct = r") + 6
    for at in (after_indent, mid_word):
        yield "doc0", SOURCE, at


def test_healing_with_and_without_kv_reuse_gives_identical_ids(loaded, builder):
    engine = TransformersEngine(loaded)
    healed = 0
    for key, text, cursor in _healing_edits(60, seed=21):
        req = _request(builder, text, cursor)
        healed += bool(req.prompt.heal)
        with_reuse = _generate(engine, req, key)
        assert with_reuse.token_ids == _generate(engine, req, None).token_ids
    assert healed >= 20  # the edits really exercised healing


def test_drafting_while_healing_gives_the_step_by_step_ids(loaded, builder, monkeypatch):
    """Drafts are verified under the healing mask, row by row: same ids, fewer steps."""
    masked_verifications = []
    real_rows = Healer.masked_rows

    def counting(heal, rows, draft):
        masked_verifications.append(len(draft))
        return real_rows(heal, rows, draft)

    monkeypatch.setattr(Healer, "masked_rows", counting)
    engine, plain = TransformersEngine(loaded), TransformersEngine(loaded)
    healed = drafted_while_healing = 0
    for key, text, cursor in _healing_edits(40, seed=33):
        req = _request(builder, text, cursor, max_new_tokens=24)
        drafted = engine.generate(
            GenerationRequest(req.prompt, 24, cache_key=key, draft_tokens=8), CancelToken()
        )
        step_by_step = _generate(plain, req, None)
        assert drafted.token_ids == step_by_step.token_ids
        if req.prompt.heal:
            healed += 1
            drafted_while_healing += drafted.drafted > 0 and drafted.steps < step_by_step.steps
    assert healed >= 10 and drafted_while_healing > 0 and masked_verifications


def test_a_healed_answer_drafts_within_the_healing_mask_with_the_prefill(
    loaded, builder, monkeypatch
) -> None:
    """While healing, a draft starts with a token the mask allows (the document's own
    choice, else the removed text as the tokenizer writes it), and the first one
    rides with the prefill: re-writing the removed text costs no forward of its own."""
    import lsp_server.engines.transformers.decode_loop as loop_module

    verifications: list[tuple[list[int], list[int]]] = []  # (draft, tokens decided)
    real_accepted = loop_module.accepted

    def spying(rows, draft):
        decided = real_accepted(rows, draft)
        verifications.append((list(draft), decided))
        return decided

    monkeypatch.setattr(loop_module, "accepted", spying)
    engine, plain = TransformersEngine(loaded), TransformersEngine(loaded)
    lookup = HealingLookup(loaded.tokenizer, excluded=loaded.tokenizer.control_ids())
    healed = past_the_removed_text = 0
    for _key, text, cursor in _healing_edits(30, seed=35):
        req = _request(builder, text, cursor, max_new_tokens=16)
        if not req.prompt.heal:
            continue
        verifications.clear()
        got = engine.generate(GenerationRequest(req.prompt, 16, draft_tokens=8), CancelToken())
        assert got.token_ids == _generate(plain, req, None).token_ids
        draft, decided = verifications[0]  # the prefill's forward
        assert Healer(lookup, req.prompt.heal).fits(draft[0])
        healed += 1
        rest = req.prompt.heal
        for token in decided[:-1]:  # the accepted draft tokens
            rest = lookup.consume(rest, token) if rest else rest
        past_the_removed_text += len(decided) > 1 and not rest
    assert healed >= 5 and past_the_removed_text >= healed // 4  # 10 of 24 today


@pytest.mark.parametrize("order", ["spm", "psm"])
def test_first_generated_text_always_agrees_with_the_removed_text(loaded, builder, order):
    engine = TransformersEngine(loaded)
    tok = loaded.tokenizer
    checked = 0
    for key, text, cursor in _healing_edits(60, seed=4):
        req = _request(builder, text, cursor, order)
        got = _generate(engine, req, key)
        raw = tok.decode_infilling(got.token_ids)
        removed = req.prompt.heal
        assert raw.startswith(removed) or (removed.startswith(raw) and got.text == "")
        if raw.startswith(removed):
            assert got.text == raw[len(removed) :]
            checked += bool(removed)
        assert got.healed == removed
    assert checked >= 20


def test_healing_on_the_static_path_gives_the_dynamic_paths_ids(loaded, builder):
    dynamic = TransformersEngine(loaded)
    static = TransformersEngine(loaded, context_window=512)
    static.use_static()
    for key, text, cursor in _healing_edits(20, seed=8):
        req = _request(builder, text, cursor)
        got = _generate(static, req, key)
        assert static.last_path == "static"
        assert got.token_ids == _generate(dynamic, req, None).token_ids


def test_healing_tokens_count_against_max_new_tokens(loaded, builder):
    """maxNewTokens bounds the decode work, healing included (the latency it buys)."""
    engine = TransformersEngine(loaded)
    cursor = SOURCE.index("    unicode_whitespace_trans") + 4  # after the indent: " " removed
    req = _request(builder, SOURCE, cursor, max_new_tokens=3)
    assert req.prompt.heal == " "
    got = _generate(engine, req, None)
    assert got.stop_reason == "length" and len(got.token_ids) == 3 and got.text


def test_cancel_while_healing_stops_within_one_step(loaded, builder):
    engine = TransformersEngine(loaded)
    cancel = CancelToken()
    cursor = SOURCE.index("    unicode_whitespace_trans") + 4
    req = _request(builder, SOURCE, cursor, max_new_tokens=32)
    real_mask = Healer.mask

    def mask_then_cancel(self, logits):
        cancel.set()  # as if the user typed during the first healing step
        return real_mask(self, logits)

    Healer.mask = mask_then_cancel  # type: ignore[method-assign]
    try:
        got = engine.generate(req, cancel)
    finally:
        Healer.mask = real_mask  # type: ignore[method-assign]
    assert got.stop_reason == "cancelled" and got.steps == 1
