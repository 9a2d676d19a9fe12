-- core.http's TLS material from memory (ca_pem, client_cert_pem,
-- client_key_pem), against a real TLS server: `openssl s_server -www` that
-- demands a client certificate signed by its CA.  The certificates are made
-- here with openssl; no value of a key may appear in any message.
package.cpath = "build/?.so;" .. package.cpath

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function run(cmd)
   local ok = os.execute("(" .. cmd .. ") >/dev/null 2>&1")
   assert(ok, "failed: " .. cmd)
end

local function slurp(path)
   local f = assert(io.open(path, "rb"))
   local s = f:read("a")
   f:close()
   return s
end

describe("core.http TLS from memory #core", function ()
   local core, dir, server, pid, url
   local ca, ca_key, cert, key, other_cert, other_key

   setup(function ()
      core = require "bottle.core"
      dir = assert(io.popen("mktemp -d")):read("l")
      local d = sh_quote(dir)
      local ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
      run("cd " .. d .. " && openssl req -x509 " .. ec .. " -keyout ca-key.pem -out ca.pem -days 1 -subj /CN=test-ca")
      run("cd " .. d .. " && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && openssl req " .. ec
          .. " -keyout srv-key.pem -out srv.csr -subj /CN=127.0.0.1 && openssl x509 -req -in srv.csr -CA ca.pem"
          .. " -CAkey ca-key.pem -CAcreateserial -days 1 -extfile san.ext -out srv.pem")
      run("cd " .. d .. " && openssl req " .. ec .. " -keyout cl-key.pem -out cl.csr -subj /CN=client"
          .. " && openssl x509 -req -in cl.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 1 -out cl.pem")
      -- a client pair from another CA, which the server must refuse
      run("cd " .. d .. " && openssl req -x509 " .. ec .. " -keyout other-key.pem -out other.pem -days 1 -subj /CN=other")
      ca, ca_key = slurp(dir .. "/ca.pem"), slurp(dir .. "/ca-key.pem")
      cert, key = slurp(dir .. "/cl.pem"), slurp(dir .. "/cl-key.pem")
      other_cert, other_key = slurp(dir .. "/other.pem"), slurp(dir .. "/other-key.pem")
      server = assert(io.popen("cd " .. d .. " && echo $$ && exec openssl s_server -www -accept 127.0.0.1:0"
                               .. " -cert srv.pem -key srv-key.pem -CAfile ca.pem -Verify 1 -verify_return_error 2>&1"))
      pid = server:read("l")
      local port
      for _ = 1, 20 do
         local line = server:read("l")
         if not line then break end
         port = line:match("^ACCEPT .*:(%d+)$")
         if port then break end
      end
      assert(port, "openssl s_server did not start")
      url = "https://127.0.0.1:" .. port .. "/"
   end)

   teardown(function ()
      if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
      if server then server:close() end
      if dir then os.execute("rm -rf " .. sh_quote(dir)) end
   end)

   local function no_secret_in(msg)
      for _, pem in ipairs { key, other_key, ca_key } do
         local body = pem:match("%-%-%-%-%-\n(.-)\n") -- the first line of the key's base64
         assert.is_nil(tostring(msg):find(body, 1, true))
      end
   end

   it("verifies the server with ca_pem and presents the client pair", function ()
      local status, _, body = core.http { url = url, ca_pem = ca, client_cert_pem = cert, client_key_pem = key,
                                          timeout_ms = 10000 }
      assert.equals(200, status)
      -- s_server -www reports the verified client certificate's subject
      assert.truthy(body:find("CN = client", 1, true) or body:find("CN=client", 1, true))
   end)

   it("refuses a server its ca_pem did not sign, without quoting anything", function ()
      local s, msg, code = core.http { url = url, ca_pem = other_cert, client_cert_pem = cert, client_key_pem = key,
                                       timeout_ms = 10000 }
      assert.is_nil(s)
      assert.is_string(code)
      assert.truthy(msg:find("GET https://127.0.0.1", 1, true))
      no_secret_in(msg)
   end)

   it("fails when the server refuses a client certificate from another CA", function ()
      local s, msg = core.http { url = url, ca_pem = ca, client_cert_pem = other_cert, client_key_pem = other_key,
                                 timeout_ms = 10000 }
      assert.is_nil(s)
      no_secret_in(msg)
   end)

   it("fails when no client certificate is given", function ()
      local s, msg = core.http { url = url, ca_pem = ca, timeout_ms = 10000 }
      assert.is_nil(s)
      no_secret_in(msg)
   end)

   it("fails cleanly on a key that does not match the certificate", function ()
      local s, msg = core.http { url = url, ca_pem = ca, client_cert_pem = cert, client_key_pem = other_key,
                                 timeout_ms = 10000 }
      assert.is_nil(s)
      no_secret_in(msg)
   end)

   it("raises when a certificate comes without its key, or a blob is not a string", function ()
      assert.has_error(function () core.http { url = url, client_cert_pem = cert } end)
      assert.has_error(function () core.http { url = url, client_key_pem = key } end)
      assert.has_error(function () core.http { url = url, ca_pem = 42 } end)
      assert.has_error(function () core.http { url = url, ca_pem = "" } end)
      local ok, err = pcall(core.http, { url = url, client_key_pem = key })
      assert.is_false(ok)
      no_secret_in(err)
   end)

   it("takes the same fields in core.http_many", function ()
      local r = core.http_many { { url = url, ca_pem = ca, client_cert_pem = cert, client_key_pem = key,
                                   timeout_ms = 10000 } }
      assert.equals(200, r[1][1])
   end)
end)
