/* Construction of the pipelock 2.3.0 config for one bottle.
 *
 * The config is the table `config` below, read like the YAML it becomes:
 * each key path, its value, and why the value is what it is (where it
 * differs from pipelock's default, because that default breaks a long agent
 * session; see pipelock-2.3.0.md §0.5).  Code adds what depends on the
 * bottle: the allowlist, the DLP action, TLS interception and what pipelock
 * inspects (pipelock_inspection.c). */
#include <string.h>

#include "core.h"

typedef enum { PL_BOOL, PL_INT, PL_STR, PL_ARG } pl_kind;

/* What a PL_ARG entry takes from the bottle or the caller. */
enum { ARG_DLP_ACTION, ARG_CA_CERT, ARG_CA_KEY, ARG_COUNT };

typedef struct {
   const char *path;     /* "a.b.c": cfg.a.b.c, the tables on the way made */
   pl_kind kind;
   lua_Integer i;        /* PL_BOOL, PL_INT; PL_ARG: an ARG_* index */
   const char *s;        /* PL_STR */
} pl_entry;

#define BOOL(path, v) { path, PL_BOOL, v, NULL }
#define INT(path, v)  { path, PL_INT, v, NULL }
#define STR(path, v)  { path, PL_STR, 0, v }
#define ARG(path, a)  { path, PL_ARG, a, NULL }

static const pl_entry config[] = {
   INT  ("version", 1),
   STR  ("mode", "strict"),              /* the only mode that enforces api_allowlist */
   BOOL ("enforce", 1),                  /* false would turn every block into a log line */
   /* X-Pipelock-Hint on a refused CONNECT tells the agent (and its user)
    * why a request was blocked instead of a bare 403. */
   BOOL ("explain_blocks", 1),

   /* api_allowlist: the defaults plus the bottle's hosts (in the code). */

   /* fetch_proxy owns the main listener and the rate limit.  The sidecar
    * listens on every interface of its container: the agent reaches it over
    * the internal network (pipelock's default, 127.0.0.1, is unreachable
    * from another container: pipelock issue #19). */
   STR  ("fetch_proxy.listen", "0.0.0.0:8888"),
   /* Default 60 per minute per eTLD+1, counting CONNECTs, and 0 is turned
    * back into 60: all of *.anthropic.com shares one bucket, and an agent
    * running parallel tool calls plus an `npm install` passes 60 a minute
    * easily and gets 429s.  100 a second still bounds a runaway loop. */
   INT  ("fetch_proxy.monitoring.max_requests_per_minute", 6000),
   /* /metrics and /stats off the proxy port, onto the sidecar's own
    * loopback: on 8888 they answer the agent without authentication, with
    * its blocked requests by domain and by scanner (/stats), and with
    * dlp_action warn its DLP matches by pattern name (/metrics): an oracle
    * for working around the scanners.  Nothing reads them.  /health stays
    * on 8888 (pipelock always serves it there): the readiness check uses
    * it, and it tells only the version, the mode and which features are on. */
   STR  ("metrics_listen", "127.0.0.1:9091"),

   /* forward_proxy: HTTPS_PROXY/HTTP_PROXY use needs it (405 otherwise). */
   BOOL ("forward_proxy.enabled", 1),
   /* Default 300 s is a hard lifetime cap on every CONNECT tunnel: a
    * streamed completion, a long `git clone` or a package download through
    * one tunnel would be cut at five minutes.  A day outlives any session
    * we run; the session's teardown ends the tunnels anyway. */
   INT  ("forward_proxy.max_tunnel_seconds", 86400),
   /* Default 120 s, and in 2.3.0 idle time is counted per direction: while
    * a long answer streams in, the client->server direction is idle and the
    * tunnel is half-closed after two minutes (fixed upstream after 2.3.0,
    * PR #816).  An hour covers a slow streamed answer or a quiet long-poll. */
   INT  ("forward_proxy.idle_timeout_seconds", 3600),
   BOOL ("forward_proxy.sni_verification", 1),  /* a tunnel must speak TLS to the host it named */

   /* dlp: the 48 built-in patterns; scan_env looks for pipelock's own
    * environment values, which in the sidecar hold nothing of the user's. */
   BOOL ("dlp.include_defaults", 1),
   BOOL ("dlp.scan_env", 1),

   /* Stated explicitly: the docs say it defaults to off, the code to on. */
   BOOL ("request_body_scanning.enabled", 1),
   ARG  ("request_body_scanning.action", ARG_DLP_ACTION),  /* the bottle's: block unless warn */

   /* The decision log, one JSON line per allowed or blocked request, on
    * stdout where `bottle logs` reads it. */
   STR  ("logging.format", "json"),
   STR  ("logging.output", "stdout"),
   BOOL ("logging.include_allowed", 1),
   BOOL ("logging.include_blocked", 1),

   /* Every upstream preset hard-codes the maintainer's DSN: no error
    * reports leave the sidecar. */
   BOOL ("sentry.enabled", 0),
};

/* With a CA (opts.ca_cert and opts.ca_key) only. */
static const pl_entry tls_config[] = {
   BOOL ("tls_interception.enabled", 1),
   ARG  ("tls_interception.ca_cert", ARG_CA_CERT),
   ARG  ("tls_interception.ca_key", ARG_CA_KEY),
   /* passthrough_domains: never decrypted (in the code). */
};

/* Pushes cfg.a.b... for `path` up to its last dot, making the tables that
 * are missing; returns the last key. */
static const char *
push_parent (lua_State *L, int cfg, const char *path)
{
   const char *dot;
   char key[64];
   lua_pushvalue (L, cfg);
   while ((dot = strchr (path, '.')) != NULL) {
      size_t n = (size_t) (dot - path);
      if (n >= sizeof key)
         n = sizeof key - 1;
      memcpy (key, path, n);
      key[n] = '\0';
      if (lua_getfield (L, -1, key) != LUA_TTABLE) {
         lua_pop (L, 1);
         lua_newtable (L);
         lua_pushvalue (L, -1);
         lua_setfield (L, -3, key);
      }
      lua_remove (L, -2);
      path = dot + 1;
   }
   return path;
}

/* Sets every entry of `entries` in the table at `cfg`. */
static void
set_entries (lua_State *L, int cfg, const pl_entry *entries, size_t n,
             const char *const *args)
{
   size_t i;
   for (i = 0; i < n; i++) {
      const pl_entry *e = &entries[i];
      const char *key = push_parent (L, cfg, e->path);
      switch (e->kind) {
      case PL_BOOL:
         lua_pushboolean (L, (int) e->i);
         break;
      case PL_INT:
         lua_pushinteger (L, e->i);
         break;
      case PL_STR:
         lua_pushstring (L, e->s);
         break;
      case PL_ARG:
         lua_pushstring (L, args[e->i]);
         break;
      }
      lua_setfield (L, -2, key);
      lua_pop (L, 1);
   }
}

#define COUNT(a) (sizeof (a) / sizeof (a)[0])

/* Reads bottle.egress.<field> (a table or nil) onto the stack. */
static int
get_egress_field (lua_State *L, int egress, const char *field)
{
   if (egress == 0) {
      lua_pushnil (L);
      return LUA_TNIL;
   }
   return lua_getfield (L, egress, field);
}

/* Pushes core.allowlist(defaults, bottle.egress.<field>) (1 value), or
 * nil, message, code (3 values); returns how many it pushed. */
static int
resolve_hosts (lua_State *L, int egress, const char *const *defaults,
               const char *field, const char *defaults_name, const char *extra_name)
{
   lua_pushcfunction (L, bc_allowlist);
   /* a fresh table of the embedded defaults: never the module's
    * DEFAULT_ALLOWLIST field, which any Lua code could have changed */
   bc_push_strings (L, defaults);
   get_egress_field (L, egress, field);
   lua_createtable (L, 0, 2);
   lua_pushstring (L, defaults_name);
   lua_setfield (L, -2, "defaults_name");
   lua_pushstring (L, extra_name);
   lua_setfield (L, -2, "extra_name");
   lua_call (L, 3, 3);
   if (lua_isnil (L, -3))
      return 3;
   lua_pop (L, 2);
   return 1;
}

/* Pushes tls_interception.passthrough_domains: Claude's API host plus the
 * bottle's own; for *.x.com pipelock 2.3.0 does not match the apex x.com,
 * so the apex is added to keep the allowlist's meaning.  1, or 3 after
 * pushing nil, message, code. */
static int
push_passthrough (lua_State *L, int egress)
{
   int i, n = 0;
   if (resolve_hosts (L, egress, bc_default_passthrough, "passthrough",
                      "default passthrough", "egress.passthrough") != 1)
      return 3;
   /* add apexes of wildcards, then re-resolve for order and uniqueness */
   lua_pushcfunction (L, bc_allowlist);
   lua_pushnil (L);
   lua_newtable (L);
   for (i = 1; i <= (int) lua_rawlen (L, -4); i++) {
      const char *h;
      lua_rawgeti (L, -4, i);
      h = lua_tostring (L, -1);
      lua_rawseti (L, -2, ++n);
      if (h[0] == '*') {
         lua_pushstring (L, h + 2);
         lua_rawseti (L, -2, ++n);
      }
   }
   lua_call (L, 2, 1);                                 /* allowlist(nil, with-apexes) */
   bc_set_array_mt (L);
   lua_remove (L, -2);                                 /* the list without apexes */
   return 1;
}

/* core.pipelock_config(bottle, opts) -> cfg | nil, message, code */
static int
l_pipelock_config (lua_State *L)
{
   int egress = 0, cfg, have_cert, have_key;
   const char *dlp_action = "block", *ca_cert = NULL, *ca_key = NULL;
   const char *args[ARG_COUNT];

   luaL_checktype (L, 1, LUA_TTABLE);
   if (!lua_isnoneornil (L, 2))
      luaL_checktype (L, 2, LUA_TTABLE);
   lua_settop (L, 2);

   if (lua_getfield (L, 1, "egress") == LUA_TTABLE)
      egress = lua_gettop (L);
   else if (!lua_isnil (L, -1))
      return luaL_error (L, "bottle.egress must be a table");

   /* dlp_action: the bottle's choice, block by default. */
   switch (get_egress_field (L, egress, "dlp_action")) {
   case LUA_TNIL:
      break;
   case LUA_TSTRING:
      dlp_action = lua_tostring (L, -1);
      if (strcmp (dlp_action, "block") != 0 && strcmp (dlp_action, "warn") != 0)
         return bc_fail (L, "invalid_config",
                         "egress.dlp_action: \"%s\" is not block or warn", dlp_action);
      break;
   default:
      return luaL_error (L, "bottle.egress.dlp_action must be a string");
   }

   /* CA paths: both or neither, absolute. */
   if (lua_istable (L, 2)) {
      if (lua_getfield (L, 2, "ca_cert") == LUA_TSTRING)
         ca_cert = lua_tostring (L, -1);
      else if (!lua_isnil (L, -1))
         return luaL_error (L, "opts.ca_cert must be a string");
      if (lua_getfield (L, 2, "ca_key") == LUA_TSTRING)
         ca_key = lua_tostring (L, -1);
      else if (!lua_isnil (L, -1))
         return luaL_error (L, "opts.ca_key must be a string");
   }
   have_cert = ca_cert && *ca_cert;
   have_key = ca_key && *ca_key;
   if (have_cert != have_key)
      return bc_fail (L, "invalid_config",
                      "tls_interception: pass both ca_cert and ca_key, or neither");
   if (have_cert && (ca_cert[0] != '/' || ca_key[0] != '/'))
      return bc_fail (L, "invalid_config",
                      "tls_interception: ca_cert and ca_key must be absolute paths");

   lua_createtable (L, 0, 16);
   cfg = lua_gettop (L);
   args[ARG_DLP_ACTION] = dlp_action;
   args[ARG_CA_CERT] = ca_cert;
   args[ARG_CA_KEY] = ca_key;
   set_entries (L, cfg, config, COUNT (config), args);

   /* api_allowlist: the defaults plus the bottle's hosts, validated. */
   if (resolve_hosts (L, egress, bc_default_allowlist, "allowlist",
                      "default allowlist", "egress.allowlist") != 1)
      return 3;
   lua_setfield (L, cfg, "api_allowlist");

   if (have_cert) {
      set_entries (L, cfg, tls_config, COUNT (tls_config), args);
      if (push_passthrough (L, egress) != 1)
         return 3;
      lua_getfield (L, cfg, "tls_interception");
      lua_insert (L, -2);
      lua_setfield (L, -2, "passthrough_domains");
      lua_pop (L, 1);
   }

   /* What pipelock inspects on allowed traffic: pipelock_inspection.c. */
   if (bc_pipelock_inspection (L, egress, cfg) != 0)
      return 3;
   lua_settop (L, cfg);
   return 1;
}

/* The top-level key order of the rendered file: what a reader looks for
 * first, then the rest sorted. */
static const char *const key_order[] = {
   "version", "mode", "enforce", "explain_blocks", "api_allowlist",
   "trusted_domains", "ssrf", "fetch_proxy", "metrics_listen", "forward_proxy", "tls_interception",
   "request_body_scanning", "dlp", "logging", "sentry", NULL
};

/* core.pipelock_yaml(cfg) -> text | nil, message, code */
static int
l_pipelock_yaml (lua_State *L)
{
   luaL_checktype (L, 1, LUA_TTABLE);
   lua_settop (L, 1);
   lua_pushcfunction (L, bc_pipelock_check);
   lua_pushvalue (L, 1);
   lua_call (L, 1, 3);
   if (!lua_toboolean (L, -3))
      return 3;
   lua_pop (L, 3);
   lua_pushcfunction (L, bc_yaml_encode);
   lua_pushvalue (L, 1);
   lua_createtable (L, 0, 1);
   bc_push_strings (L, key_order);
   lua_setfield (L, -2, "key_order");
   lua_call (L, 2, 3);
   if (lua_isnil (L, -3))
      return 3;
   lua_pop (L, 2);
   return 1;
}

void
bc_pipelock_open (lua_State *L)
{
   static const luaL_Reg fns[] = {
      { "pipelock_config", l_pipelock_config },
      { "pipelock_yaml", l_pipelock_yaml },
      { NULL, NULL }
   };
   luaL_setfuncs (L, fns, 0);
   bc_push_strings (L, key_order);
   lua_setfield (L, -2, "PIPELOCK_KEY_ORDER");
}
