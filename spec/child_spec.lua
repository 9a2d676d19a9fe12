-- core.child and core.spawn's limits (csrc/child.c): what the policy's
-- process relies on, checked with small shell programs.
local core = require "bottle.core"

local SH = "/bin/sh"

describe("core.child #core", function()
   it("answers a request and keeps running between requests", function()
      local c = assert(core.child({ SH, "-c", "while read l; do echo \"got $l\"; done" }))
      assert.equal("got one", c:request("one\n", 5, 100))
      assert.equal("got two", c:request("two\n", 5, 100))
      assert.is_true(c:close())
      assert.is_true(c:close(), "close is idempotent")
      assert.same({ nil, "the process was already ended", "closed" }, { c:request("x\n", 5, 100) })
   end)

   it("gives the child an empty environment and no descriptor but stdio", function()
      -- looked at from outside while it waits on its stdin: exactly 0, 1, 2
      local f = assert(io.open("/dev/null"))   -- one the child must not get
      local c = assert(core.child({ SH, "-c", "read x; echo $(env | wc -l)" }))
      f:close()
      assert.same({ "0", "1", "2" }, assert(core.listdir("/proc/" .. c:pid() .. "/fd")))
      local nenv = assert(c:request("\n", 5, 1000))
      assert.is_true(tonumber(nenv) <= 3, nenv)   -- sh sets PWD (and SHLVL, _) itself
      c:close()
      c = assert(core.child({ SH, "-c", "echo \"$SPEC_VALUE\"" }, { env = { SPEC_VALUE = "given" } }))
      assert.equal("given", c:request("", 5, 100))
      c:close()
   end)

   -- #nofile: valgrind (make memcheck) refuses its client setrlimit(RLIMIT_NOFILE)
   it("cannot read the launcher's environment or memory through /proc (drop_root as root)", function()
      local c = assert(core.child({ SH, "-c",
         "cat /proc/$PPID/environ >/dev/null 2>&1 && echo environ; cat /proc/$PPID/maps >/dev/null 2>&1 && echo maps; echo done" },
         { drop_root = true }))
      assert.equal("done", c:request("", 5, 100))
      c:close()
   end)

   it("runs as nobody when the launcher is root and drop_root is set", function()
      local c = assert(core.child({ SH, "-c", "echo $(id -u) $(id -g) $(id -G) $(pwd)" }, { drop_root = true }))
      local is_root = core.spawn({ SH, "-c", 'test "$(id -u)" = 0' }) == 0
      assert.equal(is_root and "65534 65534 65534 /" or nil, is_root and c:request("", 5, 100) or nil)
      c:close()
   end)

   it("sets the kernel limits it is given #nofile", function()
      local c = assert(core.child({ SH, "-c", "echo $(ulimit -t) $(ulimit -v) $(ulimit -n) $(ulimit -c)" },
         { limits = { cpu = 3, memory = 512 * 1024 * 1024, files = 32 } }))
      assert.equal("3 524288 32 0", c:request("", 5, 100))
      c:close()
   end)

   it("kills a child past its deadline", function()
      local c = assert(core.child({ SH, "-c", "sleep 30" }))
      local t0 = core.monotonic()
      assert.same({ nil, "did not answer within 0.2 s, so it was killed", "timeout" },
         { c:request("x\n", 0.2, 100) })
      assert.is_true(core.monotonic() - t0 < 2)
   end)

   it("kills a child whose answer is too long", function()
      local c = assert(core.child({ SH, "-c", "head -c 100000 /dev/zero" }))
      assert.same({ nil, "its answer exceeded 1000 bytes, so it was killed", "too_large" },
         { c:request("", 5, 1000) })
   end)

   it("says how a child ended", function()
      local c = assert(core.child({ SH, "-c", "exit 3" }))
      assert.same({ nil, "no answer: the process exited with status 3", "exited" }, { c:request("", 5, 100) })
      c = assert(core.child({ SH, "-c", "kill -SEGV $$" }))
      local _, msg = c:request("", 5, 100)
      assert.matches("^no answer: the process was killed by signal 11 ", msg)
      c = assert(core.child({ SH, "-c", "while :; do :; done" }, { limits = { cpu = 1 } }))
      assert.same({ nil, "no answer: the process was killed by SIGXCPU (its CPU time limit)", "exited" },
         { c:request("", 10, 100) })
   end)

   it("survives writing to a child that has exited (no SIGPIPE)", function()
      local c = assert(core.child({ SH, "-c", "exit 0" }))
      core.sleep(0.1)
      local ok, _, code = c:request(("x"):rep(1 << 20), 5, 100)
      assert.is_nil(ok)
      assert.equal("exited", code)
   end)

   it("reports a program that cannot be run", function()
      local ok, msg, code = core.child({ "/nonexistent/program" })
      assert.is_nil(ok)
      assert.equal("ENOENT", code)
      assert.matches("cannot run /nonexistent/program", msg)
   end)

   it("raises on misuse", function()
      assert.has_error(function() core.child({}) end)
      assert.has_error(function() core.child({ SH }, { limits = { cpu = 0 } }) end)
      assert.has_error(function() core.child({ SH }, { limits = { cpus = 1 } }) end)
      local c = assert(core.child({ SH, "-c", "cat" }))
      assert.has_error(function() c:request("x", 0, 10) end)
      c:close()
   end)
end)

describe("core.spawn limits #core", function()
   it("applies limits and closes inherited descriptors", function()
      local f = assert(io.open("/dev/null"))   -- an open descriptor the child must not get
      local out = os.tmpname()
      local status = core.spawn({ SH, "-c", "exec > " .. out .. "; ulimit -t; ls /proc/self/fd" },
         { limits = { cpu = 7 } })
      f:close()
      assert.equal(0, status)
      local text = assert(io.open(out)):read("a")
      os.remove(out)
      local lines = {}
      for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.equal("7", lines[1])
      for i = 2, #lines do assert.is_true(tonumber(lines[i]) <= 3, text) end
   end)
end)
