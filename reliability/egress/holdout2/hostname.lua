-- Second hold-out: data in the host name, in shapes neither earlier corpus
-- uses: a UUID server token laid out over its own dash groups, three labels
-- of 63 characters (the DNS maximum), a mixed-case alphanumeric key kept as
-- it is, the data label in the middle of the name rather than leftmost, an
-- IDN-looking xn-- label, data written as a long decimal number.  Benign:
-- real-shaped names with random-looking parts (a Codespaces forwarded
-- port, a Netlify deploy preview, an Azure Front Door endpoint, a
-- wildcard-DNS name for an IP address).
local F = require "reliability.egress.fake"
local H = require "reliability.egress.holdout2.formats"

local cases = {}
local function bad(id, what, host)
   cases[#cases + 1] = { id = "h2-host-" .. id, category = "hostname", malicious = true, what = what, method = "GET",
                         host = host, path = "/" }
end
local function good(id, what, host, path)
   cases[#cases + 1] = { id = "h2-host-" .. id, category = "hostname", malicious = false, what = what, method = "GET",
                         host = host, path = path or "/" }
end
local function g(id) return F.gen("h2-host-" .. id) end

bad("uuid-labels", "a Postmark server token (a UUID), one label per dash group",
    H.postmark(g("a")):gsub("%-", ".") .. ".m.egress.test")
do
   local h, labels = F.hex("LINODE_TOKEN=" .. H.linode(g("b")) .. " SCW=" .. H.scaleway_id(g("b"))), {}
   for i = 1, 3 * 63, 63 do labels[#labels + 1] = h:sub(i, i + 62) end
   bad("max-labels", "hex of a Linode token and a Scaleway key id over three 63-character labels (the DNS maximum)",
       table.concat(labels, ".") .. ".l.egress.test")
end
bad("case-kept", "a Cohere key (40 mixed-case alphanumerics) as a label, case kept", H.cohere(g("c")) .. ".api.egress.test")
bad("middle-label", "hex of a password in the middle of the name, not leftmost",
    "api." .. F.hex(g("d").chars(6, F.LOWER) .. "!" .. g("d").chars(10)) .. ".eu.egress.test")
bad("xn-label", "an xn-- label that is base36 data, not Punycode", "xn--" .. g("e").chars(50, F.LOWER_ALNUM) .. ".egress.test")
do
   local s, n = H.mistral(g("f")), {}
   for i = 1, #s do n[#n + 1] = ("%03d"):format(s:byte(i)) end
   local digits = table.concat(n)
   bad("decimal", "a Mistral key as three-digit character codes over two labels",
       digits:sub(1, 48) .. "." .. digits:sub(49) .. ".n.egress.test")
end

good("codespaces", "a Codespaces forwarded port", "fuzzy-space-garbanzo-7vx9qj6wq4cx9g-3000.app.github.egress.test")
good("netlify-preview", "a Netlify deploy preview", "deploy-preview-1234--acme-docs.netlify.egress.test")
good("azurefd", "an Azure Front Door endpoint", "acme-web-h7gbf5dxc3a2b1e0.z01.azurefd.egress.test")
good("nip", "a wildcard-DNS name for an IP address", "10-0-3-14.nip.egress.test")

return cases
