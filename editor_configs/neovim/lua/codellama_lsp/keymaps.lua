--- Insert-mode keys that act only while a suggestion is shown. Otherwise the
--- key does what it did before setup(): the mapping it replaced (e.g. a
--- completion menu's Tab), or the key itself (a tab or an indent).
local M = {}

---@type table<string, table> insert-mode lhs -> its mapping before setup() (empty: none)
local originals = {}

local function termcodes(keys)
  return vim.api.nvim_replace_termcodes(keys, true, false, true)
end

--- A function that does what `lhs` did in insert mode before we mapped it.
---@param lhs string
---@return fun()
function M.fallback_for(lhs)
  -- What the key did before the first setup(): a second setup() must not fall back to us.
  originals[lhs] = originals[lhs] or vim.fn.maparg(lhs, "i", false, true)
  local previous = originals[lhs]
  if type(previous) ~= "table" or vim.tbl_isempty(previous) or previous.buffer == 1 then
    return function()
      vim.api.nvim_feedkeys(termcodes(lhs), "ni", false)
    end
  end
  local mode = previous.noremap == 1 and "ni" or "mi"
  return function()
    local keys
    if previous.callback then
      keys = previous.callback()
      if previous.expr ~= 1 then
        return
      end
      if previous.replace_keycodes == 1 then
        keys = termcodes(keys)
      end
    elseif previous.expr == 1 then
      keys = vim.api.nvim_eval(previous.rhs)
    else
      keys = termcodes(previous.rhs)
    end
    if type(keys) == "string" and keys ~= "" then
      vim.api.nvim_feedkeys(keys, mode, false)
    end
  end
end

--- Map `lhs` in insert mode: run `action`; if it returns false, fall back.
---@param lhs string|false
---@param action fun(): boolean
---@param desc string
function M.map(lhs, action, desc)
  if not lhs then
    return
  end
  local fallback = M.fallback_for(lhs)
  vim.keymap.set("i", lhs, function()
    if not action() then
      fallback()
    end
  end, { desc = desc, silent = true })
end

return M
