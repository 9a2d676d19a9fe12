/* core.pipelock_check(cfg): any config table against pipelock 2.3.0.
 *
 * Runs on every config before it is written, including those a user's
 * policy script changed.  It refuses what pipelock would refuse (unknown
 * keys, wrong types, bad enums, bad CIDRs), what pipelock would accept but
 * silently get wrong (hosts it never matches, relative CA paths), and
 * anything that would undo the bottle: a mode other than strict, enforce
 * off, the forward proxy off, the listener moved, SSRF protection opened
 * wholesale.  Every comparison is length-aware: a NUL byte anywhere in a
 * key or a string is refused (C string functions would stop at it and
 * compare "strict\0audit" equal to "strict").  Values are read with raw
 * access only, as the YAML encoder reads them.  Errors read
 * "path.to.key: problem". */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "pipelock_check_internal.h"

typedef enum {
   BC_K_BOOL, BC_K_INT, BC_K_UINT, BC_K_FLOAT, BC_K_STRING,
   BC_K_LIST, BC_K_MAP, BC_K_STRUCT, BC_K_ANY
} bc_kind;

typedef struct {
   const char *path;
   bc_kind kind;
} bc_schema_entry;

#include "pipelock_schema.h"

#define NSCHEMA (sizeof pipelock_schema / sizeof pipelock_schema[0])

static int
cmp_entry (const void *key, const void *e)
{
   return strcmp ((const char *) key, ((const bc_schema_entry *) e)->path);
}

static const bc_schema_entry *
schema_find (const char *path)
{
   return bsearch (path, pipelock_schema, NSCHEMA, sizeof pipelock_schema[0], cmp_entry);
}

/* Entries of these lists need both fields (pipelock: "DLP pattern missing name"). */
static const struct { const char *path; const char *fields[3]; } required_fields[] = {
   { "dlp.patterns[]", { "name", "regex", NULL } },
   { "response_scanning.patterns[]", { "name", "regex", NULL } },
   { NULL, { NULL } }
};

/* The top-level sections a bottle's config may hold: the ones the
 * launcher writes and the ones a policy may tune.  pipelock 2.3.0 checks
 * every other section with rules of its own (taint, rules, media_policy,
 * scan_api, mcp_*...) that this check does not model, so a config that
 * holds one is refused rather than passed on to fail in the sidecar.
 * scripts/pipelock_differential.lua runs the real pipelock over random
 * configs to keep this true. */
static const char *const allowed_sections[] = {
   "api_allowlist", "dlp", "enforce", "explain_blocks", "fetch_proxy", "forward_proxy", "internal",
   "logging", "metrics_listen", "mode", "request_body_scanning", "response_scanning",
   "seed_phrase_detection", "sentry", "ssrf", "tls_interception", "trusted_domains", "version",
   "websocket_proxy", NULL
};

/* Keys refused outright, with the reason. */
static const struct { const char *path; const char *why; } refused_keys[] = {
   { "dlp.patterns[].action",
     "is not accepted here: pipelock 2.3.0 refuses it on any of its 48 built-in pattern names, "
     "which this check cannot tell apart; request_body_scanning.action sets what a match does" },
   { "dlp.secrets_file",
     "is not accepted here: the launcher puts no secrets file in the sidecar, and pipelock refuses "
     "to start without it; describe the secrets with dlp.patterns" },
   { NULL, NULL }
};

/* ---- the walk ---------------------------------------------------------- */

int
bc_pc_fail (walker *w, const char *fmt, ...)
{
   va_list ap;
   int n = snprintf (w->msg, sizeof w->msg, "%s: ", w->dpath[0] ? w->dpath : "(config)");
   va_start (ap, fmt);
   vsnprintf (w->msg + n, sizeof w->msg - (size_t) n, fmt, ap);
   va_end (ap);
   return -1;
}

static const char *
kind_name (bc_kind k)
{
   switch (k) {
   case BC_K_BOOL: return "a boolean (true or false)";
   case BC_K_INT: return "an integer";
   case BC_K_UINT: return "a non-negative integer";
   case BC_K_FLOAT: return "a number";
   case BC_K_STRING: return "a string";
   case BC_K_LIST: return "a list";
   case BC_K_MAP: return "a mapping";
   case BC_K_STRUCT: return "a mapping";
   default: return "a value";
   }
}

void
bc_pc_quote (char *out, size_t cap, const char *s, size_t n)
{
   size_t o = 0, i;
   if (cap < 8)
      return;
   out[o++] = '"';
   for (i = 0; i < n && o + 6 < cap; i++) {
      unsigned char c = (unsigned char) s[i];
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
         out[o++] = (char) c;
      else
         o += (size_t) snprintf (out + o, cap - o, "\\x%02x", c);
   }
   if (i < n && o + 4 < cap) {
      memcpy (out + o, "...", 3);
      o += 3;
   }
   out[o++] = '"';
   out[o] = '\0';
}

static int check_value (walker *w, int idx, bc_kind kind);

/* Appends to both paths; returns the previous lengths for restoring. */
static int
push_path (walker *w, const char *spart, const char *dpart, int sep, size_t *sl, size_t *dl)
{
   size_t s = strlen (w->spath), d = strlen (w->dpath);
   int a, b;
   *sl = s;
   *dl = d;
   a = snprintf (w->spath + s, sizeof w->spath - s, "%s%s", (sep && s) ? "." : "", spart);
   b = snprintf (w->dpath + d, sizeof w->dpath - d, "%s%s", (sep && d) ? "." : "", dpart);
   if (a < 0 || (size_t) a >= sizeof w->spath - s || b < 0 || (size_t) b >= sizeof w->dpath - d)
      return bc_pc_fail (w, "nesting too deep");
   return 0;
}

static void
pop_path (walker *w, size_t sl, size_t dl)
{
   w->spath[sl] = '\0';
   w->dpath[dl] = '\0';
}

static int
cmp_cstr (const void *a, const void *b)
{
   return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* A mapping: a struct (keys from the schema) or a map (any string keys). */
static int
check_mapping (walker *w, int idx, bc_kind kind)
{
   lua_State *L = w->L;
   const char **keys;
   size_t n = 0, cap = 0, i;
   int rc = 0, j;

   luaL_checkstack (L, 8, "pipelock_check");
   /* Collect the keys (anchored in the table) and visit them in order so
    * that the first error reported does not depend on hash order. */
   lua_pushnil (L);
   while (lua_next (L, idx)) {
      lua_pop (L, 1);
      if (lua_type (L, -1) != LUA_TSTRING) {
         lua_pop (L, 1);
         return bc_pc_fail (w, "has a key that is not a string (%s)", luaL_typename (L, -1));
      }
      cap++;
   }
   keys = lua_newuserdatauv (L, (cap ? cap : 1) * sizeof *keys, 0);
   lua_pushnil (L);
   while (lua_next (L, idx)) {
      size_t kl;
      lua_pop (L, 1);
      keys[n] = lua_tolstring (L, -1, &kl);
      if (strlen (keys[n]) != kl) {
         char q[96];
         bc_pc_quote (q, sizeof q, keys[n], kl);
         lua_pop (L, 2);
         return bc_pc_fail (w, "has a key with a NUL byte (%s)", q);
      }
      n++;
   }
   qsort (keys, n, sizeof *keys, cmp_cstr);

   for (i = 0; i < n && rc == 0; i++) {
      size_t sl, dl;
      const bc_schema_entry *e;
      if (kind == BC_K_STRUCT) {
         if (push_path (w, keys[i], keys[i], 1, &sl, &dl))
            return -1;
         e = schema_find (w->spath);
         if (!e) {
            rc = bc_pc_fail (w, "unknown key (pipelock 2.3.0 refuses keys it does not know)");
            break;
         }
         if (sl == 0) {
            int known = 0;
            for (j = 0; allowed_sections[j] && !known; j++)
               known = strcmp (allowed_sections[j], keys[i]) == 0;
            if (!known && strcmp (keys[i], "agents") != 0)
               return bc_pc_fail (w, "is a pipelock section a bottle's config may not hold: pipelock checks it "
                               "with rules of its own that the launcher does not check (the sections "
                               "allowed are those `render` writes, and internal, metrics_listen, "
                               "response_scanning, seed_phrase_detection, ssrf, trusted_domains)");
         }
         for (j = 0; refused_keys[j].path; j++)
            if (strcmp (refused_keys[j].path, w->spath) == 0)
               return bc_pc_fail (w, "%s", refused_keys[j].why);
      }
      else {
         /* a map's values: schema path "m{}", display path "m.key" */
         if (push_path (w, "{}", "", 0, &sl, &dl))
            return -1;
         snprintf (w->dpath + dl, sizeof w->dpath - dl, ".%s", keys[i]);
         e = schema_find (w->spath);
      }
      lua_pushstring (L, keys[i]);
      lua_rawget (L, idx);
      rc = e ? check_value (w, lua_gettop (L), e->kind) : bc_pc_fail (w, "not in the schema");
      lua_pop (L, 1);
      if (rc == 0)
         pop_path (w, sl, dl);
   }
   lua_pop (L, 1);                                        /* keys */
   if (rc == 0 && kind == BC_K_STRUCT)
      for (j = 0; required_fields[j].path; j++)
         if (strcmp (required_fields[j].path, w->spath) == 0) {
            int f;
            for (f = 0; required_fields[j].fields[f]; f++) {
               int ok;
               lua_pushstring (L, required_fields[j].fields[f]);
               ok = lua_rawget (L, idx) == LUA_TSTRING && lua_rawlen (L, -1) > 0;
               lua_pop (L, 1);
               if (!ok)
                  return bc_pc_fail (w, "needs a non-empty %s (pipelock refuses a pattern without one)",
                               required_fields[j].fields[f]);
            }
         }
   return rc;
}

/* Is the list at idx a list core.allowlist returned, still holding exactly
 * what it returned?  (See BC_VALIDATED_LISTS in core.h.) */
static int
unchanged_since_validated (lua_State *L, int idx, lua_Integer n)
{
   lua_Integer i;
   int same = 1;
   if (n == 0)
      return 0;      /* nothing to save, and lua_next cannot start after key 0 */
   if (lua_getfield (L, LUA_REGISTRYINDEX, BC_VALIDATED_LISTS) != LUA_TTABLE) {
      lua_pop (L, 1);
      return 0;
   }
   lua_pushvalue (L, idx);
   if (lua_rawget (L, -2) != LUA_TTABLE || (lua_Integer) lua_rawlen (L, -1) != n) {
      lua_pop (L, 2);
      return 0;
   }
   /* no key beyond 1..n either: a mapping key would change what is written */
   lua_pushinteger (L, n);
   if (lua_next (L, idx)) {
      lua_pop (L, 4);
      return 0;
   }
   for (i = 1; same && i <= n; i++) {
      lua_rawgeti (L, idx, i);
      lua_rawgeti (L, -2, i);
      same = lua_type (L, -1) == LUA_TSTRING && lua_rawequal (L, -1, -2);
      lua_pop (L, 2);
   }
   lua_pop (L, 2);
   return same;
}

/* "[i]" without snprintf: it runs once per entry of long lists. */
static void
put_index (char *dst, size_t cap, lua_Integer i)
{
   char digits[24];
   size_t n = 0, k = 0;
   unsigned long long v = (unsigned long long) i;
   do {
      digits[n++] = (char) ('0' + v % 10);
      v /= 10;
   } while (v && n < sizeof digits);
   if (cap < n + 3)
      return;
   dst[k++] = '[';
   while (n)
      dst[k++] = digits[--n];
   dst[k++] = ']';
   dst[k] = '\0';
}

/* One pass with lua_next: the array part comes in order 1..n, so the
 * first error reported is the first bad entry; a key outside 1..n (a
 * mapping, or a hole) is refused. */
static int
check_list (walker *w, int idx)
{
   lua_State *L = w->L;
   lua_Integer n = (lua_Integer) lua_rawlen (L, idx), count = 0;
   const bc_schema_entry *e;
   size_t sl, dl;

   if (push_path (w, "[]", "", 0, &sl, &dl))
      return -1;
   e = schema_find (w->spath);
   if (!e) {
      pop_path (w, sl, dl);
      return bc_pc_fail (w, "not in the schema");
   }
   if (e->kind == BC_K_STRING && bc_pc_string_rule (w->spath).kind == R_HOST
       && unchanged_since_validated (L, idx, n)) {
      pop_path (w, sl, dl);
      return 0;
   }
   lua_pushnil (L);
   while (lua_next (L, idx)) {
      lua_Integer i;
      int rc;
      if (!lua_isinteger (L, -2) || (i = lua_tointeger (L, -2)) < 1 || i > n) {
         lua_pop (L, 2);
         pop_path (w, sl, dl);
         return bc_pc_fail (w, "must be a list (a sequence 1..n), not a mapping");
      }
      put_index (w->dpath + dl, sizeof w->dpath - dl, i);
      rc = check_value (w, lua_gettop (L), e->kind);
      lua_pop (L, 1);
      if (rc) {
         lua_pop (L, 1);
         return rc;
      }
      count++;
   }
   pop_path (w, sl, dl);
   if (count != n)
      return bc_pc_fail (w, "must be a list without holes");
   return 0;
}

/* Does the table at idx carry core.array_mt (written as a YAML sequence)? */
static int
is_marked_list (lua_State *L, int idx)
{
   int marked;
   if (!lua_getmetatable (L, idx))
      return 0;
   bc_push_array_mt (L);
   marked = lua_rawequal (L, -1, -2);
   lua_pop (L, 2);
   return marked;
}

static int
check_value (walker *w, int idx, bc_kind kind)
{
   lua_State *L = w->L;
   int t = lua_type (L, idx);

   if (t == LUA_TLIGHTUSERDATA && lua_touserdata (L, idx) == NULL)
      return bc_pc_fail (w, "is null; remove the key to take pipelock's default");
   switch (kind) {
   case BC_K_BOOL:
      if (t != LUA_TBOOLEAN)
         return bc_pc_fail (w, "must be %s, not %s", kind_name (kind), luaL_typename (L, idx));
      return 0;
   case BC_K_INT:
   case BC_K_UINT:
      if (!lua_isinteger (L, idx))
         return bc_pc_fail (w, "must be %s, not %s", kind_name (kind),
                      t == LUA_TNUMBER ? "a fraction" : luaL_typename (L, idx));
      /* every count, size and duration in pipelock is >= 0; it refuses
       * some negative ones and misreads others */
      if (lua_tointeger (L, idx) < 0)
         return bc_pc_fail (w, "must not be negative");
      return bc_pc_check_int_rules (w, lua_tointeger (L, idx));
   case BC_K_FLOAT:
      if (t != LUA_TNUMBER)
         return bc_pc_fail (w, "must be %s, not %s", kind_name (kind), luaL_typename (L, idx));
      if (!isfinite ((double) lua_tonumber (L, idx)))
         return bc_pc_fail (w, "must be a finite number, not %s",
                      isnan ((double) lua_tonumber (L, idx)) ? "NaN" : "infinite");
      if (strcmp (w->spath, "sentry.sample_rate") == 0
          && (lua_tonumber (L, idx) < 0 || lua_tonumber (L, idx) > 1))
         return bc_pc_fail (w, "must be from 0 to 1");
      return 0;
   case BC_K_STRING:
      if (t != LUA_TSTRING)
         return bc_pc_fail (w, "must be %s, not %s", kind_name (kind), luaL_typename (L, idx));
      {
         size_t n;
         const char *s = lua_tolstring (L, idx, &n);
         return bc_pc_check_string_rules (w, s, n);
      }
   case BC_K_LIST:
      if (t != LUA_TTABLE)
         return bc_pc_fail (w, "must be %s, not %s", kind_name (kind), luaL_typename (L, idx));
      lua_pushnil (L);
      if (!lua_next (L, idx) && !is_marked_list (L, idx))
         return bc_pc_fail (w, "is an empty table that is not marked as a list (core.array_mt), "
                         "so it would be written as a mapping pipelock cannot read; write a list");
      lua_settop (L, idx);
      return check_list (w, idx);
   case BC_K_MAP:
   case BC_K_STRUCT:
      if (t != LUA_TTABLE)
         return bc_pc_fail (w, "must be %s, not %s", kind_name (kind), luaL_typename (L, idx));
      if (lua_rawlen (L, idx) > 0 || is_marked_list (L, idx))
         return bc_pc_fail (w, "must be a mapping, not a list");
      return check_mapping (w, idx, kind);
   default:
      return 0;
   }
}

/* core.pipelock_check(cfg) -> true | nil, "path: problem", "invalid_config" */
int
bc_pipelock_check (lua_State *L)
{
   walker *w;
   luaL_checktype (L, 1, LUA_TTABLE);
   lua_settop (L, 1);
   /* The walker is a userdata: no malloc'd memory to leak on a raised error. */
   w = lua_newuserdatauv (L, sizeof *w, 0);
   memset (w, 0, sizeof *w);
   w->L = L;
   luaL_checkstack (L, 64, "pipelock_check");
   if (lua_rawlen (L, 1) > 0) {
      lua_pushnil (L);
      lua_pushliteral (L, "(config): must be a mapping, not a list");
      lua_pushliteral (L, "invalid_config");
      return 3;
   }
   if (check_mapping (w, 1, BC_K_STRUCT) != 0 || bc_pc_invariants (w, 1) != 0) {
      lua_pushnil (L);
      lua_pushstring (L, w->msg);
      lua_pushliteral (L, "invalid_config");
      return 3;
   }
   if (bc_pipelock_check_patterns (L, 1) != 0)   /* pipelock_patterns.c */
      return 3;
   lua_pushboolean (L, 1);
   return 1;
}

void
bc_pipelock_check_open (lua_State *L)
{
   lua_pushcfunction (L, bc_pipelock_check);
   lua_setfield (L, -2, "pipelock_check");
}

