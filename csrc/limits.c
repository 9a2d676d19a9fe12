/* Kernel limits for a child process, set in the child between fork and
 * exec (core.spawn's and core.child's opts.limits): CPU time, address
 * space, open files, no core dump, and no descriptor inherited above the
 * ones the caller keeps. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"

/* Reads opts.limits = {cpu = seconds, memory = bytes, files = n} at `idx`
 * (a table or nil); an unknown key or a value < 1 raises (misuse). */
void
bc_limits_read (lua_State *L, int idx, bc_limits *lim)
{
   memset (lim, 0, sizeof *lim);
   if (lua_isnoneornil (L, idx))
      return;
   luaL_checktype (L, idx, LUA_TTABLE);
   lim->set = 1;
   lua_pushnil (L);
   while (lua_next (L, idx)) {
      const char *k = lua_type (L, -2) == LUA_TSTRING ? lua_tostring (L, -2) : "?";
      lua_Integer v;
      int isint;
      v = lua_tointegerx (L, -1, &isint);
      if (!isint || v < 1)
         luaL_error (L, "limits.%s must be a positive integer", k);
      if (strcmp (k, "cpu") == 0)
         lim->cpu = (rlim_t) v;
      else if (strcmp (k, "memory") == 0)
         lim->memory = (rlim_t) v;
      else if (strcmp (k, "files") == 0)
         lim->files = (rlim_t) v;
      else
         luaL_error (L, "limits: unknown key %s (known: cpu, files, memory)", k);
      lua_pop (L, 1);
   }
}

/* The arguments of core.spawn and core.child: argv (1) and opts (2) are
 * checked, opts.limits is read into *lim, and argv is returned as a
 * NULL-terminated array in a userdata left at index 3 (its strings stay
 * anchored in the argv table). */
const char **
bc_spawn_args (lua_State *L, bc_limits *lim)
{
   int argc, i;
   const char **argv;
   luaL_checktype (L, 1, LUA_TTABLE);
   argc = (int) lua_rawlen (L, 1);
   luaL_argcheck (L, argc > 0, 1, "argv must not be empty");
   if (!lua_isnoneornil (L, 2))
      luaL_checktype (L, 2, LUA_TTABLE);
   lua_settop (L, 2);
   if (lua_istable (L, 2))
      lua_getfield (L, 2, "limits");
   else
      lua_pushnil (L);
   bc_limits_read (L, 3, lim);
   lua_settop (L, 2);
   argv = lua_newuserdatauv (L, (size_t) (argc + 1) * sizeof *argv, 0);
   for (i = 0; i < argc; i++) {
      lua_rawgeti (L, 1, i + 1);
      argv[i] = luaL_checkstring (L, -1);
      lua_pop (L, 1);
   }
   argv[argc] = NULL;
   return argv;
}

static int
set_limit (int resource, rlim_t soft, rlim_t hard)
{
   struct rlimit r;
   r.rlim_cur = soft;
   r.rlim_max = hard;
   return setrlimit (resource, &r);
}

/* In a forked child, before exec: async-signal-safe calls only.  The CPU
 * limit's soft value sends SIGXCPU (fatal by default), the hard one a
 * second later SIGKILL.  Descriptors from `keep` up are closed.  Returns 0
 * or -1 with errno set. */
int
bc_limits_apply (const bc_limits *lim, int keep)
{
   if (!lim->set)
      return 0;
   if (syscall (SYS_close_range, (unsigned) keep, ~0U, 0) != 0) {
      int fd;
      for (fd = keep; fd < 1024; fd++)
         close (fd);
   }
   if (set_limit (RLIMIT_CORE, 0, 0) != 0)
      return -1;
   if (lim->cpu && set_limit (RLIMIT_CPU, lim->cpu, lim->cpu + 1) != 0)
      return -1;
   if (lim->memory && set_limit (RLIMIT_AS, lim->memory, lim->memory) != 0)
      return -1;
   if (lim->files && set_limit (RLIMIT_NOFILE, lim->files, lim->files) != 0)
      return -1;
   return 0;
}

char **
bc_env_list (lua_State *L, int idx)
{
   int n = 0, anchors;
   char **envp;
   idx = lua_absindex (L, idx);
   if (lua_istable (L, idx)) {
      lua_pushnil (L);
      while (lua_next (L, idx)) {
         n++;
         lua_pop (L, 1);
      }
   }
   envp = lua_newuserdatauv (L, (size_t) (n + 1) * sizeof *envp, 0);
   lua_newtable (L);
   anchors = lua_gettop (L);
   n = 0;
   if (lua_istable (L, idx)) {
      lua_pushnil (L);
      while (lua_next (L, idx)) {
         size_t kl;
         const char *k = luaL_checklstring (L, -2, &kl);
         const char *v = luaL_checkstring (L, -1);
         luaL_argcheck (L, kl > 0 && !strchr (k, '=') && strlen (k) == kl, 2,
                        "opts.env names must not be empty or contain '=' or NUL");
         lua_pushfstring (L, "%s=%s", k, v);
         envp[n++] = (char *) lua_tostring (L, -1);
         lua_rawseti (L, anchors, n);
         lua_pop (L, 1);
      }
   }
   envp[n] = NULL;
   return envp;
}
