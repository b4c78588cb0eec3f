"""Settings that must be refused: non-finite numbers, secrets that cannot be sent."""

from __future__ import annotations

import math

import pytest

from lsp_server.redaction import redact, redacted_settings
from lsp_server.settings import Settings, SettingsError

SECRET = "tok-unit-SECRET-77"


@pytest.mark.parametrize("name", ["temperature", "topP", "prefixShare"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(name: str, value: float) -> None:
    with pytest.raises(SettingsError, match="finite"):
        Settings().merged({name: value})


@pytest.mark.parametrize(
    "bad", [[SECRET], {"a": SECRET}, SECRET + "\r\nX: y", SECRET + " space", SECRET + "é"]
)
def test_a_bad_token_is_refused_without_quoting_it(bad) -> None:
    with pytest.raises(SettingsError) as info:
        Settings().merged({"apiToken": bad})
    assert "SECRET-77" not in str(info.value)


def test_secrets_are_redacted_raw_and_json_escaped() -> None:
    Settings().merged({"apiToken": SECRET})
    assert redact(f'Bearer {SECRET} and "{SECRET}"') == 'Bearer *** and "***"'
    assert redacted_settings({"apiToken": SECRET, "model": "x"}) == {
        "apiToken": "***",
        "model": "x",
    }
    assert redacted_settings({"apiToken": ""})["apiToken"] == ""
