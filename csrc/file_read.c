/* core.read_file: reads a file the launcher does not control (the project
 * file comes from whatever repository was cloned, and git stores
 * symlinks) without following it anywhere it should not go: a regular
 * file only (never a FIFO that blocks, a device such as /dev/zero or
 * /dev/stdin, a directory), optionally only inside one directory, and at
 * most max_bytes of it.  Each refusal names the limit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

static const char *
errno_code (int e)
{
   return e == ENOENT ? "ENOENT" : e == EACCES ? "EACCES" : e == ELOOP ? "ELOOP" : "EIO";
}

static const char *
file_kind (mode_t m)
{
   return S_ISDIR (m) ? "a directory" : S_ISFIFO (m) ? "a FIFO" : S_ISCHR (m) ? "a character device"
      : S_ISBLK (m) ? "a block device" : S_ISSOCK (m) ? "a socket" : "not a regular file";
}

/* core.read_file(path, {max_bytes = n, within = DIR, follow = bool}) -> text | nil, message, code
 * A symlink is followed only with follow = true, or when it resolves
 * inside `within`.  code: ENOENT, EACCES, "outside" (a symlink not
 * followed, or leaving DIR), "not_regular", "too_large", EIO. */
static int
l_read_file (lua_State *L)
{
   const char *path = luaL_checkstring (L, 1);
   const char *within = NULL;
   lua_Integer max;
   char real[PATH_MAX], dir[PATH_MAX];
   const char *open_path = path;
   struct stat st;
   luaL_Buffer b;
   size_t got = 0;
   int fd, follow;

   luaL_checktype (L, 2, LUA_TTABLE);
   lua_getfield (L, 2, "max_bytes");
   max = luaL_checkinteger (L, -1);
   luaL_argcheck (L, max > 0, 2, "opts.max_bytes must be positive");
   if (lua_getfield (L, 2, "within") != LUA_TNIL)
      within = luaL_checkstring (L, -1);
   lua_getfield (L, 2, "follow");
   follow = lua_toboolean (L, -1);
   lua_settop (L, 2);

   if (within) {
      size_t dl;
      if (!realpath (within, dir))
         return bc_fail (L, errno_code (errno), "%s: cannot resolve the directory %s: %s", path, within,
                         strerror (errno));
      if (!realpath (path, real)) {
         int e = errno;
         if (e == ENOENT && lstat (path, &st) == 0)
            return bc_fail (L, "outside", "%s: is a symlink to nothing (a missing file)", path);
         return bc_fail (L, errno_code (e), "%s: %s", path, strerror (e));
      }
      dl = strlen (dir);
      if (!(strncmp (real, dir, dl) == 0 && (real[dl] == '/' || (dl == 1 && dir[0] == '/'))))
         return bc_fail (L, "outside", "%s: is a symlink that leads out of %s (to %s); "
                         "the file must be inside the directory", path, dir, real);
      open_path = real;
   }
   /* O_NONBLOCK: opening a FIFO must not wait for a writer */
   fd = open (open_path, O_RDONLY | (follow ? 0 : O_NOFOLLOW) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
   if (fd < 0)
      return bc_fail (L, errno == ELOOP ? "outside" : errno_code (errno), "%s: %s", path,
                      errno == ELOOP ? "is a symlink, which is not followed here" : strerror (errno));
   if (fstat (fd, &st) != 0) {
      int e = errno;
      close (fd);
      return bc_fail (L, errno_code (e), "%s: %s", path, strerror (e));
   }
   if (!S_ISREG (st.st_mode)) {
      close (fd);
      return bc_fail (L, "not_regular", "%s: is %s; only a regular file is read", path, file_kind (st.st_mode));
   }
   if (st.st_size > max) {
      close (fd);
      return bc_fail (L, "too_large", "%s: is %I bytes, more than the limit of %I bytes", path,
                      (lua_Integer) st.st_size, max);
   }
   luaL_buffinit (L, &b);
   for (;;) {
      char *p = luaL_prepbuffsize (&b, 65536);
      ssize_t n = read (fd, p, 65536);
      if (n < 0 && errno == EINTR)
         continue;
      if (n < 0) {
         int e = errno;
         close (fd);
         return bc_fail (L, errno_code (e), "%s: %s", path, strerror (e));
      }
      if (n == 0)
         break;
      luaL_addsize (&b, (size_t) n);
      got += (size_t) n;
      if (got > (size_t) max) {     /* it grew while being read */
         close (fd);
         return bc_fail (L, "too_large", "%s: is more than the limit of %I bytes", path, max);
      }
   }
   close (fd);
   luaL_pushresult (&b);
   return 1;
}

void
bc_file_read_open (lua_State *L)
{
   lua_pushcfunction (L, l_read_file);
   lua_setfield (L, -2, "read_file");
}
