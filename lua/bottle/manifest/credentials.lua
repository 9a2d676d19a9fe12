-- The manifest's credentials: routes of the credential proxy, each a name
-- (the path prefix), one fixed https upstream, the header it sets and where
-- its value comes from (`${VAR}` or a `?` prompt; a literal is refused, so
-- no credential is ever written in a manifest).  Messages never quote a value.
local check = require "bottle.manifest.check"
local cred_proxy = require "bottle.cred_proxy"
local schema = require "bottle.schema"
local seq, quote, is_map, describe, fail, at_key, join, check_keys, want_string, want_list,
   has_control, check_host =
   check.seq, check.quote, check.is_map, check.describe, check.fail, check.at_key, check.join,
   check.check_keys, check.want_string, check.want_list, check.has_control, check.check_host

local M = {}

M.KEYS = { "name", "upstream", "header", "scheme", "value", "env" }

-- Where a value comes from → {kind = "host", from = VAR} | {kind = "prompt", prompt = text}.
local function source(ctx, t, p)
   local v = want_string(ctx, t, "value", p, 'a value "${VAR}" or "?"')
   local at = at_key(ctx, t, "value")
   if v:sub(1, 1) == "?" then
      local prompt = v:sub(2):match("^%s*(.-)%s*$")
      if has_control(prompt) then fail(ctx, at, join(p, "value"), "the prompt text contains a control character") end
      return { kind = "prompt", prompt = prompt ~= "" and prompt or nil }
   end
   local var = v:match(schema.HOST_VAR)
   if not var then
      fail(ctx, at, join(p, "value"), 'a credential is never written in a manifest: write "${VAR}" '
           .. '(a variable of the launcher\'s environment) or "?" (asked at launch)')
   end
   return { kind = "host", from = var }
end

-- How the anthropic route authenticates, from its variable's name: an API
-- key (x-api-key) or an OAuth token (Authorization: Bearer and the oauth beta).
function M.anthropic_auth(src)
   if src.kind == "host" and src.from:find("API_KEY", 1, true) then return "api_key" end
   return "oauth"
end

-- The route's fields once checked: a builtin name fills in what it leaves out.
local function entry(ctx, list, i, path)
   local t = list[i]
   local p = join(path, i)
   local at = at_key(ctx, list, i)
   if not is_map(t) then
      fail(ctx, at, p, "expected a mapping (" .. table.concat(M.KEYS, ":, ") .. ":), found " .. describe(t))
   end
   check_keys(ctx, t, p, M.KEYS)
   local name = want_string(ctx, t, "name", p, "a route name")
   if not name:match(cred_proxy.NAME_PATTERN) or #name > cred_proxy.NAME_MAX then
      fail(ctx, at_key(ctx, t, "name"), join(p, "name"), "route name " .. quote(name) .. " is not valid; use 1 to "
           .. cred_proxy.NAME_MAX .. " lowercase letters, digits or '-' (it becomes the proxy's path prefix)")
   end
   if t.value == nil then fail(ctx, at, p, 'no value: add value: "${VAR}" or value: "?"') end
   local out = { name = name, source = source(ctx, t, p) }
   local builtin = name == cred_proxy.ANTHROPIC
   local upstream = t.upstream
   if upstream == nil then
      if not builtin then fail(ctx, at, p, "no upstream: add upstream: https://host[:port]") end
      upstream = cred_proxy.ANTHROPIC_UPSTREAM
   else
      want_string(ctx, t, "upstream", p, "https://host[:port]")
   end
   local u, problem = cred_proxy.parse_upstream(upstream)
   if not u then fail(ctx, at_key(ctx, t, "upstream"), join(p, "upstream"), quote(upstream) .. " " .. problem) end
   out.host = check_host(ctx, at_key(ctx, t, "upstream"), join(p, "upstream"), u.host, true)
   out.port, out.upstream = u.port, u.url
   if t.header ~= nil then
      local h = want_string(ctx, t, "header", p, "a header name")
      if not h:match(cred_proxy.HEADER_PATTERN) or #h > 64 then
         fail(ctx, at_key(ctx, t, "header"), join(p, "header"), quote(h) .. " is not a header name")
      end
      out.header = h
   end
   if t.scheme ~= nil then
      local s = want_string(ctx, t, "scheme", p, "an auth scheme such as Bearer")
      if not s:match(cred_proxy.SCHEME_PATTERN) or #s > 32 then
         fail(ctx, at_key(ctx, t, "scheme"), join(p, "scheme"), quote(s) .. " is not an auth scheme such as Bearer")
      end
      out.scheme = s
   end
   if t.env ~= nil then
      local e = want_string(ctx, t, "env", p, "a variable name")
      if not e:match(schema.ENV_NAME) or schema.RESERVED_ENV[e] then
         fail(ctx, at_key(ctx, t, "env"), join(p, "env"), quote(e) .. " is not a variable the agent may get; "
              .. "use letters, digits and '_', and none the launcher sets")
      end
      out.env = e
   end
   if builtin then
      out.auth = out.header and (out.header:lower() == "x-api-key" and "api_key" or "oauth")
         or M.anthropic_auth(out.source)
      if not out.header then
         out.header = out.auth == "api_key" and "x-api-key" or "Authorization"
         out.scheme = out.auth ~= "api_key" and "Bearer" or nil
      end
      out.oauth_beta = out.auth == "oauth" or nil
   else
      out.header = out.header or "Authorization"
   end
   return out
end

function M.check(ctx, bottle, path)
   local list = want_list(ctx, bottle, "credentials", path, "a list of routes (- name: ..., value: ...)")
   local out, seen = seq {}, {}
   for i = 1, #list do
      local r = entry(ctx, list, i, join(path, "credentials"))
      if seen[r.name] then
         fail(ctx, at_key(ctx, list, i), join(join(path, "credentials"), i), "route " .. quote(r.name) .. " is listed twice")
      end
      seen[r.name] = true
      out[#out + 1] = r
   end
   return out
end

return M
