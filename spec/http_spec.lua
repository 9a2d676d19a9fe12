-- core.http and core.http_many, end to end: every request goes to a real
-- HTTP/1.1 server (spec/helpers/http_server.py, Python's http.server) that
-- this spec starts on loopback and on a unix socket, and one goes to the real
-- Docker Engine when /var/run/docker.sock is there.  No fakes.
local cjson = require "cjson"

local function sh_quote (s)
   return "'" .. s:gsub("'", "'\\''") .. "'"
end

local read_command = require("testlib.util").command

local function hex (s)
   return (s:gsub(".", function (c) return ("%02x"):format(c:byte()) end))
end

-- zlib's Adler-32, as the server reports it for bodies too big to echo.
local function adler32 (s)
   local a, b = 1, 0
   for i = 1, #s, 4096 do
      local bytes = { s:byte(i, math.min(i + 4095, #s)) }
      for j = 1, #bytes do
         a = (a + bytes[j]) % 65521
         b = (b + a) % 65521
      end
   end
   return b * 65536 + a
end

-- The server's /big pattern: byte i (from 0) is i % 251.
local function pattern (n)
   local period = {}
   for i = 0, 250 do period[#period + 1] = string.char(i) end
   period = table.concat(period)
   return (period:rep(n // 251 + 1)):sub(1, n)
end

-- The request headers /echo saw, as name → value (names as sent).
local function echoed_headers (doc)
   local t = {}
   for _, pair in ipairs(doc.headers) do t[pair[1]] = pair[2] end
   return t
end

-- Read in this process: an `ls` started with io.popen raced popen's own
-- pipe (both of its ends were sometimes still open in the parent).
local function open_fds ()
   return #assert(require("bottle.core").listdir("/proc/self/fd"))
end

describe("core.http #core", function ()
   local core, server, server_pid, dir, sock, base, closed_port

   -- Runs a Lua script in a child lua5.4 (with this checkout's core) and
   -- returns what it printed; `env` is a shell prefix such as "http_proxy=...".
   local function run_child (code, env)
      local path = dir .. "/child.lua"
      local f = assert(io.open(path, "w"))
      f:write('package.cpath = "build/?.so;" .. package.cpath\n',
              'local core = require "bottle.core"\n', code)
      f:close()
      return read_command((env or "") .. " lua5.4 " .. sh_quote(path) .. " 2>&1")
   end

   setup(function ()
      core = require "bottle.core"
      dir = read_command("mktemp -d"):gsub("%s+$", "")
      sock = dir .. "/http.sock"
      server = assert(io.popen("exec python3 spec/helpers/http_server.py --unix "
                               .. sh_quote(sock)))
      local line = server:read("l")
      assert(line and line:match("^READY"), "http_server.py did not start: " .. tostring(line))
      local port
      port, closed_port, server_pid = line:match("port=(%d+) closed_port=(%d+) pid=(%d+)")
      base = "http://127.0.0.1:" .. port
   end)

   teardown(function ()
      if server_pid then os.execute("kill " .. server_pid) end
      if server then server:close() end
      if dir then os.execute("rm -rf " .. sh_quote(dir)) end
   end)

   describe("methods and bodies", function ()
      it("GETs, returning status, lower-cased headers and the body", function ()
         local status, headers, body = core.http{url = base .. "/echo?x=1"}
         assert.are.equal(200, status)
         assert.is_true(math.type(status) == "integer")
         assert.are.equal("application/json", headers["content-type"])
         assert.are.equal(tostring(#body), headers["content-length"])
         local doc = cjson.decode(body)
         assert.are.equal("GET", doc.method)
         assert.are.equal("/echo?x=1", doc.path)
         assert.are.equal(0, doc.body_length)
      end)

      it("POSTs a binary body with NUL bytes byte for byte", function ()
         local bytes = {}
         for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
         local payload = "\0a\0\r\n" .. table.concat(bytes) .. "\0"
         local status, _, body = core.http{method = "POST", url = base .. "/echo",
                                           body = payload,
                                           headers = {["Content-Type"] = "application/octet-stream"}}
         assert.are.equal(200, status)
         local doc = cjson.decode(body)
         assert.are.equal("POST", doc.method)
         assert.are.equal(#payload, doc.body_length)
         assert.are.equal(hex(payload), doc.body_hex)
         local sent = echoed_headers(doc)
         assert.are.equal(tostring(#payload), sent["Content-Length"])
         assert.are.equal("application/octet-stream", sent["Content-Type"])
      end)

      it("sends Content-Length: 0 and no made-up Content-Type for a POST without a body", function ()
         local _, _, body = core.http{method = "POST", url = base .. "/echo"}
         local doc = cjson.decode(body)
         local sent = echoed_headers(doc)
         assert.are.equal("POST", doc.method)
         assert.are.equal("0", sent["Content-Length"])
         assert.is_nil(sent["Content-Type"])
      end)

      it("PUTs bodies of 1 MiB and just over, with no Expect: 100-continue", function ()
         for _, size in ipairs{1024 * 1024, 1024 * 1024 + 1} do
            local payload = pattern(size)
            local status, _, body = core.http{method = "PUT", url = base .. "/echo",
                                              body = payload, timeout_ms = 60000}
            assert.are.equal(200, status)
            local doc = cjson.decode(body)
            assert.are.equal("PUT", doc.method)
            assert.are.equal(size, doc.body_length)
            assert.are.equal(adler32(payload), doc.body_adler32)
            local sent = echoed_headers(doc)
            assert.are.equal(tostring(size), sent["Content-Length"])
            assert.is_nil(sent["Expect"])
         end
      end)

      it("DELETEs", function ()
         local status, _, body = core.http{method = "DELETE", url = base .. "/echo"}
         assert.are.equal(200, status)
         local doc = cjson.decode(body)
         assert.are.equal("DELETE", doc.method)
         assert.is_nil(echoed_headers(doc)["Content-Length"])
      end)

      it("sends a HEAD and does not wait for the body its Content-Length announces", function ()
         -- timeout_ms only turns a regression (waiting for the body) into a failure.
         local status, headers, body = core.http{method = "HEAD", url = base .. "/echo",
                                                 timeout_ms = 10000}
         assert.are.equal(200, status)
         assert.is_true(tonumber(headers["content-length"]) > 0)
         assert.are.equal("", body)
      end)

      it("sends custom headers, an empty value included", function ()
         local _, _, body = core.http{url = base .. "/echo",
                                      headers = {["X-Token"] = "abc def", ["X-Empty"] = "",
                                                 ["X-Number"] = 42}}
         local sent = echoed_headers(cjson.decode(body))
         assert.are.equal("abc def", sent["X-Token"])
         assert.are.equal("", sent["X-Empty"])
         assert.are.equal("42", sent["X-Number"])
      end)

      it("returns 404 and 500 as statuses, not errors", function ()
         for _, code in ipairs{404, 500} do
            local status, headers, body = core.http{url = base .. "/status/" .. code}
            assert.are.equal(code, status)
            assert.are.equal("table", type(headers))
            assert.are.equal("status " .. code, body)
         end
      end)

      it("does not follow redirects", function ()
         local status = core.http{url = base .. "/status/302"}
         assert.are.equal(302, status)
      end)
   end)

   describe("response headers", function ()
      it("lower-cases names, joins repeats with \", \" and trims values", function ()
         local _, headers = core.http{url = base .. "/headers"}
         assert.are.equal("a=1, b=2", headers["set-cookie"])
         assert.are.equal("Yes", headers["x-mixed-case"])
         assert.are.equal("padded", headers["x-padded"])
         for name in pairs(headers) do assert.are.equal(name:lower(), name) end
      end)

      it("keeps only the final response's headers after a 103", function ()
         local status, headers, body = core.http{url = base .. "/early-hints"}
         assert.are.equal(200, status)
         assert.are.equal("yes", headers["x-final"])
         assert.is_nil(headers["x-interim"])
         assert.is_nil(headers["link"])
         assert.are.equal("final", body)
      end)
   end)

   describe("transports", function ()
      it("talks HTTP over a unix socket", function ()
         local status, _, body = core.http{method = "POST", url = "http://localhost/echo",
                                           unix_socket = sock, body = "over unix"}
         assert.are.equal(200, status)
         local doc = cjson.decode(body)
         assert.are.equal("POST", doc.method)
         assert.are.equal(hex("over unix"), doc.body_hex)
      end)

      it("goes through a proxy when given one", function ()
         -- The same server answers requests in absolute form, as a proxy would.
         local status, _, body = core.http{url = "http://example.invalid/echo", proxy = base}
         assert.are.equal(200, status)
         local doc = cjson.decode(body)
         assert.is_true(doc.proxied)
         assert.are.equal("example.invalid", echoed_headers(doc)["Host"])
      end)

      it("ignores the environment's proxy when proxy = \"\"", function ()
         local env = "http_proxy=http://127.0.0.1:" .. closed_port
         local code = ("local s, m, c = core.http{url = %q%s}\nprint(s, s and m['content-type'] or c)\n")
         -- Without proxy = "", libcurl honours http_proxy: the dead proxy refuses.
         assert.are.equal("nil\tCOULDNT_CONNECT\n",
                          run_child(code:format(base .. "/status/200", ""), env))
         assert.are.equal("200\ttext/plain\n",
                          run_child(code:format(base .. "/status/200", ', proxy = ""'), env))
      end)

      it("GETs the Docker Engine's version over /var/run/docker.sock", function ()
         if not os.execute("test -S /var/run/docker.sock") then
            pending("no Docker Engine socket at /var/run/docker.sock")
            return
         end
         local status, headers, body = core.http{url = "http://localhost/v1.41/version",
                                                 unix_socket = "/var/run/docker.sock",
                                                 timeout_ms = 10000}
         assert.are.equal(200, status, tostring(headers))
         local doc = cjson.decode(body)
         assert.are.equal("string", type(doc.ApiVersion))
         assert.truthy(doc.ApiVersion:match("^%d+%.%d+$"))
         assert.truthy(headers["api-version"])
      end)
   end)

   describe("failures", function ()
      it("returns COULDNT_CONNECT when nothing listens, naming the URL", function ()
         local s, msg, code = core.http{url = "http://127.0.0.1:" .. closed_port .. "/x"}
         assert.is_nil(s)
         assert.are.equal("COULDNT_CONNECT", code)
         assert.truthy(msg:find("GET http://127.0.0.1:" .. closed_port .. "/x", 1, true))
         s, msg, code = core.http{url = "http://localhost/x", unix_socket = dir .. "/absent.sock"}
         assert.is_nil(s)
         assert.are.equal("COULDNT_CONNECT", code)
         assert.truthy(msg:find(dir .. "/absent.sock", 1, true))
      end)

      it("returns OPERATION_TIMEDOUT after timeout_ms", function ()
         local s, msg, code = core.http{url = base .. "/slow?ms=3000", timeout_ms = 200}
         assert.is_nil(s)
         assert.are.equal("OPERATION_TIMEDOUT", code)
         assert.truthy(msg:find("Timeout", 1, true))
      end)

      it("returns URL_MALFORMAT for a URL libcurl cannot parse, on one line", function ()
         for _, url in ipairs{"http://exa mple.com/", "http://example.com/\r\nX-Injected: 1", "not a url"} do
            local s, msg, code = core.http{url = url}
            assert.is_nil(s)
            assert.are.equal("URL_MALFORMAT", code)
            assert.is_nil(msg:find("[\r\n]"))
         end
      end)

      it("refuses schemes other than http and https", function ()
         for _, url in ipairs{"file:///etc/passwd", "ftp://127.0.0.1/"} do
            local s, _, code = core.http{url = url}
            assert.is_nil(s)
            assert.are.equal("UNSUPPORTED_PROTOCOL", code)
         end
      end)

      it("never puts header values, bodies, user info or query strings in messages", function ()
         local s, msg = core.http{method = "POST",
                                  url = "http://user:hunter2@127.0.0.1:" .. closed_port
                                     .. "/p?token=qwerty#frag",
                                  headers = {Authorization = "Bearer s3cret-header"},
                                  body = "s3cret-body"}
         assert.is_nil(s)
         for _, secret in ipairs{"hunter2", "qwerty", "s3cret", "user"} do
            assert.is_nil(msg:find(secret, 1, true), msg)
         end
         assert.truthy(msg:find("http://127.0.0.1:" .. closed_port .. "/p", 1, true))
         local ok, err = pcall(core.http, {url = base, headers = {Authorization = "s3cret\r\nX: y"}})
         assert.is_false(ok)
         assert.truthy(err:find("Authorization", 1, true))
         assert.is_nil(err:find("s3cret", 1, true))
      end)

      it("raises on misuse, naming the field", function ()
         local cases = {
            {nil, "table expected"},
            {{}, "req.url is required"},
            {{url = 42}, "req.url must be a string"},
            {{url = ""}, "req.url is required"},
            {{url = "http://x/\0"}, "req.url contains a NUL byte"},
            {{url = base, method = "get"}, "not an upper%-case HTTP method"},
            {{url = base, method = "GET /x"}, "not an upper%-case HTTP method"},
            {{url = base, method = "HEAD", body = ""}, "HEAD request has no body"},
            {{url = base, timeout = 5}, "unknown field \"timeout\""},
            {{url = base, [1] = "x"}, "has a number key"},
            {{url = base, timeout_ms = -1}, "timeout_ms must be a whole number"},
            {{url = base, connect_timeout_ms = 1.5}, "connect_timeout_ms must be a whole number"},
            {{url = base, headers = "X: y"}, "headers must be a table"},
            {{url = base, headers = {["Bad Name"] = "v"}}, "invalid header name"},
            {{url = base, headers = {"v"}}, "headers has a number key"},
            {{url = base, headers = {X = true}}, "headers%[\"X\"%] must be a string"},
            {{url = base, headers = {X = "a\nb"}}, "contains a CR, LF or NUL"},
            {{url = base, body = 12}, "req.body must be a string"},
            {{url = base, proxy = false}, "req.proxy must be a string"},
            {{url = base, unix_socket = 1}, "req.unix_socket must be a string"},
            {{url = base, on_data = "print"}, "req.on_data must be a function"},
         }
         for _, case in ipairs(cases) do
            local ok, err = pcall(core.http, case[1])
            assert.is_false(ok)
            assert.truthy(tostring(err):match(case[2]), tostring(err))
         end
      end)

      it("leaves no descriptor open after failures and misuse", function ()
         core.http{url = base .. "/status/200"}   -- let libcurl open what it keeps
         -- descriptors of earlier specs may still be waiting for the collector
         collectgarbage()
         collectgarbage()
         local before = open_fds()
         for _ = 1, 20 do
            core.http{url = base .. "/status/200"}
            core.http{url = "http://127.0.0.1:" .. closed_port .. "/"}
            core.http{url = base .. "/slow?ms=1000", timeout_ms = 50}
            pcall(core.http, {url = base, headers = {X = "a\nb"}})
            pcall(core.http_many, {{url = base .. "/status/200"}, {url = base, bogus = 1}})
         end
         collectgarbage()
         collectgarbage()
         local after = open_fds()
         assert.is_true(after <= before, ("%d descriptors before, %d after"):format(before, after))
      end)
   end)

   describe("on_data", function ()
      it("receives every chunk of a chunked stream, in order", function ()
         local chunks = {}
         local status, headers, body = core.http{
            url = base .. "/stream?n=5&delay_ms=50",
            on_data = function (chunk) chunks[#chunks + 1] = chunk end}
         assert.are.equal(200, status)
         assert.are.equal("chunked", headers["transfer-encoding"])
         assert.is_nil(body)
         assert.is_true(#chunks > 1)
         assert.are.equal("chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n", table.concat(chunks))
      end)

      it("streams a 5 MB body", function ()
         local size, parts = 0, {}
         local status = core.http{url = base .. "/big",
                                  on_data = function (chunk)
                                     size = size + #chunk
                                     parts[#parts + 1] = chunk
                                  end}
         assert.are.equal(200, status)
         assert.are.equal(5 * 1024 * 1024, size)
         assert.is_true(table.concat(parts) == pattern(size))
      end)

      it("stops quietly when the callback returns false", function ()
         local calls = 0
         local status, headers, body = core.http{
            url = base .. "/stream?n=40&delay_ms=50",
            on_data = function () calls = calls + 1; return false end}
         assert.are.equal(200, status)
         assert.are.equal("table", type(headers))
         assert.is_nil(body)
         assert.are.equal(1, calls)
      end)

      it("returns nil, message, \"callback\" when the callback raises, and goes on working", function ()
         for _ = 1, 3 do
            local s, msg, code = core.http{url = base .. "/stream?n=3&delay_ms=10",
                                           on_data = function () error("boom in callback") end}
            assert.is_nil(s)
            assert.are.equal("callback", code)
            assert.truthy(msg:find("boom in callback", 1, true))
            assert.truthy(msg:find(base .. "/stream", 1, true))
         end
         local s, msg, code = core.http{url = base .. "/stream?n=2&delay_ms=0",
                                        on_data = function () error(setmetatable({}, {
                                           __tostring = function () return "a table error" end})) end}
         assert.is_nil(s)
         assert.are.equal("callback", code)
         assert.truthy(msg:find("a table error", 1, true))
         assert.are.equal(200, (core.http{url = base .. "/status/200"}))
      end)

      it("catches a yield across the callback instead of crashing", function ()
         local co = coroutine.wrap(function ()
            return core.http{url = base .. "/stream?n=2&delay_ms=0",
                             on_data = function () coroutine.yield("escaped") end}
         end)
         local s, msg, code = co()
         assert.is_nil(s)
         assert.are.equal("callback", code)
         assert.truthy(msg:find("yield", 1, true))
      end)

      it("lets the callback make requests of its own", function ()
         local inner = {}
         local status = core.http{url = base .. "/stream?n=3&delay_ms=10",
                                  on_data = function ()
                                     inner[#inner + 1] = (core.http{url = base .. "/status/201"})
                                  end}
         assert.are.equal(200, status)
         assert.is_true(#inner >= 1)
         for _, s in ipairs(inner) do assert.are.equal(201, s) end
      end)
   end)

   describe("a 5 MB response", function ()
      it("is returned whole", function ()
         local status, headers, body = core.http{url = base .. "/big"}
         assert.are.equal(200, status)
         assert.are.equal(tostring(5 * 1024 * 1024), headers["content-length"])
         assert.are.equal(5 * 1024 * 1024, #body)
         assert.is_true(body == pattern(#body))
      end)
   end)

   describe("core.http_many", function ()
      it("runs requests concurrently: the server sees them all in progress at once", function ()
         local tag = "t" .. tostring(os.time()) .. tostring(math.random(1e9))
         local reqs = {}
         for i = 1, 5 do reqs[i] = {url = base .. "/slow?ms=1000&tag=" .. tag} end
         local results = core.http_many(reqs)
         assert.are.equal(5, #results)
         for i = 1, 5 do
            assert.are.equal(200, results[i][1])
            assert.are.equal("slept", results[i][3])
         end
         local _, _, body = core.http{url = base .. "/intervals?tag=" .. tag}
         local intervals = cjson.decode(body)
         assert.are.equal(5, #intervals)
         local latest_start, earliest_end = -math.huge, math.huge
         for _, iv in ipairs(intervals) do
            latest_start = math.max(latest_start, iv[1])
            earliest_end = math.min(earliest_end, iv[2])
         end
         assert.is_true(latest_start < earliest_end, "the five requests never overlapped")
      end)

      it("returns one result per request, in order, failures in place", function ()
         local results = core.http_many{
            {url = base .. "/status/201"},
            {url = "http://127.0.0.1:" .. closed_port .. "/"},
            {method = "POST", url = base .. "/echo", body = "many\0"},
            {url = "http://localhost/status/404", unix_socket = sock},
            {url = base .. "/slow?ms=3000", timeout_ms = 200},
         }
         assert.are.equal(201, results[1][1])
         assert.are.equal("status 201", results[1][3])
         assert.is_nil(results[2][1])
         assert.truthy(results[2][2]:find(closed_port, 1, true))
         assert.are.equal("COULDNT_CONNECT", results[2][3])
         assert.are.equal(hex("many\0"), cjson.decode(results[3][3]).body_hex)
         assert.are.equal(404, results[4][1])
         assert.are.equal("text/plain", results[4][2]["content-type"])
         assert.is_nil(results[5][1])
         assert.are.equal("OPERATION_TIMEDOUT", results[5][3])
      end)

      it("returns an empty array for no requests", function ()
         assert.are.same({}, core.http_many{})
      end)

      it("raises on misuse, naming the request", function ()
         local cases = {
            {{{url = base}, {url = base, on_data = print}}, "reqs%[2%]%.on_data is not supported"},
            {{{url = base}, "x"}, "reqs%[2%] must be a request table"},
            {{{url = base}, {url = base}, {method = "get", url = base}}, "reqs%[3%]%.method"},
            {{{}}, "reqs%[1%]%.url is required"},
         }
         for _, case in ipairs(cases) do
            local ok, err = pcall(core.http_many, case[1])
            assert.is_false(ok)
            assert.truthy(tostring(err):match(case[2]), tostring(err))
         end
         assert.has_error(function () core.http_many("x") end)
      end)
   end)

   describe("signals", function ()
      it("aborts a transfer with \"interrupted\" when SIGTERM arrives", function ()
         if not core.signals then
            pending("core.signals is not there yet (csrc/sys.c)")
            return
         end
         local ready = dir .. "/child.ready"
         local path = dir .. "/signal_child.lua"
         local f = assert(io.open(path, "w"))
         f:write('package.cpath = "build/?.so;" .. package.cpath\n',
                 'local core = require "bottle.core"\n',
                 'core.signals()\n',
                 ('assert(io.open(%q, "w")):close()\n'):format(ready),
                 ('print(core.http{url = %q, timeout_ms = 20000})\n'):format(base .. "/slow?ms=10000"))
         f:close()
         -- Once the child has its handlers, SIGTERM it: whether the signal
         -- lands before or during the transfer, the transfer must say so.
         local out = read_command(table.concat({
            "lua5.4 " .. sh_quote(path) .. " 2>&1 & pid=$!",
            "i=0; while [ ! -e " .. sh_quote(ready) .. " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done",
            "kill -TERM $pid; wait $pid"}, "\n"))
         assert.truthy(out:match("^nil\t[^\n]*interrupted by SIGTERM\tinterrupted\n$"), out)
      end)
   end)
end)
