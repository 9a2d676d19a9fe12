/* bottle.core: registration of the C module and its version fields.
 * The work lives in one file per concern (see core.h). */
#include <curl/curl.h>
#include <yaml.h>

#include "core.h"
#include "yaml_internal.h"

__attribute__((visibility("default"))) int luaopen_bottle_core (lua_State *L);

int
luaopen_bottle_core (lua_State *L)
{
   curl_version_info_data *cv;

   lua_newtable (L);
   lua_pushliteral (L, BOTTLE_CORE_VERSION);
   lua_setfield (L, -2, "_VERSION");
   lua_pushstring (L, yaml_get_version_string ());
   lua_setfield (L, -2, "_YAML_VERSION");
   cv = curl_version_info (CURLVERSION_NOW);
   lua_pushstring (L, cv->version);
   lua_setfield (L, -2, "_CURL_VERSION");
   lua_pushstring (L, LUA_RELEASE);
   lua_setfield (L, -2, "_LUA_VERSION");

   bc_allowlist_open (L);
   bc_yaml_decode_open (L);
   bc_yaml_encode_open (L);
   bc_pipelock_open (L);
   bc_pipelock_check_open (L);
   bc_http_open (L);
   bc_upgrade_open (L);
   bc_sys_open (L);
   bc_child_open (L);
   bc_file_read_open (L);
   bc_run_open (L);
   return 1;
}
