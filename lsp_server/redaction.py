"""Secrets never leave the process: every frame and log line is redacted.

The API token reached the client and the log in many ways (the settings that
`codellamaLsp/stats` echoes, pygls logging the initialize params with `-v`,
error messages quoting a bad value). Rather than guard each place, the server
notes every secret it is given and the two exits (the JSON-RPC writer and
the logging record factory) replace it, raw or JSON-escaped, with `***`.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

SECRET_KEYS = frozenset({"apiToken"})
ENV_TOKEN = "CODELLAMA_LSP_API_TOKEN"
MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary text everywhere
_secrets: set[str] = set()
_forms: list[str] = []


def add_secret(value: Any) -> None:
    """Remember a secret (ignored when empty or too short to be one)."""
    if not isinstance(value, str) or len(value) < MIN_LENGTH or value in _secrets:
        return
    _secrets.add(value)
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    forms |= {repr(value)[1:-1]}
    global _forms
    _forms = sorted(forms | set(_forms), key=len, reverse=True)


def note_secrets(params: Any, depth: int = 0) -> None:
    """Find secret settings anywhere in a message's params (bounded walk)."""
    if depth > 8:
        return
    if isinstance(params, dict):
        for key, value in params.items():
            if key in SECRET_KEYS:
                add_secret(value)
                if isinstance(value, (list, dict)):
                    for item in value.values() if isinstance(value, dict) else value:
                        add_secret(item)
            elif isinstance(value, (dict, list)):
                note_secrets(value, depth + 1)
    elif isinstance(params, list):
        for value in params[:64]:
            if isinstance(value, (dict, list)):
                note_secrets(value, depth + 1)


def redact(text: str) -> str:
    for form in _forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def redacted_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Settings to show: secret values masked (set or not is still visible)."""
    return {k: (MASK if k in SECRET_KEYS and v else v) for k, v in values.items()}


class _RedactingRecord(logging.LogRecord):
    def getMessage(self) -> str:
        return redact(super().getMessage())


_installed = False


def install_log_redaction() -> None:
    """Make every log record (pygls' own included) redact secrets, tracebacks too."""
    global _installed
    if _installed:
        return
    _installed = True
    add_secret(os.environ.get(ENV_TOKEN))
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if type(record) is logging.LogRecord:
            record.__class__ = _RedactingRecord
        if record.exc_info and _forms:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
