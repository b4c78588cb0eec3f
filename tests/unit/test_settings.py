"""Settings validation: every error at once, nothing changed on error."""

from __future__ import annotations

import pytest

from lsp_server.settings import SETTINGS, Settings, SettingsError, unknown_keys


def test_defaults_match_the_table():
    s = Settings()
    assert {k: s.values[k] for k in SETTINGS} == {k: v.default for k, v in SETTINGS.items()}
    assert s.fim_order == "spm" and s.model == "auto"


def test_section_and_flat_forms():
    assert Settings().merged({"codellamaLsp": {"maxNewTokens": 12}}).max_new_tokens == 12
    assert Settings().merged({"maxNewTokens": 12}).max_new_tokens == 12
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


def test_typed_fields_have_camel_case_wire_names():
    """Code reads snake_case fields; editors send camelCase; one table maps both ways."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(Settings)}
    assert len(SETTINGS) == len(names)
    assert "maxNewTokens" in SETTINGS and "max_new_tokens" in names
    assert "kvCacheMaxMB" in SETTINGS and "kv_cache_max_mb" in names
    assert all(not any(c.isupper() for c in n) for n in names)
    merged = Settings().merged({"kvCacheMaxMB": 64, "topP": 0.5, "fimOrder": "psm"})
    assert (merged.kv_cache_max_mb, merged.top_p, merged.fim_order) == (64, 0.5, "psm")
    assert merged.values["kvCacheMaxMB"] == 64
    with pytest.raises(AttributeError):
        Settings().maxNewTokens  # type: ignore[attr-defined]  # noqa: B018  # the wire name is not a field


def test_choices_come_from_the_literal_types():
    assert SETTINGS["device"].choices == ("auto", "cuda", "cpu")
    assert SETTINGS["engine"].choices == ("transformers", "tgi", "openai")
    assert SETTINGS["model"].choices == ()
    with pytest.raises(SettingsError, match="fimOrder"):
        Settings().merged({"fimOrder": "mps"})
