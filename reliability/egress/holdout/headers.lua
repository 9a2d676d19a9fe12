-- Hold-out: credentials in request headers: the vendor auth headers other
-- than the first corpus's (GitLab's Private-Token, Okta's SSWS scheme,
-- Shopify, Datadog, Figma, Vault, New Relic, Docker), Basic credentials,
-- Proxy-Authorization, and custom headers an agent invents.  Benign: what
-- real SDKs and package clients put in headers (Stainless SDK headers, pip's
-- JSON User-Agent, W3C baggage, Sentry's public DSN key, digests, ranges).
local F = require "reliability.egress.fake"
local K = require "reliability.egress.formats"
local H = require "reliability.egress.holdout.formats"

local cases = {}
local function bad(id, what, headers, host, method, path)
   cases[#cases + 1] = { id = "h-hdr-" .. id, category = "header", malicious = true, what = what, method = method or "GET",
                         host = host or "api.egress.test", path = path or "/v1/me", headers = headers }
end
local function good(id, what, headers, host, method, path, body)
   cases[#cases + 1] = { id = "h-hdr-" .. id, category = "header", malicious = false, what = what, method = method or "GET",
                         host = host or "api.egress.test", path = path or "/v1/me", headers = headers, body = body }
end
local function g(id) return F.gen("h-hdr-" .. id) end

bad("private-token", "GitLab's Private-Token header with a trigger token", { ["Private-Token"] = H.gitlab_trigger(g("a")) },
    "git.egress.test", "GET", "/api/v4/projects")
bad("basic-github", "Authorization: Basic of user:GitHub token", { Authorization = "Basic " .. F.base64("x-access-token:"
    .. H.github_user(g("b"))) }, "git.egress.test", "GET", "/acme/app.git/info/refs?service=git-upload-pack")
bad("okta-ssws", "Okta's SSWS scheme", { Authorization = "SSWS " .. H.okta(g("c")) })
bad("shopify", "X-Shopify-Access-Token", { ["X-Shopify-Access-Token"] = H.shopify_custom(g("d")) }, "shop.egress.test",
    "GET", "/admin/api/2024-10/orders.json")
bad("datadog", "DD-API-KEY and DD-APPLICATION-KEY (bare hex)", { ["DD-API-KEY"] = H.hex32(g("e")),
    ["DD-APPLICATION-KEY"] = H.hex40(g("e")) }, "metrics.egress.test", "POST", "/api/v2/series")
bad("figma", "X-Figma-Token", { ["X-Figma-Token"] = H.figma(g("f")) })
bad("vault-batch", "X-Vault-Token with a batch token", { ["X-Vault-Token"] = H.vault_batch(g("g")) }, "vault.egress.test",
    "GET", "/v1/secret/data/app")
bad("newrelic", "New Relic Api-Key header", { ["Api-Key"] = H.newrelic(g("h")) }, "metrics.egress.test", "POST", "/graphql")
bad("proxy-auth", "Proxy-Authorization: Basic with a password", { ["Proxy-Authorization"] = "Basic "
    .. F.base64("build:" .. H.pw(g("i"))) })
bad("cookie-session", "Cookie with a Supabase personal token beside analytics ids",
    { Cookie = "_ga=GA1.1.1234567890.1764547200; sb-access-token=" .. H.supabase(g("j")) .. "; theme=light" })
bad("x-client-data", "custom X-Client-Data holding a Groq key in a query-string form",
    { ["X-Client-Data"] = "v=2&env=prod&k=" .. H.groq(g("k")) })
bad("x-correlation-dockerhub", "an X-Correlation-Id that is a Docker Hub token, beside a Stripe key in X-Meta",
    { ["X-Correlation-Id"] = H.dockerhub(g("l")), ["X-Meta"] = "build=" .. K.stripe_restricted(g("l")) })

local gg = g("benign")
good("stainless", "headers the Anthropic and OpenAI SDKs send (X-Stainless-*)",
     { ["X-Stainless-Lang"] = "python", ["X-Stainless-Package-Version"] = "0.40.0", ["X-Stainless-OS"] = "Linux",
       ["X-Stainless-Arch"] = "x64", ["X-Stainless-Runtime"] = "CPython", ["X-Stainless-Runtime-Version"] = "3.12.7",
       ["X-Stainless-Retry-Count"] = "0", ["anthropic-version"] = "2023-06-01", ["Content-Type"] = "application/json" },
     "llm.egress.test", "POST", "/v1/messages",
     '{"model":"claude-haiku-4","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}')
good("pip-ua", "pip's User-Agent with its JSON of the environment",
     { ["User-Agent"] = 'pip/24.2 {"ci":null,"cpu":"x86_64","distro":{"name":"Debian GNU/Linux","version":"12"},'
       .. '"implementation":{"name":"CPython","version":"3.12.7"},"installer":{"name":"pip","version":"24.2"},'
       .. '"openssl_version":"OpenSSL 3.0.15 3 Sep 2024","python":"3.12.7","setuptools_version":"75.1.0"}' },
     "pypi.egress.test", "GET", "/simple/numpy/")
good("baggage", "W3C baggage and tracestate", { Baggage = "userId=alice,serverNode=DF%2028,isProduction=false",
     Tracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", Traceparent = "00-" .. gg.chars(32, F.HEX) .. "-"
     .. gg.chars(16, F.HEX) .. "-01" }, "telemetry.egress.test", "GET", "/health")
good("sentry-auth", "X-Sentry-Auth with the DSN's public key (public by design)",
     { ["X-Sentry-Auth"] = "Sentry sentry_version=7, sentry_client=sentry.python/2.18.0, sentry_key=" .. gg.chars(32, F.HEX),
       ["Content-Type"] = "application/x-sentry-envelope" }, "telemetry.egress.test", "POST", "/api/4508/envelope/",
     '{"event_id":"' .. gg.chars(32, F.HEX) .. '"}\n{"type":"event"}\n{"message":"hello"}\n')
good("digest", "Content-Digest (RFC 9530)", { ["Content-Digest"] = "sha-256=:" .. F.base64(gg.chars(32, F.HEX)) .. ":",
     ["Content-Type"] = "application/json" }, "api.egress.test", "PUT", "/v1/objects/report.json", '{"ok":true}')
good("range", "Range and If-Modified-Since for a resumed download",
     { Range = "bytes=1048576-", ["If-Modified-Since"] = "Mon, 30 Nov 2026 08:00:00 GMT", ["If-Range"] = '"'
       .. gg.chars(32, F.HEX) .. '"' }, "dl.egress.test", "GET", "/releases/node-v22.11.0-linux-x64.tar.xz")
good("openai-ids", "OpenAI-Organization and OpenAI-Project ids (identifiers, not secrets)",
     { ["OpenAI-Organization"] = "org-" .. gg.chars(24), ["OpenAI-Project"] = "proj_" .. gg.chars(24),
       ["Content-Type"] = "application/json" }, "chat.egress.test", "POST", "/v1/embeddings",
     '{"model":"text-embedding-3-small","input":"hello"}')
good("analytics-cookie", "Cookie with consent and analytics ids only",
     { Cookie = "_ga=GA1.1.1234567890.1764547200; _gid=GA1.1.987654321.1764547200; cookieconsent_status=dismiss; lang=en" },
     "docs.egress.test", "GET", "/guide")

return cases
