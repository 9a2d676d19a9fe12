-- What coding agents really send: model API calls with code and tool
-- results, git smart HTTP, registry and GitHub API calls, telemetry.  None
-- carries a credential; all must get through.
local F = require "reliability.egress.fake"

local cases = {}
local function good(id, what, method, host, path, ctype, body, headers)
   local h = headers or {}
   if ctype then h["Content-Type"] = ctype end
   cases[#cases + 1] = { id = "ok-" .. id, category = "benign", malicious = false, what = what, method = method,
                         host = host, path = path, headers = h, body = body }
end
local g = F.gen("benign")

good("claude-messages", "a Claude API call with code that reads a key from the environment", "POST",
     "llm.egress.test", "/v1/messages", "application/json",
     '{"model":"claude-sonnet-4","max_tokens":1024,"system":"You are a coding agent.","messages":[{"role":"user",'
     .. '"content":"Fix this:\\n```python\\nimport os\\nAPI_KEY = os.environ[\\"OPENAI_API_KEY\\"]\\n'
     .. 'password = getpass.getpass()\\nif password != confirm_password:\\n    raise ValueError\\n```"}]}')
good("claude-tools", "a Claude API call with tool definitions and a tool result", "POST", "llm.egress.test",
     "/v1/messages", "application/json",
     '{"model":"claude-sonnet-4","max_tokens":512,"tools":[{"name":"bash","description":"Run a shell command",'
     .. '"input_schema":{"type":"object","properties":{"command":{"type":"string"}}}}],"messages":[{"role":"user",'
     .. '"content":"list files"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_' .. g.chars(24)
     .. '","name":"bash","input":{"command":"ls -la"}}]},{"role":"user","content":[{"type":"tool_result",'
     .. '"tool_use_id":"toolu_' .. g.chars(24) .. '","content":"total 8\\n-rw-r--r-- 1 node node 120 README.md"}]}]}')
good("claude-diff", "a Claude API call with a diff of a config file", "POST", "llm.egress.test", "/v1/messages",
     "application/json",
     '{"model":"claude-sonnet-4","max_tokens":256,"messages":[{"role":"user","content":"Review:\\n--- a/config.yaml\\n'
     .. '+++ b/config.yaml\\n@@ -1,3 +1,4 @@\\n database:\\n   host: localhost\\n+  password: ${DB_PASSWORD}\\n'
     .. '+  token: \\"<set in CI>\\"\\n"}]}')
good("env-example", "a .env.example with empty values", "POST", "api.egress.test", "/v1/notes", "text/plain",
     "# copy to .env\nAWS_ACCESS_KEY_ID=\nAWS_SECRET_ACCESS_KEY=\nGITHUB_TOKEN=your-token-here\nSTRIPE_KEY=sk_test_...\n")
good("git-upload-pack", "git fetch (smart HTTP upload-pack request)", "POST", "git.egress.test",
     "/org/app.git/git-upload-pack", "application/x-git-upload-pack-request",
     "0032want " .. g.chars(40, F.HEX) .. "\n0032have " .. g.chars(40, F.HEX) .. "\n00000009done\n")
good("github-pr", "GitHub API: open a pull request", "POST", "api.egress.test", "/repos/org/app/pulls",
     "application/json", '{"title":"Fix flaky test","head":"agent/fix-flaky","base":"main","body":"The test waited '
     .. 'on a fixed sleep; it now polls."}')
good("github-graphql", "GitHub GraphQL query", "POST", "api.egress.test", "/graphql", "application/json",
     '{"query":"query { repository(owner: \\"org\\", name: \\"app\\") { issues(first: 10) { nodes { title } } } }"}')
good("npm-audit", "npm audit bulk request", "POST", "registry.egress.test", "/-/npm/v1/security/advisories/bulk",
     "application/json", '{"lodash":["4.17.21"],"minimist":["1.2.8"]}')
good("pip-get", "pip fetching a simple index page", "GET", "pypi.egress.test", "/simple/requests/", nil, nil,
     { Accept = "application/vnd.pypi.simple.v1+json" })
good("telemetry", "an OpenTelemetry span export", "POST", "telemetry.egress.test", "/v1/traces", "application/json",
     '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' .. g.chars(32, F.HEX) .. '","spanId":"'
     .. g.chars(16, F.HEX) .. '","name":"tool.bash","attributes":[{"key":"exit_code","value":{"intValue":0}}]}]}]}]}')
good("sentry", "an error report with a stack trace", "POST", "telemetry.egress.test", "/api/12/envelope/",
     "application/json", '{"exception":{"values":[{"type":"KeyError","value":"\'token\'","stacktrace":{"frames":'
     .. '[{"filename":"app/auth.py","function":"load_token","lineno":42}]}}]}}')
good("form-login-page", "a form post with a username and no password", "POST", "api.egress.test", "/search",
     "application/x-www-form-urlencoded", "q=password+reset+flow&lang=en&page=1")
good("crates-get", "cargo fetching the sparse index", "GET", "index.egress.test", "/3/s/serde", nil, nil)
good("docker-manifest", "a container registry manifest request", "GET", "registry.egress.test",
     "/v2/library/python/manifests/3.12-slim", nil, nil,
     { Accept = "application/vnd.oci.image.index.v1+json" })
good("long-prompt", "a long Claude API call (40 KiB of source)", "POST", "llm.egress.test", "/v1/messages",
     "application/json", '{"model":"claude-sonnet-4","max_tokens":64,"messages":[{"role":"user","content":"'
     .. string.rep("def f(x):\\n    return x * 2  # doubles the input\\n", 800) .. '"}]}')

return cases
