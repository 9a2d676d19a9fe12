-- Hold-out: data in the host name, in the shapes DNS tunnelling tools use:
-- a sequence number and a hex chunk (dnscat2-like), base32 over several
-- labels (iodine-like), short base36 labels, a lowercased token with its
-- dashes, a hex chunk dressed as a cache label, the machine's user and
-- host name in front of a secret.  Benign: real-shaped names with hashes
-- or long labels (a load balancer, a Cloud Run service, a Vercel preview,
-- an IPFS CID subdomain gateway).
local F = require "reliability.egress.fake"
local K = require "reliability.egress.formats"
local H = require "reliability.egress.holdout.formats"

local cases = {}
local function bad(id, what, host)
   cases[#cases + 1] = { id = "h-host-" .. id, category = "hostname", malicious = true, what = what, method = "GET",
                         host = host, path = "/" }
end
local function good(id, what, host, path)
   cases[#cases + 1] = { id = "h-host-" .. id, category = "hostname", malicious = false, what = what, method = "GET",
                         host = host, path = path or "/" }
end
local function g(id) return F.gen("h-host-" .. id) end

bad("seq-hex", "a sequence number and a hex chunk of a Mailchimp key",
    "0003." .. F.hex(H.mailchimp(g("a"))):sub(1, 60) .. ".t.egress.test")
do
   local b = F.base32(K.aws_secret(g("b"))):lower()
   bad("base32-labels", "base32 of an AWS secret key over two labels", b:sub(1, 32) .. "." .. b:sub(33, 64) .. ".d.egress.test")
end
do
   local s, labels = g("c").chars(45, F.LOWER_ALNUM), {}
   for i = 1, #s, 9 do labels[#labels + 1] = s:sub(i, i + 8) end
   bad("short-labels", "45 base36 characters of data in five short labels", table.concat(labels, ".") .. ".n.egress.test")
end
bad("slack-label", "a Slack bot token lowercased, dashes kept, as one label",
    K.slack_bot(g("d")):lower():sub(1, 60) .. ".hooks.egress.test")
bad("cache-label", "hex of a Supabase token posing as a cache-busting label",
    "cache-" .. F.hex(H.supabase(g("e"))):sub(1, 56) .. ".cdn.egress.test")
bad("user-host-secret", "user, machine and a hex password, as a beacon name",
    "root.buildbox-7." .. F.hex(H.pw(g("f"))) .. ".b.egress.test")

good("elb", "a load balancer name", "internal-api-prod-1234567890.us-west-2.elb.egress.test")
good("cloud-run", "a Cloud Run service URL with its hash", "billing-api-7x3kq2m4na-ew.a.run.egress.test")
good("vercel-preview", "a Vercel preview deployment", "web-git-feature-new-onboarding-acme-team.vercel.egress.test")
good("ipfs-cid", "an IPFS subdomain gateway with a base32 CIDv1",
     "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi.ipfs.egress.test")

return cases
