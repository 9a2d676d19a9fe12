/* Ground-floor helpers shared by the C files of bottle.core (see util.h). */
#include <stdarg.h>

#include "util.h"

#define ARRAY_MT "bottle.core.array_mt"

int
bc_fail (lua_State *L, const char *code, const char *fmt, ...)
{
   va_list ap;
   lua_pushnil (L);
   va_start (ap, fmt);
   lua_pushvfstring (L, fmt, ap);
   va_end (ap);
   lua_pushstring (L, code);
   return 3;
}

void
bc_push_array_mt (lua_State *L)
{
   luaL_newmetatable (L, ARRAY_MT);  /* made on first use, then reused */
}

void
bc_set_array_mt (lua_State *L)
{
   bc_push_array_mt (L);
   lua_setmetatable (L, -2);
}

void
bc_push_strings (lua_State *L, const char *const *list)
{
   int i;
   lua_newtable (L);
   for (i = 0; list[i]; i++) {
      lua_pushstring (L, list[i]);
      lua_rawseti (L, -2, i + 1);
   }
}

void
bc_gc_metatable (lua_State *L, const char *name, lua_CFunction gc)
{
   luaL_newmetatable (L, name);
   lua_pushcfunction (L, gc);
   lua_setfield (L, -2, "__gc");
   lua_pop (L, 1);
}
