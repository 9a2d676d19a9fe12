/* YAML scalars for bottle.core: how a plain or tagged scalar is read (the
 * YAML 1.2 core schema, which pipelock's yaml.v3 shares for the forms a
 * config uses; yaml.v3 also reads 1_000, 0b101 and 017 (octal) as integers,
 * this reads them as the 1.2 core schema does: strings, and 17), and how a
 * string must be written so that no YAML 1.1 or 1.2 reader takes it for
 * anything else.  Integers beyond 64 bits are read as floats, as Lua's
 * tonumber reads them. */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core.h"
#include "yaml_internal.h"

void
bc_yaml_quote (char *dst, size_t cap, const char *s, size_t len)
{
   size_t o = 0, i;
   if (cap < 8)
      return;
   dst[o++] = '"';
   for (i = 0; i < len && o + 8 < cap; i++) {
      unsigned char c = (unsigned char) s[i];
      if (i == 60) {
         memcpy (dst + o, "...", 3);
         o += 3;
         break;
      }
      if (c == '"' || c == '\\') {
         dst[o++] = '\\';
         dst[o++] = (char) c;
      }
      else if (c < 0x20 || c == 0x7f)
         o += (size_t) snprintf (dst + o, cap - o, "\\x%02x", c);
      else if (c == 0xc2 && i + 1 < len && (unsigned char) s[i + 1] >= 0x80
               && (unsigned char) s[i + 1] <= 0x9f) {
         /* a C1 control (U+009B is a CSI on many terminals) */
         o += (size_t) snprintf (dst + o, cap - o, "\\u{%x}", (unsigned char) s[i + 1]);
         i++;
      }
      else
         dst[o++] = (char) c;
   }
   dst[o++] = '"';
   dst[o] = '\0';
}

/* ==== Scalar resolution (YAML 1.2 core schema) ======================== */

static int
is_digit (int c)
{
   return c >= '0' && c <= '9';
}

static int
is_null_word (const char *s, size_t len)
{
   return len == 0 || (len == 1 && s[0] == '~')
      || (len == 4 && (!memcmp (s, "null", 4) || !memcmp (s, "Null", 4)
                       || !memcmp (s, "NULL", 4)));
}

/* 1 for true, 0 for false, -1 for anything else. */
static int
bool_word (const char *s, size_t len)
{
   if (len == 4 && (!memcmp (s, "true", 4) || !memcmp (s, "True", 4)
                    || !memcmp (s, "TRUE", 4)))
      return 1;
   if (len == 5 && (!memcmp (s, "false", 5) || !memcmp (s, "False", 5)
                    || !memcmp (s, "FALSE", 5)))
      return 0;
   return -1;
}

/* s (3 bytes) is one of the three spellings in `words`, "a|b|c". */
static int
is_one_of3 (const char *s, const char *words)
{
   return !memcmp (s, words, 3) || !memcmp (s, words + 4, 3) || !memcmp (s, words + 8, 3);
}

enum number_form { NUM_NONE, NUM_INT, NUM_FLOAT, NUM_INF, NUM_NAN, NUM_HEX, NUM_OCT };

/* Which core-schema number `s` spells:
 *   int    [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+
 *   float  [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
 *          | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN) */
static enum number_form
number_form (const char *s, size_t len)
{
   size_t i = 0, digits = 0, fraction = 0;
   int dot = 0, exponent = 0;

   if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
      for (i = 2; i < len; i++) {
         char c = s[i];
         if (s[1] == 'o' ? !(c >= '0' && c <= '7')
             : !(is_digit (c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return NUM_NONE;
      }
      return s[1] == 'x' ? NUM_HEX : NUM_OCT;
   }
   if (len > 0 && (s[0] == '+' || s[0] == '-'))
      i++;
   if (len - i == 4 && s[i] == '.') {
      if (is_one_of3 (s + i + 1, "inf|Inf|INF"))
         return NUM_INF;
      if (i == 0 && is_one_of3 (s + 1, "nan|NaN|NAN"))
         return NUM_NAN;
   }
   for (; i < len && is_digit (s[i]); i++)
      digits++;
   if (i < len && s[i] == '.') {
      dot = 1;
      for (i++; i < len && is_digit (s[i]); i++)
         fraction++;
   }
   if (digits == 0 && fraction == 0)
      return NUM_NONE;
   if (i < len && (s[i] == 'e' || s[i] == 'E')) {
      size_t expdigits = 0;
      exponent = 1;
      i++;
      if (i < len && (s[i] == '+' || s[i] == '-'))
         i++;
      for (; i < len && is_digit (s[i]); i++)
         expdigits++;
      if (expdigits == 0)
         return NUM_NONE;
   }
   if (i != len)
      return NUM_NONE;
   return dot || exponent ? NUM_FLOAT : NUM_INT;
}

/* Pushes the number `s` spells in `form`.  Integers that do not fit a
 * lua_Integer become floats (decimal, hex and octal alike), as Lua's own
 * tonumber does for decimals. */
static void
push_number (lua_State *L, const char *s, size_t len, enum number_form form)
{
   char buf[128];
   size_t i;

   switch (form) {
   case NUM_INF:
      lua_pushnumber (L, s[0] == '-' ? -HUGE_VAL : HUGE_VAL);
      return;
   case NUM_NAN:
      lua_pushnumber (L, (lua_Number) NAN);
      return;
   case NUM_HEX:
   case NUM_OCT: {
      unsigned base = form == NUM_HEX ? 16 : 8;
      lua_Unsigned u = 0;
      double d = 0;
      int overflow = 0;
      for (i = 2; i < len; i++) {
         char c = s[i];
         unsigned v = is_digit (c) ? (unsigned) (c - '0')
            : (unsigned) ((c | 0x20) - 'a' + 10);
         if (u > ((lua_Unsigned) LUA_MAXINTEGER - v) / base)
            overflow = 1;
         u = u * base + v;
         d = d * base + v;
      }
      if (overflow)
         lua_pushnumber (L, (lua_Number) d);
      else
         lua_pushinteger (L, (lua_Integer) u);
      return;
   }
   default:
      /* Decimal forms: the text is already validated, so Lua's own
       * conversion (locale-proof, integer-or-float) does the rest. */
      if (len < sizeof buf) {
         memcpy (buf, s, len);
         buf[len] = '\0';
         lua_stringtonumber (L, buf);
      }
      else {
         lua_pushlstring (L, s, len);
         lua_stringtonumber (L, lua_tostring (L, -1));
         lua_remove (L, -2);
      }
      return;
   }
}

void
bc_yaml_push_plain (lua_State *L, const char *s, size_t len)
{
   enum number_form form;
   int b;

   if (is_null_word (s, len))
      bc_yaml_push_null (L);
   else if ((b = bool_word (s, len)) >= 0)
      lua_pushboolean (L, b);
   else if ((is_digit (s[0]) || s[0] == '.' || s[0] == '-' || s[0] == '+')
            && (form = number_form (s, len)) != NUM_NONE)
      push_number (L, s, len, form);
   else
      lua_pushlstring (L, s, len);
}

const char bc_yaml_unknown_tag[] = "unknown tag";

const char *
bc_yaml_push_tagged (lua_State *L, const char *tag, const char *s, size_t len)
{
   enum number_form form;
   int b;

   if (!strcmp (tag, YAML_STR_TAG)) {
      lua_pushlstring (L, s, len);
      return NULL;
   }
   if (!strcmp (tag, YAML_NULL_TAG)) {
      if (!is_null_word (s, len))
         return "the value is not a !!null (write null, ~ or nothing)";
      bc_yaml_push_null (L);
      return NULL;
   }
   if (!strcmp (tag, YAML_BOOL_TAG)) {
      if ((b = bool_word (s, len)) < 0)
         return "the value is not a !!bool (write true or false)";
      lua_pushboolean (L, b);
      return NULL;
   }
   form = number_form (s, len);
   if (!strcmp (tag, YAML_INT_TAG)) {
      if (form != NUM_INT && form != NUM_HEX && form != NUM_OCT)
         return "the value is not an !!int (decimal, 0x or 0o digits)";
      push_number (L, s, len, form);
      return NULL;
   }
   if (!strcmp (tag, YAML_FLOAT_TAG)) {
      if (form == NUM_NONE)
         return "the value is not a !!float";
      push_number (L, s, len, form);
      if (lua_isinteger (L, -1)) {
         lua_Number n = (lua_Number) lua_tointeger (L, -1);
         lua_pop (L, 1);
         lua_pushnumber (L, n);
      }
      return NULL;
   }
   return bc_yaml_unknown_tag;
}

/* ==== Writing strings =================================================== */

/* Words that YAML 1.1 (y, n, yes, no, on, off in any case) or 1.2 (true,
 * false, null) readers resolve to booleans or null; any case is matched. */
static int
is_reserved_word (const char *s, size_t len)
{
   static const char *const words[] = {
      "y", "n", "yes", "no", "on", "off", "true", "false", "null", NULL
   };
   const char *const *w;
   char lower[6];
   size_t i;
   if (len > 5)
      return 0;
   for (i = 0; i < len; i++)
      lower[i] = (char) ((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
   for (w = words; *w; w++)
      if (strlen (*w) == len && !memcmp (*w, lower, len))
         return 1;
   return 0;
}

/* Byte classes for the scan of a string to be written: 0 plain ASCII, 1 a
 * control character (written escaped, so double-quoted), 2 the lead byte of
 * a multi-byte UTF-8 sequence, 3 a byte that cannot start one. */
#define ONES UINT64_C(0x0101010101010101)

static const unsigned char byte_class[256] = {
   1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
   0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
   0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
   0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,1,
   3,3,3,3,3,3,3,3, 3,3,3,3,3,3,3,3, 3,3,3,3,3,3,3,3, 3,3,3,3,3,3,3,3,
   3,3,3,3,3,3,3,3, 3,3,3,3,3,3,3,3, 3,3,3,3,3,3,3,3, 3,3,3,3,3,3,3,3,
   3,3,2,2,2,2,2,2, 2,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2,
   2,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2, 2,2,2,2,2,3,3,3, 3,3,3,3,3,3,3,3
};

/* Decodes the UTF-8 sequence at s[i] (lead byte class 2).  Returns its
 * length, or 0 when it is not valid UTF-8 (overlong, surrogate, beyond
 * U+10FFFF, truncated), as libyaml's own check would refuse it. */
static size_t
utf8_sequence (const unsigned char *s, size_t i, size_t len, unsigned long *cp)
{
   unsigned char c = s[i];
   size_t n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4, k;
   unsigned long v = c & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
   if (i + n > len)
      return 0;
   for (k = 1; k < n; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
         return 0;
      v = (v << 6) | (s[i + k] & 0x3f);
   }
   if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff))
       || (v >= 0xd800 && v <= 0xdfff))
      return 0;
   *cp = v;
   return n;
}

int
bc_utf8_valid (const char *str, size_t len)
{
   const unsigned char *s = (const unsigned char *) str;
   size_t i = 0, n;
   unsigned long cp;
   while (i < len) {
      unsigned char k = byte_class[s[i]];
      if (k == 3)
         return 0;
      if (k == 2) {
         if ((n = utf8_sequence (s, i, len, &cp)) == 0)
            return 0;
         i += n;
      }
      else
         i++;
   }
   return 1;
}

/* Looks at a string to be written.  Returns -1 when it is not valid UTF-8,
 * 1 when it must be double-quoted, 0 when libyaml may choose.
 *
 * Double-quoted: written plain, a YAML 1.1 or 1.2 reader (yaml.v3,
 * PyYAML...) could resolve it as something other than a string, or it holds
 * characters best escaped (control characters, line breaks).  It errs
 * towards quoting: whatever starts like a number (a digit, '.', a sign then
 * a digit or '.') is quoted, which covers 1.1's 0b101, 1_000, 1:20, dates,
 * .inf and .nan.  libyaml's own analysis still quotes what else cannot be
 * plain (indicators, ": ", " #", leading or trailing spaces). */
int
bc_yaml_string_style (const char *str, size_t len)
{
   const unsigned char *s = (const unsigned char *) str;
   int quote = 0;
   size_t i;

   if (len == 0 || is_digit (s[0]) || s[0] == '.'
       || ((s[0] == '+' || s[0] == '-') && len > 1 && (is_digit (s[1]) || s[1] == '.'))
       || (len == 1 && (s[0] == '~' || s[0] == '='))     /* null, 1.1's value */
       || (len == 2 && s[0] == '<' && s[1] == '<')       /* merge key */
       || (len <= 5 && is_reserved_word (str, len)))
      quote = 1;
   for (i = 0; i < len; i++) {
      unsigned long cp;
      size_t n;
      /* The common case, fast: eight bytes at a time while none of them is
       * a control character, DEL or non-ASCII. */
      for (; i + 8 <= len; i += 8) {
         uint64_t w, del;
         memcpy (&w, s + i, 8);
         del = w ^ (ONES * 0x7f);
         /* high bit set, below 0x20, 0x7f (false alarms only slow it) */
         if ((w | ((w - ONES * 0x20) & ~w) | ((del - ONES) & ~del)) & (ONES * 0x80))
            break;
      }
      if (i == len)
         break;
      while (byte_class[s[i]] == 0)
         if (++i == len)
            return quote;
      switch (byte_class[s[i]]) {
      case 1:
         quote = 1;
         continue;
      case 2:
         if ((n = utf8_sequence (s, i, len, &cp)) == 0)
            return -1;
         if ((cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
            quote = 1;                          /* C1 controls, NEL, LS, PS */
         i += n - 1;
         continue;
      default:
         return -1;
      }
   }
   return quote;
}

/* A float in a form every YAML reader takes for a float: the shortest
 * %.Ng that reads back exactly, always with a '.' (1.0, 1.0e+20: YAML 1.1
 * wants the dot), and .inf, -.inf, .nan. */
size_t
bc_yaml_format_float (char *buf, lua_Number x)
{
   char point = localeconv ()->decimal_point[0];
   int prec, n;
   char *p;

   if (isnan (x))
      return (size_t) snprintf (buf, 64, ".nan");
   if (isinf (x))
      return (size_t) snprintf (buf, 64, x > 0 ? ".inf" : "-.inf");
   for (prec = 15; prec < 17; prec++) {
      snprintf (buf, 64, "%.*g", prec, (double) x);
      if (strtod (buf, NULL) == (double) x)
         break;
   }
   n = snprintf (buf, 64, "%.*g", prec, (double) x);
   if (point != '.' && (p = strchr (buf, point)) != NULL)
      *p = '.';
   if (strchr (buf, '.') == NULL) {
      if ((p = strchr (buf, 'e')) != NULL) {
         memmove (p + 2, p, strlen (p) + 1);
         p[0] = '.';
         p[1] = '0';
      }
      else
         memcpy (buf + n, ".0", 3);
   }
   return strlen (buf);
}
