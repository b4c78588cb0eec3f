"""Code Llama's tokenizer, made safe and exact for fill-in-the-middle prompts.

Built on the raw `tokenizers.Tokenizer` of the model's `tokenizer.json`
(transformers' CodeLlamaTokenizer infilling path gives wrong ids, see
docs/design.md). Two changes make document text unable to produce control ids:

* the added tokens (`<unk>`, `<s>`, `</s>`) are dropped, so the literal text
  `</s>` is split into ordinary pieces, as Meta's sentencepiece does;
* the BPE merges that build the 16 FIM pieces (ids 32000-32015, e.g. `▁<EOT>`)
  are removed, so no text can reach them.

Text without those strings encodes exactly as before.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

# The pieces a document may never produce: <unk>, <s>, </s> and the FIM block.
CONTROL_IDS = frozenset({0, 1, 2, *range(32000, 32016)})
# "☺" encodes to [29871 ("▁"), 31171]: prepending it and dropping two ids
# removes sentencepiece's dummy leading "▁" (Meta's `encode_infilling`).
_SMILE = "☺"
_SMILE_ID = 31171
# A lone UTF-16 surrogate (a JSON "\ud83d" escape from the editor, e.g. half
# of a pasted emoji) is a valid Python str character but not encodable text.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> str:
    """`text` with lone surrogates as U+FFFD: one character for one, so offsets hold."""
    return _SURROGATE.sub("\ufffd", text)


@dataclass(frozen=True)
class FimTokens:
    """The special ids of a Code Llama style FIM vocabulary."""

    bos: int = 1
    eos: int = 2
    prefix: int = 32007
    suffix: int = 32008
    middle: int = 32009
    eot: int = 32010


class FimTokenizer:
    """Encodes and decodes document text exactly like Meta's Code Llama code."""

    def __init__(self, tokenizer_json: str, tokens: FimTokens | None = None) -> None:
        spec = json.loads(tokenizer_json)
        self._raw = Tokenizer.from_str(tokenizer_json)
        self.tokens = tokens or FimTokens()
        self.vocab_size = self._raw.get_vocab_size(with_added_tokens=True)
        self._safe = Tokenizer.from_str(json.dumps(_without_control_pieces(spec)))

    @classmethod
    def from_file(cls, path: str | Path) -> FimTokenizer:
        return cls(Path(path).read_text(encoding="utf-8"))

    def encode(self, text: str) -> list[int]:
        """Plain sentencepiece encoding (with the dummy leading `▁`)."""
        if not text:
            return []
        return self._safe.encode(_encodable(text), add_special_tokens=False).ids

    def encode_infilling(self, text: str) -> list[int]:
        """Encoding without the dummy leading `▁`: Meta's `encode_infilling`."""
        if not text:
            return []
        return self._safe.encode(_SMILE + _encodable(text), add_special_tokens=False).ids[2:]

    def encode_with_offsets(
        self, text: str, infilling: bool = False
    ) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids and their character spans in `text` (for cutting at a token)."""
        if not text:
            return [], []
        text = _encodable(text)
        if not infilling:
            enc = self._safe.encode(text, add_special_tokens=False)
            return enc.ids, list(enc.offsets)
        enc = self._safe.encode(_SMILE + text, add_special_tokens=False)
        offsets = [(max(a - 1, 0), max(b - 1, 0)) for a, b in enc.offsets[2:]]
        return enc.ids[2:], offsets

    def decode_infilling(self, ids: list[int]) -> str:
        """Meta's `decode_infilling`: keeps a leading space of the middle."""
        return self._raw.decode([_SMILE_ID, *ids], skip_special_tokens=False)[1:]

    def piece(self, token_id: int) -> str | None:
        """The vocabulary piece of an id (None past the vocabulary)."""
        return self._raw.id_to_token(token_id)

    def vocabulary(self) -> dict[str, int]:
        """Every piece and its id (added tokens included)."""
        return self._raw.get_vocab(with_added_tokens=True)

    def control_ids(self) -> frozenset[int]:
        """Ids that must never become text: Code Llama's controls and every added token."""
        return CONTROL_IDS | frozenset(self._raw.get_added_tokens_decoder())

    def decode(self, ids: list[int]) -> str:
        return self._raw.decode(ids, skip_special_tokens=False)


def _without_control_pieces(spec: dict) -> dict:
    """Copy of a tokenizer.json spec whose BPE can never emit a control id."""
    spec = json.loads(json.dumps(spec))
    model = spec["model"]
    vocab: dict[str, int] = model["vocab"]
    forbidden = {piece for piece, i in vocab.items() if i in CONTROL_IDS}

    def joined(merge: str | list[str]) -> str:
        return merge.replace(" ", "", 1) if isinstance(merge, str) else "".join(merge)

    model["merges"] = [m for m in model["merges"] if joined(m) not in forbidden]
    spec["added_tokens"] = []
    spec["post_processor"] = None
    return spec
