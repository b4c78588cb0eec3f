"""Settings: one table that the server, the README and the editors share.

The `Settings` dataclass is the single source of truth: typed snake_case
fields for the code, camelCase names on the wire, and `SETTINGS` (built from
the fields) for the editors. The VS Code extension's `package.json` and the
Neovim plugin's defaults are checked against it in the tests, so the lists
cannot drift.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin, get_type_hints

from lsp_server.redaction import add_secret

SECTION = "codellamaLsp"


@dataclass(frozen=True)
class Spec:
    """One setting: its type, default, allowed values and what it is for."""

    default: Any
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False  # never quoted back (messages, logs, stats)

    @property
    def kind(self) -> type:
        return type(self.default) if self.default is not None else str


def _setting(default: Any, description: str, **limits: Any) -> Any:
    """A `Settings` field: its default, and what the editors show about it."""
    return field(default=default, metadata={"description": description, **limits})


@dataclass(frozen=True)
class Settings:
    """Validated, typed settings; immutable so a request keeps the ones it started with.

    Fields are snake_case; on the wire (editors' configuration, `initializationOptions`)
    each is its camelCase name (`max_new_tokens` is `maxNewTokens`). A `Literal`
    type lists the allowed values. `SETTINGS`, built from these fields, feeds the
    editors' settings files (`editor_configs/sync_settings.py`).
    """

    model: str = _setting(
        "auto",
        "`auto` (Code Llama 7B on CUDA, else the bundled model), `bundled`, a hub id "
        "such as `codellama/CodeLlama-7b-hf`, or a local directory.",
    )
    instruct_model: str = _setting(
        "",
        "Optional Instruct model for the code actions "
        "(e.g. `codellama/CodeLlama-7b-Instruct-hf`); empty uses `model` with infilling.",
    )
    device: Literal["auto", "cuda", "cpu"] = _setting("auto", "Where the model runs.")
    quantization: Literal["none", "4bit", "8bit"] = _setting(
        "none", "bitsandbytes quantization on CUDA."
    )
    context_window: int = _setting(
        4096, "Tokens of prompt plus answer.", minimum=64, maximum=100_000
    )
    max_new_tokens: int = _setting(64, "Most tokens in one suggestion.", minimum=1, maximum=1024)
    fim_order: Literal["spm", "psm"] = _setting(
        "spm", "Infilling layout: suffix-prefix-middle or prefix-suffix-middle."
    )
    temperature: float = _setting(
        0.0, "0 is greedy (deterministic); higher samples.", minimum=0.0, maximum=2.0
    )
    top_p: float = _setting(
        1.0, "Nucleus sampling mass when temperature > 0.", minimum=0.01, maximum=1.0
    )
    prefix_share: float = _setting(
        0.75,
        "Share of the prompt budget kept for code before the cursor.",
        minimum=0.1,
        maximum=0.95,
    )
    workspace_context: float = _setting(
        0.15,
        "Share of the prompt budget for definitions from other workspace files (imports, "
        "names near the cursor, similar recently edited code), shown as comments at the top "
        "of the prefix; taken from the prefix's share. 0 turns it off.",
        minimum=0.0,
        maximum=0.5,
    )
    kv_reuse: bool = _setting(
        True,
        "Reuse the previous keystroke's KV cache (prefill only what changed); "
        "off only to measure or debug.",
    )
    token_healing: bool = _setting(
        True,
        "Back the prompt off a half-typed word or trailing spaces and let the model "
        "re-write them (better answers after an auto-indent or mid-word).",
    )
    kv_cache_max_mb: int = _setting(
        0,
        "Memory for KV caches kept across keystrokes; 0 picks 4096 MB on CUDA, 512 MB on CPU.",
        minimum=0,
        maximum=1_000_000,
        wire="kvCacheMaxMB",
    )
    draft_tokens: int = _setting(
        8,
        "Most tokens drafted from the document per decode step and verified in one "
        "forward pass (prompt-lookup speculative decoding; same output, fewer steps). "
        "Greedy only: off when temperature > 0. 0 turns it off.",
        minimum=0,
        maximum=15,
    )
    compile: Literal["auto", "on", "off"] = _setting(
        "auto",
        "Static KV cache + torch.compile (CUDA graphs), compiled in the background at load; "
        "`auto` is on for CUDA only.",
    )
    engine: Literal["transformers", "tgi", "openai"] = _setting(
        "transformers", "Where the model runs: in process, or a TGI / OpenAI-compatible server."
    )
    endpoint: str = _setting("", "Base URL of the `tgi` or `openai` engine.")
    remote_deadline: float = _setting(
        20.0,
        "Most seconds one request to the `tgi` or `openai` server may take, start to end "
        "(keep-alives included); past it the request fails and the next one is served.",
        minimum=1.0,
        maximum=600.0,
    )
    api_token: str = _setting(
        "",
        "Token for the remote engine (or the CODELLAMA_LSP_API_TOKEN environment variable).",
        secret=True,
    )
    postprocess: bool = _setting(
        True,
        "Clean up raw model output (cut at the end of the block, drop repeats of the "
        "code after the cursor, ...). Off shows the raw middle: for benchmarks and debugging.",
    )
    threads: int = _setting(
        0,
        "CPU threads PyTorch uses for the model; 0 picks one per two cores, at most 4 "
        "(PyTorch's default, one per core, is slower on a busy machine).",
        minimum=0,
        maximum=256,
    )
    model_family: Literal["auto", "codellama", "starcoder", "deepseek", "qwen", "codegemma"] = (
        _setting("auto", "Prompt family; `auto` detects it from the model.")
    )

    @property
    def values(self) -> dict[str, Any]:
        """Every setting by its wire name (stats, logs: redact before showing)."""
        return {name: getattr(self, FIELDS[name]) for name in SETTINGS}

    def merged(self, changes: dict[str, Any] | None) -> Settings:
        """New settings with `changes` (by wire name) applied; raises SettingsError."""
        changes = unwrap_section(changes)
        errors = []
        values: dict[str, Any] = {}
        for name, raw in changes.items():
            spec = SETTINGS.get(name)
            if spec is None:
                continue  # editors may keep client-only keys in the same section
            try:
                values[FIELDS[name]] = _coerce(name, spec, raw)
            except ValueError as exc:
                errors.append(str(exc))
        new = dataclasses.replace(self, **values) if not errors else self
        if new.max_new_tokens >= new.context_window:
            errors.append("maxNewTokens must be smaller than contextWindow")
        if errors:
            raise SettingsError(errors)
        return new


def _wire_name(f: dataclasses.Field) -> str:
    """The camelCase name editors use for field `f`."""
    if "wire" in f.metadata:
        return f.metadata["wire"]
    head, *rest = f.name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _spec(f: dataclasses.Field, kind: Any) -> Spec:
    limits = {k: v for k, v in f.metadata.items() if k != "wire"}
    choices = tuple(get_args(kind)) if get_origin(kind) is Literal else ()
    return Spec(f.default, choices=choices, **limits)


_HINTS = get_type_hints(Settings)
# Wire name -> what the editors show and check; wire name -> field name.
SETTINGS: dict[str, Spec] = {
    _wire_name(f): _spec(f, _HINTS[f.name]) for f in dataclasses.fields(Settings)
}
FIELDS: dict[str, str] = {_wire_name(f): f.name for f in dataclasses.fields(Settings)}


class SettingsError(ValueError):
    """Invalid settings; the message lists every problem at once."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(
            f"Invalid {SECTION} settings (previous settings kept): " + "; ".join(errors)
        )


def unknown_keys(changes: Any) -> list[str]:
    """Keys the server does not know (client-only or misspelt): worth a log line."""
    return sorted(set(unwrap_section(changes)) - set(SETTINGS))


def unwrap_section(changes: Any) -> dict[str, Any]:
    """Accept `{codellamaLsp: {...}}`, `{...}` or None."""
    if changes is None:
        return {}
    if not isinstance(changes, dict):
        raise SettingsError([f"settings must be an object, got {type(changes).__name__}"])
    if SECTION in changes and isinstance(changes[SECTION], dict):
        return changes[SECTION]
    return changes


def _coerce(name: str, spec: Spec, raw: Any) -> Any:
    kind: Any = spec.kind
    if spec.secret:
        add_secret(raw)
    shown = "a value that is not shown" if spec.secret else repr(raw)
    if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
        raw = float(raw)
    if isinstance(raw, bool) is not (kind is bool) or not isinstance(raw, kind):
        raise ValueError(f"'{name}' must be a {kind.__name__}, got {shown}")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValueError(f"'{name}' must be a finite number, got {raw!r}")
    if spec.secret and not _header_safe(raw):
        raise ValueError(
            f"'{name}' may hold only printable ASCII without spaces (it is sent in an HTTP header)"
        )
    if spec.choices and raw not in spec.choices:
        raise ValueError(f"'{name}' must be one of {', '.join(spec.choices)}; got {raw!r}")
    if spec.minimum is not None and raw < spec.minimum:
        raise ValueError(f"'{name}' must be at least {spec.minimum}; got {raw!r}")
    if spec.maximum is not None and raw > spec.maximum:
        raise ValueError(f"'{name}' must be at most {spec.maximum}; got {raw!r}")
    return raw


def _header_safe(value: str) -> bool:
    """Printable ASCII without whitespace: safe in `Authorization: Bearer <value>`."""
    return re.fullmatch(r"[!-~]*", value) is not None
