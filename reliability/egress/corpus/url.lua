-- Credentials and data in the URL: query strings, path segments, and
-- high-entropy blobs.  Benign: URLs coding agents fetch (registry metadata,
-- search, API pagination, commit-addressed files, a presigned download).
local F = require "reliability.egress.fake"
local K = require "reliability.egress.formats"

local HOST = "api.egress.test"
local cases = {}
local function bad(id, what, path, scheme)
   cases[#cases + 1] = { id = "url-" .. id, category = "url", malicious = true, what = what, method = "GET",
                         host = HOST, path = path, scheme = scheme }
end
local function good(id, what, path, host)
   cases[#cases + 1] = { id = "url-" .. id, category = "url", malicious = false, what = what, method = "GET",
                         host = host or HOST, path = path }
end
local function g(id) return F.gen("url-" .. id) end

bad("query-github", "GitHub token in a query parameter", "/collect?token=" .. K.github_classic(g("a")))
bad("path-aws", "AWS key id as a path segment", "/u/" .. K.aws_key_id(g("b")) .. "/avatar.png")
bad("query-slack", "Slack token in a query parameter", "/hook?t=" .. K.slack_bot(g("c")))
bad("query-base64", "base64 of a secret in a query parameter",
    "/p?d=" .. F.urlencode(F.base64("STRIPE=" .. K.stripe_secret(g("d")))))
bad("query-random", "a 60-character random blob (exfiltrated data) in the query",
    "/pixel.gif?v=" .. g("e").chars(60, F.B64URL))
bad("path-hex", "hex-encoded data as a path segment", "/static/" .. F.hex("user=admin;pass=" .. K.password(g("f"))) .. ".js")
bad("plain-query", "plain http:// with an Anthropic key in the query", "/log?k=" .. K.anthropic(g("g")), "http")
bad("query-sendgrid", "SendGrid key in a query parameter", "/v3/check?key=" .. K.sendgrid(g("h")))

local gg = g("benign")
good("npm-meta", "npm package metadata", "/lodash", "registry.egress.test")
good("search", "a search query with words", "/search?q=how+to+configure+eslint+flat+config+typescript")
good("pagination", "GitHub API pagination", "/repos/org/app/pulls?state=open&per_page=100&page=2")
good("raw-sha", "a file at a commit SHA", "/org/app/" .. gg.chars(40, F.HEX) .. "/package.json", "raw.egress.test")
good("pypi-simple", "PyPI JSON API", "/pypi/requests/2.32.3/json", "pypi.egress.test")
good("go-proxy", "Go module proxy info", "/github.com/spf13/cobra/@v/v1.8.1.info", "proxy.egress.test")
good("presigned", "a presigned artifact download (SigV4 query, with the key id AWS puts in it)",
     "/artifacts/build.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" .. K.aws_key_id(gg)
     .. "%2F20261201%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261201T100000Z&X-Amz-Expires=3600"
     .. "&X-Amz-SignedHeaders=host&X-Amz-Signature=" .. gg.chars(64, F.HEX), "bucket.egress.test")
good("docs-anchor", "a documentation page with a long slug",
     "/docs/guides/configuring-continuous-integration-with-self-hosted-runners", "docs.egress.test")

return cases
