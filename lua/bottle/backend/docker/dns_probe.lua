-- CVE-2024-29018: the engine's embedded DNS resolver forwards the queries of
-- a container on an internal network to upstream resolvers, from the host's
-- network namespace when the upstream is on a loopback address, so a name
-- an agent looks up leaves the bottle.  Distributions backport the fix, so a
-- version says little: `doctor` runs the probe below, and reports the
-- version against the advisory's ranges beside it.
local core = require "bottle.core"
local resources = require "bottle.backend.docker.resources"

local P = {}

P.ADVISORY = "GHSA-mq39-4gv4-mvpx"
P.RANGES = "before 23.0.11, 24.0.0 to 25.0.4, and 26.0.0's pre-releases"

-- "25.0.4", "26.0.0-rc1", "20.10.24+dfsg1" → {25, 0, 4, pre}, pre = true for a
-- pre-release.  A suffix after "-" that is not a pre-release tag
-- ("-0ubuntu1", "-ce") is a distribution's and counts as the release.
local function parse(v)
   local major, minor, patch, rest = tostring(v):match("^v?(%d+)%.(%d+)%.(%d+)(.*)$")
   if not major then return nil end
   rest = rest:gsub("%+.*$", "")
   local pre = rest:match("^%-(%a+)") ~= nil
      and (rest:match("^%-rc") or rest:match("^%-beta") or rest:match("^%-alpha") or rest:match("^%-tp")) ~= nil
   return { tonumber(major), tonumber(minor), tonumber(patch), pre }
end

-- a < b, a pre-release before its release
local function less(a, b)
   for i = 1, 3 do
      if a[i] ~= b[i] then return a[i] < b[i] end
   end
   return a[4] and not b[4]
end

local FIXED_23 = { 23, 0, 11, false }
local FIRST_24 = { 24, 0, 0, true }
local FIXED_25 = { 25, 0, 5, false }

--- P.version_affected(version) → true | false | nil (not a version).
-- The advisory's ranges: below 23.0.11; 24.0.0 (pre-releases too) up to, not
-- including, 25.0.5; 26.0.0's pre-releases.
function P.version_affected(version)
   local v = parse(version)
   if not v then return nil end
   if less(v, FIXED_23) then return true end
   if not less(v, FIRST_24) and less(v, FIXED_25) then return true end
   return v[1] == 26 and v[2] == 0 and v[3] == 0 and v[4]
end

---------------------------------------------------------------------------
-- The probe.  A throwaway internal network, and on it two clients that look
-- up names no one else asks for:
--   * one whose upstream resolver (--dns) is a listener on a loopback
--     address of the host, in the host's network namespace: the advisory's
--     case.  The listener says whether the query reached it.  (Engine
--     20.10 dials a --dns server from the container's own namespace, so
--     there this case cannot leak; it can where the engine dials loopback
--     servers from the host's.)
--   * one with the engine's own DNS configuration, as an agent has it: the
--     embedded resolver's answer says what it did.  REFUSED (without
--     recursion) is the fixed engine declining to forward (moby #47538);
--     an answer from upstream means the query left the network; none means
--     it was lost on the way (the network has no route out).
-- Every resource is labelled like a bottle's (slug dns-probe-<hex>, this
-- process as its launcher), so `cleanup` finds what a killed doctor left.

-- A UDP listener on ADDR:53 printing each packet's name-ish bytes.
local LISTENER = [[
use IO::Socket::INET; $| = 1;
my $s = IO::Socket::INET->new(LocalAddr => $ARGV[0], LocalPort => 53, Proto => "udp")
  or do { print "bind failed: $!\n"; exit 3 };
print "ready\n";
while (1) { my $d; $s->recv($d, 4096); $d =~ s/[^a-z0-9-]/./g; print "got $d\n"; }
]]

-- One A query for NAME to SERVER:53 → "rcode N ra N" or "rcode none".
local QUERY = [[
use IO::Socket::INET; $| = 1;
my ($server, $name) = @ARGV;
my $q = pack("n6", 0x4242, 0x0100, 1, 0, 0, 0);
$q .= join("", map { chr(length $_) . $_ } split /\./, $name) . "\0" . pack("n2", 1, 1);
my $s = IO::Socket::INET->new(PeerAddr => $server, PeerPort => 53, Proto => "udp") or do { print "rcode none\n"; exit 0 };
$s->send($q);
my ($r, $rin) = ("", ""); vec($rin, fileno($s), 1) = 1;
$s->recv($r, 4096) if select(my $rout = $rin, undef, undef, 4);
if (length $r < 12) { print "rcode none\n"; exit 0 }
my ($id, $flags) = unpack("n2", $r);
printf "rcode %d ra %d\n", $flags & 15, ($flags >> 7) & 1;
]]

P.ROLE_NETWORK, P.ROLE_LISTENER, P.ROLE_CLIENT = "dns-probe-network", "dns-probe-listener", "dns-probe-client"
P.NOERROR, P.SERVFAIL, P.NXDOMAIN, P.REFUSED = 0, 2, 3, 5

--- Did an answer {rcode, ra} to a name under .invalid come from outside?
-- A resolver out there answers NXDOMAIN (or NOERROR), or REFUSED with
-- recursion available; the fixed engine's own refusal has no recursion
-- bit.  SERVFAIL (the engine could not forward) and silence do not show
-- that anything left.
function P.answered_from_upstream(e)
   if not e or e.rcode == nil or e.rcode == P.SERVFAIL then return false end
   if e.rcode == P.REFUSED then return e.ra and true or false end
   return true
end

local function labels(slug, role)
   return { [resources.LABEL] = "1", [resources.SLUG] = slug, [resources.ROLE] = role,
            [resources.DETACHED] = "0", [resources.LAUNCHER] = resources.launcher_id() }
end

local function log_text(c, id)
   local out, err = c:container_logs(id)
   return (out or "") .. (err or "")
end

-- Creates and starts one container → its id | nil, message, code.
local function run_container(c, name, config)
   local made, msg, code = c:container_create(name, config)
   if not made then return nil, msg, code end
   local ok
   ok, msg, code = c:container_start(made.Id, name)
   if not ok then return nil, msg, code end
   return made.Id
end

local function wait_for(seconds, fn)
   local deadline = core.monotonic() + seconds
   repeat
      local v = fn()
      if v then return v end
      core.sleep(0.1)
   until core.monotonic() > deadline
   return nil
end

-- The probe proper; resources are removed by the caller.  With `control`
-- (the specs' positive control) the network is an ordinary one and the
-- listener's client sends straight to it from the host's namespace, so both
-- findings must come out as leaks.
local function probe(c, image, slug, control)
   local net = "claude-bottle-dns-probe-" .. slug:match("%x+$")
   -- made as a bottle's internal network is (networks.lua): no host address on it
   local ok, msg, code = c:network_create(net, { Driver = "bridge", Internal = not control,
      Options = not control and { ["com.docker.network.bridge.inhibit_ipv4"] = "true" } or nil,
      Labels = labels(slug, P.ROLE_NETWORK) })
   if not ok then return nil, msg, code end

   -- 127.0.0.0/8 is the host's loopback: a fresh address there, away from
   -- 127.0.0.x where local resolvers live.
   local b = core.random_hex(3)
   local addr = ("127.%d.%d.%d"):format(tonumber(b:sub(1, 2), 16) % 254 + 1, tonumber(b:sub(3, 4), 16),
                                         tonumber(b:sub(5, 6), 16) % 254 + 1)
   local listener
   listener, msg, code = run_container(c, net .. "-listener", {
      Image = image, User = "0", Entrypoint = { "perl", "-e", LISTENER, addr },
      Labels = labels(slug, P.ROLE_LISTENER),
      HostConfig = { NetworkMode = "host", CapDrop = { "ALL" }, CapAdd = { "NET_BIND_SERVICE" } },
   })
   if not listener then return nil, msg, code end
   local said = wait_for(10, function()
      local t = log_text(c, listener)
      return (t:find("ready", 1, true) or t:find("bind failed", 1, true)) and t
   end)
   local listening = said and said:find("ready", 1, true) ~= nil

   local tag = core.random_hex(8)
   local names = { listener = "l" .. tag .. ".claude-bottle-probe.invalid",
                   engine = "e" .. tag .. ".claude-bottle-probe.invalid" }
   local clients = {}
   for _, which in ipairs { listening and "listener" or nil, "engine" } do
      local id
      local direct = control and which == "listener"
      id, msg, code = run_container(c, net .. "-client-" .. which, {
         Image = image, Entrypoint = { "perl", "-e", QUERY, direct and addr or "127.0.0.11", names[which] },
         Labels = labels(slug, P.ROLE_CLIENT),
         HostConfig = { NetworkMode = direct and "host" or net, Dns = which == "listener" and { addr } or nil },
      })
      if not id then return nil, msg, code end
      clients[which] = id
   end
   local answers = {}
   for which, id in pairs(clients) do
      local status
      status, msg, code = c:container_wait(id, 30000)
      if status == nil then return nil, msg, code end
      local text = log_text(c, id)
      local rcode, ra = text:match("rcode (%d+) ra (%d)")
      answers[which] = { rcode = tonumber(rcode), ra = ra == "1" }
   end

   local heard = listening and log_text(c, listener) or ""
   local r = {
      listener = not listening and "not run" or heard:find(names.listener:match("^[^.]+"), 1, true) and "reached"
         or "not reached",
      listener_reason = not listening and (said and said:match("bind failed: ([^\n]*)") or "the listener did not start") or nil,
      engine = answers.engine,
   }
   r.forwarded = P.answered_from_upstream(answers.engine)
   r.leaks = r.listener == "reached" or r.forwarded
   return r
end

--- P.run(c, image [, opts]) → result | nil, message, code.
-- image: one with perl (the agent image).  opts.control: see probe().
-- result = {leaks = bool, listener = "reached" | "not reached" | "not run",
-- listener_reason, engine = {rcode, ra}, forwarded = bool, detail = text}.
-- Whatever it made is removed before it returns.
function P.run(c, image, opts)
   if type(image) ~= "string" or image == "" then error("dns_probe.run: image must be a non-empty string", 2) end
   local slug = "dns-probe-" .. core.random_hex(3)
   local done, r, msg, code = pcall(probe, c, image, slug, opts and opts.control)
   local found = resources.find(c, slug)
   local removed, rerr = true, nil
   if found then removed, rerr = resources.remove(c, found) end
   if not done then return nil, "the DNS probe failed: " .. tostring(r), "probe" end
   if not r then return nil, msg, code end
   if not removed then return nil, "the DNS probe could not remove what it made: " .. tostring(rerr), "engine" end
   r.detail = P.describe(r)
   return r
end

--- P.describe(result) → one line for doctor.  Fixed words only.
function P.describe(r)
   local parts = {}
   if r.listener == "reached" then
      parts[#parts + 1] = "a query reached a resolver on the host's loopback (the CVE's case)"
   elseif r.listener == "not reached" then
      parts[#parts + 1] = "a query for a resolver on the host's loopback did not reach it"
   else
      parts[#parts + 1] = "the loopback listener could not run, so that case is untested"
   end
   local e = r.engine or {}
   if e.rcode == nil then
      -- a fixed engine answers REFUSED at once; silence is a forward that
      -- found no route from the network
      parts[#parts + 1] = "with the engine's own DNS settings nothing came back from outside, and the resolver did"
         .. " not refuse as a fixed engine does: with the host's resolver on a loopback address the query would likely leave"
   elseif e.rcode == P.REFUSED and not e.ra then
      parts[#parts + 1] = "the engine's resolver refused to forward (the fixed behaviour)"
   elseif e.rcode == P.SERVFAIL then
      parts[#parts + 1] = "the engine's resolver could not forward (SERVFAIL)"
   else
      parts[#parts + 1] = ("a query got an answer from upstream (rcode %d): it left the network")
         :format(math.tointeger(e.rcode) or 0)
   end
   return table.concat(parts, "; ")
end

return P
