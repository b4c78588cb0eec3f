"""Prompts as text, for engines that tokenize on the server (TGI, vLLM, llama.cpp).

The family's template (`families.py`) wraps the document's prefix and
suffix. Document text is sent through `escape` first: a file that contains
`<|fim_middle|>` or Code Llama's ` <EOT>` would otherwise reach the server's
tokenizer as a control token and steer or stop the model. Escaping puts a
zero-width space (U+200B) after the first character of every such string:
the model sees a slightly odd but harmless text instead of a control token.

Budgets are counted with the bundled Code Llama tokenizer through the
in-process prompt builder, which is exact for Code Llama and an estimate for
the other families (their larger vocabularies need fewer tokens for the same
code, so the estimate errs on the safe side; a safety margin covers the rest).
"""

from __future__ import annotations

from typing import Any, Protocol

from lsp_server.prompts.families import CODELLAMA, Family, ModelProfile
from lsp_server.prompts.healing import trim_horizontal
from lsp_server.prompts.prompt import Prompt

ZWSP = "\u200b"
# Room for BOS and the three FIM tokens, as the in-process builder reserves,
# plus a few tokens for glue spaces and escapes.
TEMPLATE_MARGIN = 8
# Other families are counted with Code Llama's tokenizer: keep 10% spare.
ESTIMATE_SHARE = 0.9


def escape(family: Family, text: str, before: str = "") -> str:
    """`text` with every control string of `family` broken by a zero-width space.

    `before` is the template text right before `text` (its last character
    matters: Code Llama's control pieces start with a space).
    """
    if not text:
        return text
    lead = before[-1:]
    joined = lead + text
    for _ in range(len(joined)):  # each pass removes at least one match
        pieces: list[str] = []
        last = 0
        for match in family.control_re.finditer(joined):
            if match.end() <= len(lead):
                continue
            cut = max(match.start() + 1, len(lead))
            pieces.append(joined[last:cut])
            pieces.append(ZWSP)
            last = cut
        if not pieces:
            break
        pieces.append(joined[last:])
        joined = "".join(pieces)
    return joined[len(lead) :]


def fim_text(profile: ModelProfile, prefix: str, suffix: str, order: str = "spm") -> str:
    """The family's infilling prompt for `prefix`/`suffix` (SPM only where published)."""
    if order not in ("spm", "psm"):
        raise ValueError(f"unknown FIM order {order!r} (expected 'spm' or 'psm')")
    if not profile.fim:
        return completion_text(profile, prefix)
    f = profile.family
    lead = f.prefix_lead if prefix else ""
    if suffix and suffix[0] in f.suffix_glue:
        suffix = " " + suffix
    safe_suffix = escape(f, suffix, before=f.suffix_token)
    if order == "spm" and f.spm:
        safe_prefix = escape(f, prefix, before=f.middle_token + lead)
        return f"{f.prefix_token}{f.suffix_token}{safe_suffix}{f.middle_token}{lead}{safe_prefix}"
    safe_prefix = escape(f, prefix, before=f.prefix_token + lead)
    return f"{f.prefix_token}{lead}{safe_prefix}{f.suffix_token}{safe_suffix}{f.middle_token}"


def completion_text(profile: ModelProfile, prefix: str) -> str:
    """Left-to-right prompt for models without infilling: the prefix alone."""
    # The tokenizer reads the start of the text as Code Llama's `prefix_lead`.
    return escape(profile.family, prefix, before=profile.family.prefix_lead)


def chat_text(profile: ModelProfile, user: str, system: str | None = None) -> str:
    """An instruct prompt in the family's chat layout (for the code actions)."""
    f = profile.family
    system = f.default_system if system is None else system
    if system and "{system}{user}" in f.chat_layout:  # no system turn: prepend it
        system += "\n\n"
    return f.chat_layout.format(system=escape(f, system), user=escape(f, user))


class Trimmer(Protocol):
    """What `codellama_ids.PromptBuilder` offers: a prefix/suffix cut to a budget."""

    def build(
        self,
        prefix: str,
        suffix: str,
        budget: int,
        order: str = ...,
        prefix_share: float = ...,
        *,
        context: tuple[str, ...] = ...,
        context_share: float = ...,
    ) -> _Kept: ...


class _Kept(Protocol):  # read-only: `PromptBuilder` returns a frozen dataclass
    @property
    def prefix(self) -> str: ...
    @property
    def suffix(self) -> str: ...
    @property
    def context(self) -> str: ...


class TextPromptBuilder:
    """Budgeted text prompts for one served model."""

    def __init__(self, profile: ModelProfile, trimmer: Trimmer) -> None:
        self.profile = profile
        self.trimmer = trimmer

    def build(
        self,
        prefix: str,
        suffix: str,
        budget: int,
        order: str = "spm",
        prefix_share: float = 0.75,
        context: tuple[str, ...] = (),
        context_share: float = 0.0,
        heal: bool = False,
    ) -> Prompt:
        """A text prompt that fits `budget` tokens of the served model.

        `context` blocks (other files' code) go at the top of the prefix, as
        in the ids builder, within `context_share` of the budget. With `heal`,
        the last trailing space moves from the prompt into `Prompt.heal` (the
        engine strips them from the answer): the most token healing a remote
        API allows, see docs/remote-engines.md.
        """
        more: dict[str, Any] = (
            {"context": context, "context_share": context_share} if context else {}
        )
        healed = ""
        if heal:
            prefix, healed = trim_horizontal(prefix)
        room = budget - TEMPLATE_MARGIN
        if self.profile.family is not CODELLAMA:
            room = int(room * ESTIMATE_SHARE)
        room = max(room, 1)
        if not self.profile.fim:
            suffix = ""
        kept = self.trimmer.build(prefix, suffix, room, order, prefix_share, **more)
        shown = getattr(kept, "context", "") + kept.prefix
        text = fim_text(self.profile, shown, kept.suffix, order)
        escapes = text.count(ZWSP) - shown.count(ZWSP) - kept.suffix.count(ZWSP)
        if escapes:  # each escape adds tokens (ZWSP, split pieces) the count did not see
            kept = self.trimmer.build(
                prefix, suffix, max(room - 3 * escapes, 1), order, prefix_share, **more
            )
            shown = getattr(kept, "context", "") + kept.prefix
            text = fim_text(self.profile, shown, kept.suffix, order)
        family = self.profile.family
        return Prompt(
            text=text,
            stop_ids=family.stop_ids,
            stop_strings=family.stop_strings,
            prefix=kept.prefix,
            suffix=kept.suffix,
            heal=healed,
        )
