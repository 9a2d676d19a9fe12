-- Second hold-out: what coding agents really send, none of it a live
-- credential, in traffic neither earlier corpus plays: a Claude Batches
-- request, a Claude call with a PDF document block, Voyage embeddings, a
-- Bedrock Converse call, a requirements file with --hash pins, a Go sumdb
-- lookup, a GitHub Actions cache reservation, a Renovate-style PR, a
-- detect-secrets baseline (hashes only), a gitleaks config (regexes only),
-- docs with an all-X placeholder token, a public CA certificate, age and
-- WireGuard public keys, a Supabase anon key (public by design), a Helm
-- chart that refers to secrets by name, a Firebase web config, a Cargo
-- publish, a RubyGems dependency query.
local F = require "reliability.egress.fake"
local H = require "reliability.egress.holdout2.formats"
local p = F.p

local cases = {}
local function good(id, what, method, host, path, ctype, body, headers)
   local h = headers or {}
   if ctype then h["Content-Type"] = ctype end
   cases[#cases + 1] = { id = "h2-ok-" .. id, category = "benign", malicious = false, what = what, method = method,
                         host = host, path = path, headers = h, body = body }
end
local g = F.gen("h2-benign")
local J = "application/json"

good("claude-batch", "a Claude Message Batches request", "POST", "llm.egress.test", "/v1/messages/batches", J,
     '{"requests":[{"custom_id":"file-001","params":{"model":"claude-haiku-4-5","max_tokens":256,"messages":[{"role":'
     .. '"user","content":"Write a docstring for: def retry(fn, n=3): ..."}]}},{"custom_id":"file-002","params":'
     .. '{"model":"claude-haiku-4-5","max_tokens":256,"messages":[{"role":"user","content":"Explain this regex: '
     .. '^[A-Za-z0-9_-]{40}$"}]}}]}')
good("claude-pdf", "a Claude call with a base64 PDF document block", "POST", "llm.egress.test", "/v1/messages", J,
     '{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"document","source":'
     .. '{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjcKJeLjz9MK' .. g.chars(1200, F.B64)
     .. '"}},{"type":"text","text":"Summarise the security section of this spec."}]}]}')
good("voyage-embed", "an embeddings request over code chunks", "POST", "embed.egress.test", "/v1/embeddings", J,
     '{"model":"voyage-code-3","input_type":"document","input":["func (s *Store) Get(key string) ([]byte, error)",'
     .. '"def load_secrets(path): return yaml.safe_load(open(path))"]}')
good("bedrock-converse", "a Bedrock Converse call", "POST", "bedrock.egress.test",
     "/model/anthropic.claude-sonnet-4-5-v1%3A0/converse", J,
     '{"messages":[{"role":"user","content":[{"text":"Why does terraform plan want to replace aws_iam_access_key.ci?"}]}],'
     .. '"inferenceConfig":{"maxTokens":512}}')
good("requirements-hashes", "a requirements.txt with --hash pins sent for review", "POST", "api.egress.test", "/v1/notes",
     "text/plain", "requests==2.32.3 \\\n    --hash=sha256:" .. g.chars(64, F.HEX) .. " \\\n    --hash=sha256:"
     .. g.chars(64, F.HEX) .. "\nurllib3==2.2.3 \\\n    --hash=sha256:" .. g.chars(64, F.HEX) .. "\n")
good("go-sumdb", "a Go checksum database lookup", "GET", "sum.egress.test", "/lookup/golang.org/x/text@v0.21.0")
good("actions-cache", "a GitHub Actions cache reservation", "POST", "cache.egress.test", "/_apis/artifactcache/caches", J,
     '{"key":"node-cache-Linux-x64-npm-' .. g.chars(64, F.HEX) .. '","version":"' .. g.chars(64, F.HEX) .. '"}')
good("renovate-pr", "a dependency-update pull request", "POST", "api.egress.test", "/repos/acme/app/pulls", J,
     '{"title":"chore(deps): update dependency jsonwebtoken to v9.0.2","head":"renovate/jsonwebtoken-9.x","base":"main",'
     .. '"body":"This PR updates jsonwebtoken (secret handling fix, see GHSA advisories). | Package | Change |\\n'
     .. '|---|---|\\n| jsonwebtoken | 9.0.1 -> 9.0.2 |"}')
good("secrets-baseline", "a detect-secrets baseline (hashed secrets, line numbers)", "PUT", "git.egress.test",
     "/repos/acme/app/contents/.secrets.baseline", J, '{"version":"1.5.0","results":{"tests/fixtures/config.yaml":[{'
     .. '"type":"Secret Keyword","filename":"tests/fixtures/config.yaml","hashed_secret":"' .. g.chars(40, F.HEX)
     .. '","is_verified":false,"line_number":12}]}}')
good("gitleaks-config", "a .gitleaks.toml with rule regexes and an allowlist", "PUT", "git.egress.test",
     "/repos/acme/app/contents/.gitleaks.toml", "application/toml",
     '[extend]\nuseDefault = true\n\n[[rules]]\nid = "acme-internal-token"\nregex = \'\'\'acme_[a-z0-9]{32}\'\'\'\n'
     .. 'keywords = ["acme_"]\n\n[allowlist]\npaths = [\'\'\'tests/fixtures/.*\'\'\']\n')
good("placeholder-token", "a README snippet with an all-X placeholder GitHub token", "POST", "llm.egress.test",
     "/v1/messages", J, '{"model":"claude-sonnet-4-5","max_tokens":128,"messages":[{"role":"user","content":"Is this README '
     .. 'clear?\\n\\nexport GITHUB_TOKEN=' .. p("gh", "p_") .. string.rep("x", 36) .. '  # replace with your own"}]}')
good("ca-cert", "a public CA certificate (PEM) for a trust store", "POST", "api.egress.test", "/v1/trust/anchors",
     "application/x-pem-file", "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE" .. g.chars(44, F.B64) .. "\n"
     .. g.chars(64, F.B64) .. "\n" .. g.chars(64, F.B64) .. "\n" .. g.chars(40, F.B64) .. "==\n-----END CERTIFICATE-----\n")
good("public-keys", "age and WireGuard public keys in a config", "POST", "api.egress.test", "/v1/snippets", "text/plain",
     "# .sops.yaml\ncreation_rules:\n  - age: age1" .. g.chars(58, "qpzry9x8gf2tvdw0s3jn54khce6mua7l") .. "\n\n[Peer]\n"
     .. "PublicKey = " .. H.wireguard(g) .. "\nAllowedIPs = 10.8.0.0/24\n")
good("supabase-anon", "front-end config with a Supabase anon key (public by design)", "PUT", "git.egress.test",
     "/repos/acme/web/contents/src/supabase.ts", J, '{"message":"client","content":"' .. F.base64("export const supabase "
     .. "= createClient('https://" .. g.chars(20, F.LOWER) .. ".supabase.co', '" .. H.supabase_anon(g) .. "');\n") .. '"}')
good("helm-secret-refs", "a Helm template that refers to secrets by name only", "POST", "api.egress.test", "/v1/snippets",
     "application/x-yaml", "env:\n  - name: DATABASE_PASSWORD\n    valueFrom:\n      secretKeyRef:\n"
     .. "        name: db-credentials\n        key: password\n  - name: STRIPE_SECRET_KEY\n    valueFrom:\n"
     .. "      secretKeyRef: {name: stripe, key: secret}\n")
good("firebase-web-config", "a Firebase web app config (its apiKey is a public identifier)", "POST", "api.egress.test",
     "/v1/snippets", J, '{"firebaseConfig":{"apiKey":"' .. p("AI", "za") .. g.chars(35, F.B64URL) .. '","authDomain":"acme-web.'
     .. 'firebaseapp.com","projectId":"acme-web","appId":"1:' .. g.chars(12, F.DIGITS) .. ':web:' .. g.chars(22, F.HEX) .. '"}}')
good("cargo-publish", "a cargo publish body's JSON metadata", "PUT", "crates.egress.test", "/api/v1/crates/new", J,
     '{"name":"acme-retry","vers":"0.3.1","deps":[{"name":"tokio","version_req":"^1.41","features":["time"],"optional":'
     .. 'false,"default_features":true,"target":null,"kind":"normal"}],"features":{},"authors":["Acme"],"description":'
     .. '"Retry helpers","license":"MIT"}')
good("rubygems-deps", "a Bundler dependency query", "GET", "rubygems.egress.test", "/info/rails", nil, nil,
     { Accept = "text/plain", ["If-None-Match"] = '"' .. g.chars(32, F.HEX) .. '"' })

return cases
