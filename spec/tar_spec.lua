-- bottle.tar against GNU tar: what our writer makes, GNU tar lists and extracts
-- with the same names, modes, owners, times and bytes; what GNU tar makes (gnu,
-- ustar and pax formats), our reader reads back the same.
local tar = require "bottle.tar"

local function sh(cmd)
   local p = assert(io.popen(cmd .. " 2>&1"))
   local out = p:read("a")
   local ok, _, code = p:close()
   return out, ok and 0 or code
end

local q = require("testlib.util").q

local function tmpdir()
   local out = sh("mktemp -d /tmp/tar_spec.XXXXXX")
   return (out:gsub("%s+$", ""))
end

local function write(path, data)
   local f = assert(io.open(path, "wb")); f:write(data); f:close()
end

local read = require("testlib.util").read

local function octal(s) return tonumber(s, 8) end

local has_gnu_tar = sh("tar --version"):find("GNU tar", 1, true) ~= nil
local is_root = sh("id -u"):match("^0") ~= nil

local LONG_DIR = "deep/" .. string.rep("d", 90) .. "/" .. string.rep("e", 90)
local VERY_LONG = string.rep("x", 120) .. "/" .. string.rep("y", 120) .. ".txt"   -- no ustar split
local BINARY = "a\0b\255\1" .. string.rep("z", 600)

local function sample_entries()
   return {
      { name = "etc", type = "dir", mode = octal("755"), uid = 0, gid = 0, mtime = 1700000000 },
      { name = "etc/pipelock.yaml", data = "mode: strict\n", mode = octal("600"),
        uid = 65534, gid = 65534, mtime = 1700000001 },
      { name = "etc/empty", data = "", mode = octal("640"), uid = 1000, gid = 1000, mtime = 1700000002 },
      { name = "etc/block", data = string.rep("b", 512), mode = octal("644"), mtime = 1700000003 },
      { name = "etc/binary", data = BINARY, mode = octal("755"), mtime = 1700000004 },
      { name = "etc/link", type = "symlink", linkname = "pipelock.yaml", mtime = 1700000005 },
      { name = LONG_DIR, type = "dir", mode = octal("700"), uid = 1000, gid = 1000, mtime = 1700000006 },
      { name = LONG_DIR .. "/file.txt", data = "in a long path\n", mode = octal("600"),
        uid = 1000, gid = 1000, mtime = 1700000007 },
      { name = VERY_LONG, data = "pax path\n", mode = octal("644"), mtime = 1700000008 },
   }
end

describe("bottle.tar writer, read by GNU tar", function()
   local dir, archive
   setup(function()
      dir = tmpdir()
      archive = dir .. "/ours.tar"
      write(archive, tar.pack(sample_entries()))
   end)
   teardown(function() if dir then sh("rm -rf " .. q(dir)) end end)

   it("makes a stream of whole 512-byte blocks ending in two zero blocks", function()
      local data = read(archive)
      assert.are.equal(0, #data % 512)
      assert.are.equal(string.rep("\0", 1024), data:sub(-1024))
   end)

   it("lists with the names, types, modes, owners and times it was given", function()
      if not has_gnu_tar then pending("GNU tar is not installed") return end
      local out, code = sh("TZ=UTC tar --numeric-owner --full-time -tvf " .. q(archive))
      assert.are.equal(0, code, out)
      local listed = {}
      for line in out:gmatch("[^\n]+") do
         local perms, uid, gid, size, date, time, name =
            line:match("^(%S+) (%d+)/(%d+)%s+(%d+) (%S+) (%S+) (.-)$")
         assert.is_truthy(perms, "unparsed line: " .. line)
         name = name:gsub(" %-> .*$", ""):gsub("/$", "")
         listed[name] = { perms = perms, uid = tonumber(uid), gid = tonumber(gid),
                          size = tonumber(size), stamp = date .. " " .. time }
      end
      for _, e in ipairs(sample_entries()) do
         local got = listed[e.name]
         assert.is_truthy(got, "GNU tar did not list " .. e.name)
         local kind = ({ dir = "d", symlink = "l" })[e.type] or "-"
         assert.are.equal(kind, got.perms:sub(1, 1), e.name)
         if e.mode then
            local bits = 0
            for i = 2, 10 do
               if got.perms:sub(i, i) ~= "-" then bits = bits | (1 << (10 - i)) end
            end
            assert.are.equal(e.mode, bits, e.name)
         end
         assert.are.equal(e.uid or 0, got.uid, e.name)
         assert.are.equal(e.gid or 0, got.gid, e.name)
         assert.are.equal(e.type == nil and #e.data or 0, got.size, e.name)
         assert.are.equal(os.date("!%Y-%m-%d %H:%M:%S", e.mtime), got.stamp, e.name)
      end
   end)

   it("extracts the same bytes, modes and owners", function()
      if not has_gnu_tar then pending("GNU tar is not installed") return end
      local out_dir = dir .. "/x"
      local out, code = sh("mkdir " .. q(out_dir) .. " && tar --same-owner --numeric-owner -xpf "
                           .. q(archive) .. " -C " .. q(out_dir))
      assert.are.equal(0, code, out)
      for _, e in ipairs(sample_entries()) do
         local path = out_dir .. "/" .. e.name
         local st = sh("stat -c '%F %a %u %g' " .. q(path)):gsub("%s+$", "")
         local kind, mode, uid, gid = st:match("^(.-) (%d+) (%d+) (%d+)$")
         assert.is_truthy(kind, path .. ": " .. st)
         if e.type == "symlink" then
            assert.are.equal("symbolic link", kind)
            assert.are.equal(e.linkname, (sh("readlink " .. q(path)):gsub("\n$", "")))
         else
            assert.are.equal(e.mode, octal(mode), e.name)
            if is_root then
               assert.are.equal(e.uid or 0, tonumber(uid), e.name)
               assert.are.equal(e.gid or 0, tonumber(gid), e.name)
            end
            if e.type ~= "dir" then assert.are.equal(e.data, read(path), e.name) end
         end
      end
   end)
end)

describe("bottle.tar reader, reading GNU tar", function()
   local dir
   setup(function()
      dir = tmpdir()
      local src = dir .. "/src"
      sh("mkdir -p " .. q(src .. "/" .. LONG_DIR) .. " " .. q(src .. "/" .. VERY_LONG:match("^(.*)/")))
      write(src .. "/plain.txt", "plain\n")
      write(src .. "/binary", BINARY)
      write(src .. "/" .. LONG_DIR .. "/file.txt", "in a long path\n")
      write(src .. "/" .. VERY_LONG, "pax path\n")
      sh("chmod 0751 " .. q(src .. "/binary") .. " && chmod 0600 " .. q(src .. "/plain.txt")
         .. " && ln -s plain.txt " .. q(src .. "/link")
         .. " && touch -h -d @1700000100 " .. q(src .. "/plain.txt") .. " " .. q(src .. "/link"))
   end)
   teardown(function() if dir then sh("rm -rf " .. q(dir)) end end)

   for _, format in ipairs { "gnu", "pax", "ustar" } do
      it("reads the " .. format .. " format", function()
         if not has_gnu_tar then pending("GNU tar is not installed") return end
         local archive = dir .. "/" .. format .. ".tar"
         local files = "plain.txt binary link " .. q(LONG_DIR .. "/file.txt")
         if format ~= "ustar" then files = files .. " " .. q(VERY_LONG) end  -- ustar cannot hold it
         local out, code = sh("tar --format=" .. format .. " --owner=1234 --group=4321 --numeric-owner -C "
                              .. q(dir .. "/src") .. " -cf " .. q(archive) .. " " .. files)
         assert.are.equal(0, code, out)
         local entries = assert(tar.unpack(read(archive)))
         local plain = assert(tar.find(entries, "plain.txt"))
         assert.are.same({ "file", octal("600"), 1234, 4321, 1700000100, "plain\n" },
                         { plain.type, plain.mode, plain.uid, plain.gid, plain.mtime, plain.data })
         local bin = assert(tar.find(entries, "binary"))
         assert.are.equal(octal("751"), bin.mode)
         assert.are.equal(BINARY, bin.data)
         local link = assert(tar.find(entries, "link"))
         assert.are.same({ "symlink", "plain.txt" }, { link.type, link.linkname })
         assert.are.equal("in a long path\n", assert(tar.find(entries, LONG_DIR .. "/file.txt")).data)
         if format ~= "ustar" then
            assert.are.equal("pax path\n", assert(tar.find(entries, VERY_LONG)).data)
         end
      end)
   end

   it("reads back what it wrote", function()
      local entries = assert(tar.unpack(tar.pack(sample_entries())))
      for i, want in ipairs(sample_entries()) do
         local got = entries[i]
         assert.are.equal(want.name, got.name)
         assert.are.equal(want.type or "file", got.type)
         assert.are.equal(want.uid or 0, got.uid)
         assert.are.equal(want.mtime, got.mtime)
         if want.type == nil then assert.are.equal(want.data, got.data) end
      end
   end)
end)

describe("bottle.tar errors", function()
   it("reports a corrupt header as nil, message, tar_format", function()
      local data = tar.pack { { name = "a", data = "x" } }
      local broken = data:sub(1, 10) .. "Z" .. data:sub(12)
      local ok, msg, code = tar.unpack(broken)
      assert.is_nil(ok)
      assert.are.equal("tar_format", code)
      assert.matches("checksum", msg)
   end)

   it("reports a truncated stream", function()
      local data = tar.pack { { name = "a", data = string.rep("x", 2000) } }
      local ok, msg, code = tar.unpack(data:sub(1, 1024))
      assert.is_nil(ok)
      assert.are.equal("tar_format", code)
      assert.matches("past the end", msg)
   end)

   it("raises on misuse", function()
      assert.has_error(function() tar.pack { { data = "x" } } end)
      assert.has_error(function() tar.pack { { name = "a", type = "fifo" } } end)
      assert.has_error(function() tar.pack { { name = "l", type = "symlink" } } end)
      assert.has_error(function() tar.pack { { name = "a", data = "x", uid = 8 ^ 8 } } end)
      assert.has_error(function() tar.unpack(42) end)
   end)
end)
