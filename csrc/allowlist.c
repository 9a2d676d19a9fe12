/* Host validation and allowlist resolution.
 *
 * pipelock 2.3.0 validates none of the hosts in api_allowlist or
 * passthrough_domains: an entry with a port or a scheme silently never
 * matches, and `*.com` silently allows every .com host.  So every host is
 * checked here, before pipelock ever sees it, and refused with a message that
 * says what is wrong and what to write instead. */
#define _GNU_SOURCE  /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

const char *const bc_default_allowlist[] = {
   "api.anthropic.com", "statsig.anthropic.com", "sentry.io", "claude.ai",
   "platform.claude.com", "downloads.claude.ai", "raw.githubusercontent.com",
   NULL
};

/* Claude Code's own API traffic is never decrypted: its x-api-key header
 * matches pipelock's built-in DLP patterns and would block every call. */
const char *const bc_default_passthrough[] = { "api.anthropic.com", NULL };

/* Wildcards over these are refused: each is a suffix under which unrelated
 * parties own names, so `*.github.io` would open every user's site.  This is
 * a small embedded excerpt of the Public Suffix List (multi-label public
 * suffixes and the hosting platforms most used for exfiltration), not the
 * whole list; single-label TLDs are refused by the two-label rule already.
 * githubusercontent.com is deliberately absent: `*.githubusercontent.com` is
 * the usual way to allow GitHub's raw and release downloads. */
static const char *const public_suffixes[] = {
   "ac.uk", "co.uk", "gov.uk", "ltd.uk", "me.uk", "net.uk", "org.uk", "plc.uk",
   "com.au", "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz",
   "co.jp", "ne.jp", "or.jp", "ac.jp", "co.kr", "com.cn", "net.cn", "org.cn",
   "com.br", "net.br", "org.br", "com.mx", "co.in", "net.in", "org.in",
   "co.za", "org.za", "com.tr", "com.tw", "com.hk", "com.sg", "com.ar",
   "co.il", "com.pl", "com.ua", "co.id", "com.my", "com.ph", "com.vn",
   "github.io", "gitlab.io", "herokuapp.com", "appspot.com", "blogspot.com",
   "cloudfront.net", "amazonaws.com", "s3.amazonaws.com", "azurewebsites.net",
   "cloudapp.net", "netlify.app", "vercel.app", "pages.dev", "workers.dev",
   "r2.dev", "web.app", "firebaseapp.com", "fly.dev", "onrender.com",
   "ngrok.io", "ngrok-free.app", "trycloudflare.com", "glitch.me", "repl.co",
   "surge.sh", "now.sh", "readthedocs.io", "pythonanywhere.com",
   NULL
};

static int
is_public_suffix (const char *s)
{
   const char *const *p;
   for (p = public_suffixes; *p; p++)
      if (strcmp (*p, s) == 0)
         return 1;
   return 0;
}

/* A label that is all digits, for the IPv4 rules. */
static int
all_digits (const char *s, size_t n)
{
   size_t i;
   if (n == 0)
      return 0;
   for (i = 0; i < n; i++)
      if (s[i] < '0' || s[i] > '9')
         return 0;
   return 1;
}

/* Validates the labels of s[0..n) (already lowercased, no wildcard).
 * Returns NULL or a message.  *labels gets the label count. */
static const char *
check_labels (const char *s, size_t n, int *labels, int *numeric)
{
   size_t start = 0, i;
   int count = 0, num = 0;

   for (i = 0; i <= n; i++) {
      if (i == n || s[i] == '.') {
         size_t len = i - start;
         if (len == 0)
            return "has an empty label (two dots in a row, or a leading dot); "
                   "write labels separated by single dots";
         if (len > 63)
            return "has a label longer than 63 characters";
         if (s[start] == '-' || s[i - 1] == '-')
            return "has a label starting or ending with '-'";
         if (all_digits (s + start, len))
            num++;
         count++;
         start = i + 1;
      }
   }
   *labels = count;
   *numeric = num;
   return NULL;
}

/* Four decimal octets, 0-255, no leading zeros (pipelock matches IP literals
 * exactly, so 010.0.0.1 would never match what a client sends). */
static int
is_ipv4 (const char *s, size_t n)
{
   size_t start = 0, i;
   int parts = 0;
   for (i = 0; i <= n; i++) {
      if (i == n || s[i] == '.') {
         size_t len = i - start;
         long v;
         if (!all_digits (s + start, len) || len > 3)
            return 0;
         if (len > 1 && s[start] == '0')
            return 0;
         v = strtol (s + start, NULL, 10);
         if (v > 255)
            return 0;
         parts++;
         start = i + 1;
      }
   }
   return parts == 4;
}

/* The general path: every rule, with the message for the first broken one. */
static const char *
normalize_slow (const char *in, size_t len, char *out, size_t *outlen)
{
   size_t b = 0, e = len, n, i;
   const char *why;
   int labels, numeric, wildcard = 0;

   /* Trim ASCII whitespace at both ends. */
   while (b < e && (in[b] == ' ' || in[b] == '\t' || in[b] == '\n' || in[b] == '\r'))
      b++;
   while (e > b && (in[e - 1] == ' ' || in[e - 1] == '\t' || in[e - 1] == '\n' || in[e - 1] == '\r'))
      e--;
   n = e - b;
   if (n == 0)
      return "is empty; write a host name such as api.example.com";

   /* Characters first: they decide the clearest message. */
   if (n >= 3 && memmem (in + b, n, "://", 3))
      return "is a URL; write the host alone (api.example.com, not https://api.example.com/)";
   for (i = b; i < e; i++) {
      unsigned char c = (unsigned char) in[i];
      if (c >= 0x80)
         return "is not ASCII; write an internationalised name in punycode (xn--...)";
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
         return "contains whitespace";
      if (c < 0x20 || c == 0x7f)
         return "contains a control character";
   }
   for (i = b; i < e; i++) {
      char c = in[i];
      if (c == '[' || c == ']')
         return "has brackets; IPv6 literals are not supported in host lists, write a host name";
      if (c == ':')
         return "is host:port; pipelock ignores ports (an entry with a port never matches), write the host alone";
      if (c == '/')
         return "contains a path; write the host alone";
      if (c == '@')
         return "contains '@'; write the host alone, without user information";
   }

   if (n > BC_HOST_MAX + 1)
      return "is longer than 253 characters";
   for (i = 0; i < n; i++) {
      char c = in[b + i];
      out[i] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
   }
   if (out[n - 1] == '.')        /* one trailing dot: the fully qualified form */
      n--;
   if (n == 0)
      return "is empty; write a host name such as api.example.com";
   if (n > BC_HOST_MAX)
      return "is longer than 253 characters";
   out[n] = '\0';

   for (i = 0; i < n; i++) {
      char c = out[i];
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '*'))
         return "contains a character not allowed in host names (only letters, digits, '-' and '.')";
   }

   if (out[0] == '*') {
      if (n == 1)
         return "is a bare '*', which would allow every host; list the hosts instead";
      if (out[1] != '.')
         return "has a wildcard that is not a whole leading label; write *.example.com";
      wildcard = 1;
   }
   if (memchr (out + wildcard, '*', n - wildcard))
      return "has a wildcard that is not the leading label; only *.example.com is supported";

   why = check_labels (out + 2 * wildcard, n - 2 * wildcard, &labels, &numeric);
   if (why)
      return why;

   if (numeric > 0) {
      if (wildcard)
         return "is a wildcard over an IP address; IP literals only match exactly";
      if (!is_ipv4 (out, n)) {
         if (numeric == labels)
            return "looks like an IP address but is not a dotted-quad IPv4 (four numbers 0-255, no leading zeros)";
         /* A numeric label elsewhere is fine (1password.com); a numeric
          * top-level label is not a host name. */
         {
            const char *last = strrchr (out, '.');
            if (last && all_digits (last + 1, n - (size_t) (last + 1 - out)))
               return "has a numeric top-level label";
         }
      }
   }
   if (wildcard) {
      if (labels < 2)
         return "is a wildcard over a top-level domain, which would allow a whole TLD; "
                "write *.example.com";
      if (is_public_suffix (out + 2))
         return "is a wildcard over a public suffix, which would allow names owned by "
                "anyone; list the exact hosts instead";
   }
   *outlen = n;
   return NULL;
}

/* Character classes for the fast path. */
enum { C_BAD = 0, C_LOWER, C_UPPER, C_DIGIT, C_HYPHEN, C_DOT };
static unsigned char char_class[256];

static void
init_char_class (void)
{
   int c;
   for (c = 'a'; c <= 'z'; c++)
      char_class[c] = C_LOWER;
   for (c = 'A'; c <= 'Z'; c++)
      char_class[c] = C_UPPER;
   for (c = '0'; c <= '9'; c++)
      char_class[c] = C_DIGIT;
   char_class['-'] = C_HYPHEN;
   char_class['.'] = C_DOT;
}

/* One pass for the common case, a plain host name in letters, digits, '-'
 * and '.' (a 100,000-host allowlist is checked twice per launch).  Anything
 * else (wildcards, numeric labels, IPs, a trailing dot, whitespace, a broken
 * label) goes to normalize_slow, which owns every rule and message; on the
 * inputs this path accepts, the two give the same result. */
const char *
bc_host_normalize (const char *in, size_t len, char *out, size_t *outlen)
{
   size_t i, label = 0;
   int digits_only = 1;

   if (len == 0 || len > BC_HOST_MAX)
      return normalize_slow (in, len, out, outlen);
   for (i = 0; i < len; i++) {
      unsigned char c = (unsigned char) in[i];
      switch (char_class[c]) {
      case C_LOWER:
         out[i] = (char) c;
         digits_only = 0;
         label++;
         break;
      case C_UPPER:
         out[i] = (char) (c - 'A' + 'a');
         digits_only = 0;
         label++;
         break;
      case C_DIGIT:
         out[i] = (char) c;
         label++;
         break;
      case C_HYPHEN:
         if (label == 0)
            return normalize_slow (in, len, out, outlen);
         out[i] = '-';
         digits_only = 0;
         label++;
         break;
      case C_DOT:
         if (label == 0 || label > 63 || digits_only || out[i - 1] == '-')
            return normalize_slow (in, len, out, outlen);
         out[i] = '.';
         label = 0;
         digits_only = 1;
         break;
      default:
         return normalize_slow (in, len, out, outlen);
      }
   }
   if (label == 0 || label > 63 || digits_only || out[len - 1] == '-')
      return normalize_slow (in, len, out, outlen);
   out[len] = '\0';
   *outlen = len;
   return NULL;
}

/* Quote an entry for an error message: printable ASCII as is, anything
 * else as \xNN, so no control character from a manifest reaches a terminal. */
static void
push_quoted (lua_State *L, const char *s, size_t n)
{
   luaL_Buffer b;
   size_t i;
   if (n > 300)
      n = 300;
   luaL_buffinit (L, &b);
   luaL_addchar (&b, '"');
   for (i = 0; i < n; i++) {
      unsigned char c = (unsigned char) s[i];
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
         luaL_addchar (&b, (char) c);
      else {
         char esc[8];
         snprintf (esc, sizeof esc, "\\x%02x", c);
         luaL_addstring (&b, esc);
      }
   }
   luaL_addchar (&b, '"');
   luaL_pushresult (&b);
}

/* core.host_check(host) -> normal form | nil, message, "invalid_host" */
static int
l_host_check (lua_State *L)
{
   size_t len, outlen;
   const char *s = luaL_checklstring (L, 1, &len);
   char out[BC_HOST_MAX + 2];
   const char *why = bc_host_normalize (s, len, out, &outlen);
   if (why) {
      lua_pushnil (L);
      push_quoted (L, s, len);
      lua_pushfstring (L, "%s %s", lua_tostring (L, -1), why);
      lua_remove (L, -2);
      lua_pushliteral (L, "invalid_host");
      return 3;
   }
   lua_pushlstring (L, out, outlen);
   return 1;
}

/* ---- core.allowlist --------------------------------------------------- */

/* Normalised hosts live in one arena; the entries are sorted.  Each entry
 * carries its first eight bytes as a big-endian integer, so that most
 * comparisons of a 100,000-host sort are one integer compare, not a strcmp
 * through a function pointer. */
typedef struct {
   uint64_t key;          /* first 8 bytes, NUL-padded, big-endian */
   size_t off, len;
   int src_list;          /* stack index of the list the host came from, */
   lua_Integer src_item;  /* and its index: 0 when the written form differs */
} host_entry;

typedef struct {
   char *arena;
   size_t used, cap;
   host_entry *entries;
   size_t count, ecap;
} host_set;

static int
entry_less (const host_entry *a, const host_entry *b, const char *arena)
{
   if (a->key != b->key)
      return a->key < b->key;
   /* equal prefixes: a shorter string's padding already made it equal */
   if (a->len <= 8 || b->len <= 8)
      return a->len < b->len;
   return strcmp (arena + a->off + 8, arena + b->off + 8) < 0;
}

/* Stable bottom-up merge sort; -1 when the scratch buffer cannot be had. */
static int
sort_entries (host_entry *v, size_t n, const char *arena)
{
   host_entry *tmp, *src = v, *dst;
   size_t width;
   if (n < 2)
      return 0;
   tmp = malloc (n * sizeof *tmp);
   if (!tmp)
      return -1;
   dst = tmp;
   for (width = 1; width < n; width *= 2) {
      size_t lo;
      for (lo = 0; lo < n; lo += 2 * width) {
         size_t mid = lo + width < n ? lo + width : n;
         size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
         size_t i = lo, j = mid, k = lo;
         while (i < mid && j < hi)
            dst[k++] = entry_less (&src[j], &src[i], arena) ? src[j++] : src[i++];
         while (i < mid)
            dst[k++] = src[i++];
         while (j < hi)
            dst[k++] = src[j++];
      }
      { host_entry *t = src; src = dst; dst = t; }
   }
   if (src != v)
      memcpy (v, src, n * sizeof *v);
   free (tmp);
   return 0;
}

static void
set_free (host_set *hs)
{
   free (hs->arena);
   free (hs->entries);
   memset (hs, 0, sizeof *hs);
}

/* 0 on success, -1 on out of memory. */
static int
set_add (host_set *hs, const char *h, size_t n, int src_list, lua_Integer src_item)
{
   host_entry *e;
   size_t i;
   if (hs->used + n + 1 > hs->cap) {
      size_t cap = hs->cap ? hs->cap * 2 : 4096;
      char *p;
      while (cap < hs->used + n + 1)
         cap *= 2;
      p = realloc (hs->arena, cap);
      if (!p)
         return -1;
      hs->arena = p;
      hs->cap = cap;
   }
   if (hs->count == hs->ecap) {
      size_t ecap = hs->ecap ? hs->ecap * 2 : 64;
      host_entry *p = realloc (hs->entries, ecap * sizeof *p);
      if (!p)
         return -1;
      hs->entries = p;
      hs->ecap = ecap;
   }
   memcpy (hs->arena + hs->used, h, n);
   hs->arena[hs->used + n] = '\0';
   e = &hs->entries[hs->count++];
   e->off = hs->used;
   e->len = n;
   e->src_list = src_list;
   e->src_item = src_item;
   e->key = 0;
   for (i = 0; i < 8; i++)
      e->key = (e->key << 8) | (i < n ? (unsigned char) h[i] : 0);
   hs->used += n + 1;
   return 0;
}

/* The set is a userdata so that a raised error (misuse found half way, or a
 * memory error in Lua) still frees it through __gc. */
static int
set_gc (lua_State *L)
{
   set_free ((host_set *) lua_touserdata (L, 1));
   return 0;
}

#define HOST_SET_MT "bottle.core.host_set"

static host_set *
set_new (lua_State *L)
{
   host_set *hs = lua_newuserdatauv (L, sizeof *hs, 0);
   memset (hs, 0, sizeof *hs);
   if (luaL_newmetatable (L, HOST_SET_MT)) {
      lua_pushcfunction (L, set_gc);
      lua_setfield (L, -2, "__gc");
   }
   lua_setmetatable (L, -2);
   return hs;
}

/* Adds every entry of the list at `idx`; on a bad entry pushes nil, msg,
 * code and returns 3, else returns 0. */
static int
add_list (lua_State *L, host_set *hs, int idx, const char *listname)
{
   lua_Integer i, n;
   char out[BC_HOST_MAX + 2];

   if (lua_isnoneornil (L, idx))
      return 0;
   luaL_checktype (L, idx, LUA_TTABLE);
   n = (lua_Integer) lua_rawlen (L, idx);
   for (i = 1; i <= n; i++) {
      size_t len, outlen;
      const char *s, *why;
      if (lua_rawgeti (L, idx, i) != LUA_TSTRING)
         return luaL_error (L, "%s[%d] is a %s, expected a host name string",
                            listname, (int) i, luaL_typename (L, -1));
      s = lua_tolstring (L, -1, &len);
      why = bc_host_normalize (s, len, out, &outlen);
      if (why) {
         lua_pushnil (L);
         push_quoted (L, s, len);
         lua_pushfstring (L, "%s[%d] %s %s", listname, (int) i, lua_tostring (L, -1), why);
         lua_remove (L, -2);
         lua_pushliteral (L, "invalid_host");
         return 3;
      }
      lua_pop (L, 1);
      /* An entry already in normal form (the usual case) is pushed back as
       * the caller's own string: no second Lua string per host. */
      if (set_add (hs, out, outlen, idx, (outlen == len && memcmp (out, s, len) == 0) ? i : 0) != 0)
         return luaL_error (L, "out of memory");
   }
   return 0;
}

/* core.allowlist(defaults, extra [, opts]) -> sorted unique array */
int
bc_allowlist (lua_State *L)
{
   host_set *hs;
   const char *dname = "defaults", *ename = "extra";
   size_t i, out = 0;
   int rc;

   lua_settop (L, 3);                 /* omitted arguments are nil, not the stack's next slot */
   if (!lua_isnoneornil (L, 3)) {
      luaL_checktype (L, 3, LUA_TTABLE);
      if (lua_getfield (L, 3, "defaults_name") == LUA_TSTRING)
         dname = lua_tostring (L, -1);
      if (lua_getfield (L, 3, "extra_name") == LUA_TSTRING)
         ename = lua_tostring (L, -1);
      /* both names stay anchored on the stack */
   }
   hs = set_new (L);
   if ((rc = add_list (L, hs, 1, dname)) || (rc = add_list (L, hs, 2, ename)))
      return rc;

   if (sort_entries (hs->entries, hs->count, hs->arena) != 0)
      return luaL_error (L, "out of memory");

   lua_createtable (L, (int) hs->count, 0);              /* the result */
   bc_set_array_mt (L);
   lua_createtable (L, (int) hs->count, 0);              /* its snapshot */
   for (i = 0; i < hs->count; i++) {
      const host_entry *e = &hs->entries[i];
      const char *h = hs->arena + e->off;
      if (i > 0 && e->len == e[-1].len && memcmp (h, hs->arena + e[-1].off, e->len) == 0)
         continue;
      if (e->src_item > 0)
         lua_rawgeti (L, e->src_list, e->src_item);
      else
         lua_pushlstring (L, h, e->len);
      lua_pushvalue (L, -1);
      lua_rawseti (L, -3, (lua_Integer) ++out);
      lua_rawseti (L, -3, (lua_Integer) out);
   }
   /* registry[BC_VALIDATED_LISTS][result] = snapshot */
   if (lua_getfield (L, LUA_REGISTRYINDEX, BC_VALIDATED_LISTS) != LUA_TTABLE) {
      lua_pop (L, 1);
      lua_newtable (L);
      lua_createtable (L, 0, 1);
      lua_pushliteral (L, "k");
      lua_setfield (L, -2, "__mode");
      lua_setmetatable (L, -2);
      lua_pushvalue (L, -1);
      lua_setfield (L, LUA_REGISTRYINDEX, BC_VALIDATED_LISTS);
   }
   lua_pushvalue (L, -3);
   lua_pushvalue (L, -3);
   lua_rawset (L, -3);
   lua_pop (L, 2);                                       /* registry table, snapshot */
   return 1;
}

void
bc_allowlist_open (lua_State *L)
{
   static const luaL_Reg fns[] = {
      { "host_check", l_host_check },
      { "allowlist", bc_allowlist },
      { NULL, NULL }
   };
   init_char_class ();
   luaL_setfuncs (L, fns, 0);
   bc_push_strings (L, bc_default_allowlist);
   lua_setfield (L, -2, "DEFAULT_ALLOWLIST");
   bc_push_strings (L, bc_default_passthrough);
   lua_setfield (L, -2, "DEFAULT_PASSTHROUGH");
   bc_push_strings (L, public_suffixes);
   lua_setfield (L, -2, "PUBLIC_SUFFIXES");
}
