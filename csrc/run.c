/* core.run: runs a program the launcher needs the output of (the host's
 * git, for the workspace), without a shell and with nothing inherited:
 * argv[1] is a path (no PATH search), opts.env is the child's whole
 * environment (empty by default), opts.cwd its working directory, stdin is
 * /dev/null and every descriptor above stderr is closed.  stdout and stderr
 * are read whole, each up to opts.max_output bytes (the child is killed
 * past it, so a runaway listing cannot exhaust memory).
 *
 * core.spawn keeps the launcher's environment and its terminal (for the
 * interactive session); core.child speaks a request protocol with an
 * untrusted script.  This is the third shape: run to the end, capture.
 *
 * core.readlink is here too: the workspace reads a symlink's target to
 * decide whether it stays inside the tree. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"

#define RUN_DEFAULT_MAX (64 * 1024 * 1024)

static void
close_from (int first)
{
   int fd, max = (int) sysconf (_SC_OPEN_MAX);
   if (max < 0 || max > 65536)
      max = 65536;
   for (fd = first; fd < max; fd++)
      close (fd);
}

/* core.run(argv, {env = {NAME = value}, cwd = DIR, max_output = n})
 *   -> {status = n, stdout = s, stderr = s} | nil, message, code
 * status is the exit status, or 128 + the signal that ended the child. */
static int
l_run (lua_State *L)
{
   const char **argv;
   char **envp;
   const char *cwd = NULL;
   lua_Integer max = RUN_DEFAULT_MAX;
   bc_limits lim;
   int out[2], err[2], status;
   pid_t pid;
   luaL_Buffer bufs[2];
   size_t got[2] = { 0, 0 };
   int open_fds[2], overflow = 0;

   argv = bc_spawn_args (L, &lim);
   if (lua_istable (L, 2)) {
      if (lua_getfield (L, 2, "cwd") != LUA_TNIL)
         cwd = luaL_checkstring (L, -1);
      lua_pop (L, 1);
      if (lua_getfield (L, 2, "max_output") != LUA_TNIL) {
         max = luaL_checkinteger (L, -1);
         luaL_argcheck (L, max > 0, 2, "opts.max_output must be positive");
      }
      lua_pop (L, 1);
      lua_getfield (L, 2, "env");
   }
   else
      lua_pushnil (L);
   envp = bc_env_list (L, -1);

   if (pipe2 (out, O_CLOEXEC) != 0)
      return bc_fail (L, "EIO", "pipe: %s", strerror (errno));
   if (pipe2 (err, O_CLOEXEC) != 0) {
      int e = errno;
      close (out[0]);
      close (out[1]);
      return bc_fail (L, "EIO", "pipe: %s", strerror (e));
   }
   pid = fork ();
   if (pid < 0) {
      int e = errno;
      close (out[0]); close (out[1]); close (err[0]); close (err[1]);
      return bc_fail (L, "EIO", "fork: %s", strerror (e));
   }
   if (pid == 0) {
      int devnull = open ("/dev/null", O_RDONLY);
      if (devnull < 0 || dup2 (devnull, 0) < 0 || dup2 (out[1], 1) < 0 || dup2 (err[1], 2) < 0)
         _exit (126);
      close_from (3);
      signal (SIGPIPE, SIG_DFL);
      if (cwd && chdir (cwd) != 0)
         _exit (126);
      execve (argv[0], (char *const *) argv, envp);
      _exit (127);
   }
   close (out[1]);
   close (err[1]);
   open_fds[0] = out[0];
   open_fds[1] = err[0];
   luaL_buffinit (L, &bufs[0]);
   /* two buffers on the stack at once are not allowed: collect stderr in a
    * fixed-size tail instead (it is only ever read as a message) */
   {
      char tail[4096];
      size_t tail_len = 0;
      while (open_fds[0] >= 0 || open_fds[1] >= 0) {
         struct pollfd p[2];
         int n = 0, i;
         for (i = 0; i < 2; i++)
            if (open_fds[i] >= 0) {
               p[n].fd = open_fds[i];
               p[n].events = POLLIN;
               n++;
            }
         if (poll (p, (nfds_t) n, -1) < 0) {
            if (errno == EINTR)
               continue;
            break;
         }
         for (i = 0; i < n; i++) {
            int which = p[i].fd == open_fds[0] ? 0 : 1;
            char chunk[65536];
            ssize_t r;
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
               continue;
            r = read (p[i].fd, chunk, sizeof chunk);
            if (r < 0 && errno == EINTR)
               continue;
            if (r <= 0) {
               close (open_fds[which]);
               open_fds[which] = -1;
               continue;
            }
            got[which] += (size_t) r;
            if (got[which] > (size_t) max) {
               overflow = 1;
               kill (pid, SIGKILL);
               close (open_fds[which]);
               open_fds[which] = -1;
               continue;
            }
            if (which == 0)
               luaL_addlstring (&bufs[0], chunk, (size_t) r);
            else if ((size_t) r >= sizeof tail) {
               memcpy (tail, chunk + r - sizeof tail, sizeof tail);
               tail_len = sizeof tail;
            }
            else {
               size_t keep = tail_len + (size_t) r > sizeof tail ? sizeof tail - (size_t) r : tail_len;
               memmove (tail, tail + tail_len - keep, keep);
               memcpy (tail + keep, chunk, (size_t) r);
               tail_len = keep + (size_t) r;
            }
         }
      }
      if (open_fds[0] >= 0)
         close (open_fds[0]);
      if (open_fds[1] >= 0)
         close (open_fds[1]);
      while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
         ;
      luaL_pushresult (&bufs[0]);
      if (overflow)
         return bc_fail (L, "too_large", "%s: wrote more than %I bytes", argv[0], max);
      lua_createtable (L, 0, 3);
      lua_insert (L, -2);
      lua_setfield (L, -2, "stdout");
      lua_pushlstring (L, tail, tail_len);
      lua_setfield (L, -2, "stderr");
   }
   lua_pushinteger (L, WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
   lua_setfield (L, -2, "status");
   return 1;
}

/* core.readlink(path) -> the symlink's target | nil, message, code */
static int
l_readlink (lua_State *L)
{
   const char *path = luaL_checkstring (L, 1);
   char buf[PATH_MAX];
   ssize_t n = readlink (path, buf, sizeof buf);
   if (n < 0)
      return bc_fail (L, errno == ENOENT ? "ENOENT" : errno == EINVAL ? "not_link" : "EIO", "%s: %s", path,
                      strerror (errno));
   if ((size_t) n >= sizeof buf)
      return bc_fail (L, "too_large", "%s: the link's target is too long", path);
   lua_pushlstring (L, buf, (size_t) n);
   return 1;
}

void
bc_run_open (lua_State *L)
{
   static const luaL_Reg fns[] = {
      { "run", l_run },
      { "readlink", l_readlink },
      { NULL, NULL }
   };
   luaL_setfuncs (L, fns, 0);
}
