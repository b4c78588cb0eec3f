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
      { "Install it from a checkout of the codellama-lsp repository: " .. config_mod.INSTALL_COMMAND, "or set cmd = { '/full/path/to/codellama-lsp', 'serve' } in setup()" }
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

  if not client then
    health.info("Server not running: open a file to start it (:CodellamaLsp status)")
    return
  end
  local response = client:request_sync(require("codellama_lsp.status").STATS_METHOD, {}, 5000)
  local stats = response and response.result
  if type(stats) ~= "table" then
    health.warn("The server did not report its model state: " .. vim.inspect(response and response.err))
  elseif stats.state == "ready" then
    health.ok("Model: ready (" .. tostring(stats.model) .. ")")
  elseif stats.state == "failed" then
    health.error("Model: failed to load: " .. tostring(stats.error), { "See :CodellamaLsp log" })
  else
    health.info("Model: " .. tostring(stats.state))
  end
end

return M
