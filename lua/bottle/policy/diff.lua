-- What a policy changed: a small deep diff and a one-line summary per policy
-- for the preflight.
local core = require "bottle.core"
local schema = require "bottle.schema"
local data = require "bottle.policy.data"
local printable, is_sequence, join =
   data.printable, data.is_sequence, data.join
local format, gsub = string.format, string.gsub
local concat, sort = table.concat, table.sort

local M = {}

---------------------------------------------------------------------------
-- Changes: a small deep diff and a one-line summary per policy
---------------------------------------------------------------------------

local function is_scalar(v) return type(v) ~= "table" end

local function all(t, pred)
   for _, v in ipairs(t) do if not pred(v) then return false end end
   return true
end

local function named(v) return type(v) == "table" and type(v.name) == "string" end

local function key_less(order)
   return function(a, b)
      local oa, ob = order[a] or math.huge, order[b] or math.huge
      if oa ~= ob then return oa < ob end
      local ta, tb = type(a), type(b)
      if ta ~= tb then return ta < tb end
      return a < b
   end
end

-- Appends {op = "list"|"add"|"remove"|"change", path, ...} entries to out.
local function diff(old, new, path, out, order)
   if type(old) == "table" and type(new) == "table" then
      if is_sequence(old) and is_sequence(new) then
         if next(old) == nil and next(new) == nil then return end
         if all(old, is_scalar) and all(new, is_scalar) then
            local had, has = {}, {}
            for _, v in ipairs(old) do had[v] = true end
            for _, v in ipairs(new) do has[v] = true end
            local added, removed = {}, {}
            for _, v in ipairs(new) do if not had[v] then added[#added + 1] = v; had[v] = true end end
            for _, v in ipairs(old) do if not has[v] then removed[#removed + 1] = v; has[v] = true end end
            if #added > 0 or #removed > 0 then
               out[#out + 1] = { op = "list", path = path, added = added, removed = removed }
            end
            return
         end
         if all(old, named) and all(new, named) then
            local by_old, by_new = {}, {}
            for _, v in ipairs(old) do by_old[v.name] = v end
            for _, v in ipairs(new) do by_new[v.name] = v end
            for _, v in ipairs(old) do
               local p = path .. "[" .. v.name .. "]"
               if by_new[v.name] then diff(v, by_new[v.name], p, out, order)
               else out[#out + 1] = { op = "remove", path = p } end
            end
            for _, v in ipairs(new) do
               if not by_old[v.name] then
                  out[#out + 1] = { op = "add", path = path .. "[" .. v.name .. "]", value = v }
               end
            end
            return
         end
      end
      local keys, seen = {}, {}
      for k in next, old do keys[#keys + 1] = k; seen[k] = true end
      for k in next, new do if not seen[k] then keys[#keys + 1] = k end end
      sort(keys, key_less(order or {}))
      for _, k in ipairs(keys) do
         local a, b, p = rawget(old, k), rawget(new, k), join(path, k)
         if a == nil then out[#out + 1] = { op = "add", path = p, value = b }
         elseif b == nil then out[#out + 1] = { op = "remove", path = p }
         else diff(a, b, p, out, order) end
      end
      return
   end
   if old ~= new or type(old) ~= type(new) then
      out[#out + 1] = { op = "change", path = path, old = old, new = new }
   end
end

local function show(v)
   if type(v) == "string" then
      if v == "" then return '""' end
      return printable(v, 40)
   elseif type(v) == "table" then
      return is_sequence(v) and next(v) ~= nil and format("[%d]", #v) or "{...}"
   elseif rawequal(v, core.null) then
      return "null"
   end
   return tostring(v)
end

local function some(list)
   local shown = {}
   for i = 1, math.min(#list, 2) do shown[i] = show(list[i]) end
   if #list > 2 then shown[#shown + 1] = format("+%d more", #list - 2) end
   return concat(shown, ", ")
end

-- entries → "part; part" (or nil when nothing changed)
local function summarise(entries, label)
   local parts = {}
   for _, e in ipairs(entries) do
      if e.op == "list" then
         if #e.added > 0 then
            parts[#parts + 1] = format("+%d %s (%s)", #e.added, label(e.path, #e.added), some(e.added))
         end
         if #e.removed > 0 then
            parts[#parts + 1] = format("-%d %s (%s)", #e.removed, label(e.path, #e.removed), some(e.removed))
         end
      elseif e.op == "add" then
         local v = e.value
         if type(v) == "table" then
            local n = 0
            for _ in next, v do n = n + 1 end
            parts[#parts + 1] = is_sequence(v) and n > 0 and format("+%s (%d)", label(e.path), n)
               or "+" .. label(e.path)
         else
            parts[#parts + 1] = format("+%s=%s", label(e.path), show(v))
         end
      elseif e.op == "remove" then
         parts[#parts + 1] = "-" .. label(e.path)
      else
         parts[#parts + 1] = format("%s %s→%s", label(e.path), show(e.old), show(e.new))
      end
   end
   if #parts == 0 then return nil end
   return concat(parts, "; ")
end

local BOTTLE_ORDER = schema.POLICY_ORDER

local function bottle_label(path, n)
   if path == "egress.allowlist" then return n == 1 and "host" or "hosts" end
   return (gsub(path, "^egress%.", ""))
end

local function config_label(path) return path end

local function change_line(p, old, new, order, label)
   local entries = {}
   diff(old, new, "", entries, order)
   local s = summarise(entries, label)
   return s and "policy " .. p.name .. ": " .. s or nil
end

M.change_line = change_line
M.BOTTLE_ORDER = BOTTLE_ORDER
M.bottle_label = bottle_label
M.config_label = config_label

return M
