/* TODO: being written. */
#include "core.h"
void bc_sys_open (lua_State *L) { (void)L; }
