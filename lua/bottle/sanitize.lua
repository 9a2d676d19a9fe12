-- The one output sanitiser: everything printed to a terminal that came
-- from a file, a policy or the engine goes through here first.  C0 control
-- characters, DEL, C1 controls (U+0080-U+009F: U+009B is a CSI on many
-- terminals), Unicode's bidirectional overrides and line separators, and
-- bytes that are not UTF-8 are shown escaped, so that no input can move
-- the cursor, rewrite a line already printed, or hide text.
local M = {}

local format, byte, sub, find = string.format, string.byte, string.sub, string.find
local concat = table.concat
local utf8_len, utf8_codepoint = utf8.len, utf8.codepoint

local C0_NAMES = { [9] = "\\t", [10] = "\\n", [13] = "\\r" }

-- Code points shown as \u{...} although they are valid UTF-8.
local function hidden(cp)
   return (cp >= 0x80 and cp <= 0x9f) or (cp >= 0x202a and cp <= 0x202e)
      or (cp >= 0x2066 and cp <= 0x2069) or cp == 0x2028 or cp == 0x2029 or cp == 0x200e
      or cp == 0x200f or cp == 0x061c or cp == 0xfeff
end

local function sequence_length(b)
   if b >= 0xc2 and b <= 0xdf then return 2 end
   if b >= 0xe0 and b <= 0xef then return 3 end
   if b >= 0xf0 and b <= 0xf4 then return 4 end
   return nil
end

-- The one walk over a string: runs of plain text are kept; each control
-- byte goes to ctrl(b), each hidden code point to hidden_cp(cp), each byte
-- that does not start valid UTF-8 to invalid(b).  `special` finds the
-- bytes that need a look.
local function rewrite(s, special, ctrl, hidden_cp, invalid)
   s = tostring(s)
   if not find(s, special) then return s end
   local out, i, n = {}, 1, #s
   while i <= n do
      local b = byte(s, i)
      if b < 0x80 and (b < 0x20 or b == 0x7f) then
         out[#out + 1] = ctrl(b)
         i = i + 1
      elseif b < 0x80 then
         local j = find(s, special, i) or n + 1
         out[#out + 1] = sub(s, i, j - 1)
         i = j
      else
         local len = sequence_length(b)
         local seq = len and sub(s, i, i + len - 1)
         if seq and #seq == len and utf8_len(seq) == 1 then
            local cp = utf8_codepoint(seq)
            out[#out + 1] = hidden(cp) and hidden_cp(cp) or seq
            i = i + len
         else
            out[#out + 1] = invalid(b)
            i = i + 1
         end
      end
   end
   return concat(out)
end

local function hex_byte(b) return format("\\x%02x", b) end
local function braced(cp) return format("\\u{%x}", cp) end

-- One line: every control character escaped, "\n" included.
function M.line(s)
   return rewrite(s, "[%c\127-\255]", function(b) return C0_NAMES[b] or hex_byte(b) end, braced, hex_byte)
end

-- A message that may span lines: "\n" and "\t" are kept, the rest escaped.
function M.text(s)
   return rewrite(s, "[%c\127-\255]", function(b)
      if b == 10 or b == 9 then return string.char(b) end
      return C0_NAMES[b] or hex_byte(b)
   end, braced, hex_byte)
end

-- A line of JSON (lua-cjson's output, or the engine's): still valid JSON
-- with the same data, but DEL and the code points above written as \uXXXX;
-- a byte that is not UTF-8 (which JSON cannot hold) becomes U+FFFD.  JSON
-- has already escaped the other control characters.
function M.json(s)
   return rewrite(s, "[\127-\255]", function(b)
      if b == 9 or b == 10 or b == 13 then return string.char(b) end   -- whitespace between tokens
      return format("\\u%04x", b)
   end,
      function(cp) return format("\\u%04x", cp) end, function() return "\\ufffd" end)
end

return M
