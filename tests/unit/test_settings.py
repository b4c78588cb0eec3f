"""Settings validation: every error at once, nothing changed on error."""

from __future__ import annotations

import pytest

from lsp_server.settings import SETTINGS, Settings, SettingsError, unknown_keys


def test_defaults_match_the_table():
    s = Settings()
    assert {k: s.values[k] for k in SETTINGS} == {k: v.default for k, v in SETTINGS.items()}
    assert s.fimOrder == "spm" and s.model == "auto"


def test_section_and_flat_forms():
    assert Settings().merged({"codellamaLsp": {"maxNewTokens": 12}}).maxNewTokens == 12
    assert Settings().merged({"maxNewTokens": 12}).maxNewTokens == 12
    assert Settings().merged({"temperature": 1}).temperature == 1.0


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"fimOrder": "mps"}, "fimOrder"),
        ({"device": "tpu"}, "device"),
        ({"contextWindow": 10}, "contextWindow"),
        ({"maxNewTokens": True}, "maxNewTokens"),
        ({"temperature": "hot"}, "temperature"),
        ({"contextWindow": 100, "maxNewTokens": 200}, "smaller than contextWindow"),
    ],
)
def test_invalid_values_raise_and_change_nothing(changes, needle):
    s = Settings()
    with pytest.raises(SettingsError, match=needle):
        s.merged(changes)
    assert s == Settings()


def test_all_errors_reported_together():
    with pytest.raises(SettingsError) as err:
        Settings().merged({"fimOrder": "x", "quantization": "2bit"})
    assert len(err.value.errors) == 2


def test_unknown_keys_are_ignored_but_listed():
    assert Settings().merged({"serverPath": "/x"}) == Settings()
    assert unknown_keys({"codellamaLsp": {"serverPath": "/x", "model": "bundled"}}) == [
        "serverPath"
    ]
