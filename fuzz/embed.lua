-- Writes stdin as a C array named by arg[1], NUL-terminated (for harness.c).
local s = io.read("a")
local bytes = {}
for i = 1, #s do bytes[i] = s:byte(i) end
bytes[#bytes + 1] = 0
io.write("static const char ", arg[1], "[] = {\n")
for i = 1, #bytes, 20 do
   io.write(table.concat(bytes, ",", i, math.min(i + 19, #bytes)), ",\n")
end
io.write("};\n")
