rockspec_format = "3.0"
package = "claude-bottle"
version = "scm-1"

source = {
   url = "git+https://example.invalid/claude-bottle.git",
   branch = "main",
}

description = {
   summary = "Run coding agents in containers whose only way out is a pipelock egress proxy",
   detailed = [[
Each agent runs in its own bottle: a container on an internal network whose
only route out is its own pipelock sidecar (hostname allowlist, DLP on
request bodies, TLS interception with a CA made for that launch).  One
manifest per bottle, launch policies scripted in Lua, a preflight that shows
exactly what will run, and teardown of everything when the session ends.
]],
   license = "MIT",
   labels = { "security", "containers", "docker", "agents" },
}

dependencies = {
   "lua >= 5.4, < 5.5",
   -- lua-cjson and argparse: Debian's lua-cjson and lua-argparse on our
   -- machines (make deps); from LuaRocks elsewhere.
   "lua-cjson",
   "argparse",
}

test_dependencies = { "busted" }
test = { type = "busted" }

-- curl's header sits in a multiarch directory on Debian, where LuaRocks
-- does not look for headers: find libcurl by its library instead.
external_dependencies = {
   YAML = { header = "yaml.h", library = "yaml" },
   CURL = { library = "curl" },
}

build = {
   type = "builtin",
   modules = {
      ["bottle.core"] = {
         sources = { "csrc/util.c", "csrc/core.c", "csrc/allowlist.c", "csrc/pipelock.c", "csrc/pipelock_check.c",
                     "csrc/pipelock_rules.c", "csrc/pipelock_invariants.c",
                     "csrc/pipelock_inspection.c", "csrc/pipelock_patterns.c",
                     "csrc/yaml_scalar.c", "csrc/yaml_decode.c",
                     "csrc/yaml_encode.c", "csrc/http.c", "csrc/upgrade.c", "csrc/sys.c", "csrc/child.c", "csrc/limits.c",
                     "csrc/re2_syntax.c", "csrc/file_read.c", "csrc/run.c" },
         libraries = { "yaml", "curl" },
         incdirs = { "csrc", "$(YAML_INCDIR)", "$(CURL_INCDIR)" },
         libdirs = { "$(YAML_LIBDIR)", "$(CURL_LIBDIR)" },
      },
      ["bottle.base64"] = "lua/bottle/base64.lua",
      ["bottle.cli"] = "lua/bottle/cli.lua",
      ["bottle.egress_view"] = "lua/bottle/egress_view.lua",
      ["bottle.egress_change"] = "lua/bottle/egress_change.lua",
      ["bottle.same"] = "lua/bottle/same.lua",
      ["bottle.sha256"] = "lua/bottle/sha256.lua",
      ["bottle.env"] = "lua/bottle/env.lua",
      ["bottle.gitgate"] = "lua/bottle/gitgate.lua",
      ["bottle.inspection"] = "lua/bottle/inspection.lua",
      ["bottle.launch"] = "lua/bottle/launch.lua",
      ["bottle.manifest"] = "lua/bottle/manifest/init.lua",
      ["bottle.manifest.agent"] = "lua/bottle/manifest/agent.lua",
      ["bottle.manifest.bottle"] = "lua/bottle/manifest/bottle.lua",
      ["bottle.manifest.check"] = "lua/bottle/manifest/check.lua",
      ["bottle.manifest.git"] = "lua/bottle/manifest/git.lua",
      ["bottle.plan"] = "lua/bottle/plan.lua",
      ["bottle.policy"] = "lua/bottle/policy/init.lua",
      ["bottle.policy.bottle"] = "lua/bottle/policy/bottle.lua",
      ["bottle.policy.data"] = "lua/bottle/policy/data.lua",
      ["bottle.policy.diff"] = "lua/bottle/policy/diff.lua",
      ["bottle.policy.load"] = "lua/bottle/policy/load.lua",
      ["bottle.policy.process"] = "lua/bottle/policy/process.lua",
      ["bottle.policy.settings"] = "lua/bottle/policy/settings.lua",
      ["bottle.policy_child"] = "lua/bottle/policy_child.lua",
      ["bottle.preflight"] = "lua/bottle/preflight.lua",
      ["bottle.progress"] = "lua/bottle/progress.lua",
      ["bottle.sanitize"] = "lua/bottle/sanitize.lua",
      ["bottle.schema"] = "lua/bottle/schema/init.lua",
      ["bottle.schema.git"] = "lua/bottle/schema/git.lua",
      ["bottle.tar"] = "lua/bottle/tar.lua",
      ["bottle.config"] = "lua/bottle/config.lua",
      ["bottle.digests"] = "lua/bottle/digests.lua",
      ["bottle.image_fetch"] = "lua/bottle/image_fetch.lua",
      ["bottle.images"] = "lua/bottle/images.lua",
      ["bottle.pull_progress"] = "lua/bottle/pull_progress.lua",
      ["bottle.subnets"] = "lua/bottle/subnets.lua",
      ["bottle.firewall"] = "lua/bottle/firewall.lua",
      ["bottle.shipped"] = "lua/bottle/shipped.lua",
      ["bottle.limits"] = "lua/bottle/limits.lua",
      ["bottle.teardown"] = "lua/bottle/teardown.lua",
      ["bottle.workspace"] = "lua/bottle/workspace/init.lua",
      ["bottle.workspace.git"] = "lua/bottle/workspace/git.lua",
      ["bottle.workspace.pack"] = "lua/bottle/workspace/pack.lua",
      ["bottle.workspace.select"] = "lua/bottle/workspace/select.lua",
      ["bottle.workspace.sync"] = "lua/bottle/workspace/sync.lua",
      ["bottle.backend"] = "lua/bottle/backend/init.lua",
      ["bottle.backend.docker"] = "lua/bottle/backend/docker/init.lua",
      ["bottle.cred_proxy"] = "lua/bottle/cred_proxy.lua",
      ["bottle.manifest.credentials"] = "lua/bottle/manifest/credentials.lua",
      ["bottle.backend.docker.cred_proxy"] = "lua/bottle/backend/docker/cred_proxy.lua",
      ["bottle.backend.docker.agent"] = "lua/bottle/backend/docker/agent.lua",
      ["bottle.backend.docker.api"] = "lua/bottle/backend/docker/api.lua",
      ["bottle.backend.docker.bottle_state"] = "lua/bottle/backend/docker/bottle_state.lua",
      ["bottle.backend.docker.ca"] = "lua/bottle/backend/docker/ca.lua",
      ["bottle.backend.docker.copy"] = "lua/bottle/backend/docker/copy.lua",
      ["bottle.backend.docker.dns_probe"] = "lua/bottle/backend/docker/dns_probe.lua",
      ["bottle.backend.docker.env_file"] = "lua/bottle/backend/docker/env_file.lua",
      ["bottle.backend.docker.egress_live"] = "lua/bottle/backend/docker/egress_live.lua",
      ["bottle.backend.docker.firewall"] = "lua/bottle/backend/docker/firewall.lua",
      ["bottle.backend.docker.limits"] = "lua/bottle/backend/docker/limits.lua",
      ["bottle.backend.docker.images"] = "lua/bottle/backend/docker/images.lua",
      ["bottle.backend.docker.git_gate"] = "lua/bottle/backend/docker/git_gate.lua",
      ["bottle.backend.docker.networks"] = "lua/bottle/backend/docker/networks.lua",
      ["bottle.backend.docker.patience"] = "lua/bottle/backend/docker/patience.lua",
      ["bottle.backend.docker.pipelock"] = "lua/bottle/backend/docker/pipelock.lua",
      ["bottle.backend.docker.provision"] = "lua/bottle/backend/docker/provision.lua",
      ["bottle.backend.docker.resources"] = "lua/bottle/backend/docker/resources.lua",
      ["bottle.backend.docker.stream"] = "lua/bottle/backend/docker/stream.lua",
      ["bottle.backend.kubernetes"] = "lua/bottle/backend/kubernetes/init.lua",
      ["bottle.backend.kubernetes.access"] = "lua/bottle/backend/kubernetes/access.lua",
      ["bottle.backend.kubernetes.ca"] = "lua/bottle/backend/kubernetes/ca.lua",
      ["bottle.backend.kubernetes.client"] = "lua/bottle/backend/kubernetes/client.lua",
      ["bottle.backend.kubernetes.cred_proxy"] = "lua/bottle/backend/kubernetes/cred_proxy.lua",
      ["bottle.backend.kubernetes.doctor"] = "lua/bottle/backend/kubernetes/doctor.lua",
      ["bottle.backend.kubernetes.git_gate"] = "lua/bottle/backend/kubernetes/git_gate.lua",
      ["bottle.backend.kubernetes.inventory"] = "lua/bottle/backend/kubernetes/inventory.lua",
      ["bottle.backend.kubernetes.kubeconfig"] = "lua/bottle/backend/kubernetes/kubeconfig.lua",
      ["bottle.backend.kubernetes.objects"] = "lua/bottle/backend/kubernetes/objects.lua",
      ["bottle.backend.kubernetes.pods"] = "lua/bottle/backend/kubernetes/pods.lua",
      ["bottle.backend.kubernetes.skills"] = "lua/bottle/backend/kubernetes/skills.lua",
   },
   install = {
      bin = { ["bottle"] = "bin/bottle" },
      -- shell scripts read beside their modules (bottle.shipped): each lands
      -- in the directory named after its module, under its own file name
      lua = {
         ["bottle.firewall.apply"] = "lua/bottle/firewall/apply.sh",
         ["bottle.cred_proxy.entrypoint"] = "lua/bottle/cred_proxy/entrypoint.sh",
         ["bottle.gitgate.access-hook"] = "lua/bottle/gitgate/access-hook.sh",
         ["bottle.gitgate.pre-receive"] = "lua/bottle/gitgate/pre-receive.sh",
      },
   },
   copy_directories = { "docs", "examples" },
}
