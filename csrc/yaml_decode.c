/* core.yaml_decode for bottle.core: libyaml's parser into Lua values.
 *
 * Plain scalars resolve as the YAML 1.2 core schema (yaml_scalar.c).  It
 * refuses what a config file has no use for and an attacker has: several
 * documents, aliases (no YAML bomb can expand), duplicate keys, non-string
 * keys, unknown tags and deep nesting.
 *
 * libyaml state lives in a userdata whose __gc releases it: a Lua error
 * (out of memory) raised half-way never leaks, and the normal paths release
 * it at once.  No Lua code runs while libyaml holds memory. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "core.h"
#include "yaml_internal.h"

#define DECODER_MT "bottle.core.yaml_decoder"

typedef struct decoder {
   yaml_parser_t parser;
   yaml_event_t event;
   int has_parser, has_event;
   lua_State *L;
   const char *text;
   size_t textlen;
   int pos_idx;          /* stack index of the positions table, 0 if not asked */
   int max_depth;        /* opts.max_depth, at most BC_YAML_MAX_DEPTH */
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
      bc_yaml_quote (quoted, sizeof quoted, tag + sizeof prefix - 1,
                         strlen (tag + sizeof prefix - 1));
      snprintf (dst, cap, "!!%.*s", (int) strlen (quoted) - 2, quoted + 1);
   }
   else {
      bc_yaml_quote (quoted, sizeof quoted, tag, strlen (tag));
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
   bc_yaml_quote (anchor, sizeof anchor, a, strlen (a));
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
   const char *why;

   if (tag == NULL) {
      if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
         bc_yaml_push_plain (L, s, len);
      else
         lua_pushlstring (L, s, len);
      return 1;
   }
   if ((why = bc_yaml_push_tagged (L, tag, s, len)) == NULL)
      return 1;
   if (why == bc_yaml_unknown_tag)
      return tag_fail (d, tag, "scalar");
   return decode_fail (d, "yaml_tag", ev->start_mark, "%s", why);
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

   bc_yaml_quote (quoted, sizeof quoted, key, len);
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
      bc_yaml_push_null (d->L);
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
   int positions = 0, max_depth = BC_YAML_MAX_DEPTH;
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
         luaL_argcheck (L, max_depth >= 1 && max_depth <= BC_YAML_MAX_DEPTH, 2, "opts.max_depth must be 1 to 256");
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
void
bc_yaml_decode_open (lua_State *L)
{
   bc_gc_metatable (L, DECODER_MT, decoder_gc);
   lua_pushcfunction (L, l_yaml_decode);
   lua_setfield (L, -2, "yaml_decode");
   bc_yaml_push_null (L);
   lua_setfield (L, -2, "null");
   bc_push_array_mt (L);
   lua_setfield (L, -2, "array_mt");
}
