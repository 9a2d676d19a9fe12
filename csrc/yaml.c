/* TODO: being written. */
#include "core.h"
void bc_push_array_mt (lua_State *L) { lua_pushnil (L); }
void bc_yaml_open (lua_State *L) { (void)L; }
