-- Base64 decoding, for the two places that look inside keys: the manifest
-- (a host key's type is written again inside its blob) and the git gate (an
-- OpenSSH private key says in its header whether it has a passphrase).
-- Hand-written because none of the chosen dependencies (Lua 5.4, lua-cjson,
-- lua-argparse, libyaml, libcurl) decodes base64, and these fifteen lines do
-- not justify another one.
local M = {}

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- decode(s [, max_bytes]) -> bytes | nil when s holds a character outside
-- the alphabet.  Whitespace is skipped and decoding stops at the first "="
-- or after max_bytes bytes.
function M.decode(s, max_bytes)
   local bits, nbits, out = 0, 0, {}
   max_bytes = max_bytes or math.huge
   for c in s:gmatch("%S") do
      if c == "=" or #out >= max_bytes then break end
      local v = ALPHABET:find(c, 1, true)
      if not v then return nil end
      bits = ((bits << 6) | (v - 1)) & 0xffffff
      nbits = nbits + 6
      if nbits >= 8 then
         nbits = nbits - 8
         out[#out + 1] = string.char((bits >> nbits) & 0xff)
      end
   end
   return table.concat(out)
end

return M
