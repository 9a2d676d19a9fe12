-- Provisioning the agent container once it runs: the interception CA's public
-- certificate into the system store (update-ca-certificates as root, started
-- as soon as the agent runs), the prompt file and the skills, owned by the
-- agent's user. Files travel as tar
-- streams through the archive endpoint; the CA key never goes near the agent.
local core = require "bottle.core"
local tar = require "bottle.tar"

local M = {}

local MODE_644 = tonumber("644", 8)
local MODE_600 = tonumber("600", 8)

local function exec_ok(api, id, argv, opts, what)
   local r, msg, code = api:exec(id, argv, opts)
   if not r then return nil, msg, code end
   if r.exit ~= 0 then
      local out = (r.stderr .. r.stdout):gsub("%s+$", "")
      return nil, ("%s exited with %d: %s"):format(what, r.exit, out), "provision"
   end
   return r
end

local function dirname(path)
   return path:match("^(.*)/[^/]*$") or "/"
end

M.CA_TIMEOUT = 120   -- update-ca-certificates forks per certificate: slow on small machines

-- The system bundle with the CA appended, written back at once.  curl, git
-- and Python read the bundle (SSL_CERT_FILE, GIT_SSL_CAINFO and
-- REQUESTS_CA_BUNDLE point at it) and Node reads NODE_EXTRA_CA_CERTS, so the
-- agent trusts the CA as soon as this returns.  update-ca-certificates then
-- rebuilds the same bundle (atomically: it writes a new file and renames it)
-- and the hashed /etc/ssl/certs directory from the certificate placed in
-- /usr/local/share/ca-certificates, in the background: it forks thousands of
-- times and takes seconds, and nothing in a launch waits for it.
local function append_to_bundle(api, id, bundle, pem)
   local stream, msg, code = api:archive_get(id, bundle)
   if not stream then return nil, msg, code end
   local entries
   entries, msg, code = tar.unpack(stream)
   if not entries then return nil, bundle .. ": " .. msg, code end
   local file = entries[1]
   if not file or file.type ~= "file" then
      return nil, bundle .. " is not a regular file in the agent image", "provision"
   end
   local data = file.data
   if data ~= "" and data:sub(-1) ~= "\n" then data = data .. "\n" end
   return api:archive_put(id, dirname(bundle), tar.pack {
      { name = bundle:match("[^/]+$"), data = data .. pem, mode = file.mode or MODE_644, uid = 0, gid = 0 },
   })
end

-- The CA certificate (public part only) into the agent's trust store: the
-- file update-ca-certificates reads, the bundle at once, and
-- update-ca-certificates started as root without waiting.
function M.start_ca(api, state)
   local plan, id = state.plan, state.docker.agent_id
   local ca = state.docker.ca
   local ok, msg, code = api:archive_put(id, "/", tar.pack {
      { name = plan.ca.agent_cert:gsub("^/", ""), data = ca.cert_pem, mode = MODE_644, uid = 0, gid = 0 },
   })
   if not ok then return nil, msg, code end
   local bundle = plan.agent_env and plan.agent_env.SSL_CERT_FILE
   if bundle then
      ok, msg, code = append_to_bundle(api, id, bundle, ca.cert_pem)
      if not ok then return nil, msg, code end
   end
   local exec_id
   exec_id, msg, code = api:exec_detached(id, { "update-ca-certificates" }, { user = "0" })
   if not exec_id then return nil, msg, code end
   state.docker.ca_exec = exec_id
   return true
end

-- update-ca-certificates, looked at without waiting: a failure already seen
-- is reported (run again attached, to quote what it says); one still running
-- is left to finish, since the bundle already holds the CA.  With
-- opts.wait it is waited for (bounded by CA_TIMEOUT).
function M.finish_ca(api, state, opts)
   local id = state.docker.agent_id
   if not state.docker.ca_exec then
      local ok, msg, code = M.start_ca(api, state)
      if not ok then return nil, msg, code end
   end
   local status, msg, code = api:exec_wait(state.docker.ca_exec, (opts and opts.wait) and M.CA_TIMEOUT or 0)
   if status == 0 or code == "timeout" then return true end
   if status == nil then return nil, msg, code end
   return exec_ok(api, id, { "update-ca-certificates" }, { user = "0" }, "update-ca-certificates")
end

-- The agent user's uid and gid, from `id` run as the container's default user.
function M.agent_user(api, id)
   local r, msg, code = exec_ok(api, id, { "id" }, {}, "id")
   if not r then return nil, msg, code end
   local uid, gid = r.stdout:match("uid=(%d+).-gid=(%d+)")
   if not uid then return nil, "cannot read the agent's uid from `id`: " .. r.stdout, "provision" end
   return { uid = tonumber(uid), gid = tonumber(gid) }
end

-- A host directory as tar entries under `dest` (GNU tar reads it; we rename
-- and re-own the entries), or nil, message, code.
function M.tree_entries(host_dir, dest, owner, scratch)
   local out = scratch .. "/skill.tar"
   os.remove(out)
   local status, msg, code = core.spawn({ "tar", "-C", host_dir, "-cf", out, "." }, {})
   if status ~= 0 then
      os.remove(out)
      return nil, ("reading %s with tar failed%s"):format(host_dir, msg and (": " .. msg) or ""), code or "tar"
   end
   local f = io.open(out, "rb")
   local data = f and f:read("a")
   if f then f:close() end
   os.remove(out)
   if not data then return nil, "reading " .. out .. " failed", "tar" end
   local entries
   entries, msg, code = tar.unpack(data)
   if not entries then return nil, host_dir .. ": " .. msg, code end
   local base = dest:gsub("^/", ""):gsub("/+$", "")
   local result = {}
   for _, e in ipairs(entries) do
      local rel = e.name:gsub("^%./?", ""):gsub("^%.$", "")
      if e.type == "file" or e.type == "dir" or e.type == "symlink" then
         result[#result + 1] = {
            name = rel == "" and base or (base .. "/" .. rel), type = e.type, data = e.data,
            linkname = e.linkname, mode = e.mode, mtime = e.mtime, uid = owner.uid, gid = owner.gid,
         }
      end
   end
   return result
end

-- Prompt file and skills: one mkdir for their parents, one archive PUT.
function M.files(api, state)
   local plan, id = state.plan, state.docker.agent_id
   local skills = plan.skills or {}
   if not plan.prompt and #skills == 0 then return true end
   local owner, msg, code = M.agent_user(api, id)
   if not owner then return nil, msg, code end
   local entries, parents, seen = {}, {}, {}
   local function parent(path)
      local d = dirname(path)
      if not seen[d] then seen[d] = true; parents[#parents + 1] = d end
   end
   if plan.prompt then
      parent(plan.prompt.path)
      entries[#entries + 1] = { name = plan.prompt.path:gsub("^/", ""), data = plan.prompt.text,
                                mode = MODE_600, uid = owner.uid, gid = owner.gid }
   end
   for _, skill in ipairs(skills) do
      parent(skill.path)
      local tree
      tree, msg, code = M.tree_entries(skill.host_path, skill.path, owner, state.stage.dir)
      if not tree then return nil, "skill " .. skill.name .. ": " .. msg, code end
      for _, e in ipairs(tree) do entries[#entries + 1] = e end
   end
   local argv = { "mkdir", "-p" }
   for _, d in ipairs(parents) do argv[#argv + 1] = d end
   local ok
   ok, msg, code = exec_ok(api, id, argv, {}, "mkdir")
   if not ok then return nil, msg, code end
   return api:archive_put(id, "/", tar.pack(entries))
end

-- provision(api, state) → true | nil, message, code
function M.run(api, state)
   local plan = state.plan
   local ok, msg, code = M.files(api, state)
   if not ok then return nil, msg, code end
   if plan.ca then
      ok, msg, code = M.finish_ca(api, state)
      if not ok then return nil, "CA: " .. msg, code end
   end
   if plan.git and #plan.git > 0 then
      ok, msg, code = require("bottle.backend.docker.git_gate").provision_agent(api, state)
      if not ok then return nil, "git: " .. msg, code end
   end
   return true
end

return M
