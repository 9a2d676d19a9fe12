/* Private header of the YAML files of bottle.core: yaml_scalar.c (how a
 * scalar is read and how a string must be written), yaml_decode.c
 * (core.yaml_decode) and yaml_encode.c (core.yaml_encode). */
#ifndef BOTTLE_YAML_INTERNAL_H
#define BOTTLE_YAML_INTERNAL_H

#include <stddef.h>
#include <lua.h>

#pragma GCC visibility push(hidden)

/* Deepest nesting of sequences and mappings accepted (and written). */
#define BC_YAML_MAX_DEPTH 256

/* core.null is the NULL light userdata, the very value of cjson.null, so a
 * null read by either library means the same to the other. */
#define bc_yaml_push_null(L) lua_pushlightuserdata ((L), NULL)

/* Writes `s` into dst (cap bytes) quoted for an error message: printable
 * ASCII as is, other bytes below 0x80 escaped, at most 60 bytes shown. */
void bc_yaml_quote (char *dst, size_t cap, const char *s, size_t len);

/* Pushes the value of a plain, untagged scalar (YAML 1.2 core schema). */
void bc_yaml_push_plain (lua_State *L, const char *s, size_t len);

/* What bc_yaml_push_tagged returns for a tag outside the core schema. */
extern const char bc_yaml_unknown_tag[];

/* Pushes the value of a scalar with a core-schema tag (!!str, !!null,
 * !!bool, !!int, !!float) and returns NULL.  Otherwise pushes nothing and
 * returns bc_yaml_unknown_tag, or a static message saying why the value is
 * not what its tag says. */
const char *bc_yaml_push_tagged (lua_State *L, const char *tag, const char *s, size_t len);

/* How a string must be written: -1 not valid UTF-8, 1 double-quoted, 0
 * libyaml may choose. */
int bc_yaml_string_style (const char *str, size_t len);

/* Writes a float into buf (64 bytes) as every YAML reader reads a float;
 * returns its length. */
size_t bc_yaml_format_float (char *buf, lua_Number x);

/* The two halves of core's YAML functions. */
void bc_yaml_decode_open (lua_State *L);
void bc_yaml_encode_open (lua_State *L);

#pragma GCC visibility pop

#endif
