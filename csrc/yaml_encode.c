/* core.yaml_encode for bottle.core: libyaml's emitter from Lua values.
 *
 * Every string that a YAML 1.1 or 1.2 reader could take for anything else
 * is quoted (yaml_scalar.c), so decode(encode(x)) equals x.  The emitter's
 * state and the text it writes live in a userdata whose __gc releases them:
 * a Lua error (out of memory) raised half-way never leaks.  No Lua code
 * runs while libyaml holds memory. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core.h"
#include "yaml_internal.h"

#define ENCODER_MT "bottle.core.yaml_encoder"

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
   const void *open[BC_YAML_MAX_DEPTH];      /* the open tables: a cycle check */
   path_step path[BC_YAML_MAX_DEPTH];
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
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
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
         bc_yaml_quote (quoted, sizeof quoted, p->key, p->keylen);
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

/* Hands libyaml a scalar event.  Built by hand rather than with
 * yaml_scalar_event_initialize, whose UTF-8 check bc_yaml_string_style
 * already made; the emitter frees the copy (with free, as yaml_free does). */
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
   switch (bc_yaml_string_style (s, len)) {
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

static int
emit_float (encoder *e, lua_Number x)
{
   char buf[64];
   return emit_plain (e, buf, bc_yaml_format_float (buf, x));
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
   if (e->depth >= BC_YAML_MAX_DEPTH)
      return encode_fail (e, "yaml_depth", "nested deeper than %d levels", BC_YAML_MAX_DEPTH);
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
bc_yaml_encode_open (lua_State *L)
{
   bc_gc_metatable (L, ENCODER_MT, encoder_gc);
   lua_pushcfunction (L, bc_yaml_encode);
   lua_setfield (L, -2, "yaml_encode");
}
