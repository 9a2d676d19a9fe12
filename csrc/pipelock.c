/* Construction of the pipelock 2.3.0 config for one bottle.
 *
 * Starts from what the seed emitted (version, strict mode, enforce, the
 * allowlist, the forward proxy, DLP, request body scanning, optional TLS
 * interception) and changes the 2.3.0 defaults that break a long agent
 * session.  The reason for each value is beside it. */
#include <string.h>

#include "core.h"

/* Values chosen for long-lived agent sessions (see pipelock-2.3.0.md §0.5). */

/* Default 300 s is a hard lifetime cap on every CONNECT tunnel: a streamed
 * completion, a long `git clone` or a package download through one tunnel
 * would be cut at five minutes.  A day outlives any session we run; the
 * session's teardown ends the tunnels anyway. */
#define MAX_TUNNEL_SECONDS 86400

/* Default 120 s, and in 2.3.0 idle time is counted per direction: while a
 * long answer streams in, the client->server direction is idle and the
 * tunnel is half-closed after two minutes (fixed upstream after 2.3.0, PR
 * #816).  An hour covers a slow streamed answer or a quiet long-poll. */
#define IDLE_TIMEOUT_SECONDS 3600

/* Default 60 per minute per eTLD+1, counting CONNECTs, and 0 is turned back
 * into 60: all of *.anthropic.com shares one bucket, and an agent running
 * parallel tool calls plus an `npm install` passes 60 a minute easily and
 * gets 429s.  100 a second still bounds a runaway loop. */
#define MAX_REQUESTS_PER_MINUTE 6000

/* The sidecar listens on every interface of its container: the agent
 * reaches it over the internal network (pipelock's default, 127.0.0.1, is
 * unreachable from another container: pipelock issue #19). */
#define LISTEN "0.0.0.0:8888"

/* /metrics and /stats off the proxy port, onto the sidecar's own loopback:
 * on 8888 they answer the agent without authentication, with its blocked
 * requests by domain and by scanner (/stats), and with dlp_action warn its
 * DLP matches by pattern name (/metrics): an oracle for working around the
 * scanners.  Nothing reads them.  /health stays on 8888 (pipelock always
 * serves it there): the readiness check uses it, and it tells only the
 * version, the mode and which features are on. */
#define METRICS_LISTEN "127.0.0.1:9091"

static void
set_bool (lua_State *L, const char *k, int v)
{
   lua_pushboolean (L, v);
   lua_setfield (L, -2, k);
}

static void
set_int (lua_State *L, const char *k, lua_Integer v)
{
   lua_pushinteger (L, v);
   lua_setfield (L, -2, k);
}

static void
set_str (lua_State *L, const char *k, const char *v)
{
   lua_pushstring (L, v);
   lua_setfield (L, -2, k);
}

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
   set_str (L, "defaults_name", defaults_name);
   set_str (L, "extra_name", extra_name);
   lua_call (L, 3, 3);
   if (lua_isnil (L, -3))
      return 3;
   lua_pop (L, 2);
   return 1;
}

/* core.pipelock_config(bottle, opts) -> cfg | nil, message, code */
static int
l_pipelock_config (lua_State *L)
{
   int egress = 0, top, have_cert, have_key;
   const char *dlp_action = "block", *ca_cert = NULL, *ca_key = NULL;

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

   top = lua_gettop (L);
   lua_createtable (L, 0, 16);                            /* cfg */

   set_int (L, "version", 1);
   set_str (L, "mode", "strict");       /* the only mode that enforces api_allowlist */
   set_bool (L, "enforce", 1);          /* false would turn every block into a log line */
   /* X-Pipelock-Hint on a refused CONNECT tells the agent (and its user)
    * why a request was blocked instead of a bare 403. */
   set_bool (L, "explain_blocks", 1);

   /* api_allowlist: the defaults plus the bottle's hosts, validated. */
   if (resolve_hosts (L, egress, bc_default_allowlist, "allowlist",
                      "default allowlist", "egress.allowlist") != 1)
      return 3;
   lua_setfield (L, top + 1, "api_allowlist");

   /* fetch_proxy owns the main listener and the rate limit. */
   lua_createtable (L, 0, 2);
   set_str (L, "listen", LISTEN);
   lua_createtable (L, 0, 1);
   set_int (L, "max_requests_per_minute", MAX_REQUESTS_PER_MINUTE);
   lua_setfield (L, -2, "monitoring");
   lua_setfield (L, top + 1, "fetch_proxy");
   set_str (L, "metrics_listen", METRICS_LISTEN);

   /* forward_proxy: HTTPS_PROXY/HTTP_PROXY use needs it (405 otherwise). */
   lua_createtable (L, 0, 4);
   set_bool (L, "enabled", 1);
   set_int (L, "max_tunnel_seconds", MAX_TUNNEL_SECONDS);
   set_int (L, "idle_timeout_seconds", IDLE_TIMEOUT_SECONDS);
   set_bool (L, "sni_verification", 1);   /* a tunnel must speak TLS to the host it named */
   lua_setfield (L, top + 1, "forward_proxy");

   /* dlp: the 48 built-in patterns; scan_env looks for pipelock's own
    * environment values, which in the sidecar hold nothing of the user's. */
   lua_createtable (L, 0, 2);
   set_bool (L, "include_defaults", 1);
   set_bool (L, "scan_env", 1);
   lua_setfield (L, top + 1, "dlp");

   /* Stated explicitly: the docs say it defaults to off, the code to on. */
   lua_createtable (L, 0, 2);
   set_bool (L, "enabled", 1);
   set_str (L, "action", dlp_action);
   lua_setfield (L, top + 1, "request_body_scanning");

   /* The decision log, one JSON line per allowed or blocked request, on
    * stdout where `bottle logs` reads it. */
   lua_createtable (L, 0, 4);
   set_str (L, "format", "json");
   set_str (L, "output", "stdout");
   set_bool (L, "include_allowed", 1);
   set_bool (L, "include_blocked", 1);
   lua_setfield (L, top + 1, "logging");

   /* Every upstream preset hard-codes the maintainer's DSN: no error reports
    * leave the sidecar. */
   lua_createtable (L, 0, 1);
   set_bool (L, "enabled", 0);
   lua_setfield (L, top + 1, "sentry");

   if (have_cert) {
      int i, n = 0;
      lua_createtable (L, 0, 4);
      set_bool (L, "enabled", 1);
      set_str (L, "ca_cert", ca_cert);
      set_str (L, "ca_key", ca_key);
      /* passthrough: never decrypted.  Claude's API host plus the bottle's
       * own; for *.x.com pipelock 2.3.0 does not match the apex x.com, so
       * the apex is added to keep the allowlist's meaning. */
      if (resolve_hosts (L, egress, bc_default_passthrough, "passthrough",
                         "default passthrough", "egress.passthrough") != 1)
         return 3;
      /* add apexes of wildcards, then re-resolve for order and uniqueness */
      lua_newtable (L);
      for (i = 1; i <= (int) lua_rawlen (L, -2); i++) {
         const char *h;
         lua_rawgeti (L, -2, i);
         h = lua_tostring (L, -1);
         lua_rawseti (L, -2, ++n);
         if (h[0] == '*') {
            lua_pushstring (L, h + 2);
            lua_rawseti (L, -2, ++n);
         }
      }
      /* stack: tls, list, with-apexes */
      lua_pushcfunction (L, bc_allowlist);
      lua_insert (L, -2);
      lua_pushnil (L);
      lua_insert (L, -2);
      lua_call (L, 2, 1);                                 /* allowlist(nil, with-apexes) */
      bc_set_array_mt (L);
      lua_setfield (L, -3, "passthrough_domains");
      lua_pop (L, 1);                                     /* list */
      lua_setfield (L, top + 1, "tls_interception");
   }

   /* What pipelock inspects on allowed traffic: pipelock_inspection.c. */
   if (bc_pipelock_inspection (L, egress, top + 1) != 0)
      return 3;
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
