# Build, test and benchmark claude-bottle.  Every path is a variable; nothing
# here needs editing on a Debian machine (`make deps` installs what is missing).

LUA_VERSION ?= 5.4
LUA         ?= lua$(LUA_VERSION)
LUA_PC      ?= lua$(LUA_VERSION)
PKG_CONFIG  ?= pkg-config
BUSTED      ?= $(LUA) /usr/bin/busted

LUA_CFLAGS  ?= $(shell $(PKG_CONFIG) --cflags $(LUA_PC) 2>/dev/null || echo -I/usr/include/lua$(LUA_VERSION))
YAML_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags yaml-0.1)
YAML_LIBS   ?= $(shell $(PKG_CONFIG) --libs yaml-0.1)
CURL_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libcurl)
CURL_LIBS   ?= $(shell $(PKG_CONFIG) --libs libcurl)

CFLAGS  ?= -O2 -g
WARN    ?= -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -pedantic
ifdef CI
WARN    += -Werror
endif
LIBFLAG ?= -shared

SRCS = csrc/util.c csrc/core.c csrc/allowlist.c csrc/pipelock.c csrc/pipelock_check.c csrc/pipelock_rules.c \
       csrc/pipelock_invariants.c csrc/pipelock_inspection.c \
       csrc/pipelock_patterns.c \
       csrc/yaml_scalar.c csrc/yaml_decode.c csrc/yaml_encode.c csrc/http.c csrc/upgrade.c csrc/sys.c csrc/child.c csrc/limits.c \
       csrc/re2_syntax.c csrc/file_read.c csrc/run.c
HDRS = $(wildcard csrc/*.h)
CORE = build/bottle/core.so

PREFIX      ?= /usr/local
INST_LIBDIR ?= $(PREFIX)/lib/lua/$(LUA_VERSION)
INST_LUADIR ?= $(PREFIX)/share/lua/$(LUA_VERSION)
INST_BINDIR ?= $(PREFIX)/bin

# docker-registry: the image specs start its binary on 127.0.0.1 with their
# own storage; Debian's package also enables a registry service on :5000
# (`systemctl disable --now docker-registry` if it should not run).
DEB_PACKAGES = lua5.4 liblua5.4-dev libyaml-dev libcurl4-openssl-dev lua-busted \
               luarocks lua-cjson lua-argparse python3 python3-yaml pkg-config gcc make \
               debootstrap openssl git lua-check shellcheck nftables iproute2 docker-registry time

.PHONY: all setup images test-images test-kube test test-unit test-e2e lint memcheck bench bench-up bench-plan demo fuzz \
        fuzz-smoke deps deps-fuzz install uninstall clean print reliability-faults \
        reliability-restart reliability-load reliability-secrets reliability-containment \
        reliability-inputs reliability-egress

all: $(CORE)

$(CORE): $(SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fPIC -fvisibility=hidden \
	  $(LUA_CFLAGS) $(YAML_CFLAGS) $(CURL_CFLAGS) -Icsrc \
	  $(LIBFLAG) -o $@ $(SRCS) $(YAML_LIBS) $(CURL_LIBS)

# The README's first command: packages, the core, the images the tests use.
setup: deps all test-images test-kube

# Test images, built locally (no registry is needed) and cached by a hash of
# their inputs.  PIPELOCK_BIN=/path/to/pipelock packages a pipelock 2.3.0
# binary when the Go module proxy will not serve pipelock (see images/test).
test-images:
	bash images/test/build.sh
	@if [ -f images/test/git-gate.sh ]; then bash images/test/git-gate.sh; fi
	@if [ -f images/test/sshd-upstream.sh ]; then bash images/test/sshd-upstream.sh; fi
	bash images/test/firewall.sh
	bash images/test/cred-proxy.sh

# The Kubernetes backend's test control plane: kube-apiserver,
# kube-controller-manager and etcd built from their Go modules (the Go
# module proxy only), cached by version under ~/.cache/claude-bottle/kube.
test-kube:
	sh images/test/kube.sh

# The real agent image (needs the npm registry and a Node base image).
images:
	docker build -t claude-bottle:latest .
	docker build -t claude-bottle-git-gate:latest -f Dockerfile.git-gate .
	docker build -t claude-bottle-firewall:latest -f Dockerfile.firewall .
	docker build -t claude-bottle-cred-proxy:latest -f Dockerfile.cred-proxy .

# The README's test command.  Specs tagged `e2e` need a real dockerd and the
# locally built test images; they say so and are skipped when those are absent.
test: $(CORE)
	@status=0; $(BUSTED) --exclude-tags=e2e $(BUSTED_ARGS) || status=1; \
	  echo "# end-to-end specs (tag e2e)"; \
	  $(BUSTED) --tags=e2e $(BUSTED_ARGS) || status=1; \
	  exit $$status

test-unit: $(CORE)
	$(BUSTED) --exclude-tags=e2e $(BUSTED_ARGS)

test-e2e: $(CORE)
	$(BUSTED) --tags=e2e $(BUSTED_ARGS)

# luacheck (Debian's lua-check) over the Lua tree, shellcheck over the shell
# scripts; .luacheckrc says what is checked and how.
SHELL_SCRIPTS = $(sort $(wildcard images/test/*.sh images/*/*.sh lua/bottle/*/*.sh))
lint:
	luacheck --no-color -q .
	shellcheck -x $(SHELL_SCRIPTS)

# valgrind over the core specs (the ones that touch only bottle.core);
# #nofile specs set RLIMIT_NOFILE, which valgrind does not let its client do.
memcheck: $(CORE)
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	  --suppressions=spec/valgrind.supp \
	  $(LUA) /usr/bin/busted --tags=core --exclude-tags=e2e,nofile

bench: $(CORE)
	$(LUA) bench/core_bench.lua

bench-up: $(CORE)
	$(LUA) bench/up_bench.lua

# plan with 0 and 4 policies (each policy runs in its own process)
bench-plan: $(CORE)
	$(LUA) bench/plan_bench.lua

# A bottle brought up offline with the test images: one allowed request, one
# refused request and one refused credential leak, then teardown.
demo: $(CORE)
	$(LUA) scripts/demo.lua

# libFuzzer targets (clang; `make deps-fuzz` installs it): 10 minutes each,
# or 5 seconds each for the smoke CI runs.
fuzz:
	$(MAKE) -C fuzz run

fuzz-smoke:
	$(MAKE) -C fuzz smoke

deps-fuzz:
	@dpkg -s clang libclang-rt-14-dev >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev; }

# The long reliability measurements behind docs/reliability.md (real dockerd,
# real pipelock, the test images).  RELIABILITY_ARGS=... passes options.
reliability-faults: $(CORE)
	$(LUA) reliability/faults.lua $(RELIABILITY_ARGS)
reliability-restart: $(CORE)
	$(LUA) reliability/engine_restart.lua $(RELIABILITY_ARGS)
# BOTTLES=100 sets how many bottles come up at once (default 20)
reliability-load: $(CORE)
	$(LUA) reliability/load.lua $(if $(BOTTLES),--bottles $(BOTTLES)) $(RELIABILITY_ARGS)
reliability-secrets: $(CORE)
	$(LUA) reliability/secrets.lua $(RELIABILITY_ARGS)
reliability-containment: $(CORE)
	$(LUA) reliability/containment.lua $(RELIABILITY_ARGS)
# hostile policies and project files on plan; no engine needed
reliability-inputs: $(CORE)
	$(LUA) reliability/inputs.lua

# the corpus the defaults were chosen on, then its two hold-outs, each apart
reliability-egress: $(CORE)
	for set in corpus holdout holdout2; do \
	  $(LUA) reliability/egress.lua --corpus $$set $(RELIABILITY_ARGS) || exit 1; done

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "all Debian packages present"; fi

install: $(CORE)
	install -D -m755 $(CORE) $(DESTDIR)$(INST_LIBDIR)/bottle/core.so
	cd lua && find bottle \( -name '*.lua' -o -name '*.sh' \) -exec install -D -m644 {} $(DESTDIR)$(INST_LUADIR)/{} \;
	sed '1s|.*|#!/usr/bin/env $(LUA)|' bin/bottle > bottle.tmp && \
	  install -D -m755 bottle.tmp $(DESTDIR)$(INST_BINDIR)/bottle && rm -f bottle.tmp

uninstall:
	rm -rf $(DESTDIR)$(INST_LIBDIR)/bottle $(DESTDIR)$(INST_LUADIR)/bottle $(DESTDIR)$(INST_BINDIR)/bottle

clean:
	rm -rf build bottle/core.so

print:
	@echo LUA=$(LUA) LUA_CFLAGS=$(LUA_CFLAGS)
	@echo YAML_CFLAGS=$(YAML_CFLAGS) YAML_LIBS=$(YAML_LIBS)
	@echo CURL_CFLAGS=$(CURL_CFLAGS) CURL_LIBS=$(CURL_LIBS)
