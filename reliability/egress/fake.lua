-- Fake credentials shaped like the real formats, built when the corpus is
-- loaded: the files hold only prefixes split in two and lengths, so no
-- secret scanner (gitleaks in the git gate, this repository's own checks)
-- finds a token in them, and no value is ever a real one.  Deterministic:
-- the same case id gives the same value on every run.
local F = {}

F.UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
F.LOWER = "abcdefghijklmnopqrstuvwxyz"
F.DIGITS = "0123456789"
F.ALNUM = F.UPPER .. F.LOWER .. F.DIGITS
F.LOWER_ALNUM = F.LOWER .. F.DIGITS
F.UPPER_ALNUM = F.UPPER .. F.DIGITS
F.HEX = "0123456789abcdef"
F.B64 = F.ALNUM .. "+/"
F.B64URL = F.ALNUM .. "-_"
F.B32 = F.UPPER .. "234567"

-- A generator of pseudo-random strings seeded by `id` (FNV-1a, then an LCG).
function F.gen(id)
   local h = 2166136261
   for i = 1, #id do h = ((h ~ id:byte(i)) * 16777619) & 0xffffffff end
   local g = { state = h }
   function g.chars(n, set)
      set = set or F.ALNUM
      local out = {}
      for i = 1, n do
         g.state = (g.state * 1103515245 + 12345) & 0x7fffffff
         local k = (g.state >> 8) % #set + 1
         out[i] = set:sub(k, k)
      end
      return table.concat(out)
   end
   return g
end

-- "ab" .. "cd": a prefix written in two halves.
function F.p(a, b) return a .. b end

local B64CHARS = F.ALNUM .. "+/"
function F.base64(s)
   local out = {}
   for i = 1, #s, 3 do
      local a, b, c = s:byte(i, i + 2)
      local n = (a << 16) | ((b or 0) << 8) | (c or 0)
      local chunk = {}
      for j = 1, 4 do
         local k = (n >> (6 * (4 - j))) & 63
         chunk[j] = B64CHARS:sub(k + 1, k + 1)
      end
      if not b then chunk[3], chunk[4] = "=", "=" elseif not c then chunk[4] = "=" end
      out[#out + 1] = table.concat(chunk)
   end
   return table.concat(out)
end

function F.hex(s) return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) end

function F.base32(s)
   local bits, out = "", {}
   for i = 1, #s do
      local b = s:byte(i)
      for j = 7, 0, -1 do bits = bits .. (((b >> j) & 1 == 1) and "1" or "0") end
   end
   while #bits % 5 ~= 0 do bits = bits .. "0" end
   for i = 1, #bits, 5 do
      local k = tonumber(bits:sub(i, i + 4), 2)
      out[#out + 1] = F.B32:sub(k + 1, k + 1)
   end
   return table.concat(out)
end

function F.urlencode(s)
   return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

function F.rot13(s)
   return (s:gsub("%a", function(c)
      local base = c:match("%l") and 97 or 65
      return string.char((c:byte() - base + 13) % 26 + base)
   end))
end

-- A version 4 UUID.
function F.uuid(g)
   return ("%s-%s-4%s-%s%s-%s"):format(g.chars(8, F.HEX), g.chars(4, F.HEX), g.chars(3, F.HEX),
      g.chars(1, "89ab"), g.chars(3, F.HEX), g.chars(12, F.HEX))
end

return F
