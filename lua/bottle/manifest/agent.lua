-- The manifest's agents: the bottle each runs in, its prompt, skills and image.
local check = require "bottle.manifest.check"
local seq, quote, is_map, describe, fail, at_key, join, keys_in_order, check_keys, want_string, want_list,
   check_name =
   check.seq, check.quote, check.is_map, check.describe, check.fail, check.at_key, check.join,
   check.keys_in_order, check.check_keys, check.want_string, check.want_list, check.check_name
local schema = require "bottle.schema"
local KEYS = schema.KEYS
local want_bool = check.want_bool

local M = {}

-- ---------------------------------------------------------------- agents


-- Agents are checked against `bottles` (the bottles visible to this file).
local function check_agent(ctx, agents, name, bottles)
   check_name(ctx, agents, name, "agents", "agent", schema.AGENT_NAME_MAX)
   local at = at_key(ctx, agents, name)
   ctx.owner = "agent " .. quote(name)
   local a = agents[name]
   if not is_map(a) then
      fail(ctx, at, "", "expected a mapping with at least bottle:, found " .. describe(a))
   end
   check_keys(ctx, a, "", KEYS.agent)
   if a.bottle == nil then
      fail(ctx, at, "bottle", "missing required key \"bottle\"; name the bottle this agent runs in")
   end
   local out = { name = name, skills = seq {},
                 source = { file = ctx.file, line = at and at.line or 1, col = at and at.col or 1 } }
   for _, k in ipairs(keys_in_order(ctx, a)) do
      local kat = at_key(ctx, a, k)
      if k == "bottle" then
         local v = want_string(ctx, a, k, "", "a bottle name")
         if not bottles[v] then
            local known = {}
            for n in pairs(bottles) do known[#known + 1] = n end
            table.sort(known)
            fail(ctx, kat, k, "bottle " .. quote(v) .. " is not defined; define it under bottles: " ..
                 "or use one of: " .. table.concat(known, ", "))
         end
         out.bottle = v
      elseif k == "prompt" then
         local v = want_string(ctx, a, k, "")
         if v:find("%z") then fail(ctx, kat, k, "the prompt contains a NUL byte") end
         out.prompt = v
      elseif k == "skills" then
         local list = want_list(ctx, a, k, "", "a list of skill names")
         local seen = {}
         for i, s in ipairs(list) do
            local sat, sp = at_key(ctx, list, i), join(k, i)
            if type(s) ~= "string" or not s:match(schema.SKILL_NAME) or s == "." or s == ".." then
               fail(ctx, sat, sp, (type(s) == "string" and quote(s) or describe(s)) ..
                    " is not a skill name; use the name of a directory in ~/.claude/skills/ " ..
                    "(letters, digits, '.', '_', '-')")
            end
            if seen[s] then fail(ctx, sat, sp, "skill " .. quote(s) .. " is listed twice") end
            seen[s] = true
            out.skills[i] = s
            -- where it is written, for the plan's "skill not found"
            out.skill_at = out.skill_at or {}
            out.skill_at[i] = { file = ctx.file, line = sat and sat.line or 1, col = sat and sat.col or 1 }
         end
      elseif k == "image" then
         local v = want_string(ctx, a, k, "", "an image reference")
         if not v:match(schema.IMAGE_REF) or #v > schema.IMAGE_REF_MAX then
            fail(ctx, kat, k, quote(v) .. " is not an image reference; write e.g. claude-bottle:latest")
         end
         out.image = v
      elseif k == "workspace" then
         local v = want_string(ctx, a, k, "", "copy, none or mount")
         local ok = false
         for _, w in ipairs(schema.WORKSPACE_VALUES) do ok = ok or v == w end
         if not ok then
            fail(ctx, kat, k, quote(v) .. " is not a workspace mode; use copy (the default), none or mount")
         end
         out.workspace = v
      elseif k == "workspace_include" then
         local list = want_list(ctx, a, k, "", "a list of ignored paths to copy in anyway")
         out.workspace_include = seq {}
         for i, p in ipairs(list) do
            local pat, pp = at_key(ctx, list, i), join(k, i)
            if type(p) ~= "string" or p == "" or p:sub(1, 1) == "/" or p:find("%c") or p:find("%.%.")
               or p == ".git" or p:sub(1, 5) == ".git/" then
               fail(ctx, pat, pp, (type(p) == "string" and quote(p) or describe(p)) ..
                    " is not a path inside the project; write it relative to the top level, e.g. config/local.yaml")
            end
            out.workspace_include[i] = p
         end
      elseif k == "workspace_push" then
         local push = check.want_map(ctx, a, k, "")
         check_keys(ctx, push, k, KEYS.push)
         local res = schema.push_default()
         res.branches = seq { "claude/*" }
         for _, pk in ipairs(keys_in_order(ctx, push)) do
            if pk == "branches" then
               local list = want_list(ctx, push, pk, k, "a list of branch globs")
               res.branches = seq {}
               for i, g in ipairs(list) do
                  require("bottle.manifest.git").check_branch_glob(ctx, at_key(ctx, list, i), join(join(k, pk), i), g)
                  res.branches[i] = g
               end
            else
               res[pk] = want_bool(ctx, push, pk, k)
            end
         end
         out.workspace_push = res
      end
   end
   ctx.owner = nil
   return out
end
M.check = check_agent

return M
