"""Code Llama fill-in-the-middle prompts: Meta's exact ids, within a token budget.

Layouts (Meta's `infilling_prompt_tokens`, codellama/llama/generation.py):

* PSM: ``[BOS, PRE] + encode(prefix) + [SUF] + encode_infilling(suffix) + [MID]``
* SPM: ``[BOS, PRE, SUF] + encode_infilling(suffix) + [MID] + encode(prefix)``

SPM is the default: it scores higher on single-line infilling (Code Llama
paper, Table 14) and puts the stable suffix first, so the KV cache of the
previous keystroke stays valid while the user types.

Budgeting works line by line. No Code Llama piece spans a newline (a newline
is always the byte piece `<0x0A>`, id 13), so a text's ids are its lines' ids
joined by 13; only the first line of `encode` carries the dummy `▁`. Lines
are tokenized once and cached, so a keystroke re-tokenizes one line, and the
cost depends on the budget, never on the file's size. The tests check the
result against a whole-text encoding on thousands of cuts.

With `snap_lines`, the cuts move in steps of that many lines (the prefix's
top on a grid of document lines, the suffix's end on a grid of lines below
the cursor). Without it, the top of a cut prefix moves down with nearly
every keystroke once the budget is full; in SPM the prefix comes last, so
that would change the prompt from the `<MID>` on and defeat KV-cache reuse.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsp_server.prompts.fim_tokenizer import FimTokenizer
from lsp_server.prompts.healing import heal_split

_NEWLINE = 13
_DUMMY = 29871  # "▁" alone: what `encode` gives an empty first line
_MAX_CHARS_PER_TOKEN = 12  # bounds the window tokenized inside one huge line
_CACHE_LINES = 50_000
_CACHE_LINE_CHARS = 2_000


@dataclass(frozen=True)
class FimPrompt:
    """Prompt ids plus the exact text they cover (for `codellama-lsp prompt`)."""

    ids: list[int]
    prefix: str
    suffix: str
    order: str
    context: str = ""  # the snippet blocks kept at the top of the prefix
    # Token healing: the tail of the prefix left out of `ids` (and of `prefix`),
    # which the answer must start with (see prompt_healing.py).
    healed: str = ""


def fim_prompt_ids(tok: FimTokenizer, prefix: str, suffix: str, order: str = "spm") -> list[int]:
    """Meta's exact infilling prompt ids for `prefix` and `suffix`.

    Document text can never produce control ids (see `FimTokenizer`), and an
    empty prefix or suffix keeps the full layout.
    """
    return _layout(tok, tok.encode(prefix), tok.encode_infilling(suffix), order)


def _layout(tok: FimTokenizer, prefix_ids: list[int], suffix_ids: list[int], order: str):
    t = tok.tokens
    if order == "psm":
        return [t.bos, t.prefix, *prefix_ids, t.suffix, *suffix_ids, t.middle]
    if order == "spm":
        return [t.bos, t.prefix, t.suffix, *suffix_ids, t.middle, *prefix_ids]
    raise ValueError(f"unknown FIM order {order!r} (expected 'spm' or 'psm')")


class PromptBuilder:
    """Builds budgeted FIM prompts, caching the ids of each line it has seen."""

    def __init__(self, tok: FimTokenizer) -> None:
        self.tok = tok
        self._lines: dict[str, list[int]] = {}

    def build(
        self,
        prefix: str,
        suffix: str,
        budget: int,
        order: str = "spm",
        prefix_share: float = 0.75,
        snap_lines: int = 0,
        context: tuple[str, ...] = (),
        context_share: float = 0.0,
        heal: bool = False,
    ) -> FimPrompt:
        """The prompt of at most `budget` ids, keeping the lines nearest the cursor.

        The prefix is cut from the top and the suffix from the bottom at line
        boundaries; each side may use what the other leaves unused. A cut
        snaps to a grid of `snap_lines` lines when that keeps one line or more.
        With `heal`, a tail of the prefix the tokenizer would merge with what
        follows is left out (`FimPrompt.healed`) for the engine to re-generate.

        `context` blocks (text ending in a line break: other files' code) go
        at the top of the prefix, the leading ones that fit `context_share`
        of the budget; they come out of the prefix's share.
        """
        healed = ""
        if heal:
            prefix, healed = heal_split(prefix)
        room = max(budget - 4, 0)  # BOS, PRE, SUF, MID
        context_text, context_ids = self._context(context, int(room * context_share))
        if context_ids:  # out of the prefix's share: the suffix keeps what it had
            want = max(room * prefix_share - len(context_ids), 0.0)
            room -= len(context_ids)
            prefix_share = want / room if room else 0.0
        before = self._lines_before(prefix, room)
        after = self._lines_after(suffix, room)
        need_before = sum(len(ids) + 1 for _, ids in before)
        need_after = sum(len(ids) + 1 for _, ids in after)
        want_before = int(room * prefix_share)
        if need_before <= want_before:
            after_room = room - need_before
        else:
            after_room = min(need_after, room - want_before)
        kept_suffix, suffix_ids = self._take_after(suffix, after, after_room, snap_lines)
        kept_prefix, prefix_ids = self._take_before(
            prefix, before, room - len(suffix_ids), snap_lines, first_dummy=not context_ids
        )
        ids = _layout(self.tok, context_ids + prefix_ids, suffix_ids, order)
        return FimPrompt(ids, kept_prefix, kept_suffix, order, context_text, healed)

    def _context(self, blocks: tuple[str, ...], room: int) -> tuple[str, list[int]]:
        """The leading blocks that fit `room` ids, and their ids as `encode` gives them.

        Lines never share a piece across a break, so the blocks' ids followed
        by the prefix's lines (no dummy `▁` on the first) are exactly the ids
        of the whole text: the block changes nothing about the code's ids.
        """
        used, text = 1, ""  # 1 for the dummy `▁` of the first line
        for block in blocks:
            lines = block.rstrip("\n").split("\n")
            cost = sum(len(self._line(line)) + 1 for line in lines)
            if used + cost > room:
                break
            used += cost
            text += block if block.endswith("\n") else block + "\n"
        if not text:
            return "", []
        lines = text[:-1].split("\n")
        ids = self.tok.encode(lines[0])
        for line in lines[1:]:
            ids.append(_NEWLINE)
            ids.extend(self._line(line))
        ids.append(_NEWLINE)
        return text, ids

    # -- lines -------------------------------------------------------------

    def _line(self, text: str) -> list[int]:
        """Ids of one line as it appears after a newline (no dummy `▁`)."""
        if len(text) > _CACHE_LINE_CHARS:
            return self.tok.encode_infilling(text)
        ids = self._lines.get(text)
        if ids is None:
            if len(self._lines) >= _CACHE_LINES:
                self._lines.clear()
            ids = self._lines[text] = self.tok.encode_infilling(text)
        return ids

    def _lines_before(self, prefix: str, room: int) -> list[tuple[int, list[int]]]:
        """(start, ids) of the prefix's lines, nearest the cursor first, ~room ids."""
        out: list[tuple[int, list[int]]] = []
        end, used = len(prefix), 0
        while end >= 0 and used <= room:
            start = prefix.rfind("\n", 0, end) + 1
            ids = self._line_window(prefix[start:end], room, tail=True)
            out.append((start, ids))
            used += len(ids) + 1
            end = start - 1
        return out

    def _lines_after(self, suffix: str, room: int) -> list[tuple[int, list[int]]]:
        """(end, ids) of the suffix's lines, nearest the cursor first, ~room ids."""
        out: list[tuple[int, list[int]]] = []
        start, used = 0, 0
        while start <= len(suffix) and used <= room:
            nl = suffix.find("\n", start)
            end = len(suffix) if nl < 0 else nl
            ids = self._line_window(suffix[start:end], room, tail=False)
            out.append((end, ids))
            used += len(ids) + 1
            start = end + 1
        return out

    def _line_window(self, line: str, room: int, tail: bool) -> list[int]:
        """Ids of a line; a huge line is only tokenized near the cursor."""
        limit = (room + 1) * _MAX_CHARS_PER_TOKEN
        if len(line) <= limit:
            return self._line(line)
        return self.tok.encode_infilling(line[-limit:] if tail else line[:limit])

    # -- taking whole lines within a budget ---------------------------------

    def _take_before(
        self,
        prefix: str,
        lines: list[tuple[int, list[int]]],
        room: int,
        snap: int = 0,
        first_dummy: bool = True,
    ) -> tuple[str, list[int]]:
        if not prefix or room <= 0:
            return "", []
        used, keep = 0, 0
        for _, ids in lines:
            cost = len(ids) + (1 if keep else 0)
            if used + cost > room - 1:  # 1 spare for the dummy of the first line
                break
            used += cost
            keep += 1
        if keep == 0:
            return self._tail_of_line(prefix[lines[0][0] :], room, first_dummy)
        total = prefix.count("\n") + 1
        keep = _snap_top(keep, total, snap)
        while True:
            ids = self._join(prefix, lines[:keep], first_dummy=first_dummy)
            if len(ids) <= room or keep == 1:
                break
            keep = _snap_top(keep - 1, total, snap)
        text = prefix[lines[keep - 1][0] :]
        if len(ids) > room:
            return self._tail_of_line(text, room, first_dummy)
        return text, ids

    def _take_after(
        self, suffix: str, lines: list[tuple[int, list[int]]], room: int, snap: int = 0
    ) -> tuple[str, list[int]]:
        if not suffix or room <= 0:
            return "", []
        used, keep = 0, 0
        for _, ids in lines:
            if used + len(ids) + 1 > room:
                break
            used += len(ids) + 1
            keep += 1
        if keep == 0:
            return self._head_of_line(suffix, room)
        if snap > 0 and keep < len(lines) and keep >= snap:
            keep -= keep % snap  # a cut suffix ends on the grid (if a grid step fits)
        end = lines[keep - 1][0]
        text = suffix[: end + 1]  # up to and including the line break
        ids = []
        for i, (_, line_ids) in enumerate(lines[:keep]):
            if i:
                ids.append(_NEWLINE)
            ids.extend(line_ids)
        if end < len(suffix):
            ids.append(_NEWLINE)
        return text, ids

    def _join(
        self, prefix: str, lines: list[tuple[int, list[int]]], first_dummy: bool
    ) -> list[int]:
        """Prefix ids from its kept lines (given nearest first), as `encode` gives."""
        top_start = lines[-1][0]
        top_end = prefix.find("\n", top_start)
        top = prefix[top_start : len(prefix) if top_end < 0 else top_end]
        if not first_dummy:  # after a context block: the top line is not the text's first
            ids = list(self._line(top))
        elif len(lines) == 1:
            return self.tok.encode(top)
        else:
            ids = self.tok.encode(top) if top else [_DUMMY]
        for _, line_ids in reversed(lines[:-1]):
            ids.append(_NEWLINE)
            ids.extend(line_ids)
        return ids

    def _tail_of_line(
        self, text: str, room: int, first_dummy: bool = True
    ) -> tuple[str, list[int]]:
        """A line longer than the budget: keep its last `room` tokens."""
        encode = self.tok.encode if first_dummy else self.tok.encode_infilling
        window = text[-(room + 1) * _MAX_CHARS_PER_TOKEN :]
        ids, offsets = self.tok.encode_with_offsets(window)
        out = window[offsets[max(len(ids) - room + 1, 0)][0] :] if ids else ""
        ids = encode(out)
        while out and len(ids) > room:
            out = out[1:]
            ids = encode(out)
        return out, ids

    def _head_of_line(self, text: str, room: int) -> tuple[str, list[int]]:
        """A suffix line longer than the budget: keep its first `room` tokens."""
        window = text[: (room + 1) * _MAX_CHARS_PER_TOKEN]
        ids, offsets = self.tok.encode_with_offsets(window, infilling=True)
        out = window[: offsets[min(room, len(ids)) - 1][1]] if ids else ""
        ids = self.tok.encode_infilling(out)
        while out and len(ids) > room:
            out = out[:-1]
            ids = self.tok.encode_infilling(out)
        return out, ids


def _snap_top(keep: int, total: int, snap: int) -> int:
    """Lines to keep so that a cut prefix starts on a document line divisible by `snap`.

    Line numbers above the cursor do not change while the user types at the
    cursor, so the top of the prompt stays put until `snap` more lines are needed.
    """
    if snap <= 0 or keep >= total:
        return keep
    top = total - keep
    snapped = total - (-(-top // snap) * snap)
    return snapped if snapped >= 1 else keep
