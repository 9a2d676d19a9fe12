/* Child processes the launcher does not trust (a launch policy): kernel
 * limits set in the child before exec (CPU time, address space, open
 * files, no core dump), no descriptor inherited but its stdin and stdout
 * pipes, an empty environment unless one is given, a launcher it cannot
 * read through /proc, and a wall-clock deadline after which the parent
 * kills it with SIGKILL.  Whatever the
 * child does (loop in C, allocate gigabytes, crash), the launcher gets a
 * reply or `nil, message, code`.
 *
 * The limits themselves (also an option of core.spawn) are in limits.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

#define CHILD_MT "bottle.core.Child"

typedef struct {
   pid_t pid;
   int to_child;        /* the child's stdin; -1 once closed */
   int from_child;      /* the child's stdout; -1 once closed */
   int status;          /* wait(2) status, valid once reaped */
   int reaped;
} child_t;

/* ---- the handle ------------------------------------------------------------ */

static void
close_fd (int *fd)
{
   if (*fd >= 0) {
      close (*fd);
      *fd = -1;
   }
}

/* SIGKILL and reap: the child can never outlive its handle. */
static void
child_end (child_t *c)
{
   close_fd (&c->to_child);
   close_fd (&c->from_child);
   if (c->pid > 0 && !c->reaped) {
      kill (c->pid, SIGKILL);
      while (waitpid (c->pid, &c->status, 0) < 0 && errno == EINTR)
         ;
      c->reaped = 1;
   }
}

/* How the child ended, for a message: "exited with status 1",
 * "was killed by SIGXCPU (its CPU time limit)"... */
static void
push_ending (lua_State *L, const child_t *c)
{
   int st = c->status;
   if (WIFEXITED (st))
      lua_pushfstring (L, "exited with status %d", WEXITSTATUS (st));
   else if (WIFSIGNALED (st) && WTERMSIG (st) == SIGXCPU)
      lua_pushliteral (L, "was killed by SIGXCPU (its CPU time limit)");
   else if (WIFSIGNALED (st) && WTERMSIG (st) == SIGKILL)
      lua_pushliteral (L, "was killed by SIGKILL (its CPU time limit, or the kernel out of memory)");
   else if (WIFSIGNALED (st))
      lua_pushfstring (L, "was killed by signal %d (%s)", WTERMSIG (st), strsignal (WTERMSIG (st)));
   else
      lua_pushliteral (L, "ended");
}

static child_t *
check_child (lua_State *L)
{
   child_t *c = luaL_checkudata (L, 1, CHILD_MT);
   return c;
}

static double
now (void)
{
   struct timespec ts;
   clock_gettime (CLOCK_MONOTONIC, &ts);
   return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Fails the request: kills the child and returns nil, message, code. */
static int
request_fail (lua_State *L, child_t *c, const char *code, const char *why)
{
   int killed_by_us = !c->reaped;
   child_end (c);
   lua_pushnil (L);
   if (strcmp (code, "exited") == 0 || !killed_by_us) {
      push_ending (L, c);
      lua_pushfstring (L, "%s: the process %s", why, lua_tostring (L, -1));
      lua_remove (L, -2);
   }
   else
      lua_pushstring (L, why);
   lua_pushstring (L, code);
   return 3;
}

/* child:request(data, timeout_seconds, max_reply_bytes)
 *   -> reply (the bytes up to the first "\n", without it)
 *    | nil, message, code ("timeout", "too_large", "exited", "closed")
 * Writes `data` to the child's stdin while reading its stdout, so neither
 * side can block the other.  Any failure kills the child. */
static int
l_request (lua_State *L)
{
   child_t *c = check_child (L);
   size_t len, off = 0, got = 0;
   const char *data = luaL_checklstring (L, 2, &len);
   lua_Number timeout = luaL_checknumber (L, 3);
   lua_Integer max = luaL_checkinteger (L, 4);
   double deadline;
   sigset_t pipe_set, old_set;
   luaL_Buffer b;
   int result = 0;

   luaL_argcheck (L, timeout > 0, 3, "timeout must be positive");
   luaL_argcheck (L, max > 0, 4, "max_reply_bytes must be positive");
   if (c->from_child < 0)
      return bc_fail (L, "closed", "the process was already ended");
   lua_settop (L, 4);
   deadline = now () + (double) timeout;

   /* A child that died leaves a broken pipe: take EPIPE, not SIGPIPE. */
   sigemptyset (&pipe_set);
   sigaddset (&pipe_set, SIGPIPE);
   sigprocmask (SIG_BLOCK, &pipe_set, &old_set);

   luaL_buffinit (L, &b);
   for (;;) {
      struct pollfd p[2];
      int n = 0, ms, r, rd = -1, wr = -1;
      double left = deadline - now ();
      if (left <= 0) {
         result = 1;
         break;
      }
      ms = (int) (left * 1000) + 1;
      if (off < len && c->to_child >= 0) {
         p[n].fd = c->to_child;
         p[n].events = POLLOUT;
         wr = n++;
      }
      p[n].fd = c->from_child;
      p[n].events = POLLIN;
      rd = n++;
      r = poll (p, (nfds_t) n, ms);
      if (r < 0) {
         if (errno == EINTR)
            continue;
         result = 4;
         break;
      }
      if (wr >= 0 && (p[wr].revents & (POLLOUT | POLLERR | POLLHUP))) {
         ssize_t w = write (c->to_child, data + off, len - off);
         if (w > 0)
            off += (size_t) w;
         else if (w < 0 && errno != EINTR && errno != EAGAIN) {
            /* it stopped reading: its exit shows on the read side */
            close_fd (&c->to_child);
            if (errno == EPIPE) {
               struct timespec zero = { 0, 0 };
               sigtimedwait (&pipe_set, NULL, &zero);
            }
         }
      }
      if (p[rd].revents & (POLLIN | POLLERR | POLLHUP)) {
         char *buf = luaL_prepbuffsize (&b, 65536);
         ssize_t m = read (c->from_child, buf, 65536);
         if (m == 0) {
            result = 3;
            break;
         }
         if (m > 0) {
            char *nl = memchr (buf, '\n', (size_t) m);
            if (nl) {
               luaL_addsize (&b, (size_t) (nl - buf));
               got += (size_t) (nl - buf);
               result = got > (size_t) max ? 2 : 0;
               break;
            }
            luaL_addsize (&b, (size_t) m);
            got += (size_t) m;
            if (got > (size_t) max) {
               result = 2;
               break;
            }
         }
         else if (errno != EINTR && errno != EAGAIN) {
            result = 4;
            break;
         }
      }
   }
   sigprocmask (SIG_SETMASK, &old_set, NULL);
   luaL_pushresult (&b);
   if (result == 0)
      return 1;
   lua_pop (L, 1);
   if (result == 1)
      return request_fail (L, c, "timeout",
                           lua_pushfstring (L, "did not answer within %f s, so it was killed",
                                            (double) timeout));
   if (result == 2)
      return request_fail (L, c, "too_large",
                           lua_pushfstring (L, "its answer exceeded %I bytes, so it was killed", max));
   if (result == 3) {
      /* end of file: it has exited or is about to (a second at most) */
      int tries;
      close_fd (&c->to_child);
      close_fd (&c->from_child);
      for (tries = 0; tries < 100 && !c->reaped; tries++) {
         struct timespec ts = { 0, 10 * 1000 * 1000 };
         if (waitpid (c->pid, &c->status, WNOHANG) == c->pid)
            c->reaped = 1;
         else
            nanosleep (&ts, NULL);
      }
      return request_fail (L, c, "exited", "no answer");
   }
   return request_fail (L, c, "exited", lua_pushfstring (L, "cannot talk to it: %s", strerror (errno)));
}

/* child:close() -> true: kills and reaps (idempotent; also __gc, __close). */
static int
l_close (lua_State *L)
{
   child_t *c = check_child (L);
   child_end (c);
   lua_pushboolean (L, 1);
   return 1;
}

static int
l_pid (lua_State *L)
{
   child_t *c = check_child (L);
   lua_pushinteger (L, c->pid);
   return 1;
}

static int
l_tostring (lua_State *L)
{
   child_t *c = check_child (L);
   if (c->reaped)
      lua_pushliteral (L, CHILD_MT " (ended)");
   else
      lua_pushfstring (L, CHILD_MT " (pid %d)", (int) c->pid);
   return 1;
}

/* core.child(argv, opts) -> handle | nil, message, code
 * argv[1] is a path (no PATH search).  opts.env = {NAME = value} is the
 * child's whole environment (empty by default); opts.limits as core.spawn;
 * opts.drop_root: when the launcher runs as root, the child runs as
 * nobody (uid and gid 65534, no groups).  The child starts in /, with
 * stderr on /dev/null. */
static int
l_child (lua_State *L)
{
   int drop_root;
   const char **argv;
   char **envp;
   bc_limits lim;
   child_t *c;
   int in[2], out[2], err_pipe[2], err = 0;
   ssize_t got;

   argv = bc_spawn_args (L, &lim);
   lim.set = 1;                            /* always close inherited descriptors */
   drop_root = lua_istable (L, 2) && lua_getfield (L, 2, "drop_root") != LUA_TNIL && lua_toboolean (L, -1);
   lua_settop (L, 3);

   if (lua_istable (L, 2))
      lua_getfield (L, 2, "env");
   else
      lua_pushnil (L);
   envp = bc_env_list (L, -1);

   c = lua_newuserdatauv (L, sizeof *c, 0);
   memset (c, 0, sizeof *c);
   c->to_child = c->from_child = -1;
   luaL_setmetatable (L, CHILD_MT);

   if (pipe2 (in, O_CLOEXEC) != 0)
      return bc_fail (L, "EIO", "pipe: %s", strerror (errno));
   if (pipe2 (out, O_CLOEXEC) != 0) {
      close (in[0]);
      close (in[1]);
      return bc_fail (L, "EIO", "pipe: %s", strerror (errno));
   }
   if (pipe2 (err_pipe, O_CLOEXEC) != 0) {
      close (in[0]); close (in[1]); close (out[0]); close (out[1]);
      return bc_fail (L, "EIO", "pipe: %s", strerror (errno));
   }
   /* The child runs as the same user: without this it could read the
    * launcher's environment and memory (secret values) through /proc. */
   prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
   {
      pid_t parent = getpid ();
      c->pid = fork ();
      if (c->pid < 0) {
         int e = errno;
         close (in[0]); close (in[1]); close (out[0]); close (out[1]);
         close (err_pipe[0]); close (err_pipe[1]);
         c->pid = 0;
         return bc_fail (L, "EIO", "fork %s: %s", argv[0], strerror (e));
      }
      if (c->pid == 0) {
         int devnull = open ("/dev/null", O_WRONLY);
         /* the child dies with the launcher */
         prctl (PR_SET_PDEATHSIG, SIGKILL);
         if (getppid () != parent)
            _exit (127);
         if (dup2 (in[0], 0) < 0 || dup2 (out[1], 1) < 0 || devnull < 0 || dup2 (devnull, 2) < 0
             || dup2 (err_pipe[1], 3) < 0 || fcntl (3, F_SETFD, FD_CLOEXEC) != 0 || chdir ("/") != 0)
            err = errno;
         /* as root, the child becomes nobody: root could read anything */
         else if (drop_root && geteuid () == 0
                  && (setgroups (0, NULL) != 0 || setgid (65534) != 0 || setuid (65534) != 0
                      || setuid (0) == 0))
            err = errno ? errno : EPERM;
         else if (bc_limits_apply (&lim, 4) != 0)
            err = errno;
         else {
            sigset_t none;
            sigemptyset (&none);
            sigprocmask (SIG_SETMASK, &none, NULL);
            execve (argv[0], (char *const *) argv, envp);
            err = errno;
         }
         if (write (3, &err, sizeof err) < 0) { /* nothing more to do */ }
         _exit (127);
      }
   }
   close (in[0]);
   close (out[1]);
   close (err_pipe[1]);
   c->to_child = in[1];
   c->from_child = out[0];
   do
      got = read (err_pipe[0], &err, sizeof err);
   while (got < 0 && errno == EINTR);
   close (err_pipe[0]);
   if (got == (ssize_t) sizeof err) {
      child_end (c);
      return bc_fail (L, err == ENOENT ? "ENOENT" : "EIO", "cannot run %s: %s", argv[0], strerror (err));
   }
   return 1;
}

void
bc_child_open (lua_State *L)
{
   static const luaL_Reg methods[] = {
      { "request", l_request },
      { "close", l_close },
      { "pid", l_pid },
      { NULL, NULL }
   };
   if (luaL_newmetatable (L, CHILD_MT)) {
      luaL_newlib (L, methods);
      lua_setfield (L, -2, "__index");
      lua_pushcfunction (L, l_close);
      lua_setfield (L, -2, "__gc");
      lua_pushcfunction (L, l_close);
      lua_setfield (L, -2, "__close");
      lua_pushcfunction (L, l_tostring);
      lua_setfield (L, -2, "__tostring");
   }
   lua_pop (L, 1);
   lua_pushcfunction (L, l_child);
   lua_setfield (L, -2, "child");
}
