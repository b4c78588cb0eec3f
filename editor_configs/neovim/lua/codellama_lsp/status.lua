--- What the server is doing, learned from its `$/progress` reports (model
--- loading) and the client's life cycle: for statuslines and :checkhealth.
local M = {}

---@type { state: "stopped"|"loading"|"ready"|"failed", message: string }
M.current = { state = "stopped", message = "" }

M.STATS_METHOD = "codellamaLsp/stats"

local function set(state, message)
  M.current = { state = state, message = message or "" }
  vim.api.nvim_exec_autocmds("User", { pattern = "CodellamaLspStatus", modeline = false })
end

--- A short text for a statusline, e.g. "Code Llama: loading 40%".
function M.text()
  local c = M.current
  if c.state == "loading" then
    return ("Code Llama: %s"):format(c.message ~= "" and c.message or "loading")
  elseif c.state == "failed" then
    return "Code Llama: failed (:checkhealth codellama_lsp)"
  end
  return "Code Llama: " .. c.state
end

--- Progress `end` says loading finished, not that it worked: ask the server.
---@param client vim.lsp.Client
function M.refresh(client)
  client:request(M.STATS_METHOD, {}, function(err, stats)
    if err or type(stats) ~= "table" then
      set("ready") -- a server without the request
    elseif stats.state == "failed" then
      set("failed", stats.error or "the model failed to load")
    elseif stats.state == "loading" or stats.state == "idle" then
      set("loading", M.current.state == "loading" and M.current.message or "Loading model")
      vim.defer_fn(function()
        if not client:is_stopped() then
          M.refresh(client)
        end
      end, 1000)
    else
      set("ready", stats.model)
    end
  end)
end

function M.setup(name)
  local group = vim.api.nvim_create_augroup("codellama_lsp.status", { clear = true })
  local function ours(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    return client and client.name == name
  end
  vim.api.nvim_create_autocmd("LspProgress", {
    group = group,
    callback = function(args)
      if not ours(args) then
        return
      end
      local value = args.data.params.value or {}
      if value.kind == "end" then
        M.refresh(vim.lsp.get_client_by_id(args.data.client_id))
      else
        local parts = { value.title or M.current.message, value.message }
        if value.percentage then
          table.insert(parts, value.percentage .. "%")
        end
        set("loading", table.concat(vim.tbl_filter(function(p)
          return p and p ~= ""
        end, parts), " "))
      end
    end,
  })
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      if ours(args) and M.current.state == "stopped" then
        M.refresh(vim.lsp.get_client_by_id(args.data.client_id))
      end
    end,
  })
  vim.api.nvim_create_autocmd("LspDetach", {
    group = group,
    callback = function(args)
      if ours(args) and #vim.lsp.get_clients({ name = name }) <= 1 then
        set("stopped")
      end
    end,
  })
end

return M
