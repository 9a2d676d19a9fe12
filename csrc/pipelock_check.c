/* TODO: being written. */
#include "core.h"
void bc_pipelock_check_open (lua_State *L) { (void)L; }
