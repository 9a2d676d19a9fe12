/* core.http_upgrade: one HTTP request whose connection the server then
 * takes over (HTTP 101, or the Docker Engine's hijack of an attach), kept
 * open as a raw byte stream.  The launcher writes a sidecar's credentials to
 * the container's stdin through it, so that no value is ever in a
 * container's config, a command line or a file.
 *
 * libcurl makes the connection (CURLOPT_CONNECT_ONLY: unix socket or TCP,
 * as for core.http) and moves the bytes (curl_easy_send/recv); libcurl has
 * no API for a hijacked connection, so the request head is written and the
 * response head read here.  Messages never quote what was sent. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "core.h"

#define UPGRADE_MT "bottle.core.http_upgrade"
#define HEAD_MAX 16384

typedef struct {
   CURL *easy;
   curl_socket_t fd;
} upgrade_t;

static void
upgrade_end (upgrade_t *u)
{
   if (u->easy) {
      curl_easy_cleanup (u->easy);
      u->easy = NULL;
   }
   u->fd = CURL_SOCKET_BAD;
}

static int
l_gc (lua_State *L)
{
   upgrade_end (luaL_checkudata (L, 1, UPGRADE_MT));
   return 0;
}

static upgrade_t *
check_open (lua_State *L)
{
   upgrade_t *u = luaL_checkudata (L, 1, UPGRADE_MT);
   if (!u->easy)
      luaL_error (L, "core.http_upgrade: the connection is closed");
   return u;
}

static double
now_ms (void)
{
   struct timespec ts;
   clock_gettime (CLOCK_MONOTONIC, &ts);
   return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

/* Waits until the socket is ready for `events` or the deadline passes:
 * 1 ready, 0 timeout, -1 a signal for the launcher is pending. */
static int
wait_fd (curl_socket_t fd, short events, double deadline)
{
   for (;;) {
      struct pollfd p = { fd, events, 0 };
      double left = deadline - now_ms ();
      int r;
      if (bc_signal_pending ())
         return -1;
      if (left <= 0)
         return 0;
      r = poll (&p, 1, left > 100 ? 100 : (int) left + 1);
      if (r > 0)
         return 1;
      if (r < 0 && errno != EINTR)
         return 1;              /* let send/recv report it */
   }
}

/* Sends all of data → 0, or pushes nil, message, code and returns 3. */
static int
send_all (lua_State *L, upgrade_t *u, const char *data, size_t len, double deadline)
{
   size_t off = 0;
   while (off < len) {
      size_t n = 0;
      CURLcode rc = curl_easy_send (u->easy, data + off, len - off, &n);
      if (rc == CURLE_AGAIN) {
         int w = wait_fd (u->fd, POLLOUT, deadline);
         if (w == 0)
            return bc_fail (L, "timeout", "writing to the connection timed out");
         if (w < 0)
            return bc_fail (L, "interrupted", "interrupted by a signal");
         continue;
      }
      if (rc != CURLE_OK)
         return bc_fail (L, "send", "writing to the connection failed: %s", curl_easy_strerror (rc));
      off += n;
   }
   return 0;
}

/* Reads once (waiting up to the deadline): bytes read, 0 at EOF, or -3
 * after pushing nil, message, code. */
static long
recv_some (lua_State *L, upgrade_t *u, char *buf, size_t cap, double deadline)
{
   for (;;) {
      size_t n = 0;
      CURLcode rc = curl_easy_recv (u->easy, buf, cap, &n);
      if (rc == CURLE_AGAIN) {
         int w = wait_fd (u->fd, POLLIN, deadline);
         if (w == 0) {
            bc_fail (L, "timeout", "reading from the connection timed out");
            return -3;
         }
         if (w < 0) {
            bc_fail (L, "interrupted", "interrupted by a signal");
            return -3;
         }
         continue;
      }
      if (rc != CURLE_OK) {
         bc_fail (L, "recv", "reading from the connection failed: %s", curl_easy_strerror (rc));
         return -3;
      }
      return (long) n;
   }
}

static lua_Integer
opt_int (lua_State *L, const char *key, lua_Integer def)
{
   lua_Integer v;
   if (lua_getfield (L, 1, key) == LUA_TNIL) {
      lua_pop (L, 1);
      return def;
   }
   v = luaL_checkinteger (L, -1);
   lua_pop (L, 1);
   return v;
}

/* core.http_upgrade{url =, unix_socket =, request =, timeout_ms =}
 *   -> connection, status | nil, message, code
 * `request` is the whole request head (and any body), sent as is; the
 * response head is read up to its blank line and its status returned.
 * Bytes past the head are dropped (the callers' streams send none). */
static int
l_http_upgrade (lua_State *L)
{
   const char *url, *sock = NULL, *req;
   size_t req_len;
   double deadline;
   upgrade_t *u;
   CURLcode rc;
   char head[HEAD_MAX];
   size_t got = 0;
   int status = 0;

   luaL_checktype (L, 1, LUA_TTABLE);
   lua_settop (L, 1);
   lua_getfield (L, 1, "url");
   url = luaL_checkstring (L, -1);
   lua_getfield (L, 1, "unix_socket");
   if (!lua_isnil (L, -1))
      sock = luaL_checkstring (L, -1);
   lua_getfield (L, 1, "request");
   req = luaL_checklstring (L, -1, &req_len);
   deadline = now_ms () + (double) opt_int (L, "timeout_ms", 30000);

   u = lua_newuserdatauv (L, sizeof *u, 0);
   u->easy = NULL;
   u->fd = CURL_SOCKET_BAD;
   luaL_setmetatable (L, UPGRADE_MT);
   u->easy = curl_easy_init ();
   if (!u->easy)
      return bc_fail (L, "OUT_OF_MEMORY", "curl_easy_init failed");
   curl_easy_setopt (u->easy, CURLOPT_URL, url);
   curl_easy_setopt (u->easy, CURLOPT_CONNECT_ONLY, 1L);
   curl_easy_setopt (u->easy, CURLOPT_NOSIGNAL, 1L);
   curl_easy_setopt (u->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
   if (sock)
      curl_easy_setopt (u->easy, CURLOPT_UNIX_SOCKET_PATH, sock);
   rc = curl_easy_perform (u->easy);
   if (rc != CURLE_OK) {
      upgrade_end (u);
      return bc_fail (L, "connect", "connecting failed: %s", curl_easy_strerror (rc));
   }
   if (curl_easy_getinfo (u->easy, CURLINFO_ACTIVESOCKET, &u->fd) != CURLE_OK
       || u->fd == CURL_SOCKET_BAD) {
      upgrade_end (u);
      return bc_fail (L, "connect", "connecting failed: no socket");
   }
   if (send_all (L, u, req, req_len, deadline)) {
      upgrade_end (u);
      return 3;
   }
   /* The response head, byte by byte so that nothing past it is taken. */
   while (got < sizeof head - 1) {
      long n = recv_some (L, u, head + got, 1, deadline);
      if (n < 0) {
         upgrade_end (u);
         return 3;
      }
      if (n == 0)
         break;
      got += (size_t) n;
      if (got >= 4 && memcmp (head + got - 4, "\r\n\r\n", 4) == 0)
         break;
   }
   head[got] = '\0';
   if (got < 12 || memcmp (head, "HTTP/1.", 7) != 0
       || !(got >= 4 && memcmp (head + got - 4, "\r\n\r\n", 4) == 0)) {
      upgrade_end (u);
      return bc_fail (L, "protocol", "the server's answer is not an HTTP response head");
   }
   status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
   lua_pushinteger (L, status);
   return 2;
}

/* conn:send(data [, timeout_ms]) -> true | nil, message, code */
static int
l_send (lua_State *L)
{
   upgrade_t *u = check_open (L);
   size_t len;
   const char *data = luaL_checklstring (L, 2, &len);
   double deadline = now_ms () + (double) luaL_optinteger (L, 3, 30000);
   if (send_all (L, u, data, len, deadline))
      return 3;
   lua_pushboolean (L, 1);
   return 1;
}

/* conn:close_write(): the peer reads end of file (its stdin closes). */
static int
l_close_write (lua_State *L)
{
   upgrade_t *u = check_open (L);
   if (shutdown (u->fd, SHUT_WR) != 0)
      return bc_fail (L, "send", "closing the connection's write side failed: %s", strerror (errno));
   lua_pushboolean (L, 1);
   return 1;
}

static int
l_close (lua_State *L)
{
   upgrade_end (luaL_checkudata (L, 1, UPGRADE_MT));
   return 0;
}

void
bc_upgrade_open (lua_State *L)
{
   static const luaL_Reg methods[] = {
      { "send", l_send },
      { "close_write", l_close_write },
      { "close", l_close },
      { NULL, NULL }
   };
   if (luaL_newmetatable (L, UPGRADE_MT)) {
      lua_pushcfunction (L, l_gc);
      lua_setfield (L, -2, "__gc");
      lua_pushcfunction (L, l_gc);
      lua_setfield (L, -2, "__close");
      luaL_newlib (L, methods);
      lua_setfield (L, -2, "__index");
   }
   lua_pop (L, 1);
   lua_pushcfunction (L, l_http_upgrade);
   lua_setfield (L, -2, "http_upgrade");
}
