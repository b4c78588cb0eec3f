--- codellama_lsp: Code Llama ghost text and code actions from the codellama-lsp
--- server. require("codellama_lsp").setup({...}) registers the server with
--- vim.lsp.config/vim.lsp.enable and sets up inline completion: Neovim's own
--- vim.lsp.inline_completion on 0.12+, this plugin's ghost text on 0.11.
local config_mod = require("codellama_lsp.config")
local inline = require("codellama_lsp.inline")
local keymaps = require("codellama_lsp.keymaps")
local status = require("codellama_lsp.status")

local M = {}

local NAME = config_mod.NAME

---@type codellama_lsp.Config|nil
M.config = nil
--- Whether Neovim's native inline completion is in use (decided by setup).
M.native = false

local function buf()
  return vim.api.nvim_get_current_buf()
end

--- Accept the whole suggestion. Returns false when there is none.
function M.accept()
  if M.native then
    return vim.lsp.inline_completion.get() and true or false
  end
  return inline.accept(buf(), "all")
end

function M.accept_word()
  return not M.native and inline.accept(buf(), "word")
end

function M.accept_line()
  return not M.native and inline.accept(buf(), "line")
end

--- Hide the suggestion. Returns false when none was shown.
function M.dismiss()
  if M.native or not inline.visible(buf()) then
    return false
  end
  inline.dismiss(buf())
  return true
end

--- Ask for a suggestion now, even with automatic suggestions off.
function M.trigger()
  if M.native then
    vim.lsp.inline_completion.get()
  else
    inline.request(buf(), inline.INVOKED)
  end
  return true
end

--- Turn automatic suggestions on or off (for this session).
function M.toggle()
  local cfg = assert(M.config, "codellama_lsp: call setup() first")
  cfg.auto_trigger = not cfg.auto_trigger
  if M.native then
    vim.lsp.inline_completion.enable(cfg.auto_trigger)
  elseif not cfg.auto_trigger then
    inline.dismiss(buf())
  end
  vim.notify("Code Llama: automatic suggestions " .. (cfg.auto_trigger and "on" or "off"))
  return true
end

--- The suggestion shown in the current buffer (nil if none), for tests and statuslines.
function M.current()
  return not M.native and inline.current(buf()) or nil
end

--- Statusline text, e.g. "Code Llama: ready".
function M.status()
  return status.text()
end

--- Change server settings at run time (sent as workspace/didChangeConfiguration).
---@param changes table<string, any>
function M.update_settings(changes)
  local cfg = assert(M.config, "codellama_lsp: call setup() first")
  local merged = config_mod.merge(vim.tbl_deep_extend("force", {}, { settings = cfg.settings }, {
    settings = changes,
  }))
  cfg.settings = merged.settings
  local settings = { codellamaLsp = config_mod.server_settings(cfg) }
  for _, client in ipairs(vim.lsp.get_clients({ name = NAME })) do
    client.settings = settings
    client:notify("workspace/didChangeConfiguration", { settings = settings })
  end
end

--- Tell a reused server about this buffer's project: unit tests are written
--- inside a workspace folder, and Neovim only names the first project's root.
local function add_workspace_folder(client, root)
  if type(root) ~= "string" or not client._add_workspace_folder then
    return
  end
  for _, folder in ipairs(client.workspace_folders or {}) do
    if folder.name == root then
      return
    end
  end
  client:_add_workspace_folder(root)
end

local function on_attach(bufnr)
  if M.native then
    vim.lsp.inline_completion.enable(M.config.auto_trigger, { bufnr = bufnr })
  else
    inline.attach(bufnr)
  end
end

local function set_keymaps(keys)
  keymaps.map(keys.accept, M.accept, "Code Llama: accept suggestion")
  keymaps.map(keys.accept_word, M.accept_word, "Code Llama: accept next word")
  keymaps.map(keys.accept_line, M.accept_line, "Code Llama: accept next line")
  keymaps.map(keys.dismiss, M.dismiss, "Code Llama: dismiss suggestion")
  keymaps.map(keys.trigger, M.trigger, "Code Llama: suggest now")
  keymaps.map(keys.toggle, M.toggle, "Code Llama: toggle automatic suggestions")
end

local COMMANDS = {
  toggle = M.toggle,
  trigger = M.trigger,
  status = function()
    vim.notify(status.text())
  end,
  restart = function()
    local old = vim.lsp.get_clients({ name = NAME })
    vim.lsp.enable(NAME, false) -- stops the server
    local function start_when_stopped()
      for _, client in ipairs(old) do
        if not client:is_stopped() then
          return vim.defer_fn(start_when_stopped, 100)
        end
      end
      vim.lsp.enable(NAME, true)
    end
    start_when_stopped()
  end,
  log = function()
    vim.cmd.edit(vim.lsp.log.get_filename())
  end,
}

---@param opts codellama_lsp.Config|nil
function M.setup(opts)
  if vim.fn.has("nvim-0.11") == 0 then
    vim.notify("codellama_lsp needs Neovim 0.11 or newer", vim.log.levels.ERROR)
    return
  end
  local cfg = config_mod.merge(opts)
  M.config = cfg
  inline.config = cfg
  if vim.fn.executable(cfg.cmd[1]) == 0 then
    vim.notify(
      ("codellama_lsp: the server %q was not found. Install it from a checkout of the codellama-lsp repository with `%s` (or `pip install .` in a virtualenv), or set cmd in setup()."):format(
        cfg.cmd[1],
        config_mod.INSTALL_COMMAND
      ),
      vim.log.levels.ERROR
    )
    return
  end
  M.native = cfg.native ~= false and vim.lsp.inline_completion ~= nil

  local capabilities = vim.lsp.protocol.make_client_capabilities()
  capabilities.textDocument.inlineCompletion = capabilities.textDocument.inlineCompletion
    or { dynamicRegistration = false }
  -- Workspace edits, as Neovim 0.11 really applies them: it handles versioned
  -- documentChanges (and refuses stale ones) without announcing them, but its
  -- CreateFile with ignoreIfExists makes neither folder nor file, only a buffer.
  -- Without "create" the server makes the new test file itself (never
  -- overwriting) and sends a plain edit: the tests land in a real file.
  local workspace_edit = capabilities.workspace.workspaceEdit or {}
  workspace_edit.documentChanges = true
  workspace_edit.resourceOperations = vim.tbl_filter(function(op)
    return op ~= "create"
  end, workspace_edit.resourceOperations or {})
  capabilities.workspace.workspaceEdit = workspace_edit
  local settings = config_mod.server_settings(cfg)
  vim.lsp.config(NAME, vim.tbl_extend("force", cfg.lsp, {
    cmd = cfg.cmd,
    filetypes = cfg.filetypes,
    root_markers = cfg.root_markers,
    capabilities = capabilities,
    -- One server for every buffer and project: each server process loads the model.
    reuse_client = function(client, config)
      if client.name ~= config.name or client:is_stopped() then
        return false
      end
      add_workspace_folder(client, config.root_dir)
      return true
    end,
    on_init = function(client, result)
      if not cfg.completion_menu then
        -- Before any buffer attaches, so completion plugins never see the capability.
        client.server_capabilities.completionProvider = nil
      end
      if cfg.lsp.on_init then
        return cfg.lsp.on_init(client, result)
      end
    end,
    init_options = settings,
    settings = { codellamaLsp = settings },
  }))

  status.setup(NAME)
  vim.api.nvim_create_autocmd("LspAttach", {
    group = vim.api.nvim_create_augroup("codellama_lsp.attach", { clear = true }),
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == NAME then
        on_attach(args.buf)
      end
    end,
  })
  set_keymaps(cfg.keymaps)
  vim.api.nvim_create_user_command("CodellamaLsp", function(cmd)
    local fn = COMMANDS[cmd.args]
    if not fn then
      vim.notify("CodellamaLsp: unknown subcommand " .. cmd.args, vim.log.levels.ERROR)
      return
    end
    fn()
  end, {
    nargs = 1,
    complete = function()
      return vim.tbl_keys(COMMANDS)
    end,
    desc = "Code Llama: toggle | trigger | status | restart | log",
  })
  vim.lsp.enable(NAME)
end

return M
