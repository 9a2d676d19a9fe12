/* core.pipelock_check's rules on one value beyond its type: enums from
 * pipelock 2.3.0's validate.go, host lists in the normal form pipelock
 * matches, CIDRs, absolute CA paths, listeners off the proxy's port,
 * regexes Go's regexp compiles, Go durations and integer minimums.  Each
 * string is also checked length-aware: a NUL byte or invalid UTF-8 is
 * refused.  The walk (pipelock_check.c) calls these for each value. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "pipelock_check_internal.h"

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
   bc_pc_quote (q, sizeof q, s, n);
   if (why)
      return bc_pc_fail (w, "%s %s", q, why);
   return bc_pc_fail (w, "%s is not in normal form; write %s%s", q, skip ? "*." : "", norm);
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

   bc_pc_quote (q, sizeof q, s, n);
   if (n >= sizeof buf || !(slash = memchr (s, '/', n)))
      return bc_pc_fail (w, "%s is not a CIDR (write 10.0.0.0/8 or fd00::/8)", q);
   memcpy (buf, s, (size_t) (slash - s));
   buf[slash - s] = '\0';
   family = strchr (buf, ':') ? AF_INET6 : AF_INET;
   maxbits = family == AF_INET ? 32 : 128;
   if (inet_pton (family, buf, addr) != 1)
      return bc_pc_fail (w, "%s is not a CIDR: bad address", q);
   bits = strtol (slash + 1, &end, 10);
   if (end != s + n || slash[1] < '0' || slash[1] > '9' || bits > maxbits
       || (slash[1] == '0' && slash + 2 != s + n))
      return bc_pc_fail (w, "%s is not a CIDR: bad prefix length", q);
   if (!canonical)
      return 0;
   if (bits == 0)
      return bc_pc_fail (w, "%s is a catch-all (/0) and would disable SSRF protection", q);
   if (family == AF_INET6 && memcmp (addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
      return bc_pc_fail (w, "%s is an IPv4-mapped range, which Go applies to IPv4 addresses; write it as IPv4 (a.b.c.d/n)", q);
   if (bits < 8)
      return bc_pc_fail (w, "%s is wider than /8 and would turn SSRF protection off for most addresses; "
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
         return bc_pc_fail (w, "%s has host bits set; write %s/%ld", q, canon, bits);
      }
   }
   inet_ntop (family, addr, canon, sizeof canon);
   if (strlen (canon) != (size_t) (slash - s) || memcmp (canon, s, (size_t) (slash - s)) != 0)
      return bc_pc_fail (w, "%s is not in canonical form; write %s/%ld", q, canon, bits);
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
   bc_pc_quote (q, sizeof q, s, n);
   if (port < 0)
      return bc_pc_fail (w, "%s is not host:port with a port from 1 to 65535 written plainly (no sign, no leading zero)", q);
   if (port == atol (BC_SIDECAR_PORT))
      return bc_pc_fail (w, "%s takes the proxy's port %s; choose another port", q, BC_SIDECAR_PORT);
   if (!loopback_host (s, (size_t) ((const char *) memrchr (s, ':', n) - s)))
      return bc_pc_fail (w, "%s is not on the sidecar's loopback: /metrics and /stats would answer the agent; "
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
   bc_pc_quote (q, sizeof q, s, n);
   if (n == 0)
      return bc_pc_fail (w, "%s is not a duration (write 24h or 90m)", q);
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
         return bc_pc_fail (w, "%s is not a duration (write 24h or 90m)", q);
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
         return bc_pc_fail (w, "%s is not a duration: each number needs a unit (ns, us, ms, s, m, h)", q);
   }
   if (!nonzero)
      return bc_pc_fail (w, "%s must be longer than zero", q);
   return 0;
}

/* What to check on a string, looked up once per schema path: a list of
 * 100,000 hosts must not pay for 40 path comparisons per entry. */
string_rule
bc_pc_string_rule (const char *spath)
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
int
bc_pc_check_string_rules (walker *w, const char *s, size_t n)
{
   string_rule r;
   int j;

   if (strcmp (w->spath, w->rule_path) != 0) {
      w->rule = bc_pc_string_rule (w->spath);
      snprintf (w->rule_path, sizeof w->rule_path, "%s", w->spath);
   }
   r = w->rule;
   if (memchr (s, '\0', n)) {
      char q[96];
      bc_pc_quote (q, sizeof q, s, n);
      return bc_pc_fail (w, "%s contains a NUL byte", q);
   }
   if (!bc_utf8_valid (s, n)) {
      char q[96];
      bc_pc_quote (q, sizeof q, s, n);
      return bc_pc_fail (w, "%s is not valid UTF-8", q);
   }
   switch (r.kind) {
   case R_DLP_ACTION:
      /* In the struct, but 2.3.0's validation refuses every value. */
      return bc_pc_fail (w, "is not supported by pipelock 2.3.0; what a DLP match does is set by "
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
         bc_pc_quote (q, sizeof q, s, n);
         return bc_pc_fail (w, "%s is not one of: %s", q, list);
      }
   case R_HOST:
      return check_host (w, s, n, host_lists[r.index].rule);
   case R_CIDR:
      return check_cidr (w, s, n, cidr_lists[r.index].canonical);
   case R_ABSOLUTE:
      if (n > 0 && s[0] != '/')
         return bc_pc_fail (w, "must be an absolute path (pipelock would resolve it against the config file's directory)");
      return 0;
   case R_LISTEN:
      return n > 0 ? check_listen (w, s, n) : 0;
   case R_REGEX:
      {
         const char *why = bc_re2_check (s, n);
         char q[96];
         if (!why)
            return 0;
         bc_pc_quote (q, sizeof q, s, n);
         return bc_pc_fail (w, "%s %s", q, why);
      }
   case R_DURATION:
      return check_duration (w, s, n);
   default:
      return 0;
   }
}

int
bc_pc_check_int_rules (walker *w, lua_Integer v)
{
   int i;
   for (i = 0; int_mins[i].path; i++)
      if (strcmp (int_mins[i].path, w->spath) == 0 && v < int_mins[i].min)
         return bc_pc_fail (w, "%s", int_mins[i].why);
   if (strcmp (w->spath, "seed_phrase_detection.min_words") == 0
       && v != 12 && v != 15 && v != 18 && v != 21 && v != 24)
      return bc_pc_fail (w, "must be 12, 15, 18, 21 or 24");
   return 0;
}

