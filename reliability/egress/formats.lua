-- Credential formats as their providers document them (prefix, alphabet,
-- length), each a function of a generator (fake.lua) giving a fake value of
-- that shape.  Sources are the providers' own pages on token formats:
-- GitHub "About authentication / token formats" (ghp_, gho_, ghu_, ghs_,
-- ghr_, github_pat_), GitLab "Personal access token prefixes" (glpat-),
-- AWS IAM "access key ID prefixes" (AKIA, ASIA) and the 40-character secret
-- key, Stripe "API keys" (sk_live_, rk_live_, whsec_), Slack "token types"
-- (xoxb-, xoxp-, xapp-, hooks.slack.com), SendGrid "API keys" (SG.x.y),
-- Twilio "API keys" (SK + 32 hex), Google Cloud "API keys" (AIza + 35),
-- OpenAI and Anthropic key prefixes (sk-proj-, sk-ant-api03-), npm "access
-- tokens" (npm_), PyPI "API tokens" (pypi- macaroons), Hugging Face
-- "User access tokens" (hf_), DigitalOcean (dop_v1_), Shopify (shpat_),
-- Databricks (dapi), Postman (PMAK-), Doppler (dp.pt.), Linear (lin_api_),
-- HashiCorp Vault (hvs.), Grafana (glsa_), Telegram "Bot API" tokens,
-- Discord webhooks, Azure storage connection strings, Google service
-- account key files, age (AGE-SECRET-KEY-1), Atlassian (ATATT), Pulumi
-- (pul-), Mailgun (key-).  The lengths vary where providers say tokens vary.
local F = require "reliability.egress.fake"
local p = F.p

local M = {}

M.github_classic = function(g) return p("gh", "p_") .. g.chars(36) end
M.github_classic_34 = function(g) return p("gh", "p_") .. g.chars(34) end
M.github_classic_40 = function(g) return p("gh", "p_") .. g.chars(40) end
M.github_oauth = function(g) return p("gh", "o_") .. g.chars(36) end
M.github_app = function(g) return p("gh", "s_") .. g.chars(36) end
M.github_refresh = function(g) return p("gh", "r_") .. g.chars(76) end
M.github_fine = function(g) return p("github", "_pat_") .. g.chars(22) .. "_" .. g.chars(59) end
M.gitlab = function(g) return p("gl", "pat-") .. g.chars(20, F.B64URL) end
M.aws_key_id = function(g) return p("AK", "IA") .. g.chars(16, F.UPPER_ALNUM) end
M.aws_session_id = function(g) return p("AS", "IA") .. g.chars(16, F.UPPER_ALNUM) end
M.aws_secret = function(g) return g.chars(40, F.B64) end
M.stripe_secret = function(g) return p("sk_", "live_") .. g.chars(24) end
M.stripe_secret_long = function(g) return p("sk_", "live_") .. "51" .. g.chars(97) end
M.stripe_restricted = function(g) return p("rk_", "live_") .. g.chars(24) end
M.stripe_webhook = function(g) return p("wh", "sec_") .. g.chars(32) end
M.slack_bot = function(g) return p("xo", "xb-") .. g.chars(11, F.DIGITS) .. "-" .. g.chars(13, F.DIGITS) .. "-" .. g.chars(24) end
M.slack_user = function(g) return p("xo", "xp-") .. g.chars(11, F.DIGITS) .. "-" .. g.chars(12, F.DIGITS) .. "-"
   .. g.chars(13, F.DIGITS) .. "-" .. g.chars(32, F.HEX) end
M.slack_app = function(g) return p("xa", "pp-") .. "1-" .. g.chars(11, F.UPPER_ALNUM) .. "-"
   .. g.chars(13, F.DIGITS) .. "-" .. g.chars(64, F.HEX) end
M.slack_webhook = function(g)
   return "https://hooks." .. p("sla", "ck.com") .. "/services/T" .. g.chars(10, F.UPPER_ALNUM) .. "/B"
      .. g.chars(10, F.UPPER_ALNUM) .. "/" .. g.chars(24)
end
M.sendgrid = function(g) return p("S", "G.") .. g.chars(22, F.B64URL) .. "." .. g.chars(43, F.B64URL) end
M.sendgrid_long = function(g) return p("S", "G.") .. g.chars(30, F.B64URL) .. "." .. g.chars(43, F.B64URL) end
M.twilio = function(g) return p("S", "K") .. g.chars(32, F.HEX) end
M.google_api = function(g) return p("AI", "za") .. g.chars(35, F.B64URL) end
M.openai = function(g) return p("sk-", "proj-") .. g.chars(74, F.B64URL) .. "T3Blbk" .. "FJ" .. g.chars(74, F.B64URL) end
M.anthropic = function(g) return p("sk-", "ant-api03-") .. g.chars(93, F.B64URL) .. "AA" end
M.npm = function(g) return p("np", "m_") .. g.chars(36) end
M.pypi = function(g) return p("pypi-", "AgEIcHlwaS5vcmc") .. g.chars(70, F.B64URL) end
M.huggingface = function(g) return p("h", "f_") .. g.chars(34, F.UPPER .. F.LOWER) end
M.digitalocean = function(g) return p("dop", "_v1_") .. g.chars(64, F.HEX) end
M.shopify = function(g) return p("shp", "at_") .. g.chars(32, F.HEX) end
M.databricks = function(g) return p("da", "pi") .. g.chars(32, F.HEX) end
M.postman = function(g) return p("PM", "AK-") .. g.chars(24, F.HEX) .. "-" .. g.chars(34, F.HEX) end
M.doppler = function(g) return p("dp.", "pt.") .. g.chars(43) end
M.linear = function(g) return p("lin_", "api_") .. g.chars(40) end
M.vault = function(g) return p("hv", "s.") .. g.chars(24) end
M.grafana = function(g) return p("gl", "sa_") .. g.chars(32) .. "_" .. g.chars(8, F.HEX) end
M.telegram = function(g) return g.chars(10, F.DIGITS) .. ":" .. p("A", "A") .. g.chars(33, F.B64URL) end
M.discord_webhook = function(g)
   return "https://discord." .. p("co", "m") .. "/api/webhooks/" .. g.chars(18, F.DIGITS) .. "/" .. g.chars(68, F.B64URL)
end
M.azure_storage = function(g)
   return "DefaultEndpointsProtocol=https;AccountName=" .. g.chars(10, F.LOWER) .. ";Account" .. "Key="
      .. g.chars(86, F.B64) .. "==;EndpointSuffix=core.windows.net"
end
M.age = function(g) return p("AGE-SECRET", "-KEY-1") .. g.chars(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L") end
M.atlassian = function(g) return p("ATA", "TT3xFfGF0") .. g.chars(180, F.B64URL) .. "=" .. g.chars(8, F.HEX) end
M.pulumi = function(g) return p("pu", "l-") .. g.chars(40, F.HEX) end
M.mailgun = function(g) return p("ke", "y-") .. g.chars(32, F.HEX) end
M.jwt = function(g)
   local header = F.base64('{"alg":"HS256","typ":"JWT"}'):gsub("=", "")
   local payload = F.base64('{"sub":"' .. g.chars(12, F.DIGITS) .. '","scope":"repo admin","iat":1764547200}'):gsub("=", "")
   return header .. "." .. payload .. "." .. g.chars(43, F.B64URL)
end
M.private_key = function(g)
   local lines = {}
   for i = 1, 6 do lines[i] = g.chars(64, F.B64) end
   return "-----BEGIN " .. "RSA PRIVATE" .. " KEY-----\n" .. table.concat(lines, "\n") .. "\n-----END "
      .. "RSA PRIVATE" .. " KEY-----\n"
end
M.openssh_key = function(g)
   local lines = {}
   for i = 1, 5 do lines[i] = g.chars(70, F.B64) end
   return "-----BEGIN " .. "OPENSSH PRIVATE" .. " KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA" .. table.concat(lines, "\n")
      .. "\n-----END " .. "OPENSSH PRIVATE" .. " KEY-----\n"
end
M.gcp_service_account = function(g)
   return '{"type": "service_account", "project_id": "build-' .. g.chars(6, F.LOWER) .. '", "private_key_id": "'
      .. g.chars(40, F.HEX) .. '", "private_key": "-----BEGIN ' .. 'PRIVATE KEY' .. '-----\\n' .. g.chars(64, F.B64)
      .. '\\n-----END ' .. 'PRIVATE KEY' .. '-----\\n", "client_email": "ci@build.iam.gserviceaccount.com"}'
end
M.password = function(g) return g.chars(6, F.LOWER) .. g.chars(3, F.DIGITS) .. "!" .. g.chars(5, F.ALNUM) end
M.db_url = function(g) return "postgres://app:" .. M.password(g) .. "@db.internal.example:5432/prod" end

return M
