"""Model families as data: FIM text templates, stops, context windows, chat layouts.

Text engines (TGI, OpenAI-compatible servers) take a prompt as text, so each
family's control strings are spelled out here exactly as its authors publish
them; the in-process Code Llama engine builds ids instead (`codellama_ids.py`).
A family is chosen by `modelFamily`, or detected from the model's tokenizer,
config or name (`detect`); detection that finds nothing is an error, never a
silent guess, because a wrong template gives confident nonsense.

Sources, one per family (the golden tests in tests/remote/test_families.py
reproduce each published example):

* Code Llama: Meta's `infilling_prompt_tokens` (codellama `llama/generation.py`)
  and the text pieces `▁<PRE>`, `▁<SUF>`, `▁<MID>`, `▁<EOT>` of its tokenizer;
  the text form below tokenizes to Meta's ids (checked on the real tokenizer).
  Infilling in 7B/13B base and Instruct only; 34B, 70B and Python variants are
  completion-only (vocabulary 32000, Code Llama README / paper section 2.3).
  Instruct chat: the Llama 2 layout `[INST] <<SYS>>…<</SYS>>… [/INST]`.
* StarCoder / StarCoder2: `bigcode/starcoder` model card, "Fill-in-the-middle"
  (`<fim_prefix>…<fim_suffix>…<fim_middle>`); StarCoder2's extra tokens and
  16k window from the StarCoder2 paper (arXiv 2402.19173, section 5); the
  instruct layout from the `bigcode/starcoder2-15b-instruct-v0.1` model card.
* DeepSeek-Coder: `deepseek-ai/DeepSeek-Coder` README, "Code Insertion"
  (`<｜fim▁begin｜>…<｜fim▁hole｜>…<｜fim▁end｜>`, full-width bars) and its
  chat template; 16k window from the same README.
* Qwen2.5-Coder: `QwenLM/Qwen2.5-Coder` `examples/Qwen2.5-Coder-fim.py`
  (`<|fim_prefix|>…<|fim_suffix|>…<|fim_middle|>` and its stop ids); ChatML.
* CodeGemma: ai.google.dev "CodeGemma formatting and system instructions"
  (same FIM strings as Qwen, `<|file_separator|>` between files) and the
  Gemma turn layout `<start_of_turn>user…<end_of_turn>`.

Only Code Llama publishes a suffix-prefix-middle text layout; the others are
prefix-suffix-middle only, and `fimOrder: spm` falls back to PSM for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePath
from typing import Any


class FamilyError(ValueError):
    """The family cannot be told, or was asked for with a name we do not know."""


@dataclass(frozen=True)
class Family:
    """How one model family spells fill-in-the-middle, stops and chat."""

    name: str  # the value of the `modelFamily` setting
    title: str
    prefix_token: str  # text before the document prefix
    suffix_token: str  # text before the document suffix
    middle_token: str  # text after which the model writes the middle
    spm: bool  # a suffix-prefix-middle text layout is published
    # Text where generation must stop, most important first (TGI takes 4).
    stop_strings: tuple[str, ...]
    # Ids of those stops where the vocabulary is fixed (TGI streams ids).
    stop_ids: tuple[int, ...]
    # Regex of document text that the family's tokenizer would turn into
    # control tokens; every match is broken up before it is sent.
    control_pattern: str
    context_window: int
    chat_layout: str  # with {system} and {user}
    chat_stops: tuple[str, ...]
    default_system: str = ""
    # Put before a non-empty document prefix (Code Llama's sentencepiece `▁`).
    prefix_lead: str = ""
    # First characters of a suffix that the tokenizer would merge into the
    # suffix token (Code Llama's `▁<SUF>` + `)` → `▁<SUF` + `>)`): a space is
    # put between them, which the model reads as a leading space.
    suffix_glue: str = ""
    # Model name fragments (lower case) that identify the family.
    name_hints: tuple[str, ...] = ()
    # Tokenizer strings whose presence identifies the family.
    token_hints: tuple[str, ...] = ()
    # config.json `model_type` values that identify the family outright.
    model_types: tuple[str, ...] = ()

    @cached_property
    def control_re(self) -> re.Pattern[str]:
        return re.compile(self.control_pattern)


CODELLAMA = Family(
    name="codellama",
    title="Code Llama",
    prefix_token="<PRE>",
    suffix_token=" <SUF>",
    middle_token=" <MID>",
    spm=True,
    stop_strings=(" <EOT>", "<EOT>", "</s>"),
    stop_ids=(32010, 2),
    # `▁<PRE>`…`▁<EOT>` and their partial pieces `▁<SU`, `▁<M`, `▁<E` (ids
    # 32000-32015) are ordinary BPE pieces reached by a space then `<`; the
    # three added tokens are matched anywhere.
    control_pattern=r" <(?:PRE|SU|M|E)|</?s>|<unk>",
    context_window=16384,
    chat_layout="[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST]",
    chat_stops=("</s>",),
    default_system="You are a helpful coding assistant.",
    prefix_lead=" ",
    suffix_glue="\"&'(),./:;<=>[\\`{\r",
    name_hints=("codellama", "code-llama", "code_llama"),
    token_hints=("▁<PRE>", "▁<SUF>", "▁<MID>"),
)

STARCODER = Family(
    name="starcoder",
    title="StarCoder / StarCoder2",
    prefix_token="<fim_prefix>",
    suffix_token="<fim_suffix>",
    middle_token="<fim_middle>",
    spm=False,
    stop_strings=("<|endoftext|>", "<file_sep>", "<fim_prefix>", "<fim_middle>"),
    stop_ids=(0,),
    control_pattern=(
        r"<\|endoftext\|>|<(?:fim_[a-z]+|filename|gh_stars|issue_[a-z]+|jupyter_[a-z]+"
        r"|empty_output|commit_[a-z]+|reponame|repo_name|file_sep|pr(?:_[a-z_]+)?"
        r"|NAME|EMAIL|KEY|PASSWORD)>"
    ),
    context_window=8192,
    chat_layout="<|endoftext|>{system}\n\n### Instruction\n{user}\n\n### Response\n",
    chat_stops=("<|endoftext|>", "### Instruction"),
    default_system=(
        "You are an exceptionally intelligent coding assistant that consistently "
        "delivers accurate and reliable responses to user instructions."
    ),
    name_hints=("starcoder",),
    token_hints=("<fim_prefix>",),
    model_types=("gpt_bigcode", "starcoder2"),
)

DEEPSEEK = Family(
    name="deepseek",
    title="DeepSeek-Coder",
    prefix_token="<｜fim▁begin｜>",
    suffix_token="<｜fim▁hole｜>",
    middle_token="<｜fim▁end｜>",
    spm=False,
    stop_strings=("<｜end▁of▁sentence｜>", "<|EOT|>", "<｜fim▁begin｜>", "<｜fim▁hole｜>"),
    stop_ids=(32014, 32021),
    control_pattern=r"<｜[^｜\n]{1,40}｜>|<\|EOT\|>",
    context_window=16384,
    chat_layout="{system}\n### Instruction:\n{user}\n### Response:\n",
    chat_stops=("<|EOT|>",),
    default_system=(
        "You are an AI programming assistant, utilizing the DeepSeek Coder model, "
        "developed by DeepSeek Company, and you only answer questions related to "
        "computer science."
    ),
    name_hints=("deepseek-coder", "deepseek_coder", "deepseekcoder"),
    token_hints=("<｜fim▁begin｜>",),
)

QWEN = Family(
    name="qwen",
    title="Qwen2.5-Coder",
    prefix_token="<|fim_prefix|>",
    suffix_token="<|fim_suffix|>",
    middle_token="<|fim_middle|>",
    spm=False,
    stop_strings=("<|endoftext|>", "<|file_sep|>", "<|fim_prefix|>", "<|im_end|>"),
    # From the Qwen2.5-Coder FIM example: file_sep, fim_pad, fim_prefix,
    # fim_middle, fim_suffix, repo_name, im_end, endoftext.
    stop_ids=(151664, 151662, 151659, 151660, 151661, 151663, 151645, 151643),
    control_pattern=r"<\|[a-z_]{2,30}\|>|</?tool_call>",
    context_window=32768,
    chat_layout=(
        "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
        "<|im_start|>assistant\n"
    ),
    chat_stops=("<|im_end|>", "<|endoftext|>"),
    default_system="You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    name_hints=("qwen2.5-coder", "qwen2-coder", "qwen-coder", "qwen3-coder", "codeqwen"),
    token_hints=("<|im_start|>",),
)

CODEGEMMA = Family(
    name="codegemma",
    title="CodeGemma",
    prefix_token="<|fim_prefix|>",
    suffix_token="<|fim_suffix|>",
    middle_token="<|fim_middle|>",
    spm=False,
    stop_strings=("<|file_separator|>", "<eos>", "<|fim_prefix|>", "<end_of_turn>"),
    stop_ids=(),  # ids unpublished; TGI marks these tokens special, which also stops
    control_pattern=(
        r"<\|(?:fim_prefix|fim_middle|fim_suffix|file_separator)\|>"
        r"|<(?:bos|eos|pad|unk|mask|start_of_turn|end_of_turn|unused[0-9]{1,3})>|\[@BOS@\]"
    ),
    context_window=8192,
    chat_layout="<start_of_turn>user\n{system}{user}<end_of_turn>\n<start_of_turn>model\n",
    chat_stops=("<end_of_turn>", "<eos>"),
    name_hints=("codegemma", "code-gemma"),
    token_hints=("<|file_separator|>",),
)

FAMILIES: dict[str, Family] = {f.name: f for f in (CODELLAMA, STARCODER, DEEPSEEK, QWEN, CODEGEMMA)}


@dataclass(frozen=True)
class ModelProfile:
    """A family plus what the particular model can do."""

    family: Family
    model_id: str = ""
    fim: bool = True  # False: completion-only, the prompt is the prefix alone
    instruct: bool = False
    context_window: int = 0
    reason: str = ""  # how it was chosen, for the log

    @property
    def window(self) -> int:
        return self.context_window or self.family.context_window


def family_named(name: str) -> Family:
    """The family for a `modelFamily` value; raises FamilyError for unknown names."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise FamilyError(
            f"unknown model family {name!r}; expected one of {', '.join(FAMILIES)}"
        ) from None


def detect(
    model_id: str = "",
    config: dict[str, Any] | None = None,
    tokens: Iterable[str] = (),
    override: str = "auto",
) -> ModelProfile:
    """The profile of a model from its name, config.json and tokenizer strings.

    `override` (the `modelFamily` setting) wins over detection; the model's
    own facts (vocabulary, config) win over its name. Raises FamilyError when
    nothing identifies the family, naming the setting that fixes it.
    """
    config = config or {}
    name = _model_name(model_id)
    if override and override != "auto":
        family, reason = family_named(override), "modelFamily setting"
    else:
        found = _from_tokens(set(tokens)) or _from_config(config, name) or _from_name(name)
        if found is None:
            shown = model_id or "the model"
            raise FamilyError(
                f"cannot tell the prompt family of {shown}; set codellamaLsp.modelFamily "
                f"to one of {', '.join(FAMILIES)}"
            )
        family, reason = found
    instruct = _is_instruct(name)
    fim = _has_infilling(family, name, config, instruct)
    window = _window(family, name, config)
    return ModelProfile(family, model_id, fim, instruct, window, reason)


def _model_name(model_id: str) -> str:
    """Lower-case hub id, or the last parts of a local path (`/data/CodeLlama-13b-hf`)."""
    text = model_id.strip().rstrip("/\\").lower()
    if "/" in text or "\\" in text:
        parts = PurePath(text.replace("\\", "/")).parts
        text = "/".join(parts[-2:])
    return text


def _from_tokens(tokens: set[str]) -> tuple[Family, str] | None:
    if not tokens:
        return None
    # CodeGemma and Qwen share the FIM strings: tell them apart first.
    for family in (CODEGEMMA, QWEN, DEEPSEEK, STARCODER, CODELLAMA):
        hit = next((t for t in family.token_hints if t in tokens), None)
        if hit is not None:
            return family, f"tokenizer has {hit!r}"
    return None


def _from_config(config: dict[str, Any], name: str) -> tuple[Family, str] | None:
    model_type = str(config.get("model_type", ""))
    vocab = config.get("vocab_size")
    for family in FAMILIES.values():
        if model_type in family.model_types:
            return family, f"config model_type {model_type!r}"
    if model_type == "llama" and vocab == 32016:
        return CODELLAMA, "Llama config with the 32016-piece Code Llama vocabulary"
    if model_type == "llama" and vocab == 32256:
        return DEEPSEEK, "Llama config with DeepSeek-Coder's 32256-piece vocabulary"
    if model_type == "deepseek_v2" and "coder" in name:
        return DEEPSEEK, "config model_type 'deepseek_v2' and a Coder name"
    if model_type == "gemma" and "codegemma" in name:
        return CODEGEMMA, "config model_type 'gemma' and a CodeGemma name"
    return None


def _from_name(name: str) -> tuple[Family, str] | None:
    for family in FAMILIES.values():
        hit = next((h for h in family.name_hints if h in name), None)
        if hit is not None:
            return family, f"model name contains {hit!r}"
    return None


def _is_instruct(name: str) -> bool:
    return bool(re.search(r"instruct|chat|(?:^|[-_/])it(?:$|[-_])", name))


def _has_infilling(family: Family, name: str, config: dict[str, Any], instruct: bool) -> bool:
    """Variants trained without FIM get completion-only prompts."""
    if family is CODELLAMA:
        if config.get("vocab_size") == 32000:
            return False
        return not re.search(r"34b|70b|python", name)
    if family is CODEGEMMA:
        return not instruct  # codegemma-7b-it is chat-only
    if family is STARCODER:
        return not instruct  # starcoder2-15b-instruct is chat-only
    return True


def _window(family: Family, name: str, config: dict[str, Any]) -> int:
    if family is STARCODER and ("starcoder2" in name or config.get("model_type") == "starcoder2"):
        return 16384
    return family.context_window
