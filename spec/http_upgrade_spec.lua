-- core.http_upgrade against a real server on a unix socket (a few lines of
-- Python's standard library, started here): the request head is sent as
-- is, the answer's status read, then the bytes written arrive whole and the
-- write side's close is the server's end of file.  No fakes.
local core = require "bottle.core"

local SERVER = [[
import socket, sys
path, out, answer = sys.argv[1], sys.argv[2], sys.argv[3].encode().decode("unicode_escape").encode("latin-1")
s = socket.socket(socket.AF_UNIX)
s.bind(path); s.listen(1)
print("READY", flush=True)
c, _ = s.accept()
data = b""
while b"\r\n\r\n" not in data:
    chunk = c.recv(1)
    if not chunk: break
    data += chunk
c.sendall(answer)
while True:
    chunk = c.recv(65536)
    if not chunk: break
    data += chunk
open(out, "wb").write(data)
c.close()
]]

describe("core.http_upgrade #core", function()
   local dir
   before_each(function() dir = core.mkdtemp("/tmp/upgrade-spec.") end)
   after_each(function() core.rmtree(dir) end)

   -- starts the server; returns a function that waits for it and gives what it received
   local function serve(answer)
      local script = dir .. "/server.py"
      local f = assert(io.open(script, "w"))
      f:write(SERVER)
      f:close()
      local p = assert(io.popen(("exec python3 %s %s/s %s/out '%s'"):format(script, dir, dir, answer)))
      assert.equal("READY", p:read("l"))
      return function()
         p:close()
         local o = io.open(dir .. "/out", "rb")
         local data = o and o:read("a")
         if o then o:close() end
         return data
      end
   end

   it("sends the head, reads the status, then streams bytes until the write side closes", function()
      local received = serve("HTTP/1.1 101 UPGRADED\\r\\nUpgrade: tcp\\r\\n\\r\\n")
      local head = "POST /attach HTTP/1.1\r\nHost: docker\r\nUpgrade: tcp\r\n\r\n"
      local conn, status = core.http_upgrade { url = "http://docker/attach", unix_socket = dir .. "/s", request = head }
      assert(conn, status)
      assert.equal(101, status)
      local payload = 'geo $cred_1 { default "a$b \\" {}; "; }\n' .. string.rep("x", 200000) .. "\0\255"
      assert.is_true(conn:send(payload))
      assert.is_true(conn:close_write())
      conn:close()
      assert.equal(head .. payload, received())
   end)

   it("refuses an answer that is not HTTP, and a socket nobody listens on", function()
      local received = serve("SSH-2.0-nope\\r\\n\\r\\n")
      local conn, msg, code = core.http_upgrade { url = "http://docker/", unix_socket = dir .. "/s",
                                                 request = "GET / HTTP/1.1\r\n\r\n" }
      assert.is_nil(conn)
      assert.equal("protocol", code)
      assert.matches("not an HTTP response", msg)
      received()
      conn, msg, code = core.http_upgrade { url = "http://docker/", unix_socket = dir .. "/none",
                                           request = "GET / HTTP/1.1\r\n\r\n", timeout_ms = 2000 }
      assert.is_nil(conn)
      assert.equal("connect", code)
      assert.matches("connecting failed", msg)
   end)

   it("raises on misuse", function()
      assert.has_error(function() core.http_upgrade { url = "http://x/" } end)
   end)
end)
