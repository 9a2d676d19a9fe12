-- The rockspec installs every module and shipped script under lua/ (one
-- missing from it works from the checkout and breaks `luarocks install`),
-- and names no file that is not there.
local read = require("testlib.util").read

local function lua_files()
   local p = assert(io.popen("cd lua && find bottle \\( -name '*.lua' -o -name '*.sh' \\) | sort"))
   local out = {}
   for line in p:lines() do out[#out + 1] = "lua/" .. line end
   p:close()
   return out
end

describe("claude-bottle-scm-1.rockspec", function()
   local text = read("claude-bottle-scm-1.rockspec")
   local listed = {}
   for module, path in text:gmatch('%["([%w_.-]+)"%]%s*=%s*"(lua/[^"]+%.%a+)"') do listed[path] = module end

   it("lists every Lua module under lua/, under its require name", function()
      local missing = {}
      for _, path in ipairs(lua_files()) do
         local want = path:gsub("^lua/", ""):gsub("%.%a+$", ""):gsub("/init$", ""):gsub("/", ".")
         if listed[path] ~= want then missing[#missing + 1] = path .. " as " .. want end
      end
      assert.are.same({}, missing)
   end)

   it("names only files that exist", function()
      local absent = {}
      for path in pairs(listed) do
         local f = io.open(path, "rb")
         if f then f:close() else absent[#absent + 1] = path end
      end
      assert.are.same({}, absent)
   end)
end)
