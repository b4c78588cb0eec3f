--- Ghost-text inline completion for Neovim 0.11, which has no
--- vim.lsp.inline_completion: after a short pause in typing, ask the server
--- for `textDocument/inlineCompletion`, draw the answer as ghost text, and
--- keep it while the user types what it says. A newer key cancels the request
--- in flight (`$/cancelRequest`), so the server never works for stale text.
local ghost = require("codellama_lsp.ghost")

local M = {}

M.METHOD = "textDocument/inlineCompletion"
M.INVOKED, M.AUTOMATIC = 1, 2 -- LSP InlineCompletionTriggerKind

---@class codellama_lsp.Suggestion
---@field row integer 0-based row of the anchor (where `text` is inserted)
---@field col integer 0-based byte column of the anchor
---@field text string what accepting inserts
---@field replace_end integer|nil byte column up to which the full accept replaces text after the anchor

---@class codellama_lsp.BufState
---@field seq integer bumped on every request or dismissal: late answers are dropped
---@field tick integer changedtick last handled
---@field pos integer[] cursor {row, col} after the last handled change
---@field skip_tick integer|nil changedtick of our own edit (accepting)
---@field timer uv.uv_timer_t|nil
---@field request { client: vim.lsp.Client, id: integer }|nil
---@field suggestion codellama_lsp.Suggestion|nil

---@type table<integer, codellama_lsp.BufState>
local states = {}

---@type codellama_lsp.Config
M.config = require("codellama_lsp.config").defaults

local function cursor()
  local pos = vim.api.nvim_win_get_cursor(0)
  return { pos[1] - 1, pos[2] }
end

local function in_insert_mode()
  return vim.api.nvim_get_mode().mode:sub(1, 1) == "i"
end

---@param bufnr integer
---@return codellama_lsp.BufState
local function state(bufnr)
  local s = states[bufnr]
  if not s then
    s = { seq = 0, tick = vim.b[bufnr].changedtick, pos = { -1, -1 } }
    states[bufnr] = s
  end
  return s
end

---@return vim.lsp.Client|nil
local function client_for(bufnr)
  local name = require("codellama_lsp.config").NAME
  for _, client in ipairs(vim.lsp.get_clients({ bufnr = bufnr, name = name })) do
    if client:supports_method(M.METHOD, bufnr) then
      return client
    end
  end
end

local function render(bufnr, s)
  local sug = s.suggestion
  if sug then
    ghost.show(bufnr, sug.row, sug.col, sug.text, M.config.hl_group)
  else
    ghost.clear(bufnr)
  end
end

--- Stop the pending timer and the request in flight; keep what is shown.
local function cancel(s)
  s.seq = s.seq + 1
  if s.timer then
    s.timer:stop()
  end
  if s.request then
    pcall(s.request.client.cancel_request, s.request.client, s.request.id)
    s.request = nil
  end
end

--- Snippet text as plain text: placeholders keep their default, tabstops vanish.
local function snippet_text(value)
  local text = value:gsub("%${%d+:([^}]*)}", "%1"):gsub("%$%d+", ""):gsub("%${%d+}", "")
  return (text:gsub("\\([%$}\\])", "%1"))
end

--- The first item of an answer, as a suggestion anchored at the cursor.
---@return codellama_lsp.Suggestion|nil
function M.to_suggestion(bufnr, encoding, result, pos)
  if type(result) ~= "table" then
    return nil -- null: no suggestion
  end
  local items = type(result.items) == "table" and result.items or result
  local item = items[1]
  if type(item) ~= "table" then
    return nil
  end
  local text = item.insertText
  if type(text) == "table" then
    text = text.value and snippet_text(text.value)
  end
  if type(text) ~= "string" then
    return nil
  end
  local row, col = pos[1], pos[2]
  local replace_end
  if type(item.range) == "table" then
    local first, last = item.range.start, item.range["end"]
    if first.line ~= row or last.line ~= row then
      return nil -- the spec allows only single-line ranges; this one is stale
    end
    local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, true)[1]
    local ok1, start_col = pcall(vim.str_byteindex, line, encoding, first.character, false)
    local ok2, end_col = pcall(vim.str_byteindex, line, encoding, last.character, false)
    if not (ok1 and ok2) or start_col > col or end_col < col then
      return nil
    end
    local typed = line:sub(start_col + 1, col)
    if text:sub(1, #typed) ~= typed then
      return nil
    end
    text = text:sub(#typed + 1)
    replace_end = end_col > col and end_col or nil
  end
  text = text:gsub("\r\n", "\n")
  if text == "" then
    return nil
  end
  return { row = row, col = col, text = text, replace_end = replace_end }
end

--- Ask the server now.
---@param bufnr integer
---@param trigger_kind integer M.INVOKED or M.AUTOMATIC
function M.request(bufnr, trigger_kind)
  local client = client_for(bufnr)
  if not client or vim.api.nvim_get_current_buf() ~= bufnr then
    return
  end
  local s = state(bufnr)
  cancel(s)
  local seq = s.seq
  local pos = cursor()
  local tick = vim.b[bufnr].changedtick
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = trigger_kind }
  local ok, id = client:request(M.METHOD, params, function(err, result)
    if s.seq ~= seq then
      return -- cancelled or superseded
    end
    s.request = nil
    if err then
      vim.lsp.log.warn("codellama_lsp: inline completion failed: " .. vim.inspect(err))
      return
    end
    local now = cursor()
    if
      not vim.api.nvim_buf_is_valid(bufnr)
      or vim.api.nvim_get_current_buf() ~= bufnr
      or vim.b[bufnr].changedtick ~= tick
      or now[1] ~= pos[1]
      or now[2] ~= pos[2]
      or not in_insert_mode()
    then
      return
    end
    M.show(bufnr, M.to_suggestion(bufnr, client.offset_encoding, result, pos))
  end, bufnr)
  if ok and id then
    s.request = { client = client, id = id }
  end
end

--- Show `suggestion` (anchored at the cursor) as the buffer's ghost text; nil clears it.
---@param suggestion codellama_lsp.Suggestion|nil
function M.show(bufnr, suggestion)
  local s = state(bufnr)
  s.suggestion = suggestion
  s.pos = cursor()
  render(bufnr, s)
end

--- Ask after `debounce_ms` without keys.
function M.schedule(bufnr)
  local s = state(bufnr)
  s.timer = s.timer or vim.uv.new_timer()
  s.timer:stop()
  s.timer:start(
    M.config.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if vim.api.nvim_buf_is_valid(bufnr) and in_insert_mode() then
        M.request(bufnr, M.AUTOMATIC)
      end
    end)
  )
end

--- Hide the suggestion and cancel any request.
function M.dismiss(bufnr)
  local s = states[bufnr]
  if not s then
    return
  end
  cancel(s)
  s.suggestion = nil
  ghost.clear(bufnr)
end

---@return boolean
function M.visible(bufnr)
  local s = states[bufnr]
  return s ~= nil and s.suggestion ~= nil
end

---@return codellama_lsp.Suggestion|nil
function M.current(bufnr)
  local s = states[bufnr]
  return s and s.suggestion
end

--- The user typed what the suggestion says: show the rest, ask nothing.
local function advance(bufnr, s)
  local sug = s.suggestion
  local pos = cursor()
  if not sug or pos[1] ~= sug.row or pos[2] <= sug.col then
    return false
  end
  local line = vim.api.nvim_buf_get_lines(bufnr, sug.row, sug.row + 1, true)[1]
  local typed = line:sub(sug.col + 1, pos[2])
  if #typed >= #sug.text or sug.text:sub(1, #typed) ~= typed then
    return false
  end
  sug.text = sug.text:sub(#typed + 1)
  sug.replace_end = sug.replace_end and sug.replace_end + #typed
  sug.col = pos[2]
  s.pos = pos
  render(bufnr, s)
  return true
end

function M.on_text_changed(bufnr)
  local s = state(bufnr)
  local tick = vim.b[bufnr].changedtick
  if s.skip_tick == tick then
    s.tick = tick
    return
  end
  s.tick = tick
  if advance(bufnr, s) then
    return
  end
  M.dismiss(bufnr)
  s.pos = cursor()
  if M.config.auto_trigger then
    M.schedule(bufnr)
  end
end

--- The cursor moved without an edit (arrows, mouse): the suggestion no longer fits.
function M.on_cursor_moved(bufnr)
  local s = states[bufnr]
  if not s or vim.b[bufnr].changedtick ~= s.tick then
    return -- an edit; on_text_changed handles it
  end
  local pos = cursor()
  if pos[1] ~= s.pos[1] or pos[2] ~= s.pos[2] then
    M.dismiss(bufnr)
    s.pos = pos
  end
end

local function next_word(text)
  return text:match("^%s*[%w_]+") or text:match("^%s*[^%w_%s]+") or text:match("^%s+") or text
end

local function next_line(text)
  return text:match("^\n[^\n]*") or text:match("^[^\n]+") or text
end

--- Insert the suggestion, or its next word or line ("all" | "word" | "line").
---@return boolean accepted
function M.accept(bufnr, kind)
  local s = states[bufnr]
  local sug = s and s.suggestion
  if not sug then
    return false
  end
  local part = kind == "word" and next_word(sug.text) or kind == "line" and next_line(sug.text) or sug.text
  local whole = #part == #sug.text
  cancel(s)
  local lines = vim.split(part, "\n", { plain = true })
  local end_col = whole and sug.replace_end or sug.col
  vim.api.nvim_buf_set_text(bufnr, sug.row, sug.col, sug.row, end_col, lines)
  local row = sug.row + #lines - 1
  local col = (#lines == 1 and sug.col or 0) + #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { row + 1, col })
  s.skip_tick = vim.b[bufnr].changedtick
  s.tick = s.skip_tick
  s.pos = { row, col }
  if whole then
    s.suggestion = nil
  else
    sug.replace_end = sug.replace_end and col + (sug.replace_end - sug.col)
    sug.row, sug.col, sug.text = row, col, sug.text:sub(#part + 1)
  end
  render(bufnr, s)
  return true
end

--- Follow the buffer's typing; called once per buffer when the server attaches.
function M.attach(bufnr)
  local group = vim.api.nvim_create_augroup("codellama_lsp.inline." .. bufnr, { clear = true })
  local function on(event, fn)
    vim.api.nvim_create_autocmd(event, {
      group = group,
      buffer = bufnr,
      callback = function()
        fn(bufnr)
      end,
    })
  end
  on("TextChangedI", M.on_text_changed)
  on("CursorMovedI", M.on_cursor_moved)
  on({ "InsertLeave", "BufLeave" }, M.dismiss)
  on("BufUnload", M.detach)
end

function M.detach(bufnr)
  M.dismiss(bufnr)
  local s = states[bufnr]
  if s and s.timer then
    s.timer:close()
  end
  states[bufnr] = nil
  pcall(vim.api.nvim_del_augroup_by_name, "codellama_lsp.inline." .. bufnr)
end

return M
