/* TODO: being written. */
#include "core.h"
const char *const bc_default_allowlist[] = { NULL };
const char *const bc_default_passthrough[] = { NULL };
const char *bc_host_normalize (const char *in, size_t len, char *out, size_t *outlen) { (void)in; (void)len; (void)out; (void)outlen; return "not implemented"; }
void bc_allowlist_open (lua_State *L) { (void)L; }
