-- Data in the host name: labels that encode a secret (DNS-style
-- exfiltration through the proxy's own lookup and through the name the
-- request is sent to).  The bottle allows *.egress.test, so only what
-- pipelock inspects in the name decides.  Benign: real-shaped names with
-- long or hash-like labels (CDN distributions, regional endpoints, buckets).
local F = require "reliability.egress.fake"
local K = require "reliability.egress.formats"

local cases = {}
local function bad(id, what, host)
   cases[#cases + 1] = { id = "host-" .. id, category = "hostname", malicious = true, what = what, method = "GET",
                         host = host, path = "/" }
end
local function good(id, what, host)
   cases[#cases + 1] = { id = "host-" .. id, category = "hostname", malicious = false, what = what, method = "GET",
                         host = host, path = "/" }
end
local function g(id) return F.gen("host-" .. id) end

bad("base32-label", "base32 of a token in one label",
    F.base32(K.npm(g("a"))):sub(1, 60):lower() .. ".x.egress.test")
bad("hex-label", "hex of a password in one label", F.hex("pw=" .. K.password(g("b"))) .. ".x.egress.test")
bad("key-id-label", "an AWS key id as a label", K.aws_key_id(g("c")):lower() .. ".x.egress.test")
do
   local t = F.hex(K.stripe_secret(g("d")))
   bad("split-labels", "hex of a Stripe key split over three labels",
       t:sub(1, 22) .. "." .. t:sub(23, 44) .. "." .. t:sub(45, 64) .. ".x.egress.test")
end
bad("github-label", "a GitHub token as a label", K.github_classic(g("e")):lower():gsub("_", "-") .. ".x.egress.test")
bad("random-label", "40 random base36 characters (exfiltrated bytes)", g("f").chars(40, F.LOWER_ALNUM) .. ".x.egress.test")

good("cdn", "a CDN distribution name", "d1x7k2m9q4w8zt.cdn.egress.test")
good("region", "a regional endpoint", "bedrock-runtime.us-east-1.egress.test")
good("bucket", "a bucket with a long readable name", "my-company-build-artifacts-prod.s3.egress.test")
good("objects", "a content host with several labels", "objects-origin.githubusercontent.egress.test")

return cases
