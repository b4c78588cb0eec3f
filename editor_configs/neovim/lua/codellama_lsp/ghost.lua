--- Drawing ghost text with extmarks: the first line inline at the cursor, the
--- rest as virtual lines below. One namespace, at most one suggestion per buffer.
local M = {}

M.ns = vim.api.nvim_create_namespace("codellama_lsp.ghost")

--- Tabs in virtual text are not expanded by Neovim: show them as spaces.
local function display(bufnr, line)
  if not line:find("\t", 1, true) then
    return line
  end
  local width = vim.bo[bufnr].tabstop
  return (line:gsub("\t", string.rep(" ", width)))
end

---@param bufnr integer
---@param row integer 0-based
---@param col integer 0-based byte column
---@param text string
---@param hl string
function M.show(bufnr, row, col, text, hl)
  M.clear(bufnr)
  local lines = vim.split(text, "\n", { plain = true })
  local opts = {
    virt_text = { { display(bufnr, lines[1]), hl } },
    virt_text_pos = "inline",
    hl_mode = "combine",
    right_gravity = false,
  }
  if #lines > 1 then
    opts.virt_lines = {}
    for i = 2, #lines do
      table.insert(opts.virt_lines, { { display(bufnr, lines[i]), hl } })
    end
  end
  vim.api.nvim_buf_set_extmark(bufnr, M.ns, row, col, opts)
end

---@param bufnr integer
function M.clear(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

return M
