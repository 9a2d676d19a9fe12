/* Is this regular expression one Go's regexp (RE2 syntax) compiles?
 *
 * pipelock 2.3.0 compiles every DLP and response pattern with Go's regexp
 * and refuses the whole config when one fails.  No RE2 binding is among the
 * launcher's dependencies, and POSIX regcomp reads another syntax, so this
 * is a small recogniser written for the purpose.  It is conservative: it
 * accepts a subset of RE2 (literals, escapes, classes, groups, flags,
 * alternation, repetition) and refuses everything else with a reason, so a
 * pattern it accepts always compiles in Go.  Refused on purpose, though Go
 * has them: \p classes, \Q...\E, octal escapes, (?<name>...), a literal "{"
 * not written as \{. */
#include <string.h>

#include "core.h"

#define RE_MAX_LEN 4096
#define RE_MAX_DEPTH 100
#define RE_MAX_REPEAT 1000
#define RE_MAX_SIZE 100000      /* well under Go's limit on a compiled program */
#define RE_MAX_NAMES 64

typedef struct {
   const unsigned char *s;
   size_t n, i;
   const char *why;
   size_t names[RE_MAX_NAMES], name_len[RE_MAX_NAMES];   /* (?P<name> groups seen */
   int nnames;
} re_t;

/* What a subexpression costs: the product of the counted repetitions
 * nested in it, and about how many instructions it compiles to. */
typedef struct {
   long count, size;
} re_cost;

static int
re_fail (re_t *r, const char *why)
{
   if (!r->why)
      r->why = why;
   return -1;
}

/* One UTF-8 character (valid, shortest form, no surrogates) at r->i. */
static int
re_utf8 (re_t *r)
{
   unsigned char c = r->s[r->i];
   size_t len, k;
   unsigned long cp;
   if (c < 0x80) {
      r->i++;
      return 0;
   }
   len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
   if (len == 0 || r->i + len > r->n)
      return re_fail (r, "is not valid UTF-8");
   cp = c & (0x3f >> (len - 1));
   for (k = 1; k < len; k++) {
      unsigned char d = r->s[r->i + k];
      if ((d & 0xc0) != 0x80)
         return re_fail (r, "is not valid UTF-8");
      cp = (cp << 6) | (d & 0x3f);
   }
   if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      return re_fail (r, "is not valid UTF-8");
   r->i += len;
   return 0;
}

static int
is_hex (unsigned char c)
{
   return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* An escape after "\" at r->i.  *is_class: a class such as \d (not a
 * single character, so not a range end).  *empty: \b \B \A \z (nothing to
 * repeat). */
static int
re_escape (re_t *r, int in_class, int *is_class, int *empty)
{
   unsigned char c;
   *is_class = *empty = 0;
   if (r->i >= r->n)
      return re_fail (r, "ends with a lone backslash");
   c = r->s[r->i++];
   if (strchr ("dDwWsS", c) && c) {
      *is_class = 1;
      return 0;
   }
   if (!in_class && strchr ("bBAz", c) && c) {
      *empty = 1;
      return 0;
   }
   if (strchr ("aftnrv", c) && c)
      return 0;
   if (c == 'x') {
      if (r->i < r->n && r->s[r->i] == '{') {
         size_t start = ++r->i;
         while (r->i < r->n && is_hex (r->s[r->i]) && r->i - start < 6)
            r->i++;
         if (r->i == start || r->i >= r->n || r->s[r->i] != '}')
            return re_fail (r, "has a bad \\x{...} escape");
         r->i++;
         return 0;
      }
      if (r->i + 2 > r->n || !is_hex (r->s[r->i]) || !is_hex (r->s[r->i + 1]))
         return re_fail (r, "has a bad \\x escape (write \\x41 or \\x{41})");
      r->i += 2;
      return 0;
   }
   if (c >= '0' && c <= '9')
      return re_fail (r, "has a backreference or octal escape (\\1...), which RE2 does not have");
   if (c == 'p' || c == 'P' || c == 'Q' || c == 'E' || c == 'C')
      return re_fail (r, "uses an escape this check does not accept (\\p, \\Q...\\E, \\C); write the characters");
   /* any other ASCII punctuation, and a space, stands for itself (Go's
    * regexp/syntax: an escaped non-word character is always itself) */
   if (c < 0x80 && strchr (" \\.+*?()|[]{}^$-/&~#!\"%',:;<=>@_`", c) && c)
      return 0;
   return re_fail (r, "has an unknown escape (only punctuation, \\d \\w \\s \\b \\x.. and the like)");
}

static const char *const posix_classes[] = {
   "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower",
   "print", "punct", "space", "upper", "word", "xdigit", NULL
};

/* A bracket expression; r->i is just after "[". */
static int
re_class (re_t *r)
{
   int first = 1, have_prev = 0;
   unsigned long prev = 0;
   if (r->i < r->n && r->s[r->i] == '^')
      r->i++;
   for (;;) {
      unsigned long cp;
      int is_class = 0, empty;
      size_t at;
      if (r->i >= r->n)
         return re_fail (r, "has a [ without its ]");
      at = r->i;
      if (r->s[at] == ']' && !first) {
         r->i++;
         return 0;
      }
      first = 0;
      if (r->s[at] == '[' && at + 1 < r->n && r->s[at + 1] == ':') {
         int k, ok = 0;
         size_t name = at + 2 + (at + 2 < r->n && r->s[at + 2] == '^');
         for (k = 0; posix_classes[k] && !ok; k++) {
            size_t len = strlen (posix_classes[k]);
            if (name + len + 2 <= r->n && memcmp (r->s + name, posix_classes[k], len) == 0
                && r->s[name + len] == ':' && r->s[name + len + 1] == ']') {
               r->i = name + len + 2;
               ok = 1;
            }
         }
         if (!ok)
            return re_fail (r, "has an unknown [:class:]");
         have_prev = 0;
         continue;
      }
      if (r->s[at] == '-' && have_prev && r->i + 1 < r->n && r->s[r->i + 1] != ']') {
         /* a range prev-hi */
         unsigned long hi;
         r->i++;
         at = r->i;
         if (r->s[at] == '\\') {
            r->i++;
            if (re_escape (r, 1, &is_class, &empty))
               return -1;
            if (is_class || r->i - at != 2)
               return re_fail (r, "has a range that ends in a class or an escape this check does not range over");
            hi = r->s[at + 1];
         }
         else {
            if (re_utf8 (r))
               return -1;
            hi = r->s[at];
            if (hi >= 0x80)
               return re_fail (r, "has a range over non-ASCII characters, which this check does not accept");
         }
         if (hi < prev)
            return re_fail (r, "has a range whose end comes before its start");
         have_prev = 0;
         continue;
      }
      if (r->s[at] == '\\') {
         r->i++;
         if (re_escape (r, 1, &is_class, &empty))
            return -1;
         /* only an escaped punctuation character may start a range */
         have_prev = !is_class && r->i - at == 2;
         cp = r->s[at + 1];
      }
      else {
         if (re_utf8 (r))
            return -1;
         cp = r->s[at];
         have_prev = cp < 0x80;
      }
      prev = cp;
   }
}

static int re_alternation (re_t *r, int depth, re_cost *cost);

/* {n}, {n,} or {n,m} at r->i ("{"): → the largest count (or -1 for
 * unbounded) | -2 on error. */
static long
re_braces (re_t *r)
{
   long lo = 0, hi;
   size_t start = ++r->i;
   while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9' && lo <= RE_MAX_REPEAT)
      lo = lo * 10 + (r->s[r->i++] - '0');
   if (r->i == start)
      return re_fail (r, "has a { that is not a repetition (write \\{ for a literal brace)"), -2;
   hi = lo;
   if (r->i < r->n && r->s[r->i] == ',') {
      size_t s2 = ++r->i;
      hi = 0;
      while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9' && hi <= RE_MAX_REPEAT)
         hi = hi * 10 + (r->s[r->i++] - '0');
      if (r->i == s2)
         hi = -1;
   }
   if (r->i >= r->n || r->s[r->i] != '}')
      return re_fail (r, "has a { that is not a repetition (write \\{ for a literal brace)"), -2;
   r->i++;
   if (lo > RE_MAX_REPEAT || hi > RE_MAX_REPEAT)
      return re_fail (r, "repeats more than 1000 times"), -2;
   if (hi >= 0 && hi < lo)
      return re_fail (r, "has a repetition {n,m} with m < n"), -2;
   return hi < 0 ? lo : hi;
}

/* One term and its repetition, and what it costs (Go refuses a program
 * that nested counts make too large; 1000 in all is accepted here). */
static int
re_term (re_t *r, int depth, re_cost *out)
{
   unsigned char c = r->s[r->i];
   int repeatable = 1, is_class, empty;
   re_cost inner = { 1, 1 };
   if (c == '(') {
      r->i++;
      if (r->i < r->n && r->s[r->i] == '?') {
         r->i++;
         if (r->i < r->n && r->s[r->i] == 'P') {
            size_t name;
            r->i++;
            if (r->i >= r->n || r->s[r->i] != '<')
               return re_fail (r, "has a bad (?P<name> group");
            name = ++r->i;
            while (r->i < r->n && (r->s[r->i] == '_' || (r->s[r->i] >= '0' && r->s[r->i] <= '9')
                                   || ((r->s[r->i] | 0x20) >= 'a' && (r->s[r->i] | 0x20) <= 'z')))
               r->i++;
            if (r->i == name || r->i >= r->n || r->s[r->i] != '>')
               return re_fail (r, "has a bad (?P<name> group");
            {
               int k;
               for (k = 0; k < r->nnames; k++)
                  if (r->name_len[k] == r->i - name && memcmp (r->s + r->names[k], r->s + name, r->i - name) == 0)
                     return re_fail (r, "names two groups alike (?P<name>...)");
               if (r->nnames == RE_MAX_NAMES)
                  return re_fail (r, "has more than 64 named groups");
               r->names[r->nnames] = name;
               r->name_len[r->nnames++] = r->i - name;
            }
            r->i++;
         }
         else if (r->i < r->n && (r->s[r->i] == '=' || r->s[r->i] == '!' || r->s[r->i] == '<'))
            return re_fail (r, "uses lookaround ((?=, (?!, (?<), which RE2 does not have");
         else {
            /* flags: (?imsU-imsU) or (?imsU-imsU:...) */
            int neg = 0, any = 0;
            while (r->i < r->n && r->s[r->i] != ')' && r->s[r->i] != ':') {
               unsigned char f = r->s[r->i++];
               if (f == '-' && !neg)
                  neg = 1, any = 0;
               else if (f && strchr ("imsU", f))
                  any = 1;
               else
                  return re_fail (r, "has an unknown group flag (RE2 has i, m, s, U)");
            }
            if (r->i >= r->n || (neg && !any) || (r->s[r->i] == ')' && r->s[r->i - 1] == '?'))
               return re_fail (r, "has a bad (? group");
            if (r->s[r->i] == ')') {
               r->i++;
               out->count = 1;
               out->size = 1;
               if (r->i < r->n && strchr ("*+?{", r->s[r->i]) && r->s[r->i])
                  return re_fail (r, "repeats a flag setting, which matches no character");
               return 0;                  /* a flag setting: nothing to repeat */
            }
            r->i++;                        /* ":" */
         }
      }
      if (re_alternation (r, depth + 1, &inner))
         return -1;
      if (r->i >= r->n || r->s[r->i] != ')')
         return re_fail (r, "has a ( without its )");
      r->i++;
   }
   else if (c == ')')
      return re_fail (r, "has a ) without its (");
   else if (c == '[') {
      r->i++;
      if (re_class (r))
         return -1;
   }
   else if (c == '\\') {
      r->i++;
      if (re_escape (r, 0, &is_class, &empty))
         return -1;
      repeatable = !empty;
   }
   else if (c == '*' || c == '+' || c == '?')
      return re_fail (r, "has a repetition (*, + or ?) with nothing to repeat");
   else if (c == '{')
      return re_fail (r, "has a { that is not a repetition (write \\{ for a literal brace)");
   else if (c == '^' || c == '$') {
      r->i++;
      repeatable = 0;
   }
   else if (re_utf8 (r))
      return -1;

   /* at most one repetition, optionally lazy */
   if (r->i < r->n && strchr ("*+?{", r->s[r->i]) && r->s[r->i]) {
      long count = 1;
      if (!repeatable)
         return re_fail (r, "repeats something that matches no character (^, $, \\b...)");
      if (r->s[r->i] == '{') {
         count = re_braces (r);
         if (count < 0)
            return -1;
      }
      else
         r->i++;
      if (r->i < r->n && r->s[r->i] == '?')
         r->i++;
      if (r->i < r->n && strchr ("*+?{", r->s[r->i]) && r->s[r->i])
         return re_fail (r, "has a repetition of a repetition (such as a** or a{2}{3})");
      if (count > 1)
         inner.count *= count;
      if (inner.count > RE_MAX_REPEAT)
         return re_fail (r, "has nested repetitions that count past 1000 in all");
      inner.size = inner.size * (count > 1 ? count : 1) + 1;
   }
   if (inner.size > RE_MAX_SIZE)
      return re_fail (r, "would compile to a program too large for Go's regexp");
   *out = inner;
   return 0;
}

/* Adds b's cost to a: counts take the larger, sizes add up. */
static int
re_add (re_t *r, re_cost *a, const re_cost *b)
{
   if (b->count > a->count)
      a->count = b->count;
   a->size += b->size;
   if (a->size > RE_MAX_SIZE)
      return re_fail (r, "would compile to a program too large for Go's regexp");
   return 0;
}

/* Terms up to | or ). */
static int
re_sequence (re_t *r, int depth, re_cost *cost)
{
   cost->count = 1;
   cost->size = 0;
   while (r->i < r->n && r->s[r->i] != '|' && r->s[r->i] != ')') {
      re_cost c;
      if (re_term (r, depth, &c) || re_add (r, cost, &c))
         return -1;
   }
   return 0;
}

static int
re_alternation (re_t *r, int depth, re_cost *cost)
{
   re_cost c;
   if (depth > RE_MAX_DEPTH)
      return re_fail (r, "nests groups more than 100 deep");
   if (re_sequence (r, depth, cost))
      return -1;
   while (r->i < r->n && r->s[r->i] == '|') {
      r->i++;
      if (re_sequence (r, depth, &c) || re_add (r, cost, &c))
         return -1;
   }
   return 0;
}

const char *
bc_re2_check (const char *s, size_t n)
{
   re_t r;
   re_cost cost;
   if (n == 0)
      return "is empty (pipelock refuses a pattern without a regex)";
   if (n > RE_MAX_LEN)
      return "is longer than 4096 bytes";
   if (memchr (s, '\0', n))
      return "contains a NUL byte";
   memset (&r, 0, sizeof r);
   r.s = (const unsigned char *) s;
   r.n = n;
   if (re_alternation (&r, 0, &cost) != 0)
      return r.why;
   if (r.i < r.n)
      return "has a ) without its (";
   return NULL;
}
