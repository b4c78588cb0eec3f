--- :checkhealth codellama_lsp — is the server there, which version, is the model loaded.
local M = {}

function M.check()
  local health = vim.health
  local config_mod = require("codellama_lsp.config")
  local plugin = require("codellama_lsp")
  health.start("codellama_lsp")

  if vim.fn.has("nvim-0.11") == 1 then
    health.ok("Neovim " .. tostring(vim.version()))
  else
    health.error("Neovim 0.11 or newer is needed")
  end
  local cfg = plugin.config
  if not cfg then
    health.warn('setup() has not run: add require("codellama_lsp").setup({}) to your config')
    cfg = config_mod.defaults
  end
  health.info(
    plugin.native and "Inline completion: Neovim's vim.lsp.inline_completion"
      or "Inline completion: this plugin's ghost text (Neovim 0.11 mode)"
  )

  local exe = cfg.cmd[1]
  if vim.fn.executable(exe) == 1 then
    health.ok(("Server found: %s"):format(vim.fn.exepath(exe)))
  else
    health.error(
      ("Server %q not found on PATH"):format(exe),
      { "Install it: " .. config_mod.INSTALL_COMMAND, "or set cmd = { '/full/path/to/codellama-lsp', 'serve' } in setup()" }
    )
    return
  end

  local client = vim.lsp.get_clients({ name = config_mod.NAME })[1]
  local info = client and client.server_info
  if info and info.version then
    health.ok(("Server version: %s %s (running)"):format(info.name or exe, info.version))
  else
    local ok, result = pcall(function()
      return vim.system({ exe, "--version" }, { text = true }):wait(10000)
    end)
    if ok and result.code == 0 then
      health.ok("Server version: " .. vim.trim(result.stdout))
    else
      health.warn(("`%s --version` failed: %s"):format(exe, ok and vim.trim(result.stderr or "") or result))
    end
  end

  local state = require("codellama_lsp.status").current
  if state.state == "ready" then
    health.ok("Model: ready")
  elseif state.state == "loading" then
    health.info("Model: loading " .. state.message)
  else
    health.info("Server not running: open a file to start it (:CodellamaLsp status)")
  end
end

return M
