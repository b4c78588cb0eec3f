--- Options of require("codellama_lsp").setup(): defaults, merging, checks.
--- Server settings live in settings.lua (generated from the server's SETTINGS);
--- everything else here is editor-only behaviour.
local M = {}

M.NAME = "codellama_lsp"
-- Run in a checkout of the repository (not on PyPI yet; then: pipx install codellama-lsp).
M.INSTALL_COMMAND = "pipx install ."

---@class codellama_lsp.Keymaps
---@field accept string|false       accept the whole suggestion (falls back to the key's usual action)
---@field accept_word string|false
---@field accept_line string|false
---@field dismiss string|false
---@field trigger string|false      ask for a suggestion now
---@field toggle string|false       turn automatic suggestions on/off

---@class codellama_lsp.Config
M.defaults = {
  cmd = { "codellama-lsp", "serve" },
  filetypes = nil, ---@type string[]|nil nil: every filetype
  root_markers = { ".git", "pyproject.toml", "package.json" },
  settings = {}, ---@type table<string, any> server settings (see settings.lua), e.g. { maxNewTokens = 32 }
  auto_trigger = true, -- suggest while typing; false: only on the trigger key
  debounce_ms = 75, -- quiet time after a key before asking the server
  native = "auto", -- "auto": vim.lsp.inline_completion on Neovim >= 0.12; false: always this plugin's ghost text
  hl_group = "Comment", -- highlight of the ghost text
  -- Also offer suggestions to completion menus (the server's textDocument/completion,
  -- meant for clients without ghost text). Off: a menu request at the same keystroke
  -- would supersede the ghost text's request in the server.
  completion_menu = false,
  lsp = {}, -- more vim.lsp.config fields for the server, e.g. { cmd_env = { CUDA_VISIBLE_DEVICES = "0" } }
  keymaps = {
    accept = "<Tab>",
    accept_word = "<M-Right>",
    accept_line = "<M-Down>",
    dismiss = "<C-]>",
    trigger = "<M-\\>",
    toggle = false,
  },
}

--- Merged options; raises a clear error (and changes nothing) on a wrong one.
---@param opts table|nil
---@return codellama_lsp.Config
function M.merge(opts)
  opts = opts or {}
  vim.validate("opts", opts, "table")
  local known_settings = require("codellama_lsp.settings")
  local errors = {}
  for key in pairs(opts) do
    if M.defaults[key] == nil and key ~= "filetypes" then
      table.insert(errors, ("unknown option %q"):format(key))
    end
  end
  for name in pairs(opts.settings or {}) do
    if known_settings[name] == nil then
      table.insert(errors, ("unknown server setting %q (see :h codellama_lsp-settings)"):format(name))
    end
  end
  for name in pairs(opts.keymaps or {}) do
    if M.defaults.keymaps[name] == nil then
      table.insert(errors, ("unknown keymap %q"):format(name))
    end
  end
  if opts.cmd ~= nil and (type(opts.cmd) ~= "table" or type(opts.cmd[1]) ~= "string") then
    table.insert(errors, "cmd must be a list such as { 'codellama-lsp', 'serve' }")
  end
  if #errors > 0 then
    error("codellama_lsp.setup: " .. table.concat(errors, "; "), 0)
  end
  local config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  for _, key in ipairs({ "cmd", "root_markers", "filetypes" }) do
    if opts[key] ~= nil then
      config[key] = vim.deepcopy(opts[key]) -- lists replace, they do not merge
    end
  end
  return config
end

--- Every server setting with the user's values over the defaults: what the server receives.
---@param config codellama_lsp.Config
---@return table<string, any>
function M.server_settings(config)
  return vim.tbl_extend("force", vim.deepcopy(require("codellama_lsp.settings")), config.settings or {})
end

return M
