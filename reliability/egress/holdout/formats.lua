-- More credential formats for the hold-out corpus, beyond
-- reliability/egress/formats.lua, each as its provider documents or
-- publicly shows it (prefix, alphabet, length), each a function of a
-- generator (fake.lua).  Prefixes are written in two halves (F.p) so that no
-- scanner finds a token in this file; the values are fake.
local F = require "reliability.egress.fake"
local p = F.p

local M = {}

-- GitHub "token formats": user-to-server tokens ghu_ + 36.
M.github_user = function(g) return p("gh", "u_") .. g.chars(36) end
-- GitLab "token prefixes": pipeline trigger glptt- (40 hex), runner
-- authentication glrt-, deploy token gldt-, feed token glft-.
M.gitlab_trigger = function(g) return p("glp", "tt-") .. g.chars(40, F.HEX) end
M.gitlab_runner = function(g) return p("gl", "rt-") .. g.chars(20, F.B64URL) end
M.gitlab_deploy = function(g) return p("gl", "dt-") .. g.chars(20, F.B64URL) end
-- Atlassian Bitbucket app passwords: ATBB + 32, then an 8-hex checksum.
M.bitbucket = function(g) return p("AT", "BB") .. g.chars(32) .. g.chars(8, F.HEX):upper() end
-- Anthropic admin keys (sk-ant-admin01-) and Claude Code OAuth tokens (sk-ant-oat01-).
M.anthropic_admin = function(g) return p("sk-ant-", "admin01-") .. g.chars(93, F.B64URL) .. "AA" end
M.anthropic_oauth = function(g) return p("sk-ant-", "oat01-") .. g.chars(93, F.B64URL) .. "AA" end
-- OpenAI service-account keys sk-svcacct- and the legacy sk- + 20 + T3BlbkFJ + 20.
M.openai_svc = function(g) return p("sk-", "svcacct-") .. g.chars(74, F.B64URL) .. "T3Blbk" .. "FJ" .. g.chars(74, F.B64URL) end
M.openai_legacy = function(g) return p("s", "k-") .. g.chars(20) .. "T3Blbk" .. "FJ" .. g.chars(20) end
-- Groq (gsk_ + 52), xAI (xai- + 80), Perplexity (pplx- + 48), Replicate
-- (r8_ + 37), OpenRouter (sk-or-v1- + 64 hex), DeepSeek (sk- + 32 hex).
M.groq = function(g) return p("gs", "k_") .. g.chars(52) end
M.xai = function(g) return p("xa", "i-") .. g.chars(80) end
M.perplexity = function(g) return p("pp", "lx-") .. g.chars(48) end
M.replicate = function(g) return p("r", "8_") .. g.chars(37) end
M.openrouter = function(g) return p("sk-", "or-v1-") .. g.chars(64, F.HEX) end
M.deepseek = function(g) return p("s", "k-") .. g.chars(32, F.HEX) end
-- Google: OAuth client secret GOCSPX- + 28, OAuth access token ya29. + long,
-- refresh token 1//0 + long.
M.google_client_secret = function(g) return p("GOC", "SPX-") .. g.chars(28, F.B64URL) end
M.google_access = function(g) return p("ya", "29.") .. "a0" .. g.chars(150, F.B64URL) end
M.google_refresh = function(g) return "1//0" .. g.chars(1, F.UPPER) .. g.chars(96, F.B64URL) end
-- Square access tokens EAAA + 60, OAuth secret sq0csp- + 43.
M.square = function(g) return p("EA", "AA") .. g.chars(60, F.B64URL) end
M.square_secret = function(g) return p("sq0", "csp-") .. g.chars(43, F.B64URL) end
-- Shopify: custom app token shpca_, shared secret shpss_ (32 hex).
M.shopify_custom = function(g) return p("shp", "ca_") .. g.chars(32, F.HEX) end
M.shopify_shared = function(g) return p("shp", "ss_") .. g.chars(32, F.HEX) end
-- Mailchimp API keys: 32 hex + -us + data centre.
M.mailchimp = function(g) return g.chars(32, F.HEX) .. "-us" .. g.chars(2, F.DIGITS) end
-- Twilio account SID (AC + 32 hex) and auth token (32 hex).
M.twilio_sid = function(g) return p("A", "C") .. g.chars(32, F.HEX) end
M.hex32 = function(g) return g.chars(32, F.HEX) end
M.hex40 = function(g) return g.chars(40, F.HEX) end
-- Sentry user auth tokens sntryu_ + 64 hex; organisation tokens sntrys_ + base64 JSON.
M.sentry_user = function(g) return p("sntr", "yu_") .. g.chars(64, F.HEX) end
M.sentry_org = function(g)
   return p("sntr", "ys_") .. F.base64('{"iat":1764547200,"url":"https://sentry.io","org":"acme"}'):gsub("=", "")
      .. "_" .. g.chars(43, F.B64URL)
end
-- New Relic user API keys NRAK- + 27.
M.newrelic = function(g) return p("NR", "AK-") .. g.chars(27, F.UPPER_ALNUM) end
-- Heroku API keys HRKU- + 60.
M.heroku = function(g) return p("HR", "KU-") .. "AA" .. g.chars(58, F.B64URL) end
-- Netlify personal access tokens nfp_ + 36, Supabase personal tokens sbp_ + 40 hex,
-- PlanetScale tokens pscale_tkn_ / passwords pscale_pw_ + 43.
M.netlify = function(g) return p("nf", "p_") .. g.chars(36) end
M.supabase = function(g) return p("sb", "p_") .. g.chars(40, F.HEX) end
M.planetscale_pw = function(g) return p("pscale", "_pw_") .. g.chars(43, F.B64URL) end
-- Docker Hub personal access tokens dckr_pat_ + 27.
M.dockerhub = function(g) return p("dckr", "_pat_") .. g.chars(27, F.B64URL) end
-- Terraform Cloud API tokens: 14 + .atlasv1. + 67.
M.terraform = function(g) return g.chars(14) .. p(".atlas", "v1.") .. g.chars(67) end
-- HashiCorp Vault batch tokens hvb. (long).
M.vault_batch = function(g) return p("hv", "b.") .. "AAAAAQ" .. g.chars(132, F.B64URL) end
-- Azure AD client secrets: 3 + 8Q~ + 34; Azure storage SAS query.
M.azure_client_secret = function(g) return g.chars(3) .. p("8", "Q~") .. g.chars(34, F.ALNUM .. "_-.~") end
M.azure_sas = function(g)
   return "sv=2022-11-02&ss=b&srt=sco&sp=rwdlacupx&se=2027-01-01T00:00:00Z&st=2026-12-01T00:00:00Z&spr=https&sig="
      .. F.urlencode(g.chars(43, F.B64) .. "=")
end
-- Alibaba Cloud AccessKey IDs LTAI + 20; Tencent Cloud SecretId AKID + 32.
M.alibaba = function(g) return p("LT", "AI") .. g.chars(20) end
M.tencent = function(g) return p("AK", "ID") .. g.chars(32) end
-- Okta API tokens: 00 + 40 (sent as "SSWS <token>").
M.okta = function(g) return "00" .. g.chars(40, F.B64URL) end
-- Notion integration secrets ntn_ + 46; Airtable PATs pat + 14 . 64 hex;
-- Figma PATs figd_ + 40; Dropbox short-lived sl. + 135.
M.notion = function(g) return p("nt", "n_") .. g.chars(11, F.DIGITS) .. g.chars(35) end
M.airtable = function(g) return p("pa", "t") .. g.chars(14) .. "." .. g.chars(64, F.HEX) end
M.figma = function(g) return p("fi", "gd_") .. g.chars(40, F.B64URL) end
M.dropbox = function(g) return p("s", "l.") .. g.chars(135, F.B64URL) end
-- Discord bot tokens: base64 of an 18-digit id . 6 . 27.
M.discord_bot = function(g)
   return F.base64(g.chars(18, F.DIGITS)):gsub("=", "") .. "." .. g.chars(6, F.B64URL) .. "." .. g.chars(27, F.B64URL)
end
-- Mapbox secret tokens sk.eyJ1 (the public ones are pk.).
M.mapbox_secret = function(g)
   return p("s", "k.") .. F.base64('{"u":"acme","a":"' .. g.chars(8, F.LOWER) .. '"}'):gsub("=", "") .. "."
      .. g.chars(22, F.B64URL)
end
M.mapbox_public = function(g)
   return p("p", "k.") .. F.base64('{"u":"acme","a":"' .. g.chars(8, F.LOWER) .. '"}'):gsub("=", "") .. "."
      .. g.chars(22, F.B64URL)
end
-- LangSmith (lsv2_pt_ + 32 hex + _ + 10 hex), Pinecone (pcsk_), Weights & Biases (40 hex).
M.langsmith = function(g) return p("lsv2", "_pt_") .. g.chars(32, F.HEX) .. "_" .. g.chars(10, F.HEX) end
M.pinecone = function(g) return p("pc", "sk_") .. g.chars(5) .. "_" .. g.chars(63) end
-- Buildkite user tokens bkua_ + 40 hex; SonarQube user tokens squ_ + 40 hex.
M.buildkite = function(g) return p("bk", "ua_") .. g.chars(40, F.HEX) end
M.sonar = function(g) return p("sq", "u_") .. g.chars(40, F.HEX) end
-- RubyGems API keys rubygems_ + 48 hex; NuGet API keys oy2 + 43; crates.io cio + 32.
M.rubygems = function(g) return p("ruby", "gems_") .. g.chars(48, F.HEX) end
M.nuget = function(g) return p("oy", "2") .. g.chars(43, F.LOWER_ALNUM) end
M.crates = function(g) return p("ci", "o") .. g.chars(32) end
-- JFrog Artifactory API keys AKCp + 69.
M.jfrog = function(g) return p("AK", "Cp") .. g.chars(69) end
-- Contentful CFPAT- + 43; Prefect pnu_ + 36; Tailscale tskey-auth-.
M.contentful = function(g) return p("CF", "PAT-") .. g.chars(43, F.B64URL) end
M.prefect = function(g) return p("pn", "u_") .. g.chars(36) end
M.tailscale = function(g) return p("tskey", "-auth-") .. g.chars(12) .. "CNTRL-" .. g.chars(33) end
-- Doppler service tokens dp.st. ; 1Password service account tokens ops_eyJ.
M.doppler_service = function(g) return p("dp.", "st.") .. "prd." .. g.chars(40) end
M.onepassword = function(g)
   return p("op", "s_") .. F.base64('{"signInAddress":"acme.1password.com","userAuth":{"method":"SRPg-4096"'):gsub("=", "")
      .. g.chars(120, F.B64URL)
end
-- AWS session token (STS), the long base64 after FwoGZXIvYXdzE.
M.aws_session_token = function(g) return p("FwoGZXIv", "YXdzE") .. g.chars(300, F.B64) end
-- PEM blocks the first file has no builder for.
local function pem(kind, g, lines, width)
   local out = {}
   for i = 1, lines do out[i] = g.chars(width or 64, F.B64) end
   return "-----BEGIN " .. kind .. "-----\n" .. table.concat(out, "\n") .. "\n-----END " .. kind .. "-----\n"
end
M.ec_key = function(g) return pem("EC " .. "PRIVATE KEY", g, 3) end
M.pkcs8_key = function(g) return pem("PRIVATE " .. "KEY", g, 8) end
M.pgp_key = function(g) return pem("PGP PRIVATE " .. "KEY BLOCK", g, 10) end
M.pem = pem
-- Connection strings with passwords: MongoDB SRV, Redis, AMQP, MySQL.
local function pw(g) return g.chars(5, F.LOWER) .. g.chars(2, F.DIGITS) .. g.chars(1, "#%^*") .. g.chars(8) end
M.pw = pw
M.mongodb = function(g)
   return "mongodb+srv://admin:" .. pw(g) .. "@cluster0." .. g.chars(5, F.LOWER_ALNUM) .. ".mongodb.net/prod"
end
M.redis = function(g) return "redis://default:" .. pw(g) .. "@cache.internal:6379/0" end
M.amqp = function(g) return "amqps://worker:" .. pw(g) .. "@mq.internal:5671/%2F" end
M.mysql = function(g) return "mysql://root:" .. pw(g) .. "@127.0.0.1:3306/shop" end

return M
