/* Private header of core.pipelock_check: pipelock_check.c walks a config
 * against pipelock 2.3.0's schema (keys and types), pipelock_rules.c holds
 * the rules on one value beyond its type (enums, hosts, CIDRs, paths,
 * listeners, regexes, durations, minimums), pipelock_invariants.c what the
 * launcher needs across keys. */
#ifndef BOTTLE_PIPELOCK_CHECK_INTERNAL_H
#define BOTTLE_PIPELOCK_CHECK_INTERNAL_H

#include <stddef.h>
#include <lua.h>

#pragma GCC visibility push(hidden)

/* Where the sidecar listens: what pipelock.c writes, and what the check
 * requires (the agent and the health check reach it there). */
#define BC_SIDECAR_LISTEN "0.0.0.0:8888"
#define BC_SIDECAR_PORT "8888"

/* What to check on a string (see bc_pc_string_rule). */
typedef enum { R_NONE, R_DLP_ACTION, R_ENUM, R_HOST, R_CIDR, R_ABSOLUTE, R_LISTEN, R_REGEX,
               R_DURATION } rule_kind;
typedef struct { rule_kind kind; int index; } string_rule;

/* The walk's state: where it is, and the first problem found. */
typedef struct {
   lua_State *L;
   char spath[512];      /* schema path: agents{}.listeners[] */
   char dpath[1024];     /* display path: agents.claude.listeners[2] */
   char msg[1400];
   char rule_path[512];  /* the schema path `rule` was looked up for */
   string_rule rule;
} walker;

/* Writes "display.path: problem" into w->msg; returns -1. */
int bc_pc_fail (walker *w, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Printable quoting for values quoted in messages (config values are never
 * secrets the launcher put there, but a policy could put anything). */
void bc_pc_quote (char *out, size_t cap, const char *s, size_t n);

/* What to check on a string at the schema path `spath` (pipelock_rules.c). */
string_rule bc_pc_string_rule (const char *spath);

/* The rules on a string or an integer at w->spath (pipelock_rules.c):
 * 0, or -1 with w->msg set. */
int bc_pc_check_string_rules (walker *w, const char *s, size_t n);
int bc_pc_check_int_rules (walker *w, lua_Integer v);

/* The launcher's invariants across keys (pipelock_invariants.c): 0, or -1
 * with w->msg set. */
int bc_pc_invariants (walker *w, int cfg);

#pragma GCC visibility pop

#endif
