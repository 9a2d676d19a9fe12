/* What pipelock inspects on allowed traffic: the settings of the pipelock
 * 2.3.0 config that decide how much of a request and a response is looked
 * at, chosen by the egress corpus (reliability/egress/, figures in
 * docs/reliability.md section 7) and each one open to a bottle's
 * egress.inspection.  The reason for each default is beside it. */
#include <string.h>

#include "core.h"
#include "dlp_gitleaks.h"
#include "dlp_titus.h"
#include "drop_sites.h"

/* Headers pipelock itself must read or rewrite as a proxy.  pipelock's own
 * ignore list (when none is given) also skips Content-Type, Accept,
 * Accept-Encoding and User-Agent, which the agent writes as freely as any
 * custom header: a token in User-Agent left unscanned by the default list
 * was measured getting out. */
static const char *const ignore_headers[] = {
   "Connection", "Keep-Alive", "Proxy-Authenticate", "Te", "Trailer",
   "Transfer-Encoding", "Upgrade", "Host", "Content-Length", NULL
};

/* Injection styles pipelock 2.3.0's 25 response patterns do not name, each
 * a general form (no corpus phrase): a "SYSTEM:" message inside a line
 * (pipelock's own wants it at the start of one), a directive spoken to the
 * assistant, a dismissal of everything said before without the word
 * "instructions", a task handed over in its place, a note addressed to AI
 * readers, and an action to be kept from the user.  Hand-written: no
 * maintained rule set of injection phrases exists as a package, and
 * pipelock's own are hand-written the same way.  pipelock compiles a
 * response pattern as it is (a DLP pattern gets (?i) put in front, a
 * response pattern does not), so each says (?i) itself.  Merged by name
 * with pipelock's built-ins, which stay.  Measured with the corpus and
 * its two hold-outs (docs/reliability.md section 7). */
static const struct { const char *name, *regex; } injection_patterns[] = {
   { "claude-bottle Inline System Message",
     "(?i)(?:^|[>.!?;\\n])\\s*system\\s*(?:message|prompt|note|override)?\\s*:\\s*"
     "(?:you\\s+are\\s+now|ignore|disregard|forget|override|new\\s+instructions)" },
   { "claude-bottle Assistant Directive",
     "(?i)\\b(?:assistant|ai\\s+agent|coding\\s+agent|llm)s?\\s*[:,]\\s*(?:please\\s+)?"
     "(?:ignore|disregard|forget|execute|instead\\b|you\\s+must\\s+now)" },
   { "claude-bottle Dismissal of Everything",
     "(?i)\\b(?:forget|disregard|ignore)\\s+(?:everything|anything|all\\s+of\\s+(?:that|this|it))\\s+"
     "(?:(?:you\\s+(?:were|have\\s+been)\\s+told|written|said|stated)\\s+)?"
     "(?:above|before|earlier|so\\s+far|previously)" },
   { "claude-bottle Task Replacement",
     "(?i)\\byour\\s+(?:new|real|actual|true|only)\\s+(?:task|goal|objective|mission|job|orders)\\s*(?:is\\b|are\\b|:|now\\b)" },
   { "claude-bottle Note to AI Readers",
     "(?i)\\b(?:note|message|instructions?|attention|reminder)\\s+(?:to|for)\\s+(?:any\\s+|all\\s+)?"
     "(?:ai|llm|automated)\\s+(?:agents?|assistants?|models?|bots?|readers?)\\b" },
   { "claude-bottle Kept From the User",
     "(?i)\\bwithout\\s+(?:asking|telling|informing|notifying|consulting|alerting)\\s+"
     "(?:the\\s+|your\\s+)?(?:user|human|operator)\\b" },
   { NULL, NULL }
};

/* pipelock's built-in "Environment Variable Secret" takes any 8 non-blank
 * characters after NAME_TOKEN=, so a .env.example's
 * GITHUB_TOKEN=your-token-here was refused on its way to the model.  Same
 * names, but the value must hold a digit somewhere in a run of 8 or more
 * (each branch puts the digit at another place): a placeholder in words
 * passes, a generated secret (a digit in 97% of 20 random letters and
 * digits) does not.  pipelock strips control characters, newlines too,
 * before DLP, so an empty KEY= runs into the next line's NAME=...: the
 * value stops at "=" and at blanks.  Overriding a built-in by name is
 * pipelock's way to change one.  A secret of letters only now passes it. */
#define ENV_VALUE_CHAR "[^\\s=]"
#define ENV_SECRET_VALUE \
   "(?:" ENV_VALUE_CHAR "{7,}[0-9]|" ENV_VALUE_CHAR "{6}[0-9]" ENV_VALUE_CHAR "|" \
   ENV_VALUE_CHAR "{5}[0-9]" ENV_VALUE_CHAR "{2}|" ENV_VALUE_CHAR "{4}[0-9]" ENV_VALUE_CHAR "{3}|" \
   ENV_VALUE_CHAR "{3}[0-9]" ENV_VALUE_CHAR "{4}|" ENV_VALUE_CHAR "{2}[0-9]" ENV_VALUE_CHAR "{5}|" \
   ENV_VALUE_CHAR "[0-9]" ENV_VALUE_CHAR "{6}|[0-9]" ENV_VALUE_CHAR "{7})"
static const char env_secret_regex[] =
   "(?-i:[A-Z][A-Z0-9]*[_-](?:SECRET(?:[_-]ACCESS)?[_-]?KEY|SECRET|PASSWORD|PASSWD|TOKEN|API[_-]?KEY))"
   "\\b\\s*=\\s*" ENV_SECRET_VALUE;

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

/* Appends {name = fmt % name, regex = regex} at index n of the array on top. */
static void
push_pattern (lua_State *L, int n, const char *fmt, const char *name, const char *regex)
{
   lua_createtable (L, 0, 2);
   lua_pushfstring (L, fmt, name);
   lua_setfield (L, -2, "name");
   lua_pushstring (L, regex);
   lua_setfield (L, -2, "regex");
   lua_rawseti (L, -2, n);
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
   int insp = 0, top = lua_gettop (L), i, n;

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

   lua_createtable (L, 0, 3);
   lua_pushboolean (L, 1);
   lua_setfield (L, -2, "enabled");
   lua_pushstring (L, responses);
   lua_setfield (L, -2, "action");
   if (flag (L, insp, "injection_patterns", 1)) {
      lua_newtable (L);
      n = 0;
      for (i = 0; injection_patterns[i].name; i++)
         push_pattern (L, ++n, "%s", injection_patterns[i].name, injection_patterns[i].regex);
      bc_set_array_mt (L);
      lua_setfield (L, -2, "patterns");
   }
   lua_setfield (L, cfg, "response_scanning");

   if (flag (L, insp, "blocklist", 1)) {
      subtable (L, cfg, "fetch_proxy");
      subtable (L, -1, "monitoring");
      push_list (L, bc_drop_sites);
      lua_setfield (L, -2, "blocklist");
      lua_pop (L, 2);
   }

   subtable (L, cfg, "dlp");
   lua_newtable (L);
   n = 0;
   push_pattern (L, ++n, "%s", "Environment Variable Secret", env_secret_regex);
   /* pipelock's 48 built-in patterns need exact lengths and shapes
    * (ghp_ with 36 characters, SendGrid's 22.43, no Shopify, Postman,
    * Grafana, Telegram, Atlassian, Pulumi...): gitleaks' rules, which the
    * git gate already runs on every push, cover what they miss; merged by
    * name, the built-ins stay.  Measured: credential bodies stopped 41 of
    * 54 before, 46 with them, no benign case blocked (csrc/dlp_gitleaks.h
    * says which rules and why the others are left out). */
   if (flag (L, insp, "gitleaks", 1))
      for (i = 0; bc_dlp_gitleaks[i].id; i++)
         push_pattern (L, ++n, "gitleaks %s", bc_dlp_gitleaks[i].id, bc_dlp_gitleaks[i].regex);
   /* Titus' rules (Nosey Parker's and Kingfisher's) name providers neither
    * set has (Groq, xAI, Perplexity, Supabase, LangSmith, Okta, New Relic,
    * Fly.io...) and shapes the others miss (a Discord webhook URL, an Azure
    * storage connection string, a password in a URL); csrc/dlp_titus.h says
    * which rules and why the others are left out. */
   if (flag (L, insp, "titus", 1))
      for (i = 0; bc_dlp_titus[i].id; i++)
         push_pattern (L, ++n, "titus %s", bc_dlp_titus[i].id, bc_dlp_titus[i].regex);
   bc_set_array_mt (L);
   lua_setfield (L, -2, "patterns");
   lua_pop (L, 1);

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
