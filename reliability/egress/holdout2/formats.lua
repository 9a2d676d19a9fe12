-- Credential formats for the second hold-out, beyond reliability/egress/
-- formats.lua and holdout/formats.lua, each as its provider documents or
-- publicly shows it (prefix, alphabet, length), each a function of a
-- generator (fake.lua).  Prefixes are written in two halves (F.p) so that no
-- scanner finds a token in this file; every value is fake.
local F = require "reliability.egress.fake"
local p = F.p

local M = {}

-- Anthropic: Claude Code OAuth refresh tokens sk-ant-ort01-; OpenAI admin keys sk-admin-.
M.anthropic_refresh = function(g) return p("sk-ant-", "ort01-") .. g.chars(93, F.B64URL) .. "AA" end
M.openai_admin = function(g) return p("sk-", "admin-") .. g.chars(74, F.B64URL) .. "T3Blbk" .. "FJ" .. g.chars(74, F.B64URL) end
-- Amazon Bedrock API keys (ABSK + base64), AWS docs "Amazon Bedrock API keys".
M.bedrock = function(g) return p("AB", "SK") .. F.base64("BedrockAPIKey-" .. g.chars(4, F.LOWER_ALNUM) .. "-at-"
   .. g.chars(12, F.DIGITS) .. ":" .. g.chars(40, F.B64)) end
-- Hugging Face organisation tokens api_org_ + 34.
M.hf_org = function(g) return p("api_", "org_") .. g.chars(34, F.UPPER .. F.LOWER) end
-- ElevenLabs keys sk_ + 48 hex; Voyage AI pa- + 43; Fireworks fw_ + 24; Cohere and Mistral bare keys.
M.elevenlabs = function(g) return p("s", "k_") .. g.chars(48, F.HEX) end
M.voyage = function(g) return p("p", "a-") .. g.chars(43, F.B64URL) end
M.fireworks = function(g) return p("f", "w_") .. g.chars(24) end
M.cohere = function(g) return g.chars(40) end
M.mistral = function(g) return g.chars(32) end
-- Slack: configuration/refresh tokens (xoxe.xoxp-1-, xoxe-1-) and the browser session cookie d=xoxd-.
M.slack_config = function(g) return p("xo", "xe.") .. p("xo", "xp-1-") .. g.chars(160, F.B64URL) end
M.slack_refresh = function(g) return p("xo", "xe-1-") .. g.chars(140, F.B64URL) end
M.slack_cookie = function(g) return p("xo", "xd-") .. F.urlencode(g.chars(120, F.B64)) end
-- Microsoft Teams incoming webhook (webhook.office.com/webhookb2/...).
M.teams_webhook = function(g)
   return "https://acme." .. p("webhook.", "office.com") .. "/webhookb2/" .. F.uuid(g) .. "@" .. F.uuid(g)
      .. "/IncomingWebhook/" .. g.chars(32, F.HEX) .. "/" .. F.uuid(g)
end
-- Google Chat webhook (key= an API key, token= an HMAC).
M.gchat_webhook = function(g)
   return "https://chat." .. p("google", "apis.com") .. "/v1/spaces/AAAA" .. g.chars(7) .. "/messages?key=" .. p("AI", "za")
      .. g.chars(35, F.B64URL) .. "&token=" .. g.chars(43, F.B64URL) .. "%3D"
end
-- Firebase Cloud Messaging legacy server keys AAAA + 7 : APA91b + 134.
M.fcm = function(g) return "AAAA" .. g.chars(7, F.B64URL) .. ":" .. p("APA", "91b") .. g.chars(134, F.B64URL) end
-- Meta Graph API user tokens EAAG + long; X (Twitter) app bearer tokens AAAA... %3D.
M.meta = function(g) return p("EA", "AG") .. g.chars(180) end
M.x_bearer = function(g) return string.rep("A", 22) .. g.chars(18) .. "%3D" .. g.chars(50) end
-- DigitalOcean OAuth (doo_v1_) and refresh (dor_v1_) tokens, 64 hex.
M.do_oauth = function(g) return p("doo", "_v1_") .. g.chars(64, F.HEX) end
M.do_refresh = function(g) return p("dor", "_v1_") .. g.chars(64, F.HEX) end
-- Fly.io macaroon tokens "FlyV1 fm2_..."; Render API keys rnd_ + 32; Vercel tokens (24).
M.fly = function(g) return p("Fly", "V1 fm2_") .. g.chars(200, F.B64) .. "," .. p("fm2", "_") .. g.chars(120, F.B64) end
M.render = function(g) return p("rn", "d_") .. g.chars(32) end
M.vercel = function(g) return g.chars(24) end
-- Cloudflare API tokens (40 of [A-Za-z0-9_-]) and Origin CA keys v1.0-.
M.cloudflare = function(g) return g.chars(40, F.B64URL) end
M.cloudflare_origin = function(g) return p("v1", ".0-") .. g.chars(24, F.HEX) .. "-" .. g.chars(146, F.HEX) end
-- Neon API keys napi_ + 64; Linode 64 hex; Scaleway SCW + 17 and a UUID secret.
M.neon = function(g) return p("na", "pi_") .. g.chars(64, F.LOWER_ALNUM) end
M.linode = function(g) return g.chars(64, F.HEX) end
M.scaleway_id = function(g) return p("SC", "W") .. g.chars(17, F.UPPER_ALNUM) end
-- IBM Cloud API keys (44 base64url).
M.ibm = function(g) return g.chars(44, F.B64URL) end
-- Azure: DevOps PATs (84, with AZDO at 77-80), Cognitive Services keys (84,
-- JQQJ99 ... ACOG), Cosmos DB and Service Bus connection strings.
M.azure_devops = function(g) return g.chars(52, F.LOWER .. "234567") .. g.chars(24) .. p("AZ", "DO") .. g.chars(4) end
M.azure_cognitive = function(g) return g.chars(52) .. p("JQQ", "J99") .. g.chars(18) .. p("AC", "OG") .. g.chars(6) end
M.cosmos = function(g)
   return "AccountEndpoint=https://acme-" .. g.chars(5, F.LOWER) .. ".documents.azure.com:443/;Account" .. "Key="
      .. g.chars(86, F.B64) .. "==;"
end
M.servicebus = function(g)
   return "Endpoint=sb://acme-" .. g.chars(5, F.LOWER) .. ".servicebus.windows.net/;SharedAccessKeyName="
      .. "RootManageSharedAccessKey;SharedAccess" .. "Key=" .. g.chars(43, F.B64) .. "="
end
-- CircleCI personal tokens CCIPAT_ + 22 _ 40 hex; Sourcegraph sgp_ + 16 hex _ 40 hex;
-- Octopus Deploy API- + 26; Jenkins API tokens 11 + 32 hex; Dynatrace dt0c01.
M.circleci = function(g) return p("CCI", "PAT_") .. g.chars(22) .. "_" .. g.chars(40, F.HEX) end
M.sourcegraph = function(g) return p("sg", "p_") .. g.chars(16, F.HEX) .. "_" .. g.chars(40, F.HEX) end
M.octopus = function(g) return p("AP", "I-") .. g.chars(26, F.UPPER_ALNUM) end
M.jenkins = function(g) return "11" .. g.chars(32, F.HEX) end
M.dynatrace = function(g) return p("dt0", "c01.") .. g.chars(24, F.UPPER_ALNUM) .. "." .. g.chars(64, F.UPPER_ALNUM) end
-- Grafana Cloud access policy tokens glc_ + base64 JSON; Honeycomb ingest keys hcaik_.
M.grafana_cloud = function(g)
   return p("gl", "c_") .. F.base64('{"o":"' .. g.chars(6, F.DIGITS) .. '","n":"stack-ci","k":"' .. g.chars(24)
      .. '","m":{"r":"prod-eu-west-0"}}'):gsub("=", "")
end
M.honeycomb = function(g) return p("hca", "ik_") .. "01" .. g.chars(24, F.LOWER_ALNUM) .. g.chars(32, F.LOWER_ALNUM) end
-- Asana PATs 2/16 digits/16 digits:32 hex; HubSpot private apps pat-na1-uuid;
-- ClickUp pk_digits_32; Typeform tfp_; Trello ATTA + 64 hex + 8 hex.
M.asana = function(g) return "2/" .. g.chars(16, F.DIGITS) .. "/" .. g.chars(16, F.DIGITS) .. ":" .. g.chars(32, F.HEX) end
M.hubspot = function(g) return p("pat-", "na1-") .. F.uuid(g) end
M.clickup = function(g) return p("p", "k_") .. g.chars(8, F.DIGITS) .. "_" .. g.chars(32, F.UPPER_ALNUM) end
M.typeform = function(g) return p("tf", "p_") .. g.chars(44) .. "_" .. g.chars(14) end
M.trello = function(g) return p("AT", "TA") .. g.chars(64, F.HEX) .. g.chars(8, F.HEX):upper() end
-- Intercom access tokens: base64 of "tok:" + a UUID.
M.intercom = function(g) return F.base64("tok:" .. F.uuid(g) .. ":1:0") end
-- Payments: Braintree access_token$production$...; Plaid access-production-uuid;
-- Shippo shippo_live_ + 40 hex; EasyPost EZAK + 54; Lob live_ + 35 hex.
M.braintree = function(g) return p("access_token$", "production$") .. g.chars(16, F.LOWER_ALNUM) .. "$" .. g.chars(32, F.HEX) end
M.plaid = function(g) return p("access-", "production-") .. F.uuid(g) end
M.shippo = function(g) return p("shippo", "_live_") .. g.chars(40, F.HEX) end
M.easypost = function(g) return p("EZ", "AK") .. g.chars(54) end
-- Brevo (Sendinblue) xkeysib- + 64 hex - 16; Resend re_ + 8 _ 24; Postmark server token (UUID).
M.brevo = function(g) return p("xkey", "sib-") .. g.chars(64, F.HEX) .. "-" .. g.chars(16) end
M.resend = function(g) return p("r", "e_") .. g.chars(8) .. "_" .. g.chars(24) end
M.postmark = function(g) return F.uuid(g) end
-- Algolia admin keys (32 hex); Cloudinary URLs cloudinary://key:secret@cloud.
M.algolia = function(g) return g.chars(32, F.HEX) end
M.cloudinary = function(g) return "cloudinary://" .. g.chars(15, F.DIGITS) .. ":" .. g.chars(27, F.B64URL) .. "@acme" end
-- LaunchDarkly SDK and API keys (sdk- / api- + UUID); Consul ACL tokens (UUID).
M.launchdarkly = function(g) return p("sd", "k-") .. F.uuid(g) end
M.consul = function(g) return F.uuid(g) end
-- Bitwarden Secrets Manager access tokens 0.uuid.30:22==.
M.bitwarden = function(g) return "0." .. F.uuid(g) .. "." .. g.chars(30) .. ":" .. g.chars(22, F.B64) .. "==" end
-- ngrok agent authtokens (2 + 26 _ 21).
M.ngrok = function(g) return "2" .. g.chars(26) .. "_" .. g.chars(21) end
-- Framework secrets: Django SECRET_KEY (50), Rails secret_key_base (128 hex), Laravel APP_KEY base64:.
M.django = function(g) return "django-insecure-" .. g.chars(50, F.LOWER_ALNUM .. "!@#$%^&*(-_=+)") end
M.rails = function(g) return g.chars(128, F.HEX) end
M.laravel = function(g) return "base64:" .. F.base64(g.chars(32)) end
-- WireGuard private keys (32 bytes, base64, 44 characters ending "=").
M.wireguard = function(g) return g.chars(43, F.B64) .. "=" end
-- A Kubernetes service account token (an RS256 JWT with a kid).
M.k8s_sa = function(g)
   local h = F.base64('{"alg":"RS256","kid":"' .. g.chars(43, F.B64URL) .. '"}'):gsub("=", "")
   local b = F.base64('{"aud":["https://kubernetes.default.svc"],"exp":1796083200,"iss":"https://kubernetes.default.svc",'
      .. '"kubernetes.io":{"namespace":"prod","serviceaccount":{"name":"deployer"}},"sub":"system:serviceaccount:prod:deployer"}')
      :gsub("=", "")
   return h .. "." .. b .. "." .. g.chars(342, F.B64URL)
end
-- A Supabase service_role key (an HS256 JWT whose role is service_role); the
-- anon key (role anon) is public by design.
local function supa(g, role)
   local h = F.base64('{"alg":"HS256","typ":"JWT"}'):gsub("=", "")
   local b = F.base64('{"iss":"supabase","ref":"' .. g.chars(20, F.LOWER) .. '","role":"' .. role
      .. '","iat":1764547200,"exp":2080123200}'):gsub("=", "")
   return h .. "." .. b .. "." .. g.chars(43, F.B64URL)
end
M.supabase_service = function(g) return supa(g, "service_role") end
M.supabase_anon = function(g) return supa(g, "anon") end
-- PuTTY private key files (PPK v3).
M.putty = function(g)
   local lines = {}
   for i = 1, 3 do lines[i] = g.chars(64, F.B64) end
   return p("PuTTY-User-", "Key-File-3") .. ": ssh-ed25519\nEncryption: none\nComment: deploy@ci\nPublic-Lines: 2\n"
      .. "AAAAC3NzaC1lZDI1NTE5AAAAI" .. g.chars(43, F.B64) .. "\n" .. g.chars(20, F.B64) .. "\nPrivate-Lines: 1\n"
      .. table.concat(lines, ""):sub(1, 64) .. "\nPrivate-MAC: " .. g.chars(64, F.HEX) .. "\n"
end

return M
