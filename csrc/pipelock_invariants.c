/* core.pipelock_check's invariants across keys: what the launcher needs of
 * every config, whatever a policy changed (version 1, strict mode, enforce
 * on, the forward proxy on, the listener where the agent reaches it, a
 * non-empty allowlist, a CA for TLS interception, no enterprise agents,
 * pipelock's SSRF ranges kept, a log file named, no route out of the
 * sidecar past the allowlist). */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "pipelock_check_internal.h"

/* Ways pipelock itself would send data out, straight from the sidecar
 * and past api_allowlist, in the sections allowed (emit and reverse_proxy
 * are not): a config may not set them (a non-empty string or true). */
static const char *const side_routes[] = { "sentry.dsn", "sentry.enabled", NULL };

/* pipelock's SSRF defaults: `internal` may add ranges, never drop these. */
static const char *const internal_defaults[] = {
   "0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
   "169.254.0.0/16", "100.64.0.0/10", "224.0.0.0/4", "::1/128", "fc00::/7", "fe80::/10",
   "ff00::/8", NULL
};

/* Pushes cfg.a.b.c (nil when any step is missing). */
static int
get_path (lua_State *L, int cfg, const char *dotted)
{
   const char *p = dotted;
   lua_pushvalue (L, cfg);
   while (*p) {
      size_t n = strcspn (p, ".");
      if (!lua_istable (L, -1)) {
         lua_pop (L, 1);
         lua_pushnil (L);
         return LUA_TNIL;
      }
      lua_pushlstring (L, p, n);
      lua_rawget (L, -2);
      lua_remove (L, -2);
      p += n + (p[n] == '.');
   }
   return lua_type (L, -1);
}

static int
need (walker *w, int cfg, const char *path, int type, const char *expect_s,
      int expect_b, const char *why)
{
   lua_State *L = w->L;
   int t = get_path (L, cfg, path), ok;
   if (type == LUA_TBOOLEAN)
      ok = t == LUA_TBOOLEAN && lua_toboolean (L, -1) == expect_b;
   else {
      size_t n;
      const char *s = t == LUA_TSTRING ? lua_tolstring (L, -1, &n) : NULL;
      ok = s && n == strlen (expect_s) && memcmp (s, expect_s, n) == 0;
   }
   lua_pop (L, 1);
   if (!ok) {
      snprintf (w->dpath, sizeof w->dpath, "%s", path);
      return bc_pc_fail (w, "%s", why);
   }
   return 0;
}

/* `internal` omitted: pipelock's 12 default ranges.  Present (even empty,
 * which turns the DNS SSRF check off): it must keep all of them. */
static int
check_internal (walker *w, int cfg)
{
   lua_State *L = w->L;
   int i;
   if (get_path (L, cfg, "internal") != LUA_TTABLE) {
      lua_pop (L, 1);
      return 0;
   }
   for (i = 0; internal_defaults[i]; i++) {
      lua_Integer j, n = (lua_Integer) lua_rawlen (L, -1);
      int found = 0;
      for (j = 1; j <= n && !found; j++) {
         size_t len;
         const char *e;
         lua_rawgeti (L, -1, j);
         e = lua_tolstring (L, -1, &len);
         found = e && len == strlen (internal_defaults[i]) && memcmp (e, internal_defaults[i], len) == 0;
         lua_pop (L, 1);
      }
      if (!found) {
         lua_pop (L, 1);
         snprintf (w->dpath, sizeof w->dpath, "internal");
         return bc_pc_fail (w, "must keep pipelock's default range %s (a config may add ranges to internal, "
                         "never drop one: that would open SSRF to it)", internal_defaults[i]);
      }
   }
   lua_pop (L, 1);
   return 0;
}

/* Pushes nothing; 1 when cfg.path is the string `value`. */
static int
string_is (lua_State *L, int cfg, const char *path, const char *value)
{
   size_t n;
   const char *s;
   int is = 0;
   if (get_path (L, cfg, path) == LUA_TSTRING) {
      s = lua_tolstring (L, -1, &n);
      is = n == strlen (value) && memcmp (s, value, n) == 0;
   }
   lua_pop (L, 1);
   return is;
}

/* 1 when cfg.path is set to something other than "" (or false/nil). */
static int
is_set (lua_State *L, int cfg, const char *path)
{
   int t = get_path (L, cfg, path), set;
   set = t == LUA_TSTRING ? lua_rawlen (L, -1) > 0 : t == LUA_TBOOLEAN ? lua_toboolean (L, -1) : t != LUA_TNIL;
   lua_pop (L, 1);
   return set;
}

static int
check_side_routes (walker *w, int cfg)
{
   int i;
   for (i = 0; side_routes[i]; i++)
      if (is_set (w->L, cfg, side_routes[i])) {
         snprintf (w->dpath, sizeof w->dpath, "%s", side_routes[i]);
         return bc_pc_fail (w, "would let pipelock send data out of the sidecar itself, past api_allowlist; "
                         "a bottle's config may not set it");
      }
   return 0;
}

/* validate.go: an output to a file needs the file. */
static int
check_logging_file (walker *w, int cfg)
{
   lua_State *L = w->L;
   if ((string_is (L, cfg, "logging.output", "file") || string_is (L, cfg, "logging.output", "both"))
       && !is_set (L, cfg, "logging.file")) {
      snprintf (w->dpath, sizeof w->dpath, "logging.file");
      return bc_pc_fail (w, "is required when logging.output is file or both");
   }
   return 0;
}

int
bc_pc_invariants (walker *w, int cfg)
{
   lua_State *L = w->L;
   int t;

   t = get_path (L, cfg, "version");
   if (t != LUA_TNIL && !(lua_isinteger (L, -1) && lua_tointeger (L, -1) == 1)) {
      lua_pop (L, 1);
      snprintf (w->dpath, sizeof w->dpath, "version");
      return bc_pc_fail (w, "must be 1");
   }
   lua_pop (L, 1);
   if (need (w, cfg, "mode", LUA_TSTRING, "strict", 0,
             "must be strict: only strict mode enforces api_allowlist")
       || need (w, cfg, "enforce", LUA_TBOOLEAN, NULL, 1,
                "must be true: false turns every block into a log line")
       || need (w, cfg, "forward_proxy.enabled", LUA_TBOOLEAN, NULL, 1,
                "must be true: the agent reaches the network only through the forward proxy")
       || need (w, cfg, "fetch_proxy.listen", LUA_TSTRING, BC_SIDECAR_LISTEN, 0,
                "must be " BC_SIDECAR_LISTEN ": the agent and the health check reach the sidecar there"))
      return -1;

   get_path (L, cfg, "api_allowlist");
   t = lua_istable (L, -1) && lua_rawlen (L, -1) > 0;
   lua_pop (L, 1);
   if (!t) {
      snprintf (w->dpath, sizeof w->dpath, "api_allowlist");
      return bc_pc_fail (w, "must list at least one host (strict mode refuses an empty allowlist)");
   }

   get_path (L, cfg, "tls_interception.enabled");
   t = lua_isboolean (L, -1) && lua_toboolean (L, -1);
   lua_pop (L, 1);
   if (t) {
      const char *k[] = { "tls_interception.ca_cert", "tls_interception.ca_key" };
      int i;
      for (i = 0; i < 2; i++) {
         int ok = get_path (L, cfg, k[i]) == LUA_TSTRING && lua_tostring (L, -1)[0] == '/';
         lua_pop (L, 1);
         if (!ok) {
            snprintf (w->dpath, sizeof w->dpath, "%s", k[i]);
            return bc_pc_fail (w, "must be set to an absolute path when tls_interception is enabled");
         }
      }
   }

   if (get_path (L, cfg, "agents") != LUA_TNIL) {
      lua_pop (L, 1);
      snprintf (w->dpath, sizeof w->dpath, "agents");
      return bc_pc_fail (w, "per-agent profiles are an enterprise feature that needs a license; "
                      "one sidecar serves one bottle here");
   }
   lua_pop (L, 1);

   if (check_internal (w, cfg) || check_logging_file (w, cfg) || check_side_routes (w, cfg))
      return -1;
   return 0;
}

