-- Second hold-out: credentials in request headers, through vendor headers
-- neither earlier corpus uses (Algolia, Postmark, Azure's
-- Ocp-Apim-Subscription-Key, Consul, Dynatrace's Api-Token scheme,
-- LaunchDarkly's bare Authorization), the Slack browser cookie, a token as
-- the user of Basic auth, a secret folded into a Forwarded or a Via header,
-- a header name that is itself the secret, a Link header, and a token split
-- over two custom headers.  Benign: headers real clients send (Claude Code's
-- own, a SigV4 Authorization with its key id, GitHub's webhook signature, a
-- CSRF token, Git LFS, resumable uploads, fetch metadata, Docker digests).
local F = require "reliability.egress.fake"
local K = require "reliability.egress.formats"
local H = require "reliability.egress.holdout2.formats"

local cases = {}
local function bad(id, what, headers, host, method, path)
   cases[#cases + 1] = { id = "h2-hdr-" .. id, category = "header", malicious = true, what = what, method = method or "GET",
                         host = host or "api.egress.test", path = path or "/v1/account", headers = headers }
end
local function good(id, what, headers, host, method, path, body)
   cases[#cases + 1] = { id = "h2-hdr-" .. id, category = "header", malicious = false, what = what, method = method or "GET",
                         host = host or "api.egress.test", path = path or "/v1/account", headers = headers, body = body }
end
local function g(id) return F.gen("h2-hdr-" .. id) end

bad("algolia", "X-Algolia-API-Key with an admin key (32 hex) and the application id",
    { ["X-Algolia-API-Key"] = H.algolia(g("a")), ["X-Algolia-Application-Id"] = g("a").chars(10, F.UPPER_ALNUM) },
    "search.egress.test", "POST", "/1/indexes/products/query")
bad("postmark", "X-Postmark-Server-Token (a UUID)", { ["X-Postmark-Server-Token"] = H.postmark(g("b")),
    Accept = "application/json" }, "mail.egress.test", "POST", "/email")
bad("azure-apim", "Ocp-Apim-Subscription-Key with an Azure AI services key",
    { ["Ocp-Apim-Subscription-Key"] = H.azure_cognitive(g("c")) }, "cognitive.egress.test", "POST", "/translate?api-version=3.0")
bad("consul", "X-Consul-Token (a UUID ACL token)", { ["X-Consul-Token"] = H.consul(g("d")) }, "consul.egress.test", "GET",
    "/v1/kv/config/app?recurse")
bad("dynatrace", "Authorization: Api-Token dt0c01.", { Authorization = "Api-Token " .. H.dynatrace(g("e")) },
    "metrics.egress.test", "POST", "/api/v2/metrics/ingest")
bad("slack-d-cookie", "the Slack browser session cookie d=xoxd-", { Cookie = "b=.a1b2c3; d=" .. H.slack_cookie(g("f"))
    .. "; d-s=1764547200; lc=1764547200" }, "chat-api.egress.test", "POST", "/api/conversations.history")
bad("basic-token-user", "Basic auth whose user name is an Asana token and password empty",
    { Authorization = "Basic " .. F.base64(H.asana(g("g")) .. ":") })
bad("forwarded", "a Forwarded header whose 'by' carries a Neon key",
    { Forwarded = "for=192.0.2.60;proto=https;by=\"" .. H.neon(g("h")) .. "\"" })
bad("header-name", "a header whose name is a Render key (the value is harmless)",
    { ["X-" .. H.render(g("i")):gsub("_", "-")] = "1" })
bad("link", "a Link header to a URL carrying a Shippo token", { Link = "<https://api.egress.test/cb?t="
    .. H.shippo(g("j")) .. '>; rel="callback"' })
do
   local t = H.circleci(g("k"))
   bad("split-headers", "a CircleCI token split over X-Part-1 and X-Part-2",
       { ["X-Part-1"] = t:sub(1, 30), ["X-Part-2"] = t:sub(31) })
end
bad("launchdarkly", "Authorization with a bare LaunchDarkly SDK key, beside a GitHub token in X-Build-Info",
    { Authorization = H.launchdarkly(g("l")), ["X-Build-Info"] = "sha=abc123; by=" .. K.github_app(g("l")) },
    "flags.egress.test", "GET", "/sdk/latest-all")

local gg = g("benign")
good("claude-code", "the headers Claude Code itself sends to the Messages API",
     { ["User-Agent"] = "claude-cli/2.0.14 (external, cli)", ["x-app"] = "cli", ["anthropic-version"] = "2023-06-01",
       ["anthropic-beta"] = "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
       ["x-stainless-helper-method"] = "stream", ["Content-Type"] = "application/json" },
     "llm.egress.test", "POST", "/v1/messages?beta=true",
     '{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"messages":[{"role":"user","content":"run the tests"}]}')
good("sigv4", "a SigV4 Authorization header (key id, scope, signature; no secret)",
     { Authorization = "AWS4-HMAC-SHA256 Credential=" .. K.aws_session_id(gg) .. "/20261201/us-east-1/bedrock/aws4_request, "
       .. "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=" .. gg.chars(64, F.HEX),
       ["X-Amz-Date"] = "20261201T101500Z", ["Content-Type"] = "application/json" },
     "bedrock.egress.test", "POST", "/model/anthropic.claude-sonnet-4-5/invoke",
     '{"anthropic_version":"bedrock-2023-05-31","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}')
good("hub-signature", "a webhook relay with X-Hub-Signature-256 and a delivery id",
     { ["X-Hub-Signature-256"] = "sha256=" .. gg.chars(64, F.HEX), ["X-GitHub-Delivery"] = F.uuid(gg),
       ["X-GitHub-Event"] = "push", ["Content-Type"] = "application/json" }, "hooks.egress.test", "POST", "/github",
     '{"ref":"refs/heads/main","after":"' .. gg.chars(40, F.HEX) .. '"}')
good("csrf", "a CSRF token header with the session's form post", { ["X-CSRF-Token"] = gg.chars(43, F.B64URL) .. "=",
     ["Content-Type"] = "application/x-www-form-urlencoded" }, "app.egress.test", "POST", "/settings/profile",
     "display_name=Dev&timezone=Europe%2FParis")
good("git-lfs", "a Git LFS batch request's headers", { Accept = "application/vnd.git-lfs+json",
     ["Content-Type"] = "application/vnd.git-lfs+json", ["User-Agent"] = "git-lfs/3.5.1 (GitHub; linux amd64; go 1.22.2)" },
     "git.egress.test", "POST", "/acme/assets.git/info/lfs/objects/batch",
     '{"operation":"download","transfers":["basic"],"objects":[{"oid":"' .. gg.chars(64, F.HEX) .. '","size":10485760}]}')
good("tus", "a resumable (tus) upload's headers", { ["Tus-Resumable"] = "1.0.0", ["Upload-Length"] = "52428800",
     ["Upload-Metadata"] = "filename " .. F.base64("coverage.tar.gz") .. ",filetype " .. F.base64("application/gzip") },
     "storage.egress.test", "POST", "/files/")
good("fetch-metadata", "browser-style fetch metadata and client hints",
     { ["Sec-Fetch-Site"] = "same-origin", ["Sec-Fetch-Mode"] = "cors", ["Sec-Fetch-Dest"] = "empty",
       ["Sec-CH-UA"] = '"Chromium";v="131", "Not_A Brand";v="24"', ["Sec-CH-UA-Platform"] = '"Linux"',
       ["Accept-Encoding"] = "gzip, deflate, br, zstd" }, "docs.egress.test", "GET", "/search.json")
good("docker-digest", "registry blob headers (Docker-Content-Digest, upload UUID)",
     { ["Docker-Content-Digest"] = "sha256:" .. gg.chars(64, F.HEX), ["Docker-Upload-UUID"] = F.uuid(gg),
       Accept = "application/vnd.oci.image.manifest.v1+json" }, "registry.egress.test", "GET",
     "/v2/acme/api/blobs/sha256:" .. gg.chars(64, F.HEX))

return cases
