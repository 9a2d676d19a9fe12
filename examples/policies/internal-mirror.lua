-- Lets the agent reach a package mirror inside your network.  Three things
-- are needed, in two hooks:
-- - the mirror's host in the allowlist (bottle hook);
-- - the host in trusted_domains: pipelock refuses hosts that resolve to a
--   private address unless they are trusted (config hook);
-- - the mirror's network in ssrf.ip_allowlist, for requests made to the
--   address itself (config hook).
--
-- EDIT MIRROR_HOST and MIRROR_NETWORK (a canonical CIDR: 10.20.0.0/16, not
-- 10.20.0.5/16).
local MIRROR_HOST = "mirror.corp.example"
local MIRROR_NETWORK = "10.20.0.0/16"

local function add_missing(list, item)
   for _, v in ipairs(list) do
      if v == item then return end
   end
   list[#list + 1] = item
end

return {
   bottle = function(b, ctx)
      add_missing(b.egress.allowlist, MIRROR_HOST)
   end,

   config = function(cfg, ctx)
      cfg.trusted_domains = cfg.trusted_domains or {}
      add_missing(cfg.trusted_domains, MIRROR_HOST)
      cfg.ssrf = cfg.ssrf or {}
      cfg.ssrf.ip_allowlist = cfg.ssrf.ip_allowlist or {}
      add_missing(cfg.ssrf.ip_allowlist, MIRROR_NETWORK)
      ctx.log("trusting %s (%s)", MIRROR_HOST, MIRROR_NETWORK)
   end,
}
