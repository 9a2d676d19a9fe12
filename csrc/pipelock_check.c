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
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

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

/* ---- per-key rules beyond the type --------------------------------- */

typedef struct {
   const char *path;
   const char *const values[6];
} enum_rule;

/* From 2.3.0's validate.go; "" (pipelock's "use the default") is not
 * accepted here: the launcher writes what it means. */
static const enum_rule enums[] = {
   { "a2a_scanning.action", { "warn", "block" } },
   { "address_protection.action", { "block", "warn" } },
   { "address_protection.unknown_action", { "allow", "warn", "block" } },
   { "behavioral_baseline.deviation_action", { "warn", "ask", "block" } },
   { "behavioral_baseline.seasonality_mode", { "none", "labeled", "time" } },
   { "browser_shield.strictness", { "minimal", "standard", "aggressive" } },
   { "cross_request_detection.action", { "block", "warn" } },
   { "cross_request_detection.entropy_budget.action", { "block", "warn" } },
   { "dlp.patterns[].validator", { "luhn", "mod97", "aba", "wif" } },
   { "emit.otlp.min_severity", { "info", "warn", "critical" } },
   { "emit.syslog.min_severity", { "info", "warn", "critical" } },
   { "emit.webhook.min_severity", { "info", "warn", "critical" } },
   { "logging.format", { "json", "text" } },
   { "logging.output", { "stdout", "file", "both" } },
   { "mcp_binary_integrity.action", { "warn", "block" } },
   { "mcp_input_scanning.action", { "warn", "block" } },
   { "mcp_input_scanning.on_parse_error", { "block", "forward" } },
   { "mcp_session_binding.no_baseline_action", { "warn", "block" } },
   { "mcp_session_binding.unknown_tool_action", { "warn", "block" } },
   { "mcp_tool_policy.action", { "warn", "block", "redirect" } },
   { "mcp_tool_policy.rules[].action", { "warn", "block", "redirect" } },
   { "mcp_tool_provenance.action", { "warn", "block" } },
   { "mcp_tool_provenance.mode", { "pipelock", "sigstore", "any" } },
   { "mcp_tool_scanning.action", { "warn", "block" } },
   { "mode", { "strict", "balanced", "audit" } },
   { "request_body_scanning.action", { "warn", "block" } },
   { "request_body_scanning.header_mode", { "sensitive", "all" } },
   { "response_scanning.action", { "strip", "warn", "block", "ask" } },
   { "response_scanning.sse_streaming.action", { "block", "warn" } },
   { "session_profiling.anomaly_action", { "warn", "block" } },
   { "tool_chain_detection.action", { "warn", "block" } },
   { "websocket_proxy.origin_policy", { "rewrite", "forward", "strip" } },
   { NULL, { NULL } }
};

typedef enum { HOSTS_ALLOW, HOSTS_BLOCK } host_rule;

/* Host lists.  Allow-type lists get the full host rules; the blocklist may
 * block a whole public suffix (*.tk), so only its syntax is checked. */
static const struct { const char *path; host_rule rule; } host_lists[] = {
   { "adaptive_enforcement.exempt_domains[]", HOSTS_ALLOW },
   { "api_allowlist[]", HOSTS_ALLOW },
   { "browser_shield.exempt_domains[]", HOSTS_ALLOW },
   { "browser_shield.tracking_domains[]", HOSTS_BLOCK },
   { "cross_request_detection.entropy_budget.exempt_domains[]", HOSTS_ALLOW },
   { "dlp.patterns[].exempt_domains[]", HOSTS_ALLOW },
   { "fetch_proxy.monitoring.blocklist[]", HOSTS_BLOCK },
   { "fetch_proxy.monitoring.subdomain_entropy_exclusions[]", HOSTS_ALLOW },
   { "forward_proxy.redirect_websocket_hosts[]", HOSTS_ALLOW },
   { "response_scanning.exempt_domains[]", HOSTS_ALLOW },
   { "taint.allowlisted_domains[]", HOSTS_ALLOW },
   { "tls_interception.passthrough_domains[]", HOSTS_ALLOW },
   { "trusted_domains[]", HOSTS_ALLOW },
   { NULL, HOSTS_ALLOW }
};

/* CIDR lists; `canonical` also refuses host bits, IPv4-mapped IPv6 and
 * anything wider than /8 (ssrf.ip_allowlist). */
static const struct { const char *path; int canonical; } cidr_lists[] = {
   { "internal[]", 0 },
   { "kill_switch.allowlist_ips[]", 0 },
   { "ssrf.ip_allowlist[]", 1 },
   { NULL, 0 }
};

/* Paths pipelock would resolve against the config file's directory. */
static const char *const absolute_paths[] = {
   "dlp.secrets_file", "license_file", "logging.file",
   "tls_interception.ca_cert", "tls_interception.ca_key", NULL
};

/* Integers that must be > 0 (>= 0 where noted) to mean what they say. */
static const struct { const char *path; lua_Integer min; const char *why; } int_mins[] = {
   { "fetch_proxy.monitoring.max_data_per_minute", 0, "must be >= 0 (0 means no limit)" },
   { "fetch_proxy.monitoring.max_requests_per_minute", 1,
     "must be >= 1 (pipelock 2.3.0 turns 0 back into 60 a minute; set a large number instead)" },
   { "forward_proxy.idle_timeout_seconds", 1, "must be positive" },
   { "forward_proxy.max_tunnel_seconds", 1, "must be positive" },
   { "request_body_scanning.max_body_bytes", 1, "must be positive" },
   { "tls_interception.cert_cache_size", 1, "must be positive" },
   { "tls_interception.max_response_bytes", 1, "must be positive" },
   { NULL, 0, NULL }
};

/* Listeners other than the proxy's (the sections that would add more are
 * not allowed, see allowed_sections) must not take its port. */
static const char *const listen_keys[] = { "metrics_listen", NULL };

/* Regular expressions Go's regexp compiles (re2_syntax.c). */
static const char *const regex_keys[] = {
   "dlp.patterns[].regex", "response_scanning.patterns[].regex", NULL
};

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

#define SIDECAR_LISTEN "0.0.0.0:8888"
#define SIDECAR_PORT "8888"

/* What to check on a string (see find_string_rule). */
typedef enum { R_NONE, R_DLP_ACTION, R_ENUM, R_HOST, R_CIDR, R_ABSOLUTE, R_LISTEN, R_REGEX,
               R_DURATION } rule_kind;
typedef struct { rule_kind kind; int index; } string_rule;

/* ---- the walk ---------------------------------------------------------- */

typedef struct {
   lua_State *L;
   char spath[512];      /* schema path: agents{}.listeners[] */
   char dpath[1024];     /* display path: agents.claude.listeners[2] */
   char msg[1400];
   char rule_path[512];  /* the schema path `rule` was looked up for */
   string_rule rule;
} walker;

static int
fail (walker *w, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
fail (walker *w, const char *fmt, ...)
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

/* Printable quoting for values quoted in messages (config values are never
 * secrets the launcher put there, but a policy could put anything). */
static void
quote (char *out, size_t cap, const char *s, size_t n)
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

static int
check_host (walker *w, const char *s, size_t n, host_rule rule)
{
   char norm[BC_HOST_MAX + 2], q[300];
   size_t outlen, skip = 0;
   const char *why;

   /* The blocklist may name a whole suffix: check what follows "*.". */
   if (rule == HOSTS_BLOCK && n > 2 && s[0] == '*' && s[1] == '.')
      skip = 2;
   why = bc_host_normalize (s + skip, n - skip, norm, &outlen);
   if (!why && outlen == n - skip && memcmp (norm, s + skip, outlen) == 0)
      return 0;
   quote (q, sizeof q, s, n);
   if (why)
      return fail (w, "%s %s", q, why);
   return fail (w, "%s is not in normal form; write %s%s", q, skip ? "*." : "", norm);
}

static int
check_cidr (walker *w, const char *s, size_t n, int canonical)
{
   char buf[64], q[96], canon[64];
   unsigned char addr[16];
   const char *slash;
   char *end;
   long bits;
   int family, maxbits, i;

   quote (q, sizeof q, s, n);
   if (n >= sizeof buf || !(slash = memchr (s, '/', n)))
      return fail (w, "%s is not a CIDR (write 10.0.0.0/8 or fd00::/8)", q);
   memcpy (buf, s, (size_t) (slash - s));
   buf[slash - s] = '\0';
   family = strchr (buf, ':') ? AF_INET6 : AF_INET;
   maxbits = family == AF_INET ? 32 : 128;
   if (inet_pton (family, buf, addr) != 1)
      return fail (w, "%s is not a CIDR: bad address", q);
   bits = strtol (slash + 1, &end, 10);
   if (end != s + n || slash[1] < '0' || slash[1] > '9' || bits > maxbits
       || (slash[1] == '0' && slash + 2 != s + n))
      return fail (w, "%s is not a CIDR: bad prefix length", q);
   if (!canonical)
      return 0;
   if (bits == 0)
      return fail (w, "%s is a catch-all (/0) and would disable SSRF protection", q);
   if (family == AF_INET6 && memcmp (addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
      return fail (w, "%s is an IPv4-mapped range, which Go applies to IPv4 addresses; write it as IPv4 (a.b.c.d/n)", q);
   if (bits < 8)
      return fail (w, "%s is wider than /8 and would turn SSRF protection off for most addresses; "
                      "list the internal ranges you need", q);
   for (i = 0; i < maxbits / 8; i++) {
      int keep = (int) bits - i * 8;
      unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char) (0xff << (8 - keep));
      if (addr[i] & (unsigned char) ~mask) {
         int j;
         for (j = i; j < maxbits / 8; j++) {
            int k = (int) bits - j * 8;
            addr[j] &= k >= 8 ? 0xff : k <= 0 ? 0 : (unsigned char) (0xff << (8 - k));
         }
         inet_ntop (family, addr, canon, sizeof canon);
         return fail (w, "%s has host bits set; write %s/%ld", q, canon, bits);
      }
   }
   inet_ntop (family, addr, canon, sizeof canon);
   if (strlen (canon) != (size_t) (slash - s) || memcmp (canon, s, (size_t) (slash - s)) != 0)
      return fail (w, "%s is not in canonical form; write %s/%ld", q, canon, bits);
   return 0;
}

/* The port of host:port as a number, or -1 unless it is plain decimal
 * 1-65535 (Go reads "08888" and "+8888" as 8888: they are refused). */
static long
listen_port (const char *s, size_t n)
{
   const char *colon = memrchr (s, ':', n), *p;
   long port = 0;
   if (!colon || colon + 1 == s + n || colon[1] == '0' || s + n - colon - 1 > 5)
      return -1;
   for (p = colon + 1; p < s + n; p++) {
      if (*p < '0' || *p > '9')
         return -1;
      port = port * 10 + (*p - '0');
   }
   return port >= 1 && port <= 65535 ? port : -1;
}

/* The only listener a config may move (metrics_listen) must stay on the
 * sidecar's own loopback: 127.0.0.0/8 as a dotted quad, [::1] or localhost. */
static int
loopback_host (const char *h, size_t n)
{
   size_t i, dots = 0;
   if ((n == 5 && memcmp (h, "[::1]", 5) == 0) || (n == 9 && memcmp (h, "localhost", 9) == 0))
      return 1;
   if (n < 9 || n > 15 || memcmp (h, "127.", 4) != 0)
      return 0;
   for (i = 4; i < n; i++) {
      if (h[i] == '.') {
         if (h[i - 1] == '.' || i + 1 == n)
            return 0;
         dots++;
      }
      else if (h[i] < '0' || h[i] > '9')
         return 0;
   }
   return dots == 2;
}

static int
check_listen (walker *w, const char *s, size_t n)
{
   char q[96];
   long port = listen_port (s, n);
   quote (q, sizeof q, s, n);
   if (port < 0)
      return fail (w, "%s is not host:port with a port from 1 to 65535 written plainly (no sign, no leading zero)", q);
   if (port == atol (SIDECAR_PORT))
      return fail (w, "%s takes the proxy's port %s; choose another port", q, SIDECAR_PORT);
   if (!loopback_host (s, (size_t) ((const char *) memrchr (s, ':', n) - s)))
      return fail (w, "%s is not on the sidecar's loopback: /metrics and /stats would answer the agent; "
                   "write 127.0.0.1:PORT", q);
   return 0;
}

/* A Go duration ("24h", "1h30m", "90s") that is > 0: pipelock 2.3.0's
 * cert_ttl.  Units ns us ms s m h; no sign. */
static int
check_duration (walker *w, const char *s, size_t n)
{
   static const char *const units[] = { "ns", "us", "\xc2\xb5s", "ms", "s", "m", "h", NULL };
   size_t i = 0;
   int nonzero = 0;
   char q[96];
   quote (q, sizeof q, s, n);
   if (n == 0)
      return fail (w, "%s is not a duration (write 24h or 90m)", q);
   while (i < n) {
      size_t start = i;
      int k, dot = 0, unit = 0;
      while (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !dot))) {
         if (s[i] == '.')
            dot = 1;
         else if (s[i] != '0')
            nonzero = 1;
         i++;
      }
      if (i == start || (i == start + 1 && dot))
         return fail (w, "%s is not a duration (write 24h or 90m)", q);
      for (k = 0; units[k] && !unit; k++) {
         size_t len = strlen (units[k]);
         /* "m" must not take the "m" of "ms" */
         if (i + len <= n && memcmp (s + i, units[k], len) == 0
             && !(len == 1 && s[i] == 'm' && i + 1 < n && s[i + 1] == 's')) {
            i += len;
            unit = 1;
         }
      }
      if (!unit)
         return fail (w, "%s is not a duration: each number needs a unit (ns, us, ms, s, m, h)", q);
   }
   if (!nonzero)
      return fail (w, "%s must be longer than zero", q);
   return 0;
}

/* What to check on a string, looked up once per schema path: a list of
 * 100,000 hosts must not pay for 40 path comparisons per entry. */
static string_rule
find_string_rule (const char *spath)
{
   string_rule r = { R_NONE, 0 };
   int i;
   if (strcmp (spath, "dlp.action") == 0)
      r.kind = R_DLP_ACTION;
   for (i = 0; r.kind == R_NONE && enums[i].path; i++)
      if (strcmp (enums[i].path, spath) == 0)
         r.kind = R_ENUM, r.index = i;
   for (i = 0; r.kind == R_NONE && host_lists[i].path; i++)
      if (strcmp (host_lists[i].path, spath) == 0)
         r.kind = R_HOST, r.index = i;
   for (i = 0; r.kind == R_NONE && cidr_lists[i].path; i++)
      if (strcmp (cidr_lists[i].path, spath) == 0)
         r.kind = R_CIDR, r.index = i;
   for (i = 0; r.kind == R_NONE && absolute_paths[i]; i++)
      if (strcmp (absolute_paths[i], spath) == 0)
         r.kind = R_ABSOLUTE, r.index = i;
   for (i = 0; r.kind == R_NONE && listen_keys[i]; i++)
      if (strcmp (listen_keys[i], spath) == 0)
         r.kind = R_LISTEN, r.index = i;
   for (i = 0; r.kind == R_NONE && regex_keys[i]; i++)
      if (strcmp (regex_keys[i], spath) == 0)
         r.kind = R_REGEX, r.index = i;
   if (r.kind == R_NONE && strcmp (spath, "tls_interception.cert_ttl") == 0)
      r.kind = R_DURATION;
   return r;
}

/* Rules on a string at the current schema path. */
static int
check_string_rules (walker *w, const char *s, size_t n)
{
   string_rule r;
   int j;

   if (strcmp (w->spath, w->rule_path) != 0) {
      w->rule = find_string_rule (w->spath);
      snprintf (w->rule_path, sizeof w->rule_path, "%s", w->spath);
   }
   r = w->rule;
   if (memchr (s, '\0', n)) {
      char q[96];
      quote (q, sizeof q, s, n);
      return fail (w, "%s contains a NUL byte", q);
   }
   if (!bc_utf8_valid (s, n)) {
      char q[96];
      quote (q, sizeof q, s, n);
      return fail (w, "%s is not valid UTF-8", q);
   }
   switch (r.kind) {
   case R_DLP_ACTION:
      /* In the struct, but 2.3.0's validation refuses every value. */
      return fail (w, "is not supported by pipelock 2.3.0; what a DLP match does is set by "
                      "request_body_scanning.action");
   case R_ENUM:
      {
         char q[96], list[128] = "";
         for (j = 0; enums[r.index].values[j]; j++)
            if (strlen (enums[r.index].values[j]) == n && memcmp (enums[r.index].values[j], s, n) == 0)
               return 0;
         for (j = 0; enums[r.index].values[j]; j++) {
            strcat (list, j ? ", " : "");
            strcat (list, enums[r.index].values[j]);
         }
         quote (q, sizeof q, s, n);
         return fail (w, "%s is not one of: %s", q, list);
      }
   case R_HOST:
      return check_host (w, s, n, host_lists[r.index].rule);
   case R_CIDR:
      return check_cidr (w, s, n, cidr_lists[r.index].canonical);
   case R_ABSOLUTE:
      if (n > 0 && s[0] != '/')
         return fail (w, "must be an absolute path (pipelock would resolve it against the config file's directory)");
      return 0;
   case R_LISTEN:
      return n > 0 ? check_listen (w, s, n) : 0;
   case R_REGEX:
      {
         const char *why = bc_re2_check (s, n);
         char q[96];
         if (!why)
            return 0;
         quote (q, sizeof q, s, n);
         return fail (w, "%s %s", q, why);
      }
   case R_DURATION:
      return check_duration (w, s, n);
   default:
      return 0;
   }
}

static int
check_int_rules (walker *w, lua_Integer v)
{
   int i;
   for (i = 0; int_mins[i].path; i++)
      if (strcmp (int_mins[i].path, w->spath) == 0 && v < int_mins[i].min)
         return fail (w, "%s", int_mins[i].why);
   if (strcmp (w->spath, "seed_phrase_detection.min_words") == 0
       && v != 12 && v != 15 && v != 18 && v != 21 && v != 24)
      return fail (w, "must be 12, 15, 18, 21 or 24");
   return 0;
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
      return fail (w, "nesting too deep");
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
         return fail (w, "has a key that is not a string (%s)", luaL_typename (L, -1));
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
         quote (q, sizeof q, keys[n], kl);
         lua_pop (L, 2);
         return fail (w, "has a key with a NUL byte (%s)", q);
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
            rc = fail (w, "unknown key (pipelock 2.3.0 refuses keys it does not know)");
            break;
         }
         if (sl == 0) {
            int known = 0;
            for (j = 0; allowed_sections[j] && !known; j++)
               known = strcmp (allowed_sections[j], keys[i]) == 0;
            if (!known && strcmp (keys[i], "agents") != 0)
               return fail (w, "is a pipelock section a bottle's config may not hold: pipelock checks it "
                               "with rules of its own that the launcher does not check (the sections "
                               "allowed are those `render` writes, and internal, metrics_listen, "
                               "response_scanning, seed_phrase_detection, ssrf, trusted_domains)");
         }
         for (j = 0; refused_keys[j].path; j++)
            if (strcmp (refused_keys[j].path, w->spath) == 0)
               return fail (w, "%s", refused_keys[j].why);
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
      rc = e ? check_value (w, lua_gettop (L), e->kind) : fail (w, "not in the schema");
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
                  return fail (w, "needs a non-empty %s (pipelock refuses a pattern without one)",
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
      return fail (w, "not in the schema");
   }
   if (e->kind == BC_K_STRING && find_string_rule (w->spath).kind == R_HOST
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
         return fail (w, "must be a list (a sequence 1..n), not a mapping");
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
      return fail (w, "must be a list without holes");
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
      return fail (w, "is null; remove the key to take pipelock's default");
   switch (kind) {
   case BC_K_BOOL:
      if (t != LUA_TBOOLEAN)
         return fail (w, "must be %s, not %s", kind_name (kind), luaL_typename (L, idx));
      return 0;
   case BC_K_INT:
   case BC_K_UINT:
      if (!lua_isinteger (L, idx))
         return fail (w, "must be %s, not %s", kind_name (kind),
                      t == LUA_TNUMBER ? "a fraction" : luaL_typename (L, idx));
      /* every count, size and duration in pipelock is >= 0; it refuses
       * some negative ones and misreads others */
      if (lua_tointeger (L, idx) < 0)
         return fail (w, "must not be negative");
      return check_int_rules (w, lua_tointeger (L, idx));
   case BC_K_FLOAT:
      if (t != LUA_TNUMBER)
         return fail (w, "must be %s, not %s", kind_name (kind), luaL_typename (L, idx));
      if (!isfinite ((double) lua_tonumber (L, idx)))
         return fail (w, "must be a finite number, not %s",
                      isnan ((double) lua_tonumber (L, idx)) ? "NaN" : "infinite");
      if (strcmp (w->spath, "sentry.sample_rate") == 0
          && (lua_tonumber (L, idx) < 0 || lua_tonumber (L, idx) > 1))
         return fail (w, "must be from 0 to 1");
      return 0;
   case BC_K_STRING:
      if (t != LUA_TSTRING)
         return fail (w, "must be %s, not %s", kind_name (kind), luaL_typename (L, idx));
      {
         size_t n;
         const char *s = lua_tolstring (L, idx, &n);
         return check_string_rules (w, s, n);
      }
   case BC_K_LIST:
      if (t != LUA_TTABLE)
         return fail (w, "must be %s, not %s", kind_name (kind), luaL_typename (L, idx));
      lua_pushnil (L);
      if (!lua_next (L, idx) && !is_marked_list (L, idx))
         return fail (w, "is an empty table that is not marked as a list (core.array_mt), "
                         "so it would be written as a mapping pipelock cannot read; write a list");
      lua_settop (L, idx);
      return check_list (w, idx);
   case BC_K_MAP:
   case BC_K_STRUCT:
      if (t != LUA_TTABLE)
         return fail (w, "must be %s, not %s", kind_name (kind), luaL_typename (L, idx));
      if (lua_rawlen (L, idx) > 0 || is_marked_list (L, idx))
         return fail (w, "must be a mapping, not a list");
      return check_mapping (w, idx, kind);
   default:
      return 0;
   }
}

/* ---- invariants across keys ------------------------------------------- */

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
      return fail (w, "%s", why);
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
         return fail (w, "must keep pipelock's default range %s (a config may add ranges to internal, "
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
         return fail (w, "would let pipelock send data out of the sidecar itself, past api_allowlist; "
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
      return fail (w, "is required when logging.output is file or both");
   }
   return 0;
}

static int
check_invariants (walker *w, int cfg)
{
   lua_State *L = w->L;
   int t;

   t = get_path (L, cfg, "version");
   if (t != LUA_TNIL && !(lua_isinteger (L, -1) && lua_tointeger (L, -1) == 1)) {
      lua_pop (L, 1);
      snprintf (w->dpath, sizeof w->dpath, "version");
      return fail (w, "must be 1");
   }
   lua_pop (L, 1);
   if (need (w, cfg, "mode", LUA_TSTRING, "strict", 0,
             "must be strict: only strict mode enforces api_allowlist")
       || need (w, cfg, "enforce", LUA_TBOOLEAN, NULL, 1,
                "must be true: false turns every block into a log line")
       || need (w, cfg, "forward_proxy.enabled", LUA_TBOOLEAN, NULL, 1,
                "must be true: the agent reaches the network only through the forward proxy")
       || need (w, cfg, "fetch_proxy.listen", LUA_TSTRING, SIDECAR_LISTEN, 0,
                "must be " SIDECAR_LISTEN ": the agent and the health check reach the sidecar there"))
      return -1;

   get_path (L, cfg, "api_allowlist");
   t = lua_istable (L, -1) && lua_rawlen (L, -1) > 0;
   lua_pop (L, 1);
   if (!t) {
      snprintf (w->dpath, sizeof w->dpath, "api_allowlist");
      return fail (w, "must list at least one host (strict mode refuses an empty allowlist)");
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
            return fail (w, "must be set to an absolute path when tls_interception is enabled");
         }
      }
   }

   if (get_path (L, cfg, "agents") != LUA_TNIL) {
      lua_pop (L, 1);
      snprintf (w->dpath, sizeof w->dpath, "agents");
      return fail (w, "per-agent profiles are an enterprise feature that needs a license; "
                      "one sidecar serves one bottle here");
   }
   lua_pop (L, 1);

   if (check_internal (w, cfg) || check_logging_file (w, cfg) || check_side_routes (w, cfg))
      return -1;
   return 0;
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
   if (check_mapping (w, 1, BC_K_STRUCT) != 0 || check_invariants (w, 1) != 0) {
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
