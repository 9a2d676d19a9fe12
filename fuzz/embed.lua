-- Writes Lua sources as C arrays for harness.c.
--   lua embed.lua NAME < file.lua        one NUL-terminated array named NAME
--   lua embed.lua --modules MOD=FILE...  one array per module plus
--                                        `embedded_modules[]` = {name, chunkname, source, length}
-- (the harness puts each module in package.preload, so `require` finds it
-- without a search path: each binary runs from anywhere).
local function array (name, s)
   local bytes = {}
   for i = 1, #s do bytes[i] = s:byte(i) end
   bytes[#bytes + 1] = 0
   local out = { "static const char ", name, "[] = {\n" }
   for i = 1, #bytes, 20 do
      out[#out + 1] = table.concat(bytes, ",", i, math.min(i + 19, #bytes))
      out[#out + 1] = ",\n"
   end
   out[#out + 1] = "};\n"
   return table.concat(out)
end

if arg[1] ~= "--modules" then
   io.write(array(arg[1], io.read("a")))
   return
end

local entries = {}
for i = 2, #arg do
   local mod, path = arg[i]:match("^([%w_.]+)=(.+)$")
   if not mod then error("embed.lua: expected MOD=FILE, got " .. arg[i]) end
   local f = assert(io.open(path, "rb"))
   local src = f:read("a")
   f:close()
   local cname = "module_" .. mod:gsub("%.", "_")
   io.write(array(cname, src))
   local chunk = "@" .. path:gsub("^%.%./", "")
   entries[#entries + 1] = ('   { "%s", "%s", %s, sizeof %s - 1 },\n'):format(mod, chunk, cname, cname)
end
io.write("static const struct {\n   const char *name, *chunkname, *source;\n   size_t length;\n} embedded_modules[] = {\n",
         table.concat(entries), "};\n")
