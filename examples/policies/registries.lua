-- Opens the common package registries to the agent: npm, PyPI, crates.io and
-- the Go module proxy.  The same hosts go to passthrough, so pipelock splices
-- their TLS instead of decrypting it: package managers pin certificates or
-- stream large downloads, and both break under interception.
--
-- Install: copy to ~/.config/claude-bottle/policies/ (every *.lua there runs,
-- in name order) or pass it with --policy FILE.  Remove the registries you do
-- not use: every host opened is one more way out of the bottle.
local REGISTRIES = {
   npm = { "registry.npmjs.org" },
   pypi = { "pypi.org", "files.pythonhosted.org" },
   crates = { "crates.io", "static.crates.io", "index.crates.io" },
   go = { "proxy.golang.org", "sum.golang.org" },
}
local ORDER = { "npm", "pypi", "crates", "go" }

local function add_missing(list, host)
   for _, h in ipairs(list) do
      if h == host then return false end
   end
   list[#list + 1] = host
   return true
end

return {
   bottle = function(b, ctx)
      local opened = 0
      for _, registry in ipairs(ORDER) do
         for _, host in ipairs(REGISTRIES[registry]) do
            if add_missing(b.egress.allowlist, host) then opened = opened + 1 end
            add_missing(b.egress.passthrough, host)
         end
      end
      ctx.log("opened %d registry hosts for agent %s", opened, ctx.agent)
      -- Nothing returned: the changes were made to b in place.
   end,
}
