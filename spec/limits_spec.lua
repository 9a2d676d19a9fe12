-- Resource limits: sizes, defaults, the preflight's text, and what the docker
-- backend puts into every container's HostConfig.
local limits = require "bottle.limits"
local docker_limits = require "bottle.backend.docker.limits"

describe("bottle.limits", function()
   it("reads sizes with units and refuses what is not one", function()
      assert.are.equal(8 * 1024 ^ 3, limits.parse_size("8g"))
      assert.are.equal(512 * 1024 ^ 2, limits.parse_size("512MiB"))
      assert.are.equal(1536 * 1024 ^ 2, limits.parse_size("1.5G"))
      assert.are.equal(4096, limits.parse_size(4096))
      for _, bad in ipairs { "lots", "-1g", "", "4 x", "0", {} } do
         assert.is_nil((limits.parse_size(bad)), tostring(bad))
      end
   end)

   it("takes the manifest's values over the defaults, and says which it took", function()
      local r = limits.for_plan { memory = 2 * 1024 ^ 3, pids = 300 }
      assert.are.equal(2 * 1024 ^ 3, r.agent.memory)
      assert.are.equal(300, r.agent.pids)
      assert.are.equal(limits.AGENT.cpus, r.agent.cpus)
      assert.are.same({ memory = true, pids = true }, r.agent.set)
      assert.are.equal(limits.SIDECARS.pipelock.pids, r.pipelock.pids)
      assert.are.equal("memory 2 GiB, cpus 2, pids 300, disk not limited", limits.text(r.agent))
   end)

   it("gives every container no capability, no new privileges, no IPv6, no forwarding, and its limits", function()
      local plan = { resources = limits.for_plan { cpus = 4 } }
      local hc = docker_limits.host_config({ plan = plan, docker = { ncpu = 2 } }, "agent", { NetworkMode = "x" })
      assert.are.same({ "ALL" }, hc.CapDrop)
      assert.is_nil(hc.CapAdd)
      assert.are.same({ "no-new-privileges" }, hc.SecurityOpt)
      assert.are.equal("1", hc.Sysctls["net.ipv6.conf.all.disable_ipv6"])
      assert.are.equal("0", hc.Sysctls["net.ipv4.ip_forward"])
      assert.are.equal(limits.AGENT.memory, hc.Memory)
      assert.are.equal(hc.Memory, hc.MemorySwap)
      assert.are.equal(limits.AGENT.pids, hc.PidsLimit)
      assert.are.equal(2e9, hc.NanoCpus)       -- kept to the engine's CPUs
      assert.are.equal("x", hc.NetworkMode)
      local side = docker_limits.host_config({ plan = plan }, "pipelock", {})
      assert.are.equal(limits.SIDECARS.pipelock.memory, side.Memory)
      assert.are.same({ "ALL" }, side.CapDrop)
   end)

   it("knows which storage drivers can cap a container's disk", function()
      assert.is_true(docker_limits.disk_limit_supported { Driver = "overlay2", DriverStatus = { { "Backing Filesystem", "xfs" } } })
      assert.is_false(docker_limits.disk_limit_supported { Driver = "overlay2", DriverStatus = { { "Backing Filesystem", "extfs" } } })
      assert.is_false(docker_limits.disk_limit_supported { Driver = "fuse-overlayfs" })
      assert.is_true(docker_limits.disk_limit_supported { Driver = "btrfs" })
   end)
end)
