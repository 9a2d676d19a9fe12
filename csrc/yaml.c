/* YAML for bottle.core: libyaml's parser into Lua values and libyaml's
 * emitter from Lua values.
 *
 * Decoding resolves plain scalars as YAML 1.2's core schema (what pipelock's
 * yaml.v3 does for the forms it shares with it; yaml.v3 also reads 1_000,
 * 0b101 and 017 (octal) as integers, this reads them as the 1.2 core schema
 * does: strings, and 17) and refuses what a config file has no use for and
 * an attacker has: several documents, aliases (no YAML bomb can expand),
 * duplicate keys, non-string keys, unknown tags and deep nesting.  Integers
 * beyond 64 bits are read as floats, as Lua's tonumber reads them.  Encoding quotes every string that a YAML 1.1 or 1.2 reader
 * could take for anything else, so decode(encode(x)) equals x.
 *
 * libyaml state lives in a userdata whose __gc releases it: a Lua error
 * (out of memory) raised half-way never leaks, and the normal paths release
 * it at once.  No Lua code runs while libyaml holds memory. */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core.h"

/* Deepest nesting of sequences and mappings accepted (and written). */
#define MAX_DEPTH 256

#define DECODER_MT "bottle.core.yaml_decoder"
#define ENCODER_MT "bottle.core.yaml_encoder"

/* core.null is the NULL light userdata, the very value of cjson.null, so a
 * null read by either library means the same to the other. */
static void
push_null (lua_State *L)
{
   lua_pushlightuserdata (L, NULL);
}

/* Writes `s` into dst (cap bytes) quoted for an error message: printable
 * ASCII as is, other bytes below 0x80 escaped, at most 60 bytes shown. */
static void
quote_for_message (char *dst, size_t cap, const char *s, size_t len)
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

/* Pushes the value of a plain, untagged scalar. */
static void
push_plain (lua_State *L, const char *s, size_t len)
{
   enum number_form form;
   int b;

   if (is_null_word (s, len))
      push_null (L);
   else if ((b = bool_word (s, len)) >= 0)
      lua_pushboolean (L, b);
   else if ((is_digit (s[0]) || s[0] == '.' || s[0] == '-' || s[0] == '+')
            && (form = number_form (s, len)) != NUM_NONE)
      push_number (L, s, len, form);
   else
      lua_pushlstring (L, s, len);
}

/* ==== Decoder ========================================================= */

typedef struct decoder {
   yaml_parser_t parser;
   yaml_event_t event;
   int has_parser, has_event;
   lua_State *L;
   const char *text;
   size_t textlen;
   int pos_idx;          /* stack index of the positions table, 0 if not asked */
   int max_depth;        /* opts.max_depth, at most MAX_DEPTH */
   int mt_idx;           /* stack index of core.array_mt */
   /* the failure, when there is one */
   const char *code;     /* NULL: out of memory, to be raised */
   unsigned long line, col;
   char problem[400];
} decoder;

static void
decoder_close (decoder *d)
{
   if (d->has_event) {
      yaml_event_delete (&d->event);
      d->has_event = 0;
   }
   if (d->has_parser) {
      yaml_parser_delete (&d->parser);
      d->has_parser = 0;
   }
}

static int
decoder_gc (lua_State *L)
{
   decoder_close ((decoder *) luaL_checkudata (L, 1, DECODER_MT));
   return 0;
}

__attribute__((format (printf, 4, 5)))
static int
decode_fail (decoder *d, const char *code, yaml_mark_t mark, const char *fmt, ...)
{
   va_list ap;
   d->code = code;
   d->line = (unsigned long) mark.line + 1;
   d->col = (unsigned long) mark.column + 1;
   va_start (ap, fmt);
   vsnprintf (d->problem, sizeof d->problem, fmt, ap);
   va_end (ap);
   return 0;
}

/* libyaml counts columns in characters; so does this, for reader errors,
 * which carry only a byte offset. */
static yaml_mark_t
mark_at_offset (const decoder *d, size_t offset)
{
   yaml_mark_t mark = { 0, 0, 0 };
   size_t i;
   for (i = 0; i < offset && i < d->textlen; i++) {
      unsigned char c = (unsigned char) d->text[i];
      if (c == '\n') {
         mark.line++;
         mark.column = 0;
      }
      else if ((c & 0xc0) != 0x80)
         mark.column++;
   }
   mark.index = offset;
   return mark;
}

static int
parser_fail (decoder *d)
{
   yaml_parser_t *p = &d->parser;
   const char *problem = p->problem ? p->problem : "invalid YAML";

   if (p->error == YAML_MEMORY_ERROR) {
      d->code = NULL;
      return 0;
   }
   if (p->error == YAML_READER_ERROR)
      return decode_fail (d, "yaml_syntax", mark_at_offset (d, p->problem_offset),
                          "%s", problem);
   if (p->context)
      return decode_fail (d, "yaml_syntax", p->problem_mark, "%s (%s at %lu:%lu)",
                          problem, p->context,
                          (unsigned long) p->context_mark.line + 1,
                          (unsigned long) p->context_mark.column + 1);
   return decode_fail (d, "yaml_syntax", p->problem_mark, "%s", problem);
}

static int
next_event (decoder *d)
{
   if (d->has_event) {
      yaml_event_delete (&d->event);
      d->has_event = 0;
   }
   if (!yaml_parser_parse (&d->parser, &d->event))
      return parser_fail (d);
   d->has_event = 1;
   return 1;
}

/* Shows a tag as it is usually written: !!str rather than its full name. */
static void
tag_for_message (char *dst, size_t cap, const char *tag)
{
   static const char prefix[] = "tag:yaml.org,2002:";
   char quoted[128];
   if (!strncmp (tag, prefix, sizeof prefix - 1)) {
      quote_for_message (quoted, sizeof quoted, tag + sizeof prefix - 1,
                         strlen (tag + sizeof prefix - 1));
      snprintf (dst, cap, "!!%.*s", (int) strlen (quoted) - 2, quoted + 1);
   }
   else {
      quote_for_message (quoted, sizeof quoted, tag, strlen (tag));
      snprintf (dst, cap, "%.*s", (int) strlen (quoted) - 2, quoted + 1);
   }
}

static int
tag_fail (decoder *d, const char *tag, const char *what)
{
   char shown[128];
   tag_for_message (shown, sizeof shown, tag);
   return decode_fail (d, "yaml_tag", d->event.start_mark,
                       "unsupported tag %s on a %s (supported: !!str, !!int, "
                       "!!float, !!bool, !!null, !!seq, !!map)", shown, what);
}

static int
alias_fail (decoder *d)
{
   char anchor[96];
   const char *a = (const char *) d->event.data.alias.anchor;
   quote_for_message (anchor, sizeof anchor, a, strlen (a));
   return decode_fail (d, "yaml_alias", d->event.start_mark,
                       "alias *%.*s: aliases are not supported here (write the "
                       "value out in full)", (int) strlen (anchor) - 2, anchor + 1);
}

/* Pushes the value of the scalar event in d->event. */
static int
decode_scalar (decoder *d)
{
   lua_State *L = d->L;
   const yaml_event_t *ev = &d->event;
   const char *s = (const char *) ev->data.scalar.value;
   size_t len = ev->data.scalar.length;
   const char *tag = (const char *) ev->data.scalar.tag;
   enum number_form form;
   int b;

   if (tag == NULL) {
      if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
         push_plain (L, s, len);
      else
         lua_pushlstring (L, s, len);
      return 1;
   }
   if (!strcmp (tag, YAML_STR_TAG)) {
      lua_pushlstring (L, s, len);
      return 1;
   }
   if (!strcmp (tag, YAML_NULL_TAG)) {
      if (!is_null_word (s, len))
         return decode_fail (d, "yaml_tag", ev->start_mark,
                             "the value is not a !!null (write null, ~ or nothing)");
      push_null (L);
      return 1;
   }
   if (!strcmp (tag, YAML_BOOL_TAG)) {
      if ((b = bool_word (s, len)) < 0)
         return decode_fail (d, "yaml_tag", ev->start_mark,
                             "the value is not a !!bool (write true or false)");
      lua_pushboolean (L, b);
      return 1;
   }
   form = number_form (s, len);
   if (!strcmp (tag, YAML_INT_TAG)) {
      if (form != NUM_INT && form != NUM_HEX && form != NUM_OCT)
         return decode_fail (d, "yaml_tag", ev->start_mark,
                             "the value is not an !!int (decimal, 0x or 0o digits)");
      push_number (L, s, len, form);
      return 1;
   }
   if (!strcmp (tag, YAML_FLOAT_TAG)) {
      if (form == NUM_NONE)
         return decode_fail (d, "yaml_tag", ev->start_mark,
                             "the value is not a !!float");
      push_number (L, s, len, form);
      if (lua_isinteger (L, -1)) {
         lua_Number n = (lua_Number) lua_tointeger (L, -1);
         lua_pop (L, 1);
         lua_pushnumber (L, n);
      }
      return 1;
   }
   return tag_fail (d, tag, "scalar");
}

static void
push_mark (lua_State *L, yaml_mark_t mark)
{
   lua_createtable (L, 0, 3);
   lua_pushinteger (L, (lua_Integer) mark.line + 1);
   lua_setfield (L, -2, "line");
   lua_pushinteger (L, (lua_Integer) mark.column + 1);
   lua_setfield (L, -2, "col");
}

/* positions[t] = {line, col, at = {}}; leaves `at` on the stack and returns
 * its index. */
static int
push_position_entry (decoder *d, int t, yaml_mark_t mark)
{
   lua_State *L = d->L;
   push_mark (L, mark);
   lua_newtable (L);
   lua_pushvalue (L, -1);
   lua_setfield (L, -3, "at");
   lua_pushvalue (L, t);
   lua_pushvalue (L, -3);
   lua_rawset (L, d->pos_idx);
   lua_remove (L, -2);
   return lua_gettop (L);
}

static int decode_node (decoder *d, int depth);

static int
decode_sequence (decoder *d, int depth)
{
   lua_State *L = d->L;
   yaml_event_t *ev = &d->event;
   const char *tag = (const char *) ev->data.sequence_start.tag;
   lua_Integer n = 0;
   int t, at = 0;

   if (depth > d->max_depth)
      return decode_fail (d, "yaml_depth", ev->start_mark,
                          "nested deeper than %d levels", d->max_depth);
   if (tag && strcmp (tag, YAML_SEQ_TAG))
      return tag_fail (d, tag, "sequence");
   lua_newtable (L);
   t = lua_gettop (L);
   lua_pushvalue (L, d->mt_idx);
   lua_setmetatable (L, t);
   if (d->pos_idx)
      at = push_position_entry (d, t, ev->start_mark);
   for (;;) {
      yaml_mark_t mark;
      if (!next_event (d))
         return 0;
      if (ev->type == YAML_SEQUENCE_END_EVENT)
         break;
      mark = ev->start_mark;
      if (!decode_node (d, depth))
         return 0;
      lua_rawseti (L, t, ++n);
      if (at) {
         push_mark (L, mark);
         lua_rawseti (L, at, n);
      }
   }
   lua_settop (L, t);
   return 1;
}

static const char *
key_type_name (lua_State *L, int idx)
{
   switch (lua_type (L, idx)) {
   case LUA_TBOOLEAN: return "a boolean";
   case LUA_TNUMBER: return lua_isinteger (L, idx) ? "an integer" : "a float";
   case LUA_TLIGHTUSERDATA: return "null";
   default: return "a non-string";
   }
}

/* The key is on top of the stack, its first occurrence already in t. */
static int
duplicate_fail (decoder *d, int at, yaml_mark_t mark)
{
   lua_State *L = d->L;
   size_t len;
   const char *key = lua_tolstring (L, -1, &len);
   char quoted[96], first[48] = "";

   quote_for_message (quoted, sizeof quoted, key, len);
   if (at) {
      lua_pushvalue (L, -1);
      if (lua_rawget (L, at) == LUA_TTABLE) {
         lua_getfield (L, -1, "line");
         lua_getfield (L, -2, "col");
         snprintf (first, sizeof first, " (first at %lld:%lld)",
                   (long long) lua_tointeger (L, -2), (long long) lua_tointeger (L, -1));
      }
   }
   return decode_fail (d, "yaml_duplicate_key", mark, "duplicate key %s%s",
                       quoted, first);
}

static int
decode_mapping (decoder *d, int depth)
{
   lua_State *L = d->L;
   yaml_event_t *ev = &d->event;
   const char *tag = (const char *) ev->data.mapping_start.tag;
   int t, at = 0;

   if (depth > d->max_depth)
      return decode_fail (d, "yaml_depth", ev->start_mark,
                          "nested deeper than %d levels", d->max_depth);
   if (tag && strcmp (tag, YAML_MAP_TAG))
      return tag_fail (d, tag, "mapping");
   lua_newtable (L);
   t = lua_gettop (L);
   if (d->pos_idx)
      at = push_position_entry (d, t, ev->start_mark);
   for (;;) {
      yaml_mark_t mark;
      if (!next_event (d))
         return 0;
      if (ev->type == YAML_MAPPING_END_EVENT)
         break;
      mark = ev->start_mark;
      if (ev->type == YAML_ALIAS_EVENT)
         return alias_fail (d);
      if (ev->type != YAML_SCALAR_EVENT)
         return decode_fail (d, "yaml_key_type", mark,
                             "a mapping key must be a string, not a %s",
                             ev->type == YAML_SEQUENCE_START_EVENT ? "sequence" : "mapping");
      if (!decode_scalar (d))
         return 0;
      if (lua_type (L, -1) != LUA_TSTRING)
         return decode_fail (d, "yaml_key_type", mark,
                             "a mapping key must be a string, not %s (quote it)",
                             key_type_name (L, -1));
      lua_pushvalue (L, -1);
      if (lua_rawget (L, t) != LUA_TNIL) {
         lua_pop (L, 1);
         return duplicate_fail (d, at, mark);
      }
      lua_pop (L, 1);
      lua_pushvalue (L, -1);
      if (!next_event (d) || !decode_node (d, depth))
         return 0;
      lua_rawset (L, t);
      if (at) {
         push_mark (L, mark);
         lua_rawset (L, at);
      }
      else
         lua_pop (L, 1);
   }
   lua_settop (L, t);
   return 1;
}

/* Pushes the node that starts with d->event. */
static int
decode_node (decoder *d, int depth)
{
   luaL_checkstack (d->L, 8, "yaml_decode");
   switch (d->event.type) {
   case YAML_SCALAR_EVENT:
      return decode_scalar (d);
   case YAML_SEQUENCE_START_EVENT:
      return decode_sequence (d, depth + 1);
   case YAML_MAPPING_START_EVENT:
      return decode_mapping (d, depth + 1);
   case YAML_ALIAS_EVENT:
      return alias_fail (d);
   default:
      return decode_fail (d, "yaml_syntax", d->event.start_mark, "unexpected event");
   }
}

static int
decode_stream (decoder *d)
{
   if (!next_event (d) || !next_event (d))          /* stream start, document */
      return 0;
   if (d->event.type == YAML_STREAM_END_EVENT) {
      push_null (d->L);
      return 1;
   }
   if (!next_event (d) || !decode_node (d, 0))     /* the root */
      return 0;
   if (!next_event (d) || !next_event (d))          /* document end, then? */
      return 0;
   if (d->event.type == YAML_DOCUMENT_START_EVENT)
      return decode_fail (d, "yaml_multiple_documents", d->event.start_mark,
                          "a second document: only one is allowed here");
   return 1;
}

/* core.yaml_decode(text [, opts]) -> value [, positions] | nil, msg, code */
static int
l_yaml_decode (lua_State *L)
{
   size_t len;
   const char *text = luaL_checklstring (L, 1, &len);
   int positions = 0, max_depth = MAX_DEPTH;
   decoder *d;

   lua_settop (L, 2);
   if (lua_isnil (L, 2))
      lua_pushliteral (L, "<string>");                          /* 3 */
   else {
      luaL_checktype (L, 2, LUA_TTABLE);
      lua_getfield (L, 2, "positions");
      positions = lua_toboolean (L, -1);
      lua_pop (L, 1);
      if (lua_getfield (L, 2, "max_depth") != LUA_TNIL) {
         max_depth = (int) luaL_checkinteger (L, -1);
         luaL_argcheck (L, max_depth >= 1 && max_depth <= MAX_DEPTH, 2, "opts.max_depth must be 1 to 256");
      }
      lua_pop (L, 1);
      if (lua_getfield (L, 2, "name") == LUA_TNIL) {
         lua_pop (L, 1);
         lua_pushliteral (L, "<string>");
      }
      else if (lua_type (L, 3) != LUA_TSTRING)
         return luaL_argerror (L, 2, "opts.name must be a string");
   }
   if (positions)
      lua_newtable (L);                                         /* 4 */
   else
      lua_pushnil (L);
   bc_push_array_mt (L);                                        /* 5 */
   d = (decoder *) lua_newuserdatauv (L, sizeof *d, 0);         /* 6 */
   memset (d, 0, sizeof *d);
   luaL_setmetatable (L, DECODER_MT);
   d->L = L;
   d->text = text;
   d->textlen = len;
   d->pos_idx = positions ? 4 : 0;
   d->max_depth = max_depth;
   d->mt_idx = 5;
   if (!yaml_parser_initialize (&d->parser))
      return luaL_error (L, "yaml_decode: not enough memory");
   d->has_parser = 1;
   yaml_parser_set_input_string (&d->parser, (const unsigned char *) text, len);

   if (!decode_stream (d)) {
      decoder_close (d);
      if (d->code == NULL)
         return luaL_error (L, "yaml_decode: not enough memory");
      return bc_fail (L, d->code, "%s:%d:%d: %s", lua_tostring (L, 3),
                      (int) d->line, (int) d->col, d->problem);
   }
   decoder_close (d);
   if (positions) {
      lua_pushvalue (L, 4);
      return 2;
   }
   return 1;
}

/* ==== Encoder ========================================================= */

typedef struct key_ref {
   const char *s;
   size_t len;
} key_ref;

/* How the encoder got from one open table to the next (for messages). */
typedef struct path_step {
   const char *key;      /* NULL: an index */
   size_t keylen;
   lua_Integer index;
} path_step;

typedef struct encoder {
   yaml_emitter_t emitter;
   int has_emitter;
   lua_State *L;
   char *out;                        /* the text, malloc-grown */
   size_t outlen, outcap;
   key_ref *keys;                    /* a stack of the open mappings' keys */
   size_t nkeys, keycap;
   key_ref *order;                   /* opts.key_order */
   size_t norder;
   int mt_idx;
   int depth;                        /* tables open */
   const void *open[MAX_DEPTH];      /* the open tables: a cycle check */
   path_step path[MAX_DEPTH];
   const char *code;                 /* the failure, when there is one */
   char problem[400];
} encoder;

static void
encoder_close (encoder *e)
{
   if (e->has_emitter) {
      yaml_emitter_delete (&e->emitter);
      e->has_emitter = 0;
   }
   free (e->out);
   e->out = NULL;
   free (e->keys);
   e->keys = NULL;
   free (e->order);
   e->order = NULL;
}

static int
encoder_gc (lua_State *L)
{
   encoder_close ((encoder *) luaL_checkudata (L, 1, ENCODER_MT));
   return 0;
}

static int
is_identifier (const char *s, size_t len)
{
   size_t i;
   if (len == 0)
      return 0;
   for (i = 0; i < len; i++) {
      char c = s[i];
      if (!(is_digit (c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || c == '_' || c == '-'))
         return 0;
   }
   return 1;
}

/* The path of the value being written: api_allowlist[3], tls["a b"]... */
static void
format_path (const encoder *e, char *buf, size_t cap)
{
   size_t o = 0;
   int i;
   if (e->depth == 0) {
      snprintf (buf, cap, "value");
      return;
   }
   buf[0] = '\0';
   for (i = 0; i < e->depth && o + 80 < cap; i++) {
      const path_step *p = &e->path[i];
      if (p->key == NULL)
         o += (size_t) snprintf (buf + o, cap - o, "[%lld]", (long long) p->index);
      else if (is_identifier (p->key, p->keylen))
         o += (size_t) snprintf (buf + o, cap - o, "%s%.*s", i ? "." : "",
                                 (int) (p->keylen > 60 ? 60 : p->keylen), p->key);
      else {
         char quoted[96];
         quote_for_message (quoted, sizeof quoted, p->key, p->keylen);
         o += (size_t) snprintf (buf + o, cap - o, "[%s]", quoted);
      }
   }
}

__attribute__((format (printf, 3, 4)))
static int
encode_fail (encoder *e, const char *code, const char *fmt, ...)
{
   char path[300], what[200];
   va_list ap;
   format_path (e, path, sizeof path);
   va_start (ap, fmt);
   vsnprintf (what, sizeof what, fmt, ap);
   va_end (ap);
   snprintf (e->problem, sizeof e->problem, "%s: %s", path, what);
   e->code = code;
   return 0;
}

static int
emit (encoder *e, yaml_event_t *ev)
{
   /* The emitter owns the event from here, on failure too. */
   if (!yaml_emitter_emit (&e->emitter, ev))
      return encode_fail (e, "yaml_encode", "%s",
                          e->emitter.problem ? e->emitter.problem
                          : "the emitter failed (out of memory?)");
   return 1;
}

static int
write_handler (void *data, unsigned char *buffer, size_t size)
{
   encoder *e = (encoder *) data;
   if (size > e->outcap - e->outlen) {
      size_t cap = e->outcap ? e->outcap : 65536;
      char *p;
      while (cap - e->outlen < size)
         cap *= 2;
      if ((p = (char *) realloc (e->out, cap)) == NULL)
         return 0;
      e->out = p;
      e->outcap = cap;
   }
   memcpy (e->out + e->outlen, buffer, size);
   e->outlen += size;
   return 1;
}

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
static int
string_style (const char *str, size_t len)
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

/* Hands libyaml a scalar event.  Built by hand rather than with
 * yaml_scalar_event_initialize, whose UTF-8 check string_style has already
 * made; the emitter frees the copy (with free, as yaml_free does). */
static int
emit_scalar (encoder *e, const char *s, size_t len, int plain_implicit,
             yaml_scalar_style_t style)
{
   yaml_event_t ev;
   yaml_char_t *copy;
   if (len > 0x7fffffff)
      return encode_fail (e, "yaml_encode", "a string longer than 2 GiB");
   if ((copy = (yaml_char_t *) malloc (len + 1)) == NULL)
      return encode_fail (e, "yaml_encode", "out of memory");
   memcpy (copy, s, len);
   copy[len] = '\0';
   memset (&ev, 0, sizeof ev);
   ev.type = YAML_SCALAR_EVENT;
   ev.data.scalar.value = copy;
   ev.data.scalar.length = len;
   ev.data.scalar.plain_implicit = plain_implicit;
   ev.data.scalar.quoted_implicit = 1;
   ev.data.scalar.style = style;
   return emit (e, &ev);
}

static int
emit_string (encoder *e, const char *s, size_t len)
{
   switch (string_style (s, len)) {
   case 0:
      return emit_scalar (e, s, len, 1, YAML_ANY_SCALAR_STYLE);
   case 1:
      return emit_scalar (e, s, len, 0, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
   default:
      return encode_fail (e, "yaml_encode_utf8",
                          "a string that is not valid UTF-8 cannot be written");
   }
}

static int
emit_plain (encoder *e, const char *s, size_t len)
{
   return emit_scalar (e, s, len, 1, YAML_PLAIN_SCALAR_STYLE);
}

/* A float in a form every YAML reader takes for a float: the shortest
 * %.Ng that reads back exactly, always with a '.' (1.0, 1.0e+20: YAML 1.1
 * wants the dot), and .inf, -.inf, .nan. */
static int
emit_float (encoder *e, lua_Number x)
{
   char buf[64];
   char point = localeconv ()->decimal_point[0];
   int prec, n;
   char *p;

   if (isnan (x))
      return emit_plain (e, ".nan", 4);
   if (isinf (x))
      return x > 0 ? emit_plain (e, ".inf", 4) : emit_plain (e, "-.inf", 5);
   for (prec = 15; prec < 17; prec++) {
      snprintf (buf, sizeof buf, "%.*g", prec, (double) x);
      if (strtod (buf, NULL) == (double) x)
         break;
   }
   n = snprintf (buf, sizeof buf, "%.*g", prec, (double) x);
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
   return emit_plain (e, buf, strlen (buf));
}

static int encode_value (encoder *e, int idx);

#define MARKED_NOT_SEQUENCE \
   "a table marked as a sequence (core.array_mt) must have exactly the keys 1..n"

static int
push_key (encoder *e, const char *s, size_t len)
{
   if (e->nkeys == e->keycap) {
      size_t cap = e->keycap ? e->keycap * 2 : 64;
      key_ref *k = (key_ref *) realloc (e->keys, cap * sizeof *k);
      if (k == NULL)
         return encode_fail (e, "yaml_encode", "out of memory");
      e->keys = k;
      e->keycap = cap;
   }
   e->keys[e->nkeys].s = s;
   e->keys[e->nkeys].len = len;
   e->nkeys++;
   return 1;
}

static int
compare_keys (const void *a, const void *b)
{
   const key_ref *x = (const key_ref *) a, *y = (const key_ref *) b;
   int c = memcmp (x->s, y->s, x->len < y->len ? x->len : y->len);
   if (c)
      return c;
   return x->len < y->len ? -1 : x->len > y->len;
}

static int
in_key_order (const encoder *e, const key_ref *k)
{
   size_t i;
   for (i = 0; i < e->norder; i++)
      if (e->order[i].len == k->len && !memcmp (e->order[i].s, k->s, k->len))
         return 1;
   return 0;
}

/* Writes key k and the value t[k] (t at idx). */
static int
encode_pair (encoder *e, int idx, const char *s, size_t len)
{
   lua_State *L = e->L;
   int ok;
   e->path[e->depth - 1].key = s;
   e->path[e->depth - 1].keylen = len;
   if (!emit_string (e, s, len))
      return 0;
   lua_pushlstring (L, s, len);
   lua_rawget (L, idx);
   ok = encode_value (e, lua_gettop (L));
   lua_pop (L, 1);
   return ok;
}

static int
encode_mapping (encoder *e, int idx, size_t first, size_t count)
{
   yaml_event_t ev;
   size_t i;

   yaml_mapping_start_event_initialize (&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
   if (!emit (e, &ev))
      return 0;
   if (count > 1)
      qsort (e->keys + first, count, sizeof *e->keys, compare_keys);
   if (e->depth == 1 && e->norder) {
      for (i = 0; i < e->norder; i++) {
         const key_ref *k = &e->order[i];
         size_t j;
         int seen = 0;
         for (j = 0; j < i; j++)
            seen |= e->order[j].len == k->len && !memcmp (e->order[j].s, k->s, k->len);
         lua_pushlstring (e->L, k->s, k->len);
         if (!seen && lua_rawget (e->L, idx) != LUA_TNIL) {
            lua_pop (e->L, 1);
            if (!encode_pair (e, idx, k->s, k->len))
               return 0;
         }
         else
            lua_pop (e->L, 1);
      }
   }
   for (i = first; i < first + count; i++) {
      key_ref k = e->keys[i];          /* e->keys may move while nested */
      if (e->depth == 1 && e->norder && in_key_order (e, &k))
         continue;
      if (!encode_pair (e, idx, k.s, k.len))
         return 0;
   }
   yaml_mapping_end_event_initialize (&ev);
   return emit (e, &ev);
}

static int
encode_sequence (encoder *e, int idx, lua_Integer n)
{
   lua_State *L = e->L;
   yaml_event_t ev;
   lua_Integer i;

   yaml_sequence_start_event_initialize (&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
   if (!emit (e, &ev))
      return 0;
   e->path[e->depth - 1].key = NULL;
   for (i = 1; i <= n; i++) {
      int ok;
      size_t len;
      const char *s;
      e->path[e->depth - 1].index = i;
      switch (lua_rawgeti (L, idx, i)) {
      case LUA_TSTRING:            /* the common case, without a detour */
         s = lua_tolstring (L, -1, &len);
         ok = emit_string (e, s, len);
         break;
      case LUA_TNIL:               /* a hole in a table marked as a sequence */
         e->depth--;
         return encode_fail (e, "yaml_encode_table", MARKED_NOT_SEQUENCE);
      default:
         ok = encode_value (e, lua_gettop (L));
         break;
      }
      if (!ok)
         return 0;
      lua_pop (L, 1);
   }
   yaml_sequence_end_event_initialize (&ev);
   return emit (e, &ev);
}

/* A table is a sequence when it carries core.array_mt or its keys are
 * exactly 1..n (n >= 1), a mapping when its keys are all strings; anything
 * else cannot be written. */
static int
encode_table (encoder *e, int idx)
{
   lua_State *L = e->L;
   const void *p = lua_topointer (L, idx);
   size_t first = e->nkeys, nstr = 0;
   lua_Integer nint = 0, maxint = 0;
   int marked = 0, below_one = 0, i, ok;

   for (i = 0; i < e->depth; i++)
      if (e->open[i] == p)
         return encode_fail (e, "yaml_encode_cycle",
                             "the table contains itself (a cycle)");
   if (e->depth >= MAX_DEPTH)
      return encode_fail (e, "yaml_depth", "nested deeper than %d levels", MAX_DEPTH);
   if (lua_getmetatable (L, idx)) {
      marked = lua_rawequal (L, -1, e->mt_idx);
      lua_pop (L, 1);
   }
   if (marked) {
      /* Keys must be exactly 1..n: n keys in all, and (checked while
       * writing) none of 1..n missing. */
      lua_Integer n = (lua_Integer) lua_rawlen (L, idx), count = 0;
      lua_pushnil (L);
      while (lua_next (L, idx)) {
         lua_pop (L, 1);
         count++;
      }
      if (count != n)
         return encode_fail (e, "yaml_encode_table", MARKED_NOT_SEQUENCE);
      e->open[e->depth++] = p;
      if (!encode_sequence (e, idx, n))
         return 0;
      e->depth--;
      return 1;
   }
   lua_pushnil (L);
   while (lua_next (L, idx)) {
      int kt = lua_type (L, -2);
      lua_pop (L, 1);
      if (kt == LUA_TSTRING) {
         size_t len;
         const char *s = lua_tolstring (L, -1, &len);
         if (!push_key (e, s, len)) {
            lua_pop (L, 1);
            return 0;
         }
         nstr++;
      }
      else if (kt == LUA_TNUMBER && lua_isinteger (L, -1)) {
         lua_Integer k = lua_tointeger (L, -1);
         if (k < 1)
            below_one = 1;
         else if (k > maxint)
            maxint = k;
         nint++;
      }
      else {
         const char *what = kt == LUA_TNUMBER ? "float" : lua_typename (L, kt);
         lua_pop (L, 1);
         e->nkeys = first;
         return encode_fail (e, "yaml_encode_type",
                             "a table with a %s key cannot be written (keys must be strings)",
                             what);
      }
   }
   if (nint && nstr) {
      e->nkeys = first;
      return encode_fail (e, "yaml_encode_table",
                          "a table with both integer and string keys cannot be written");
   }
   if (nint && (below_one || maxint != nint))
      return encode_fail (e, "yaml_encode_table",
                          "a table with integer keys other than 1..n (a sparse array) "
                          "cannot be written");
   e->open[e->depth++] = p;
   if (nint)
      ok = encode_sequence (e, idx, nint);
   else
      ok = encode_mapping (e, idx, first, nstr);
   if (!ok)
      return 0;
   e->depth--;
   e->nkeys = first;
   return 1;
}

/* Writes the value at stack index idx. */
static int
encode_value (encoder *e, int idx)
{
   lua_State *L = e->L;
   char buf[32];
   size_t len;
   const char *s;

   switch (lua_type (L, idx)) {
   case LUA_TSTRING:
      s = lua_tolstring (L, idx, &len);
      return emit_string (e, s, len);
   case LUA_TNUMBER:
      if (lua_isinteger (L, idx)) {
         int n = snprintf (buf, sizeof buf, LUA_INTEGER_FMT, lua_tointeger (L, idx));
         return emit_plain (e, buf, (size_t) n);
      }
      return emit_float (e, lua_tonumber (L, idx));
   case LUA_TBOOLEAN:
      return lua_toboolean (L, idx) ? emit_plain (e, "true", 4) : emit_plain (e, "false", 5);
   case LUA_TNIL:
      return emit_plain (e, "null", 4);
   case LUA_TLIGHTUSERDATA:
      if (lua_touserdata (L, idx) == NULL)
         return emit_plain (e, "null", 4);
      return encode_fail (e, "yaml_encode_type",
                          "a light userdata other than core.null cannot be written");
   case LUA_TTABLE:
      luaL_checkstack (L, 6, "yaml_encode");
      return encode_table (e, idx);
   default:
      return encode_fail (e, "yaml_encode_type", "a %s cannot be written",
                          luaL_typename (L, idx));
   }
}

static int
encode_document (encoder *e)
{
   yaml_event_t ev;
   yaml_stream_start_event_initialize (&ev, YAML_UTF8_ENCODING);
   if (!emit (e, &ev))
      return 0;
   yaml_document_start_event_initialize (&ev, NULL, NULL, NULL, 1);
   if (!emit (e, &ev) || !encode_value (e, 1))
      return 0;
   yaml_document_end_event_initialize (&ev, 1);
   if (!emit (e, &ev))
      return 0;
   yaml_stream_end_event_initialize (&ev);
   return emit (e, &ev);
}

/* Reads opts.key_order (an array of strings) into e->order. */
static void
read_key_order (encoder *e, int opts)
{
   lua_State *L = e->L;
   lua_Integer i, n;
   if (lua_getfield (L, opts, "key_order") == LUA_TNIL)
      return;                                   /* stays on the stack */
   if (!lua_istable (L, -1))
      luaL_argerror (L, 2, "opts.key_order must be an array of strings");
   n = (lua_Integer) lua_rawlen (L, -1);
   if (n == 0)
      return;
   e->order = (key_ref *) malloc ((size_t) n * sizeof *e->order);
   if (e->order == NULL)
      luaL_error (L, "yaml_encode: not enough memory");
   for (i = 1; i <= n; i++) {
      if (lua_rawgeti (L, -1, i) != LUA_TSTRING)
         luaL_argerror (L, 2, "opts.key_order must be an array of strings");
      e->order[i - 1].s = lua_tolstring (L, -1, &e->order[i - 1].len);
      lua_pop (L, 1);                           /* anchored by key_order */
   }
   e->norder = (size_t) n;
}

/* core.yaml_encode(value [, opts]) -> text | nil, msg, code */
int
bc_yaml_encode (lua_State *L)
{
   encoder *e;
   yaml_emitter_t *em;

   luaL_checkany (L, 1);
   lua_settop (L, 2);
   if (!lua_isnil (L, 2))
      luaL_checktype (L, 2, LUA_TTABLE);
   bc_push_array_mt (L);                                        /* 3 */
   e = (encoder *) lua_newuserdatauv (L, sizeof *e, 0);         /* 4 */
   memset (e, 0, sizeof *e);
   luaL_setmetatable (L, ENCODER_MT);
   e->L = L;
   e->mt_idx = 3;
   if (!lua_isnil (L, 2))
      read_key_order (e, 2);                                    /* 5 */
   em = &e->emitter;
   if (!yaml_emitter_initialize (em))
      return luaL_error (L, "yaml_encode: not enough memory");
   e->has_emitter = 1;
   yaml_emitter_set_output (em, write_handler, e);
   yaml_emitter_set_encoding (em, YAML_UTF8_ENCODING);
   yaml_emitter_set_unicode (em, 1);
   yaml_emitter_set_width (em, -1);       /* never fold a line */
   yaml_emitter_set_indent (em, 2);
   yaml_emitter_set_break (em, YAML_LN_BREAK);

   if (!encode_document (e)) {
      encoder_close (e);
      return bc_fail (L, e->code, "%s", e->problem);
   }
   lua_pushlstring (L, e->out ? e->out : "", e->outlen);
   encoder_close (e);
   return 1;
}

void
bc_yaml_open (lua_State *L)
{
   static const luaL_Reg functions[] = {
      { "yaml_decode", l_yaml_decode },
      { "yaml_encode", bc_yaml_encode },
      { NULL, NULL }
   };
   luaL_newmetatable (L, DECODER_MT);
   lua_pushcfunction (L, decoder_gc);
   lua_setfield (L, -2, "__gc");
   lua_pop (L, 1);
   luaL_newmetatable (L, ENCODER_MT);
   lua_pushcfunction (L, encoder_gc);
   lua_setfield (L, -2, "__gc");
   lua_pop (L, 1);

   luaL_setfuncs (L, functions, 0);
   push_null (L);
   lua_setfield (L, -2, "null");
   bc_push_array_mt (L);
   lua_setfield (L, -2, "array_mt");
}
