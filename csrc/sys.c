/* The few POSIX calls the launcher needs and plain Lua lacks: files with
 * exact modes, the stage directory, the TTY (a secret read without echo),
 * signals (teardown on SIGINT/SIGTERM), and spawning `docker exec` with a
 * secret in the child's environment only, never on its command line. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

extern char **environ;

static int
fail_errno (lua_State *L, const char *what, const char *path)
{
   int e = errno;
   lua_pushnil (L);
   if (path)
      lua_pushfstring (L, "%s %s: %s", what, path, strerror (e));
   else
      lua_pushfstring (L, "%s: %s", what, strerror (e));
   lua_pushstring (L, e == ENOENT ? "ENOENT" : e == EEXIST ? "EEXIST" : e == EACCES ? "EACCES"
                   : e == ENOSPC ? "ENOSPC" : "EIO");
   return 3;
}

/* ---- files ------------------------------------------------------------ */

/* core.write_file(path, data, mode): a new file with exactly `mode`; never
 * follows a symlink or replaces an existing file. */
static int
l_write_file (lua_State *L)
{
   size_t len, off = 0;
   const char *path = luaL_checkstring (L, 1);
   const char *data = luaL_checklstring (L, 2, &len);
   mode_t mode = (mode_t) luaL_checkinteger (L, 3);
   int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
   if (fd < 0)
      return fail_errno (L, "cannot create", path);
   /* the umask may have cleared bits the caller asked for */
   if (fchmod (fd, mode & 07777) != 0)
      goto fail;
   while (off < len) {
      ssize_t n = write (fd, data + off, len - off);
      if (n < 0) {
         if (errno == EINTR)
            continue;
         goto fail;
      }
      off += (size_t) n;
   }
   if (close (fd) != 0) {
      fd = -1;
      goto fail;
   }
   lua_pushboolean (L, 1);
   return 1;
fail:
   {
      int e = errno;
      if (fd >= 0)
         close (fd);
      unlink (path);
      errno = e;
   }
   return fail_errno (L, "cannot write", path);
}

/* core.mkdir(path, mode): one new directory with exactly `mode`. */
static int
l_mkdir (lua_State *L)
{
   const char *path = luaL_checkstring (L, 1);
   mode_t mode = (mode_t) luaL_optinteger (L, 2, 0700);
   if (mkdir (path, mode & 07777) != 0)
      return fail_errno (L, "cannot create directory", path);
   if (chmod (path, mode & 07777) != 0)
      return fail_errno (L, "cannot chmod", path);
   lua_pushboolean (L, 1);
   return 1;
}

/* core.mkdtemp(prefix) -> path of a new 0700 directory */
static int
l_mkdtemp (lua_State *L)
{
   const char *prefix = luaL_checkstring (L, 1);
   char buf[4096];
   if ((size_t) snprintf (buf, sizeof buf, "%sXXXXXX", prefix) >= sizeof buf)
      return luaL_argerror (L, 1, "prefix too long");
   if (!mkdtemp (buf))
      return fail_errno (L, "cannot create a temporary directory", prefix);
   lua_pushstring (L, buf);
   return 1;
}

/* Removes path and everything under it, never following a symlink. */
static int
rmtree_at (int dirfd, const char *name)
{
   struct stat st;
   if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
      return errno == ENOENT ? 0 : -1;
   if (S_ISDIR (st.st_mode)) {
      int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      DIR *d;
      struct dirent *de;
      int rc = 0;
      if (fd < 0)
         return -1;
      d = fdopendir (fd);
      if (!d) {
         close (fd);
         return -1;
      }
      while ((de = readdir (d)) != NULL) {
         if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
         if (rmtree_at (fd, de->d_name) != 0)
            rc = -1;
      }
      closedir (d);
      if (rc != 0)
         return -1;
      return unlinkat (dirfd, name, AT_REMOVEDIR);
   }
   return unlinkat (dirfd, name, 0);
}

/* core.rmtree(path) -> true | nil, message, code (a missing path is fine) */
static int
l_rmtree (lua_State *L)
{
   const char *path = luaL_checkstring (L, 1);
   if (path[0] == '\0' || strcmp (path, "/") == 0)
      return luaL_argerror (L, 1, "refusing to remove this path");
   if (rmtree_at (AT_FDCWD, path) != 0)
      return fail_errno (L, "cannot remove", path);
   lua_pushboolean (L, 1);
   return 1;
}

/* core.stat(path) -> {type, mode, uid, size} | nil, message, code (lstat) */
static int
l_stat (lua_State *L)
{
   struct stat st;
   const char *path = luaL_checkstring (L, 1);
   if (lstat (path, &st) != 0)
      return fail_errno (L, "cannot stat", path);
   lua_createtable (L, 0, 4);
   lua_pushstring (L, S_ISREG (st.st_mode) ? "file" : S_ISDIR (st.st_mode) ? "dir"
                   : S_ISLNK (st.st_mode) ? "link" : "other");
   lua_setfield (L, -2, "type");
   lua_pushinteger (L, st.st_mode & 07777);
   lua_setfield (L, -2, "mode");
   lua_pushinteger (L, st.st_uid);
   lua_setfield (L, -2, "uid");
   lua_pushinteger (L, st.st_size);
   lua_setfield (L, -2, "size");
   lua_pushinteger (L, st.st_mtime);
   lua_setfield (L, -2, "mtime");
   return 1;
}

/* core.listdir(path) -> sorted array of names (without . and ..) */
static int
cmp_str (const void *a, const void *b)
{
   return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
l_listdir (lua_State *L)
{
   const char *path = luaL_checkstring (L, 1);
   DIR *d = opendir (path);
   struct dirent *de;
   int n = 0, i;
   if (!d)
      return fail_errno (L, "cannot list", path);
   lua_newtable (L);
   while ((de = readdir (d)) != NULL) {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
         continue;
      lua_pushstring (L, de->d_name);     /* may raise on memory error: d leaks then */
      lua_rawseti (L, -2, ++n);
   }
   closedir (d);
   /* sort through Lua's table.sort-free path: collect, qsort, rewrite */
   {
      const char **names = lua_newuserdatauv (L, (size_t) (n ? n : 1) * sizeof *names, 0);
      for (i = 1; i <= n; i++) {
         lua_rawgeti (L, -2, i);
         names[i - 1] = lua_tostring (L, -1);
         lua_pop (L, 1);                  /* still anchored in the table */
      }
      qsort (names, (size_t) n, sizeof *names, cmp_str);
      lua_createtable (L, n, 0);
      for (i = 0; i < n; i++) {
         lua_pushstring (L, names[i]);
         lua_rawseti (L, -2, i + 1);
      }
   }
   return 1;
}

/* core.getcwd() -> path | nil, message, code */
static int
l_getcwd (lua_State *L)
{
   char buf[4096];
   if (!getcwd (buf, sizeof buf))
      return fail_errno (L, "getcwd", NULL);
   lua_pushstring (L, buf);
   return 1;
}

/* ---- the terminal ------------------------------------------------------- */

static int
l_isatty (lua_State *L)
{
   lua_pushboolean (L, isatty ((int) luaL_checkinteger (L, 1)));
   return 1;
}

/* core.read_tty(prompt, echo) -> line | nil, message, code */
static int
l_read_tty (lua_State *L)
{
   const char *prompt = luaL_optstring (L, 1, "");
   int echo = lua_isnoneornil (L, 2) ? 1 : lua_toboolean (L, 2);
   struct termios old, quiet;
   char buf[4096];
   size_t n = 0;
   int fd = open ("/dev/tty", O_RDWR | O_CLOEXEC), restored = 1, rc;

   if (fd < 0) {
      lua_pushnil (L);
      lua_pushliteral (L, "no terminal to ask on (/dev/tty cannot be opened)");
      lua_pushliteral (L, "no_tty");
      return 3;
   }
   if (!echo && tcgetattr (fd, &old) == 0) {
      quiet = old;
      quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
      quiet.c_lflag |= ICANON;
      tcsetattr (fd, TCSAFLUSH, &quiet);
      restored = 0;
   }
   if (write (fd, prompt, strlen (prompt)) < 0) { /* best effort */ }
   for (;;) {
      char c;
      ssize_t r = read (fd, &c, 1);
      if (r < 0 && errno == EINTR)
         continue;
      if (r <= 0 || c == '\n')
         { rc = r < 0 ? -1 : (r == 0 && n == 0 ? 0 : 1); break; }
      if (n < sizeof buf)
         buf[n++] = c;
   }
   if (!restored) {
      tcsetattr (fd, TCSAFLUSH, &old);
      if (write (fd, "\n", 1) < 0) { /* best effort */ }
   }
   close (fd);
   if (rc <= 0) {
      memset (buf, 0, sizeof buf);
      lua_pushnil (L);
      lua_pushstring (L, rc == 0 ? "end of input on the terminal" : "cannot read the terminal");
      lua_pushliteral (L, "no_tty");
      return 3;
   }
   if (n > 0 && buf[n - 1] == '\r')
      n--;
   lua_pushlstring (L, buf, n);
   memset (buf, 0, sizeof buf);   /* a secret does not linger on the C stack */
   return 1;
}

/* ---- environment, randomness, time ------------------------------------ */

/* core.env_names() -> sorted names, never values */
static int
l_env_names (lua_State *L)
{
   char **e;
   int n = 0;
   lua_getglobal (L, "table");
   lua_getfield (L, -1, "sort");
   lua_newtable (L);
   for (e = environ; e && *e; e++) {
      const char *eq = strchr (*e, '=');
      if (!eq || eq == *e)
         continue;
      lua_pushlstring (L, *e, (size_t) (eq - *e));
      lua_rawseti (L, -2, ++n);
   }
   lua_pushvalue (L, -1);
   lua_insert (L, -3);
   lua_call (L, 1, 0);
   return 1;
}

static int
l_random_hex (lua_State *L)
{
   lua_Integer n = luaL_checkinteger (L, 1);
   unsigned char raw[64];
   char hex[129];
   size_t got = 0;
   int i;
   luaL_argcheck (L, n > 0 && n <= 64, 1, "between 1 and 64 bytes");
   while (got < (size_t) n) {
      ssize_t r = getrandom (raw + got, (size_t) n - got, 0);
      if (r < 0) {
         if (errno == EINTR)
            continue;
         return fail_errno (L, "getrandom", NULL);
      }
      got += (size_t) r;
   }
   for (i = 0; i < n; i++) {
      static const char digits[] = "0123456789abcdef";
      hex[2 * i] = digits[raw[i] >> 4];
      hex[2 * i + 1] = digits[raw[i] & 15];
   }
   lua_pushlstring (L, hex, (size_t) (2 * n));
   return 1;
}

static int
l_monotonic (lua_State *L)
{
   struct timespec ts;
   clock_gettime (CLOCK_MONOTONIC, &ts);
   lua_pushnumber (L, (lua_Number) ts.tv_sec + (lua_Number) ts.tv_nsec / 1e9);
   return 1;
}

static int
l_sleep (lua_State *L)
{
   lua_Number s = luaL_checknumber (L, 1);
   struct timespec ts;
   if (s <= 0)
      return 0;
   ts.tv_sec = (time_t) s;
   ts.tv_nsec = (long) ((s - (lua_Number) ts.tv_sec) * 1e9);
   while (nanosleep (&ts, &ts) != 0 && errno == EINTR) {
      if (bc_signal_pending ())
         break;
   }
   return 0;
}

/* ---- signals ------------------------------------------------------------ */

static volatile sig_atomic_t pending_signal;
/* While held (a teardown runs), a signal is noted here instead of made
 * pending, so it cannot abort the transfers and waits that remove things. */
static volatile sig_atomic_t hold_signals, held_signal;

static void
on_signal (int sig)
{
   if (hold_signals)
      held_signal = sig;
   else
      pending_signal = sig;
}

static const char *
signal_name (int s)
{
   return s == SIGINT ? "SIGINT" : s == SIGTERM ? "SIGTERM" : "signal";
}

int
bc_signal_pending (void)
{
   return pending_signal;
}

/* core.signals(): from now on SIGINT and SIGTERM are recorded, not fatal,
 * so the launcher can tear down what it created. */
static int
l_signals (lua_State *L)
{
   struct sigaction sa;
   memset (&sa, 0, sizeof sa);
   sa.sa_handler = on_signal;
   sigemptyset (&sa.sa_mask);
   sigaction (SIGINT, &sa, NULL);
   sigaction (SIGTERM, &sa, NULL);
   (void) L;
   return 0;
}

static int
l_signal_pending (lua_State *L)
{
   int s = pending_signal;
   if (s == 0)
      lua_pushnil (L);
   else
      lua_pushstring (L, signal_name (s));
   return 1;
}

/* core.signal_hold(on): while on, SIGINT/SIGTERM are noted but not made
 * pending.  core.signal_hold(false) returns the name of the last one noted
 * while held (or nil). */
static int
l_signal_hold (lua_State *L)
{
   int on = lua_toboolean (L, 1), s = held_signal;
   luaL_checkany (L, 1);
   held_signal = 0;
   hold_signals = on;
   if (on || s == 0)
      lua_pushnil (L);
   else
      lua_pushstring (L, signal_name (s));
   return 1;
}

/* core.signal_clear(): forget a recorded signal (after it was handled). */
static int
l_signal_clear (lua_State *L)
{
   (void) L;
   pending_signal = 0;
   return 0;
}

/* ---- processes ---------------------------------------------------------- */

static void
nap_ms (long ms)
{
   struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
   nanosleep (&ts, NULL);        /* a signal may cut it short: callers loop */
}

static double
mono_now (void)
{
   struct timespec ts;
   clock_gettime (CLOCK_MONOTONIC, &ts);
   return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Ends and reaps a child: SIGTERM, then SIGKILL once `grace` seconds pass. */
static void
end_child (pid_t pid, double grace)
{
   int status;
   double deadline = mono_now () + grace;
   kill (pid, SIGTERM);
   while (mono_now () < deadline) {
      pid_t r = waitpid (pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno != EINTR))
         return;
      nap_ms (20);
   }
   kill (pid, SIGKILL);
   while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
      ;
}

/* core.spawn(argv, opts) -> exit status | nil, message, code
 * No shell.  opts.env adds NAME=value pairs to the child's environment
 * only; opts.stdin/stdout/stderr = "null" redirect to /dev/null;
 * opts.limits = {cpu =, memory =, files =} sets kernel limits in the child
 * and closes every descriptor it would inherit above stdio (child.c).
 * opts.signal_grace = seconds: a SIGINT/SIGTERM made pending (core.signals)
 * while the child runs ends it (SIGTERM, SIGKILL after the grace) and
 * returns nil, "interrupted by SIGINT", "interrupted"; without it the wait
 * outlasts signals.  opts.stdout = "capture" returns status, output: what
 * the child printed on stdout (at most SPAWN_CAPTURE_MAX bytes, else nil,
 * message, "too_large"), for a short helper such as a kubeconfig's exec
 * credential plugin; it does not go with signal_grace. */
#define SPAWN_CAPTURE_MAX (1024 * 1024)

static int
l_spawn (lua_State *L)
{
   int i, nenv = 0, status, have_tio = 0, capture = 0, cap[2] = { -1, -1 };
   size_t captured = 0;
   luaL_Buffer out;
   double grace = -1;
   struct termios tio;
   const char **argv;
   char **envp;
   pid_t pid;
   const char *stdio[3] = { NULL, NULL, NULL };
   static const char *const stdio_names[3] = { "stdin", "stdout", "stderr" };
   bc_limits lim;

   argv = bc_spawn_args (L, &lim);

   /* The child's environment: ours plus opts.env, built as Lua strings so
    * that nothing needs freeing on an error. */
   {
      int base = 0;
      char **e;
      for (e = environ; e && *e; e++)
         base++;
      if (lua_istable (L, 2) && lua_getfield (L, 2, "env") == LUA_TTABLE) {
         lua_pushnil (L);
         while (lua_next (L, -2)) {
            nenv++;
            lua_pop (L, 1);
         }
      }
      else {
         lua_pop (L, lua_istable (L, 2) ? 1 : 0);
         lua_pushnil (L);
      }
      /* stack: ..., argv_ud, env_table_or_nil */
      int extra = lua_gettop (L), anchors;
      envp = lua_newuserdatauv (L, (size_t) (base + nenv + 1) * sizeof *envp, 0);
      lua_newtable (L);                     /* anchors for the NAME=value strings */
      anchors = lua_gettop (L);
      nenv = 0;
      if (lua_istable (L, extra)) {
         lua_pushnil (L);
         while (lua_next (L, extra)) {
            const char *k = luaL_checkstring (L, -2);
            const char *v = luaL_checkstring (L, -1);
            luaL_argcheck (L, *k && !strchr (k, '='), 2, "opts.env names must not be empty or contain '='");
            lua_pushfstring (L, "%s=%s", k, v);
            envp[nenv++] = (char *) lua_tostring (L, -1);
            lua_rawseti (L, anchors, nenv);
            lua_pop (L, 1);
         }
      }
      /* ours, except names that opts.env overrides */
      for (e = environ; e && *e; e++) {
         const char *eq = strchr (*e, '=');
         int j, dup = 0;
         for (j = 0; eq && j < nenv; j++)
            if (strncmp (envp[j], *e, (size_t) (eq - *e + 1)) == 0)
               dup = 1;
         if (!dup)
            envp[nenv++] = *e;
      }
      envp[nenv] = NULL;
   }

   if (lua_istable (L, 2)) {
      for (i = 0; i < 3; i++) {
         lua_getfield (L, 2, stdio_names[i]);
         stdio[i] = lua_tostring (L, -1);
         lua_pop (L, 1);                     /* opts keeps the string alive */
      }
      if (lua_getfield (L, 2, "signal_grace") != LUA_TNIL) {
         luaL_argcheck (L, lua_type (L, -1) == LUA_TNUMBER && lua_tonumber (L, -1) >= 0, 2,
                        "opts.signal_grace must be a number of seconds >= 0");
         grace = lua_tonumber (L, -1);
      }
      lua_pop (L, 1);
   }
   capture = stdio[1] != NULL && strcmp (stdio[1], "capture") == 0;
   luaL_argcheck (L, !(capture && grace >= 0), 2, "opts.stdout = \"capture\" does not go with opts.signal_grace");
   /* A child killed in its interactive session (docker exec -t) cannot put
    * the terminal back out of raw mode: we do, from what it was before. */
   if (grace >= 0 && isatty (0) && tcgetpgrp (0) == getpgrp ())
      have_tio = tcgetattr (0, &tio) == 0;
   /* fork + execvpe rather than posix_spawnp: valgrind (make memcheck)
    * cannot follow glibc's clone(CLONE_VM|CLONE_VFORK) spawn.  The child
    * reports a failed exec through a close-on-exec pipe. */
   {
      int fds[2], err = 0;
      ssize_t got;
      if (capture && pipe2 (cap, O_CLOEXEC) != 0)
         return fail_errno (L, "pipe", NULL);
      if (pipe2 (fds, O_CLOEXEC) != 0) {
         if (capture) {
            close (cap[0]);
            close (cap[1]);
         }
         return fail_errno (L, "pipe", NULL);
      }
      pid = fork ();
      if (pid < 0) {
         close (fds[0]);
         close (fds[1]);
         if (capture) {
            close (cap[0]);
            close (cap[1]);
         }
         return fail_errno (L, "fork", argv[0]);
      }
      if (pid == 0) {
         close (fds[0]);
         if (capture && dup2 (cap[1], 1) < 0)  /* dup2 clears close-on-exec */
            _exit (127);
         for (i = 0; i < 3; i++)
            if (stdio[i] && strcmp (stdio[i], "null") == 0) {
               int fd = open ("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
               if (fd >= 0 && fd != i) {
                  dup2 (fd, i);
                  close (fd);
               }
            }
         /* keep the exec-failure pipe open until exec closes it */
         if (lim.set && (dup2 (fds[1], 3) < 0 || fcntl (3, F_SETFD, FD_CLOEXEC) != 0
                         || bc_limits_apply (&lim, 4) != 0)) {
            err = errno;
            if (write (fds[1], &err, sizeof err) < 0) { /* nothing more to do */ }
            _exit (127);
         }
         if (lim.set)
            fds[1] = 3;
         execvpe (argv[0], (char *const *) argv, envp);
         err = errno;
         if (write (fds[1], &err, sizeof err) < 0) { /* nothing more to do */ }
         _exit (127);
      }
      close (fds[1]);
      if (capture)
         close (cap[1]);
      do
         got = read (fds[0], &err, sizeof err);
      while (got < 0 && errno == EINTR);
      close (fds[0]);
      if (got == (ssize_t) sizeof err) {
         if (capture)
            close (cap[0]);
         while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
            ;
         errno = err;
         return fail_errno (L, "cannot run", argv[0]);
      }
   }
   if (capture) {
      /* read to the end (past the cap too, so the child never blocks on a
       * full pipe), then wait */
      char chunk[4096];
      ssize_t n;
      luaL_buffinit (L, &out);
      for (;;) {
         n = read (cap[0], chunk, sizeof chunk);
         if (n < 0 && errno == EINTR)
            continue;
         if (n <= 0)
            break;
         if (captured <= SPAWN_CAPTURE_MAX)
            luaL_addlstring (&out, chunk, (size_t) n);
         captured += (size_t) n;
      }
      close (cap[0]);
      luaL_pushresult (&out);
      while (waitpid (pid, &status, 0) < 0) {
         if (errno != EINTR)
            return fail_errno (L, "waitpid", argv[0]);
      }
      if (captured > SPAWN_CAPTURE_MAX) {
         lua_pushnil (L);
         lua_pushfstring (L, "%s printed more than %d bytes", argv[0], SPAWN_CAPTURE_MAX);
         lua_pushliteral (L, "too_large");
         return 3;
      }
      lua_pushinteger (L, WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
      lua_insert (L, -2);
      return 2;
   }
   if (grace < 0) {
      while (waitpid (pid, &status, 0) < 0) {
         if (errno != EINTR)
            return fail_errno (L, "waitpid", argv[0]);
      }
   }
   else {
      /* Polled rather than blocking: a signal landing just before a
       * blocking waitpid would otherwise wait for the child's own end. */
      for (;;) {
         pid_t r = waitpid (pid, &status, WNOHANG);
         if (r == pid)
            break;
         if (r < 0 && errno != EINTR)
            return fail_errno (L, "waitpid", argv[0]);
         if (pending_signal) {
            int sig = pending_signal;
            end_child (pid, grace);
            if (have_tio)
               tcsetattr (0, TCSANOW, &tio);
            lua_pushnil (L);
            lua_pushfstring (L, "interrupted by %s", signal_name (sig));
            lua_pushliteral (L, "interrupted");
            return 3;
         }
         nap_ms (50);
      }
   }
   if (WIFEXITED (status))
      lua_pushinteger (L, WEXITSTATUS (status));
   else
      lua_pushinteger (L, 128 + WTERMSIG (status));
   return 1;
}

void
bc_sys_open (lua_State *L)
{
   static const luaL_Reg fns[] = {
      { "write_file", l_write_file },
      { "mkdir", l_mkdir },
      { "mkdtemp", l_mkdtemp },
      { "rmtree", l_rmtree },
      { "stat", l_stat },
      { "listdir", l_listdir },
      { "getcwd", l_getcwd },
      { "isatty", l_isatty },
      { "read_tty", l_read_tty },
      { "env_names", l_env_names },
      { "random_hex", l_random_hex },
      { "monotonic", l_monotonic },
      { "sleep", l_sleep },
      { "signals", l_signals },
      { "signal_pending", l_signal_pending },
      { "signal_clear", l_signal_clear },
      { "signal_hold", l_signal_hold },
      { "spawn", l_spawn },
      { NULL, NULL }
   };
   luaL_setfuncs (L, fns, 0);
}
