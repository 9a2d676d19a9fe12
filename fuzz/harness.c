/* libFuzzer harness for bottle.core.
 *
 * One binary per target: this file, every C file of csrc/ (built with the same
 * sanitizers) and targets.lua, embedded.  The core is opened with
 * luaopen_bottle_core and put in package.loaded, as `require` would; the
 * target is the function targets.lua returns under FUZZ_TARGET, called with
 * each input as a string.  An error raised by it is a finding: the harness
 * prints it and aborts, so libFuzzer saves the input.
 *
 * The launcher's own Lua modules (every .lua file of lua/bottle: manifest_load
 * needs bottle.manifest, bottle.plan and what they require) are embedded
 * too (modules_lua.h) and put in package.preload, so `require` finds this
 * checkout's copy and no other.
 *
 * The Lua state runs on a counting allocator.  `fuzz_limit(n, f, ...)` calls
 * f with room for only n more allocations, so the targets can walk the core's
 * out-of-memory paths (Lua raising through the C code) and LeakSanitizer can
 * see whether libyaml's state is released on them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "targets_lua.h"   /* static const char targets_lua[] (generated) */
#include "modules_lua.h"   /* embedded_modules[] = {name, chunkname, source, length} (generated) */

#ifndef FUZZ_TARGET
#error "build with -DFUZZ_TARGET=\"name\""
#endif

int luaopen_bottle_core (lua_State *L);
int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static lua_State *L;
static int target_ref = LUA_NOREF;
static size_t alloc_budget = SIZE_MAX;   /* allocations left; SIZE_MAX: no limit */

/* Lua never lets a shrinking realloc fail, so only growth is counted. */
static void *
counting_alloc (void *ud, void *ptr, size_t osize, size_t nsize)
{
   (void) ud;
   if (nsize == 0) {
      free (ptr);
      return NULL;
   }
   if (ptr == NULL || nsize > osize) {
      if (alloc_budget == 0)
         return NULL;
      if (alloc_budget != SIZE_MAX)
         alloc_budget--;
   }
   return realloc (ptr, nsize);
}

/* fuzz_limit(n, f, ...) -> ok, results or error */
static int
l_fuzz_limit (lua_State *L1)
{
   lua_Integer n = luaL_checkinteger (L1, 1);
   int status;
   luaL_checktype (L1, 2, LUA_TFUNCTION);
   lua_remove (L1, 1);
   alloc_budget = n < 0 ? 0 : (size_t) n;
   status = lua_pcall (L1, lua_gettop (L1) - 1, LUA_MULTRET, 0);
   alloc_budget = SIZE_MAX;
   lua_pushboolean (L1, status == LUA_OK);
   lua_insert (L1, 1);
   return lua_gettop (L1);
}

/* package.preload[name] = the embedded module's chunk, for each one. */
static void
preload_modules (lua_State *L1)
{
   size_t i;
   luaL_getsubtable (L1, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
   for (i = 0; i < sizeof embedded_modules / sizeof embedded_modules[0]; i++) {
      if (luaL_loadbufferx (L1, embedded_modules[i].source, embedded_modules[i].length,
                            embedded_modules[i].chunkname, "t") != LUA_OK) {
         fprintf (stderr, "%s: %s\n", embedded_modules[i].name, lua_tostring (L1, -1));
         abort ();
      }
      lua_setfield (L1, -2, embedded_modules[i].name);
   }
   lua_pop (L1, 1);
}

static int
traceback (lua_State *L1)
{
   luaL_traceback (L1, L1, luaL_tolstring (L1, 1, NULL), 1);
   return 1;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
   (void) argc;
   (void) argv;
   L = lua_newstate (counting_alloc, NULL);
   if (L == NULL)
      abort ();
   luaL_openlibs (L);
   luaL_requiref (L, "bottle.core", luaopen_bottle_core, 0);
   lua_pop (L, 1);
   preload_modules (L);
   lua_register (L, "fuzz_limit", l_fuzz_limit);
   if (luaL_loadbuffer (L, targets_lua, sizeof targets_lua - 1, "=targets.lua") != LUA_OK
       || lua_pcall (L, 0, 1, 0) != LUA_OK) {
      fprintf (stderr, "targets.lua: %s\n", lua_tostring (L, -1));
      abort ();
   }
   if (lua_getfield (L, -1, FUZZ_TARGET) != LUA_TFUNCTION) {
      fprintf (stderr, "targets.lua has no target %s\n", FUZZ_TARGET);
      abort ();
   }
   target_ref = luaL_ref (L, LUA_REGISTRYINDEX);
   lua_settop (L, 0);
   return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
   lua_pushcfunction (L, traceback);
   lua_rawgeti (L, LUA_REGISTRYINDEX, target_ref);
   lua_pushlstring (L, (const char *) data, size);
   if (lua_pcall (L, 1, 0, 1) != LUA_OK) {
      fprintf (stderr, "\n%s: %s\n", FUZZ_TARGET, lua_tostring (L, -1));
      abort ();
   }
   lua_settop (L, 0);
   return 0;
}
