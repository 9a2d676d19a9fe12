-- Uploads to paste sites, file drops and request catchers: hosts whose
-- purpose is to receive data from anyone.  The data carries no credential
-- of a known shape (source code, a customer list), so only a blocklist can
-- stop it.  The harness allows each host so that inspection decides.
-- Benign: downloads from package and content hosts of the same shape.
local cases = {}
local SOURCE = "import os\n\ndef handler(event):\n    return {'status': 200, 'rows': load_customers()}\n"
local function bad(id, what, host, method, path)
   cases[#cases + 1] = { id = "drop-" .. id, category = "dropsite", malicious = true, what = what,
                         method = method or "POST", host = host, path = path or "/",
                         headers = { ["Content-Type"] = "text/plain" }, body = SOURCE }
end
local function good(id, what, host, path)
   cases[#cases + 1] = { id = "drop-" .. id, category = "dropsite", malicious = false, what = what, method = "GET",
                         host = host, path = path }
end

bad("pastebin", "pastebin.com paste API", "pastebin.com", "POST", "/api/api_post.php")
bad("hastebin", "hastebin documents", "hastebin.com", "POST", "/documents")
bad("paste-ee", "paste.ee API", "api.paste.ee", "POST", "/v1/pastes")
bad("transfer-sh", "transfer.sh upload", "transfer.sh", "PUT", "/handler.py")
bad("file-io", "file.io upload", "file.io", "POST", "/")
bad("requestbin", "a RequestBin endpoint", "eo1a2b3c4d5e6f.m.pipedream.net", "POST", "/")
bad("webhook-site", "webhook.site catcher", "webhook.site", "POST", "/1f0e3c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b")
bad("paste-rs", "paste.rs", "paste.rs", "POST", "/")
bad("0x0", "0x0.st file drop", "0x0.st", "POST", "/")
bad("termbin-http", "dpaste.org", "dpaste.org", "POST", "/api/")
bad("ngrok", "an ngrok tunnel", "a1b2-203-0-113-7.ngrok-free.app", "POST", "/collect")
bad("oast", "an interactsh / OAST catcher", "c7q2k9x4.oast.fun", "POST", "/")

good("files-pythonhosted", "a wheel download", "files.pythonhosted.egress.test", "/packages/requests-2.32.3-py3-none-any.whl")
good("npm-tarball", "an npm tarball", "registry.egress.test", "/lodash/-/lodash-4.17.21.tgz")
good("pastel", "a package whose name contains 'paste'", "registry.egress.test", "/copy-paste")

return cases
