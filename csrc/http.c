/* TODO: being written. */
#include "core.h"
void bc_http_open (lua_State *L) { (void)L; }
