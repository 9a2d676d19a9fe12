/* Ground-floor helpers of bottle.core: used by every other C file, and
 * depending on none of them (only Lua's C API). */
#ifndef BOTTLE_UTIL_H
#define BOTTLE_UTIL_H

#include <lua.h>
#include <lauxlib.h>

#pragma GCC visibility push(hidden)

/* Runtime failure, Lua style: pushes nil, the formatted message and `code`
 * (a short stable string such as "invalid_host"); returns 3. */
int bc_fail (lua_State *L, const char *code, const char *fmt, ...);

/* Pushes the registry's array metatable (core.array_mt): it marks decoded
 * sequences, and tells the encoder that an empty table is a sequence. */
void bc_push_array_mt (lua_State *L);

/* Sets the array metatable on the table on top of the stack. */
void bc_set_array_mt (lua_State *L);

/* Registers the metatable `name` with `gc` as its __gc (for a userdata that
 * owns C memory). */
void bc_gc_metatable (lua_State *L, const char *name, lua_CFunction gc);

/* Pushes a new array of the strings of a NULL-terminated C list. */
void bc_push_strings (lua_State *L, const char *const *list);

#pragma GCC visibility pop

#endif
