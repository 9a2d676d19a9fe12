/* What pipelock inspects on allowed traffic: the settings of the pipelock
 * 2.3.0 config that decide how much of a request and a response is looked
 * at, chosen by the egress corpus (reliability/egress/, figures in
 * docs/reliability.md section 6) and each one open to a bottle's
 * egress.inspection.  The reason for each default is beside it. */
#include <string.h>

#include "core.h"
#include "dlp_gitleaks.h"

/* Headers pipelock itself must read or rewrite as a proxy.  pipelock's own
 * ignore list (when none is given) also skips Content-Type, Accept,
 * Accept-Encoding and User-Agent, which the agent writes as freely as any
 * custom header: a token in User-Agent left unscanned by the default list
 * was measured getting out. */
static const char *const ignore_headers[] = {
   "Connection", "Keep-Alive", "Proxy-Authenticate", "Te", "Trailer",
   "Transfer-Encoding", "Upgrade", "Host", "Content-Length", NULL
};

/* The paste sites and file drops pipelock 2.3.0 blocks when it runs with
 * no config file (internal/config/defaults.go, Defaults()); with a file its
 * blocklist is empty.  A host here is refused even when a bottle allows it
 * (*.pastebin.com also covers pastebin.com).  5 of the corpus's 12 drop
 * hosts are on it; a name list never covers them all (the allowlist is
 * the wall). */
static const char *const blocklist[] = {
   "*.pastebin.com", "*.hastebin.com", "*.paste.ee", "*.transfer.sh", "*.file.io",
   "*.requestbin.com", NULL
};

/* pipelock's 3600 s and 300 s would cut a long-lived socket (a dev
 * server's reload channel) where a CONNECT tunnel lives a day. */
#define WS_MAX_CONNECTION_SECONDS 86400
#define WS_IDLE_TIMEOUT_SECONDS 3600

/* A new array (core.array_mt) of a NULL-terminated list. */
static void
push_list (lua_State *L, const char *const *list)
{
   bc_push_strings (L, list);
   bc_set_array_mt (L);
}

/* The subtable cfg[key], made when missing; left on the stack. */
static void
subtable (lua_State *L, int t, const char *key)
{
   if (lua_getfield (L, t, key) != LUA_TTABLE) {
      lua_pop (L, 1);
      lua_newtable (L);
      lua_pushvalue (L, -1);
      lua_setfield (L, t, key);
   }
}

/* inspection.<key> as one of `choices` (NULL-terminated), or `def` when
 * absent; NULL after pushing nil, message, code when it is none of them. */
static const char *
choice (lua_State *L, int insp, const char *key, const char *const *choices, const char *def)
{
   const char *v;
   int i;
   if (insp == 0)
      return def;
   switch (lua_getfield (L, insp, key)) {
   case LUA_TNIL:
      lua_pop (L, 1);
      return def;
   case LUA_TSTRING:
      v = lua_tostring (L, -1);
      lua_pop (L, 1);   /* still referenced by the inspection table */
      for (i = 0; choices[i]; i++)
         if (strcmp (v, choices[i]) == 0)
            return choices[i];
      bc_fail (L, "invalid_config", "egress.inspection.%s: \"%s\" is not one of the choices", key, v);
      return NULL;
   default:
      luaL_error (L, "bottle.egress.inspection.%s must be a string", key);
      return NULL;
   }
}

static int
flag (lua_State *L, int insp, const char *key, int def)
{
   int v;
   if (insp == 0)
      return def;
   switch (lua_getfield (L, insp, key)) {
   case LUA_TNIL:
      v = def;
      break;
   case LUA_TBOOLEAN:
      v = lua_toboolean (L, -1);
      break;
   default:
      return luaL_error (L, "bottle.egress.inspection.%s must be a boolean", key);
   }
   lua_pop (L, 1);
   return v;
}

/* Sets the inspection keys of the config at index `cfg` from the bottle's
 * egress table at `egress` (0: none).  Returns 0, or 3 after pushing nil,
 * message, code. */
int
bc_pipelock_inspection (lua_State *L, int egress, int cfg)
{
   static const char *const header_modes[] = { "all", "sensitive", NULL };
   static const char *const response_actions[] = { "block", "strip", "warn", NULL };
   const char *headers, *responses;
   int insp = 0, top = lua_gettop (L), i;

   if (egress != 0) {
      if (lua_getfield (L, egress, "inspection") == LUA_TTABLE)
         insp = lua_gettop (L);
      else if (!lua_isnil (L, -1))
         return luaL_error (L, "bottle.egress.inspection must be a table");
   }

   /* Default "sensitive" scans six auth headers only, so X-Amz-*,
    * X-Debug-Token, Referer, tracing and any custom header carried tokens
    * out unscanned: 4 of 15 header cases stopped; "all" stops 14, and 15
    * with the ignore list above, with none of the 8 benign ones blocked. */
   if (!(headers = choice (L, insp, "headers", header_modes, "all")))
      return 3;
   /* Default warn logs an injection and delivers the page.  block and strip
    * stopped the same 7 of 12 injected pages and touched the same 3 of 10
    * benign pages that quote attacks; block refuses such a page (403 with
    * the pattern's name), strip redacts the phrase and hands over the rest
    * of the attacker's text, which no pattern judged.  block by default;
    * a bottle that reads security write-ups may choose strip. */
   if (!(responses = choice (L, insp, "responses", response_actions, "block")))
      return 3;

   subtable (L, cfg, "request_body_scanning");
   lua_pushstring (L, headers);
   lua_setfield (L, -2, "header_mode");
   if (strcmp (headers, "all") == 0) {
      push_list (L, ignore_headers);
      lua_setfield (L, -2, "ignore_headers");
   }
   lua_pop (L, 1);

   lua_createtable (L, 0, 2);
   lua_pushboolean (L, 1);
   lua_setfield (L, -2, "enabled");
   lua_pushstring (L, responses);
   lua_setfield (L, -2, "action");
   lua_setfield (L, cfg, "response_scanning");

   if (flag (L, insp, "blocklist", 1)) {
      subtable (L, cfg, "fetch_proxy");
      subtable (L, -1, "monitoring");
      push_list (L, blocklist);
      lua_setfield (L, -2, "blocklist");
      lua_pop (L, 2);
   }

   /* pipelock's 48 built-in patterns need exact lengths and shapes
    * (ghp_ with 36 characters, SendGrid's 22.43, no Shopify, Postman,
    * Grafana, Telegram, Atlassian, Pulumi...): gitleaks' rules, which the
    * git gate already runs on every push, cover what they miss; merged by
    * name, the built-ins stay.  Measured: credential bodies stopped 41 of
    * 54 before, 46 with them, no benign case blocked (csrc/dlp_gitleaks.h
    * says which rules and why the others are left out). */
   if (flag (L, insp, "gitleaks", 1)) {
      subtable (L, cfg, "dlp");
      lua_newtable (L);
      for (i = 0; bc_dlp_gitleaks[i].id; i++) {
         lua_createtable (L, 0, 2);
         lua_pushfstring (L, "gitleaks %s", bc_dlp_gitleaks[i].id);
         lua_setfield (L, -2, "name");
         lua_pushstring (L, bc_dlp_gitleaks[i].regex);
         lua_setfield (L, -2, "regex");
         lua_rawseti (L, -2, i + 1);
      }
      bc_push_array_mt (L);
      lua_setmetatable (L, -2);
      lua_setfield (L, -2, "patterns");
      lua_pop (L, 1);
   }
   /* Through HTTPS_PROXY a WebSocket cannot work under interception:
    * pipelock 2.3.0 drops Upgrade as a hop-by-hop header and sends the
    * server a plain GET, so the client gets no 101 and no reason.  Its
    * WebSocket proxy (ws://<sidecar>:8888/ws?url=wss://host/path, offered
    * to the agent as CLAUDE_BOTTLE_WEBSOCKET_PROXY) applies the allowlist
    * to the URL and DLP to every text frame; a frame with a token closes
    * the socket with 1008 "DLP violation".  Its lifetimes follow the
    * tunnels' (pipelock.c): an hour-long idle dev-server socket stays. */
   if (flag (L, insp, "websocket", 1)) {
      lua_createtable (L, 0, 3);
      lua_pushboolean (L, 1);
      lua_setfield (L, -2, "enabled");
      lua_pushinteger (L, WS_MAX_CONNECTION_SECONDS);
      lua_setfield (L, -2, "max_connection_seconds");
      lua_pushinteger (L, WS_IDLE_TIMEOUT_SECONDS);
      lua_setfield (L, -2, "idle_timeout_seconds");
      lua_setfield (L, cfg, "websocket_proxy");
   }
   lua_settop (L, top);
   return 0;
}
