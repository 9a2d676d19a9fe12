/* Private header shared by the C files of bottle.core.
 *
 * Each file owns one concern and exposes one `bc_<area>_open` function that
 * adds its functions to the module table on top of the stack.  Only
 * luaopen_bottle_core is exported from the shared object: everything declared
 * here is hidden, also under a LuaRocks `builtin` build, which has no
 * per-module CFLAGS (hence the pragma rather than -fvisibility alone). */
#ifndef BOTTLE_CORE_H
#define BOTTLE_CORE_H

#include <stddef.h>
#include <lua.h>
#include <lauxlib.h>

#include "util.h"

#pragma GCC visibility push(hidden)

#define BOTTLE_CORE_VERSION "0.1.0"

/* The module's functions that other C files call: C calls them directly
 * (lua_pushcfunction + lua_call), never through the module table, which
 * Lua code may change. */
int bc_allowlist (lua_State *L);       /* core.allowlist (allowlist.c) */
int bc_pipelock_check (lua_State *L);  /* core.pipelock_check (pipelock_check.c) */
int bc_yaml_encode (lua_State *L);     /* core.yaml_encode (yaml_encode.c) */

/* ---- allowlist.c ---------------------------------------------------- */

/* Longest host name we accept (RFC 1035 presentation form, no trailing dot). */
#define BC_HOST_MAX 253

/* Normalise and validate one host pattern as pipelock 2.3.0 would need it
 * (trim, lowercase, drop one trailing dot; labels [a-z0-9-]{1,63}; a
 * wildcard only as a leading "*." over two or more labels that are not a
 * public suffix; IPv4 dotted quads).  On success writes the normal form to
 * `out` (at least BC_HOST_MAX + 1 bytes), sets *outlen and returns NULL.  On
 * failure returns a static message saying what is wrong and how to fix it. */
const char *bc_host_normalize (const char *in, size_t len, char *out, size_t *outlen);

/* Registry key of a weak-keyed table: list -> snapshot, for every list that
 * core.allowlist returned.  The snapshot holds the same strings, so while
 * the list still equals its snapshot element by element (rawequal), every
 * entry is a host that passed bc_host_normalize and pipelock_check need not
 * normalise 100,000 hosts a second time.  Holding the strings keeps them
 * alive, so an equal pointer can never be a new string at an old address. */
#define BC_VALIDATED_LISTS "bottle.core.validated_lists"

/* The embedded defaults (NULL-terminated). */
extern const char *const bc_default_allowlist[];
extern const char *const bc_default_passthrough[];

void bc_allowlist_open (lua_State *L);

/* ---- pipelock.c / pipelock_check.c / re2_syntax.c -------------------- */
/* NULL when Go's regexp would compile the pattern (a conservative subset
 * of RE2 is accepted); else a static reason ("uses lookaround ..."). */
const char *bc_re2_check (const char *s, size_t n);
void bc_pipelock_open (lua_State *L);
void bc_pipelock_check_open (lua_State *L);

/* Sets what pipelock inspects (pipelock_inspection.c): 0, or 3 after
 * pushing nil, message, code. */
int bc_pipelock_inspection (lua_State *L, int egress, int cfg);
/* Names and regexes of dlp.patterns and response_scanning.patterns
 * (pipelock_patterns.c): 0, or 3 after pushing nil, message, code. */
int bc_pipelock_check_patterns (lua_State *L, int cfg);

/* ---- yaml_scalar.c (the rest of YAML: yaml_internal.h) --------------- */
/* 1 when s[0..len) is valid UTF-8 (what the YAML encoder can write). */
int bc_utf8_valid (const char *s, size_t len);

/* ---- http.c ---------------------------------------------------------- */
void bc_http_open (lua_State *L);
/* core.http_upgrade (upgrade.c): a hijacked connection kept as a byte stream. */
void bc_upgrade_open (lua_State *L);

/* ---- sys.c: the few POSIX calls the launcher needs ------------------- */
void bc_sys_open (lua_State *L);

/* Nonzero once SIGINT or SIGTERM arrived after core.signals(); http.c's
 * progress callback reads it to abort a transfer. */
int bc_signal_pending (void);

/* ---- file_read.c: files the launcher does not control ---------------- */
void bc_file_read_open (lua_State *L);

/* ---- run.c: a program run to its end, its output captured ----------- */
void bc_run_open (lua_State *L);

/* ---- limits.c and child.c: kernel limits, untrusted child processes --- */
#include <sys/resource.h>

/* Kernel limits for a child (0 = not set); `set` once opts.limits was
 * given, which also closes every inherited descriptor above stdio. */
typedef struct {
   int set;
   rlim_t cpu, memory, files;
} bc_limits;

/* Reads opts.limits ({cpu = s, memory = bytes, files = n}) at `idx`; raises on misuse. */
void bc_limits_read (lua_State *L, int idx, bc_limits *lim);
/* core.spawn's and core.child's (argv, opts): checks them, reads
 * opts.limits, leaves argv as a NULL-terminated array at index 3. */
const char **bc_spawn_args (lua_State *L, bc_limits *lim);
/* A child's whole environment from the table {NAME = value} at `idx` (or
 * nil: an empty one): a NULL-terminated array in a userdata pushed on the
 * stack, its strings anchored in a table pushed after it; raises on a name
 * that is empty or holds '=' or NUL. */
char **bc_env_list (lua_State *L, int idx);
/* In the forked child: closes descriptors >= keep, sets the limits (no core
 * dump).  Async-signal-safe; 0 or -1 with errno. */
int bc_limits_apply (const bc_limits *lim, int keep);
void bc_child_open (lua_State *L);

#pragma GCC visibility pop

#endif
