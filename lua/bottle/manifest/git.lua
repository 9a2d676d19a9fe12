-- The manifest's git entries: the upstream, the identity file, the pinned
-- host key, extra hosts and push rules of each remote the gate serves.
local core = require "bottle.core"
local base64 = require "bottle.base64"
local check = require "bottle.manifest.check"
local seq, quote, is_map, describe, fail, at_key, at_table, join, keys_in_order, check_keys, want_string,
   want_bool, want_map, want_list, has_control, check_host, is_ipv4 =
   check.seq, check.quote, check.is_map, check.describe, check.fail, check.at_key, check.at_table,
   check.join, check.keys_in_order, check.check_keys, check.want_string, check.want_bool,
   check.want_map, check.want_list, check.has_control, check.check_host, check.is_ipv4
local schema = require "bottle.schema"
local schema_git = require "bottle.schema.git"
local KEYS = schema.KEYS

local M = {}


-- ------------------------------------------------------------------- git

local GIT_NAME = "^[A-Za-z0-9._-]+$"
local GIT_USER = "^[A-Za-z0-9._-]+$"
local URL_PATH = "^[A-Za-z0-9._~/+@:%%-]+$"

-- Parse an upstream into {user=, host=, port=, path=}, or nil, problem.
local function parse_upstream(ctx, at, p, s)
   local user, host, port, path
   local rest = s:match("^ssh://(.*)$")
   if rest then
      local authority
      authority, path = rest:match("^([^/]*)(/.*)$")
      if not authority or authority == "" then
         return nil, "no host; write ssh://git@host[:port]/path"
      end
      local u, a = authority:match("^(.-)@(.*)$")
      if u then user, authority = u, a end
      host, port = authority:match("^(.-):(%d*)$")
      if not host then
         host = authority
      elseif port == "" then
         return nil, "empty port; write ssh://git@host:PORT/path or leave the port out"
      end
      if path == "/" then return nil, "no repository path after the host" end
   elseif s:match("^[%a][%w+.-]*://") then
      return nil, "only ssh:// upstreams go through the git gate; write ssh://git@host/path"
   else
      user, host, path = s:match("^([^@/:]+)@([^/:]+):(.+)$")
      if not user then
         return nil, "not an ssh URL; write ssh://[user@]host[:port]/path or user@host:path"
      end
      if path:match("^%d+/") then
         return nil, "the scp-like form has no port (this path starts with a number); " ..
            "write ssh://user@host:PORT/path"
      end
   end
   if user and not user:match(GIT_USER) then
      return nil, "the user " .. quote(user) .. " is not valid; use letters, digits, '.', '_' or '-'"
   end
   if port then
      local n = tonumber(port)
      if #port > 5 or n < 1 or n > 65535 then
         return nil, "port " .. port .. " is out of range; use 1 to 65535"
      end
      port = n
   else
      port = 22
   end
   host = check_host(ctx, at, p, host, true)
   if not path:match(URL_PATH) then
      return nil, "the path contains characters a git URL should not; " ..
         "use letters, digits and . _ ~ / + @ : % -"
   end
   return { user = user, host = host, port = port, path = path }
end

-- "<keytype> <base64> [comment]" → "<keytype> <base64>", or nil, problem.
local function parse_host_key(s)
   local fields = {}
   for f in s:gmatch("%S+") do fields[#fields + 1] = f end
   local fix = "write \"KEYTYPE BASE64\" as printed by ssh-keyscan (without the host name)"
   if #fields >= 3 and schema.HOST_KEY_TYPES[fields[2]] then
      return nil, "this looks like a known_hosts line; drop the leading host name"
   end
   if #fields < 2 then return nil, "expected a key type and a base64 key; " .. fix end
   local ktype, b64 = fields[1], fields[2]
   if not schema.HOST_KEY_TYPES[ktype] then
      local names = {}
      for n in pairs(schema.HOST_KEY_TYPES) do names[#names + 1] = n end
      table.sort(names)
      return nil, "unknown key type " .. quote(ktype) .. "; use one of " .. table.concat(names, ", ")
   end
   local blob = #b64 % 4 == 0 and b64:match("^[A-Za-z0-9+/]+=?=?$") and base64.decode(b64)
   if not blob or #blob < 4 then return nil, "the key is not valid base64; " .. fix end
   -- An SSH public key blob starts with its own key type, length-prefixed.
   local n = string.unpack(">I4", blob)
   if blob:sub(5, 4 + n) ~= ktype then
      return nil, "the base64 key is not a " .. ktype .. " key; copy the type and key from the same line"
   end
   return ktype .. " " .. b64
end

local function expand_identity(ctx, at, p, s)
   local path = s
   if s == "~" or s:sub(1, 2) == "~/" then
      if not ctx.home or ctx.home == "" then
         fail(ctx, at, p, "cannot expand \"~\": HOME is not set; write an absolute path")
      end
      path = ctx.home .. s:sub(2)
   elseif s:sub(1, 1) == "~" then
      fail(ctx, at, p, "only \"~/\" is expanded; write an absolute path")
   end
   if path:sub(1, 1) ~= "/" then
      fail(ctx, at, p, "identity must be an absolute path or start with ~/")
   end
   local st, msg = core.stat(path)
   if not st then
      fail(ctx, at, p, "identity file cannot be read: " .. tostring(msg) .. "; check the path")
   end
   if st.type == "link" then
      fail(ctx, at, p, "identity file " .. quote(path) ..
           " is a symbolic link; point identity at the key file itself")
   end
   if st.type ~= "file" then
      fail(ctx, at, p, "identity " .. quote(path) .. " is not a regular file")
   end
   if st.mode & 63 ~= 0 then
      fail(ctx, at, p, string.format(
         "identity file %s has mode %03o, readable by others; run chmod 600 %s",
         quote(path), st.mode & 511, quote(path)))
   end
   return path
end

local function check_branch_glob(ctx, at, p, g)
   if type(g) ~= "string" or g == "" then
      fail(ctx, at, p, "expected a non-empty branch name or glob, found " .. describe(g))
   end
   if g:sub(1, 5) == "refs/" then
      fail(ctx, at, p, "write the branch name alone (without refs/heads/)")
   end
   if g:find("[%s%c~^:\\]") or g:find("..", 1, true) or g:find("@{", 1, true)
      or g:sub(1, 1) == "/" or g:sub(-1) == "/" or g:sub(1, 1) == "-" then
      fail(ctx, at, p, quote(g) .. " is not a valid branch glob; " ..
           "use branch names with * wildcards such as agent/*")
   end
end

local function check_push(ctx, entry, p)
   local push = want_map(ctx, entry, "push", p)
   local pp = join(p, "push")
   check_keys(ctx, push, pp, KEYS.push)
   local out = schema.push_default()
   for _, k in ipairs(keys_in_order(ctx, push)) do
      if k == "branches" then
         local list = want_list(ctx, push, k, pp, "a list of branch globs")
         out.branches = seq {}
         for i, g in ipairs(list) do
            check_branch_glob(ctx, at_key(ctx, list, i), join(join(pp, k), i), g)
            out.branches[i] = g
         end
      else
         out[k] = want_bool(ctx, push, k, pp)
      end
   end
   return out
end

-- The manifest mode of the git-entry checker (bottle.schema.git): each rule
-- raises at the first problem; st = { ctx=, entry=, p= path, hosts_seen=, out= }.
local function rule(f)
   return function(st, k)
      f(st, k, at_key(st.ctx, st.entry, k), join(st.p, k))
      return true
   end
end

local manifest_mode = {
   start = function(entry, ctx, p, hosts_seen)
      check_keys(ctx, entry, p, KEYS.git)
      for _, f in ipairs(schema_git.FIELDS) do
         if f.required and entry[f.key] == nil then
            fail(ctx, at_table(ctx, entry), p, "missing required key " .. quote(f.key) .. "; " .. f.required)
         end
      end
      return { ctx = ctx, entry = entry, p = p, hosts_seen = hosts_seen,
               out = { push = schema.push_default(), extra_hosts = {} } }
   end,
   order = function(st) return keys_in_order(st.ctx, st.entry) end,
   rules = {
      name = rule(function(st, k, at, kp)
         local v = want_string(st.ctx, st.entry, k, st.p)
         if not v:match(GIT_NAME) or v == "." or v == ".." or v:sub(1, 1) == "-"
            or #v > schema_git.NAME_MAX then
            fail(st.ctx, at, kp, quote(v) .. " is not a valid git name; " ..
                 "use letters, digits, '.', '_' or '-' (it names /git/<name>.git in the gate)")
         end
         st.out.name = v
      end),
      upstream = rule(function(st, k, at, kp)
         local v = want_string(st.ctx, st.entry, k, st.p, "an ssh URL")
         local u, problem = parse_upstream(st.ctx, at, kp, v)
         if not u then fail(st.ctx, at, kp, quote(v) .. ": " .. problem) end
         local out = st.out
         out.upstream, out.user, out.host, out.port, out.path = v, u.user, u.host, u.port, u.path
      end),
      identity = rule(function(st, k, at, kp)
         local v = want_string(st.ctx, st.entry, k, st.p, "a path to an SSH private key")
         st.out.identity = expand_identity(st.ctx, at, kp, v)
      end),
      host_key = rule(function(st, k, at, kp)
         local v = want_string(st.ctx, st.entry, k, st.p, "\"KEYTYPE BASE64\"")
         local key, problem = parse_host_key(v)
         if not key then fail(st.ctx, at, kp, problem) end
         st.out.host_key = key
      end),
      extra_hosts = rule(function(st, k, _, kp)
         local ctx, hosts_seen = st.ctx, st.hosts_seen
         local map = want_map(ctx, st.entry, k, st.p, "a mapping of host: IPv4 address")
         for _, h in ipairs(keys_in_order(ctx, map)) do
            local hat, hp = at_key(ctx, map, h), join(kp, h)
            local host = check_host(ctx, hat, hp, h, true)
            local ip = map[h]
            if type(ip) ~= "string" or not is_ipv4(ip) then
               fail(ctx, hat, hp, "expected an IPv4 address such as 10.0.0.2, found " ..
                    (type(ip) == "string" and quote(ip) or describe(ip)))
            end
            if hosts_seen[host] and hosts_seen[host] ~= ip then
               fail(ctx, hat, hp, quote(host) .. " is already pinned to " .. hosts_seen[host] ..
                    " in this bottle; use one address per host")
            end
            hosts_seen[host] = ip
            st.out.extra_hosts[host] = ip
         end
      end),
      push = rule(function(st)
         st.out.push = check_push(st.ctx, st.entry, st.p)
      end),
      user_name = rule(function(st, k, at, kp)
         local v = want_string(st.ctx, st.entry, k, st.p)
         if v == "" or has_control(v) then fail(st.ctx, at, kp, "expected one line of text") end
         st.out[k] = v
      end),
   },
   finish = function(st) return st.out end,
}
manifest_mode.rules.user_email = manifest_mode.rules.user_name
schema_git.mode("manifest", manifest_mode)

local function check_git(ctx, bottle, path)
   local list = want_list(ctx, bottle, "git", path, "a list of git entries")
   local p = join(path, "git")
   local out, names, hosts_seen = seq {}, {}, {}
   for i, entry in ipairs(list) do
      local ep = join(p, i)
      if not is_map(entry) then
         fail(ctx, at_key(ctx, list, i), ep, "expected a mapping with name:, upstream:, " ..
              "identity: and host_key:, found " .. describe(entry))
      end
      local g = schema_git.check("manifest", entry, ctx, ep, hosts_seen)
      if names[g.name] then
         fail(ctx, at_key(ctx, entry, "name"), join(ep, "name"), "git name " .. quote(g.name) ..
              " is already used by git[" .. names[g.name] .. "]; names must be unique in a bottle")
      end
      names[g.name] = i
      out[#out + 1] = g
   end
   return out
end
M.check = check_git
M.check_branch_glob = check_branch_glob

return M
