/* core.http and core.http_many: HTTP over libcurl, for the Docker Engine API
 * (over its unix socket) and for health probes.
 *
 * Every call runs its transfers on a curl multi handle, even a single one, so
 * one loop serves both functions and checks for SIGINT/SIGTERM between
 * polls.  All the C resources of a call (multi handle, easy handles, header
 * lists, buffers) live in one userdata, a to-be-closed slot with __gc as
 * well: a misuse error raised half-way through setup, or a memory error,
 * frees them at once and never leaks.
 *
 * No Lua error ever crosses libcurl: the on_data callback runs under
 * lua_pcall inside the write callback, a failure there makes the write
 * callback return 0 (libcurl aborts the transfer), and the error is reported
 * once the transfer is over.  Messages never quote request headers or bodies
 * (they may carry secrets), nor the URL's user info or query. */
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core.h"

#define BATCH_MT "bottle.core.http_batch"

/* How long the transfer loop sleeps at most before it looks for a signal. */
#define POLL_MS 100

/* ---- a malloc-grown byte buffer (never a luaL_Buffer across callbacks) -- */

typedef struct
{
   char *data;
   size_t len;
   size_t cap;
} growbuf;

static int
growbuf_append (growbuf *b, const char *p, size_t n)
{
   if (n == 0)
      return 1;
   if (n > b->cap - b->len)
   {
      size_t cap = b->cap ? b->cap : 16384;
      char *data;
      while (cap - b->len < n)
      {
         if (cap > SIZE_MAX / 2)
            return 0;
         cap *= 2;
      }
      data = realloc (b->data, cap);
      if (data == NULL)
         return 0;
      b->data = data;
      b->cap = cap;
   }
   memcpy (b->data + b->len, p, n);
   b->len += n;
   return 1;
}

/* ---- one transfer, and the batch that owns them all ------------------ */

typedef struct
{
   CURL *easy;
   struct curl_slist *headers;
   char *label;            /* "METHOD url" for messages, malloc'd */
   growbuf body;           /* the response body when there is no on_data */
   growbuf head;           /* the header lines of the latest response */
   lua_State *L;           /* the calling thread, for on_data */
   int on_data;            /* stack index of the callback, 0 when none */
   int err_slot;           /* stack index that receives the callback's error */
   int added;              /* in the multi handle */
   int done;               /* libcurl reported the transfer finished */
   CURLcode result;
   CURLMcode multi_error;  /* the multi handle failed this transfer */
   int stopped;            /* on_data returned false */
   int callback_failed;    /* on_data raised: the error is at err_slot */
   int out_of_memory;
   int interrupted;        /* the signal number that stopped it */
   char errbuf[CURL_ERROR_SIZE];
} xfer;

typedef struct
{
   CURLM *multi;
   size_t n;
   xfer x[];
} batch;

static void
batch_close (batch *b)
{
   size_t i;
   for (i = 0; i < b->n; i++)
   {
      xfer *x = &b->x[i];
      if (x->easy != NULL)
      {
         if (x->added)
            curl_multi_remove_handle (b->multi, x->easy);
         curl_easy_cleanup (x->easy);
         x->easy = NULL;
         x->added = 0;
      }
      curl_slist_free_all (x->headers);
      x->headers = NULL;
      free (x->label);
      x->label = NULL;
      free (x->body.data);
      free (x->head.data);
      memset (&x->body, 0, sizeof x->body);
      memset (&x->head, 0, sizeof x->head);
   }
   if (b->multi != NULL)
      curl_multi_cleanup (b->multi);
   b->multi = NULL;
}

/* __gc and __close: idempotent. */
static int
batch_gc (lua_State *L)
{
   batch_close (luaL_checkudata (L, 1, BATCH_MT));
   return 0;
}

/* Pushes a new batch of n transfers as a to-be-closed slot. */
static batch *
batch_new (lua_State *L, size_t n)
{
   batch *b;
   if (n > (SIZE_MAX - sizeof (batch)) / sizeof (xfer))
      luaL_error (L, "too many requests (%I)", (lua_Integer) n);
   b = lua_newuserdatauv (L, sizeof (batch) + n * sizeof (xfer), 0);
   memset (b, 0, sizeof (batch) + n * sizeof (xfer));
   luaL_setmetatable (L, BATCH_MT);
   lua_toclose (L, -1);
   b->n = n;
   b->multi = curl_multi_init ();
   if (b->multi == NULL)
      luaL_error (L, "not enough memory for a curl multi handle");
   return b;
}

/* ---- libcurl callbacks: none of them may raise a Lua error ----------- */

static size_t
on_header (char *p, size_t size, size_t n, void *ud)
{
   xfer *x = ud;
   size_t len = size * n;
   /* A status line starts a new response (after a 1xx): keep only the
    * headers of the latest one. */
   if (len >= 5 && memcmp (p, "HTTP/", 5) == 0)
      x->head.len = 0;
   if (!growbuf_append (&x->head, p, len))
   {
      x->out_of_memory = 1;
      return 0;
   }
   return len;
}

typedef struct
{
   const char *p;
   size_t len;
} chunk;

/* Runs under lua_pcall: [callback, light userdata chunk] → callback's result.
 * Pushing the chunk here, not in the write callback, keeps even a memory
 * error inside the protected call. */
static int
call_on_data (lua_State *L)
{
   const chunk *c = lua_touserdata (L, 2);
   lua_pushlstring (L, c->p, c->len);
   lua_replace (L, 2);
   lua_call (L, 1, 1);
   return 1;
}

static size_t
deliver (xfer *x, const char *p, size_t len)
{
   lua_State *L = x->L;
   chunk c;
   c.p = p;
   c.len = len;
   if (!lua_checkstack (L, 3))
   {
      x->out_of_memory = 1;
      return 0;
   }
   /* None of these pushes allocates: only lua_pcall runs code. */
   lua_pushcfunction (L, call_on_data);
   lua_pushvalue (L, x->on_data);
   lua_pushlightuserdata (L, &c);
   if (lua_pcall (L, 2, 1, 0) != LUA_OK)
   {
      lua_replace (L, x->err_slot);
      x->callback_failed = 1;
      return 0;
   }
   if (lua_isboolean (L, -1) && !lua_toboolean (L, -1))
      x->stopped = 1;
   lua_pop (L, 1);
   return x->stopped ? 0 : len;
}

static size_t
on_body (char *p, size_t size, size_t n, void *ud)
{
   xfer *x = ud;
   size_t len = size * n;
   if (len == 0)
      return 0;
   if (x->on_data)
      return deliver (x, p, len);
   if (!growbuf_append (&x->body, p, len))
   {
      x->out_of_memory = 1;
      return 0;
   }
   return len;
}

static int
on_progress (void *ud, curl_off_t dltotal, curl_off_t dlnow,
             curl_off_t ultotal, curl_off_t ulnow)
{
   xfer *x = ud;
   int sig = bc_signal_pending ();
   (void) dltotal;
   (void) dlnow;
   (void) ultotal;
   (void) ulnow;
   if (sig)
   {
      x->interrupted = sig;
      return 1;
   }
   return 0;
}

/* ---- reading one request table (misuse raises) ----------------------- */

/* Who is asking, for misuse messages: "core.http: req.url ...". */
typedef struct
{
   const char *fn;
   char where[48];
} origin;

static const char *const known_fields[] = {
   "method", "url", "headers", "body", "unix_socket", "timeout_ms",
   "connect_timeout_ms", "proxy", "ca_pem", "client_cert_pem",
   "client_key_pem", "on_data", NULL
};

static int
is_tchar (unsigned char c)
{
   return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
      || (c >= '0' && c <= '9') || (c != 0 && strchr ("!#$%&'*+-.^_`|~", c));
}

static void
check_fields (lua_State *L, int ri, const origin *o, int streaming)
{
   lua_pushnil (L);
   while (lua_next (L, ri))
   {
      const char *key;
      int i;
      if (lua_type (L, -2) != LUA_TSTRING)
         luaL_error (L, "%s: %s has a %s key; its fields are named "
                     "(method, url, headers, body, ...)", o->fn, o->where,
                     luaL_typename (L, -2));
      key = lua_tostring (L, -2);
      if (!streaming && strcmp (key, "on_data") == 0)
         luaL_error (L, "%s: %s.on_data is not supported here; stream with "
                     "core.http", o->fn, o->where);
      for (i = 0; known_fields[i] != NULL; i++)
         if (strcmp (key, known_fields[i]) == 0)
            break;
      if (known_fields[i] == NULL)
         luaL_error (L, "%s: %s has an unknown field \"%s\"; known fields: "
                     "method, url, headers, body, unix_socket, timeout_ms, "
                     "connect_timeout_ms, proxy, ca_pem, client_cert_pem, "
                     "client_key_pem%s", o->fn, o->where, key,
                     streaming ? ", on_data" : "");
      lua_pop (L, 1);
   }
}

/* Pushes req[key] and returns it as a string without NUL bytes, or returns
 * NULL (and pushes nothing) when it is nil. */
static const char *
opt_string (lua_State *L, int ri, const char *key, const origin *o, size_t *len)
{
   const char *s;
   size_t n;
   if (lua_getfield (L, ri, key) == LUA_TNIL)
   {
      lua_pop (L, 1);
      return NULL;
   }
   if (lua_type (L, -1) != LUA_TSTRING)
      luaL_error (L, "%s: %s.%s must be a string, not a %s", o->fn, o->where,
                  key, luaL_typename (L, -1));
   s = lua_tolstring (L, -1, &n);
   if (strlen (s) != n)
      luaL_error (L, "%s: %s.%s contains a NUL byte", o->fn, o->where, key);
   if (len)
      *len = n;
   return s;
}

static long
opt_ms (lua_State *L, int ri, const char *key, const origin *o, int *given)
{
   lua_Integer v;
   int isint;
   *given = 0;
   if (lua_getfield (L, ri, key) == LUA_TNIL)
   {
      lua_pop (L, 1);
      return 0;
   }
   v = lua_tointegerx (L, -1, &isint);
   if (lua_type (L, -1) != LUA_TNUMBER || !isint || v < 0 || v > LONG_MAX)
      luaL_error (L, "%s: %s.%s must be a whole number of milliseconds "
                  "(0 or more)", o->fn, o->where, key);
   lua_pop (L, 1);
   *given = 1;
   return (long) v;
}

static void
check_setopt (lua_State *L, CURLcode rc, const origin *o, const char *what)
{
   if (rc != CURLE_OK)
      luaL_error (L, "%s: %s: cannot set %s: %s", o->fn, o->where, what,
                  curl_easy_strerror (rc));
}

static void
append_header (lua_State *L, xfer *x, const char *line)
{
   struct curl_slist *l = curl_slist_append (x->headers, line);
   if (l == NULL)
      luaL_error (L, "not enough memory for a request header");
   x->headers = l;
}

/* "METHOD scheme://host/path (unix socket PATH)": the URL without its user
 * info, query and fragment, which may hold credentials. */
static void
set_label (lua_State *L, xfer *x, const char *method, const char *url,
           const char *sock)
{
   const char *sep = strstr (url, "://");
   const char *auth = sep ? sep + 3 : url;
   const char *auth_end = auth + strcspn (auth, "/?#");
   const char *host = auth, *at, *path_end;
   char *p;
   size_t size;
   for (at = auth; at < auth_end; at++)
      if (*at == '@')
         host = at + 1;
   path_end = auth_end + strcspn (auth_end, "?#");
   size = strlen (method) + strlen (url) + (sock ? strlen (sock) : 0) + 32;
   x->label = malloc (size);
   if (x->label == NULL)
      luaL_error (L, "not enough memory for a request");
   snprintf (x->label, size, "%s %.*s%.*s%s%s%s", method,
             (int) (auth - url), url, (int) (path_end - host), host,
             sock ? " (unix socket " : "", sock ? sock : "", sock ? ")" : "");
   /* A bad URL may hold a line break: keep a message on one line. */
   for (p = x->label; *p; p++)
      if ((unsigned char) *p < 0x20 || *p == 0x7f)
         *p = '?';
}

/* req.ca_pem, req.client_cert_pem, req.client_key_pem: PEM text in memory
 * (a kubeconfig's certificate-authority-data and client credentials), so
 * that a key never has to be written to a file.  libcurl copies each blob.
 * The CA replaces the system's bundle for this transfer; a certificate
 * needs its key and the other way round.  Messages never quote a value. */
static void
set_blob (lua_State *L, CURL *e, CURLoption opt, int ri, const char *key,
          const origin *o)
{
   struct curl_blob blob;
   size_t n;
   if (lua_getfield (L, ri, key) == LUA_TNIL)
   {
      lua_pop (L, 1);
      return;
   }
   if (lua_type (L, -1) != LUA_TSTRING)
      luaL_error (L, "%s: %s.%s must be a string of PEM text, not a %s",
                  o->fn, o->where, key, luaL_typename (L, -1));
   blob.data = (void *) lua_tolstring (L, -1, &n);
   if (n == 0)
      luaL_error (L, "%s: %s.%s is empty", o->fn, o->where, key);
   blob.len = n;
   blob.flags = CURL_BLOB_COPY;
   check_setopt (L, curl_easy_setopt (e, opt, &blob), o, key);
   lua_pop (L, 1);
}

static void
set_tls (lua_State *L, CURL *e, int ri, const origin *o)
{
   int cert = lua_getfield (L, ri, "client_cert_pem") != LUA_TNIL;
   int key = lua_getfield (L, ri, "client_key_pem") != LUA_TNIL;
   lua_pop (L, 2);
   if (cert != key)
      luaL_error (L, "%s: %s.client_cert_pem and client_key_pem go together: "
                  "give both or neither", o->fn, o->where);
   set_blob (L, e, CURLOPT_CAINFO_BLOB, ri, "ca_pem", o);
   if (cert)
   {
      check_setopt (L, curl_easy_setopt (e, CURLOPT_SSLCERTTYPE, "PEM"), o,
                    "client_cert_pem");
      set_blob (L, e, CURLOPT_SSLCERT_BLOB, ri, "client_cert_pem", o);
      check_setopt (L, curl_easy_setopt (e, CURLOPT_SSLKEYTYPE, "PEM"), o,
                    "client_key_pem");
      set_blob (L, e, CURLOPT_SSLKEY_BLOB, ri, "client_key_pem", o);
   }
}

/* Appends req.headers to x's header list, and "Expect:" unless given: never
 * wait for a 100 Continue before sending a body.  Returns whether a
 * Content-Type was given.  Messages name a header, never its value. */
static int
set_headers (lua_State *L, xfer *x, int ri, const origin *o)
{
   int has_type = 0, has_expect = 0;
   lua_getfield (L, ri, "headers");
   if (lua_type (L, -1) == LUA_TTABLE)
   {
      int hi = lua_gettop (L);
      lua_pushnil (L);
      while (lua_next (L, hi))
      {
         const char *name, *value, *p;
         size_t vlen;
         if (lua_type (L, -2) != LUA_TSTRING)
            luaL_error (L, "%s: %s.headers has a %s key; header names are "
                        "strings", o->fn, o->where, luaL_typename (L, -2));
         name = lua_tostring (L, -2);
         for (p = name; *p; p++)
            if (!is_tchar ((unsigned char) *p))
               break;
         if (*name == '\0' || *p != '\0'
             || (size_t) (p - name) != lua_rawlen (L, -2))
            luaL_error (L, "%s: %s.headers has an invalid header name; "
                        "names are tokens such as \"Content-Type\"",
                        o->fn, o->where);
         if (!lua_isstring (L, -1))
            luaL_error (L, "%s: %s.headers[\"%s\"] must be a string, not "
                        "a %s", o->fn, o->where, name, luaL_typename (L, -1));
         value = lua_tolstring (L, -1, &vlen);
         if (strlen (value) != vlen || strpbrk (value, "\r\n") != NULL)
            luaL_error (L, "%s: %s.headers[\"%s\"] contains a CR, LF or NUL "
                        "character; a header value is one line",
                        o->fn, o->where, name);
         if (strcasecmp (name, "Content-Type") == 0)
            has_type = 1;
         if (strcasecmp (name, "Expect") == 0)
            has_expect = 1;
         /* "Name;" is libcurl's way to send a header with no value. */
         if (vlen == 0)
            lua_pushfstring (L, "%s;", name);
         else
            lua_pushfstring (L, "%s: %s", name, value);
         append_header (L, x, lua_tostring (L, -1));
         lua_pop (L, 2);
      }
   }
   else if (!lua_isnil (L, -1))
      luaL_error (L, "%s: %s.headers must be a table of name = value, not a %s",
                  o->fn, o->where, luaL_typename (L, -1));
   lua_pop (L, 1);

   if (!has_expect)
      append_header (L, x, "Expect:");
   return has_type;
}

/* Sets the method and body.  COPYPOSTFIELDS keeps libcurl's own copy, sent
 * with its exact length (binary-safe), so nothing depends on the Lua
 * string's lifetime. */
static void
set_body (lua_State *L, xfer *x, int ri, const origin *o, const char *method,
          int has_type)
{
   CURL *e = x->easy;
   const char *body;
   size_t body_len = 0;
   if (lua_getfield (L, ri, "body") != LUA_TNIL
       && lua_type (L, -1) != LUA_TSTRING)
      luaL_error (L, "%s: %s.body must be a string, not a %s", o->fn, o->where,
                  luaL_typename (L, -1));
   body = lua_tolstring (L, -1, &body_len);
   if (strcmp (method, "HEAD") == 0)
   {
      if (body != NULL)
         luaL_error (L, "%s: %s: a HEAD request has no body", o->fn, o->where);
      curl_easy_setopt (e, CURLOPT_NOBODY, 1L);
   }
   else
   {
      /* POST, PUT and PATCH always carry a length (Content-Length: 0 when
       * there is no body); other methods only when given a body. */
      if (body == NULL && (strcmp (method, "POST") == 0
                           || strcmp (method, "PUT") == 0
                           || strcmp (method, "PATCH") == 0))
         body = "";
      if (body != NULL)
      {
         curl_easy_setopt (e, CURLOPT_POSTFIELDSIZE_LARGE,
                           (curl_off_t) body_len);
         check_setopt (L, curl_easy_setopt (e, CURLOPT_COPYPOSTFIELDS,
                                            body), o, "body");
         /* libcurl would send its form type unasked. */
         if (!has_type)
            append_header (L, x, "Content-Type:");
      }
      /* A body makes libcurl send a POST: name any other method. */
      if (strcmp (method, "POST") != 0
          && (body != NULL || strcmp (method, "GET") != 0))
         check_setopt (L, curl_easy_setopt (e, CURLOPT_CUSTOMREQUEST, method),
                       o, "method");
   }
   lua_pop (L, 1);
}

/* Reads the request table at ri into x: a new easy handle, added to b's
 * multi handle.  With streaming, an on_data callback is allowed: it is left
 * on the stack, followed by a slot for its error (the caller keeps both). */
static void
xfer_setup (lua_State *L, batch *b, xfer *x, int ri, const origin *o,
            int streaming)
{
   const char *method, *url, *sock, *proxy;
   int has_type, given, top = lua_gettop (L);
   long ms;
   CURLMcode mc;
   CURL *e;

   check_fields (L, ri, o, streaming);

   method = opt_string (L, ri, "method", o, NULL);
   if (method == NULL)
      method = "GET";
   else
   {
      const char *p;
      if (*method == '\0' || strlen (method) > 32)
         luaL_error (L, "%s: %s.method must be an HTTP method such as GET "
                     "or POST", o->fn, o->where);
      for (p = method; *p; p++)
         if (!is_tchar ((unsigned char) *p) || (*p >= 'a' && *p <= 'z'))
            luaL_error (L, "%s: %s.method \"%s\" is not an upper-case HTTP "
                        "method; write e.g. GET, POST, PUT, DELETE or HEAD",
                        o->fn, o->where, method);
   }

   url = opt_string (L, ri, "url", o, NULL);
   if (url == NULL || *url == '\0')
      luaL_error (L, "%s: %s.url is required (e.g. \"http://127.0.0.1:8888/"
                  "health\")", o->fn, o->where);
   sock = opt_string (L, ri, "unix_socket", o, NULL);

   x->easy = e = curl_easy_init ();
   if (e == NULL)
      luaL_error (L, "not enough memory for a curl handle");
   set_label (L, x, method, url, sock);

   curl_easy_setopt (e, CURLOPT_PRIVATE, (void *) x);
   curl_easy_setopt (e, CURLOPT_ERRORBUFFER, x->errbuf);
   curl_easy_setopt (e, CURLOPT_NOSIGNAL, 1L);
   curl_easy_setopt (e, CURLOPT_FOLLOWLOCATION, 0L);
   curl_easy_setopt (e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
   check_setopt (L, curl_easy_setopt (e, CURLOPT_PROTOCOLS_STR, "http,https"),
                 o, "protocols");
#else
   curl_easy_setopt (e, CURLOPT_PROTOCOLS,
                     (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
   curl_easy_setopt (e, CURLOPT_WRITEFUNCTION, on_body);
   curl_easy_setopt (e, CURLOPT_WRITEDATA, (void *) x);
   curl_easy_setopt (e, CURLOPT_HEADERFUNCTION, on_header);
   curl_easy_setopt (e, CURLOPT_HEADERDATA, (void *) x);
   curl_easy_setopt (e, CURLOPT_XFERINFOFUNCTION, on_progress);
   curl_easy_setopt (e, CURLOPT_XFERINFODATA, (void *) x);
   curl_easy_setopt (e, CURLOPT_NOPROGRESS, 0L);
   check_setopt (L, curl_easy_setopt (e, CURLOPT_URL, url), o, "url");
   if (sock != NULL)
      check_setopt (L, curl_easy_setopt (e, CURLOPT_UNIX_SOCKET_PATH, sock),
                    o, "unix_socket");

   ms = opt_ms (L, ri, "timeout_ms", o, &given);
   if (given)
      curl_easy_setopt (e, CURLOPT_TIMEOUT_MS, ms);
   ms = opt_ms (L, ri, "connect_timeout_ms", o, &given);
   if (given)
      curl_easy_setopt (e, CURLOPT_CONNECTTIMEOUT_MS, ms);

   proxy = opt_string (L, ri, "proxy", o, NULL);
   if (proxy != NULL)
      check_setopt (L, curl_easy_setopt (e, CURLOPT_PROXY, proxy), o, "proxy");

   set_tls (L, e, ri, o);
   has_type = set_headers (L, x, ri, o);
   set_body (L, x, ri, o, method, has_type);
   curl_easy_setopt (e, CURLOPT_HTTPHEADER, x->headers);

   /* The label and the strings above were copied: drop them. */
   lua_settop (L, top);

   if (streaming)
   {
      int t = lua_getfield (L, ri, "on_data");
      if (t == LUA_TFUNCTION)
      {
         x->L = L;
         x->on_data = lua_gettop (L);
         lua_pushnil (L);
         x->err_slot = lua_gettop (L);
      }
      else if (t == LUA_TNIL)
         lua_pop (L, 1);
      else
         luaL_error (L, "%s: %s.on_data must be a function, not a %s",
                     o->fn, o->where, luaL_typename (L, -1));
   }

   mc = curl_multi_add_handle (b->multi, e);
   if (mc != CURLM_OK)
      x->multi_error = mc;
   else
      x->added = 1;
}

/* ---- running the transfers ------------------------------------------- */

static void
collect_done (batch *b)
{
   CURLMsg *m;
   int queued;
   while ((m = curl_multi_info_read (b->multi, &queued)) != NULL)
   {
      char *priv = NULL;
      xfer *x;
      if (m->msg != CURLMSG_DONE)
         continue;
      curl_easy_getinfo (m->easy_handle, CURLINFO_PRIVATE, &priv);
      x = (xfer *) (void *) priv;
      if (x != NULL)
      {
         x->done = 1;
         x->result = m->data.result;
      }
   }
}

static void
batch_run (batch *b)
{
   CURLMcode mc = CURLM_OK;
   int running = 1;
   size_t i;
   while (running)
   {
      int sig;
      mc = curl_multi_perform (b->multi, &running);
      if (mc != CURLM_OK)
         break;
      collect_done (b);
      if (!running)
         break;
      /* The progress callback aborts a transfer too, but runs only about
       * once a second while a transfer waits: look after every poll. */
      sig = bc_signal_pending ();
      if (sig)
      {
         for (i = 0; i < b->n; i++)
            if (!b->x[i].done)
               b->x[i].interrupted = sig;
         break;
      }
      mc = curl_multi_poll (b->multi, NULL, 0, POLL_MS, NULL);
      if (mc != CURLM_OK)
         break;
   }
   collect_done (b);
   for (i = 0; i < b->n; i++)
      if (!b->x[i].done && !b->x[i].interrupted && !b->x[i].multi_error)
         b->x[i].multi_error = mc != CURLM_OK ? mc : CURLM_INTERNAL_ERROR;
}

/* ---- results ---------------------------------------------------------- */

static const struct
{
   CURLcode code;
   const char *name;
} curl_codes[] = {
#define E(n) { CURLE_##n, #n }
   E (UNSUPPORTED_PROTOCOL), E (FAILED_INIT), E (URL_MALFORMAT),
   E (NOT_BUILT_IN), E (COULDNT_RESOLVE_PROXY), E (COULDNT_RESOLVE_HOST),
   E (COULDNT_CONNECT), E (WEIRD_SERVER_REPLY), E (REMOTE_ACCESS_DENIED),
   E (HTTP2), E (PARTIAL_FILE), E (HTTP_RETURNED_ERROR), E (WRITE_ERROR),
   E (UPLOAD_FAILED), E (READ_ERROR), E (OUT_OF_MEMORY),
   E (OPERATION_TIMEDOUT), E (RANGE_ERROR), E (HTTP_POST_ERROR),
   E (SSL_CONNECT_ERROR), E (BAD_DOWNLOAD_RESUME), E (ABORTED_BY_CALLBACK),
   E (BAD_FUNCTION_ARGUMENT), E (INTERFACE_FAILED), E (TOO_MANY_REDIRECTS),
   E (UNKNOWN_OPTION), E (GOT_NOTHING), E (SSL_ENGINE_NOTFOUND),
   E (SSL_ENGINE_SETFAILED), E (SEND_ERROR), E (RECV_ERROR),
   E (SSL_CERTPROBLEM), E (SSL_CIPHER), E (PEER_FAILED_VERIFICATION),
   E (BAD_CONTENT_ENCODING), E (FILESIZE_EXCEEDED), E (USE_SSL_FAILED),
   E (SEND_FAIL_REWIND), E (SSL_ENGINE_INITFAILED), E (LOGIN_DENIED),
   E (SSL_CACERT_BADFILE), E (SSL_SHUTDOWN_FAILED), E (AGAIN),
   E (SSL_CRL_BADFILE), E (SSL_ISSUER_ERROR), E (HTTP2_STREAM),
   E (RECURSIVE_API_CALL),
#if LIBCURL_VERSION_NUM >= 0x074200
   E (AUTH_ERROR), E (HTTP3),
#endif
#if LIBCURL_VERSION_NUM >= 0x074900
   E (PROXY),
#endif
#if LIBCURL_VERSION_NUM >= 0x074d00
   E (SSL_CLIENTCERT),
#endif
#if LIBCURL_VERSION_NUM >= 0x075400
   E (UNRECOVERABLE_POLL),
#endif
#undef E
};

static void
push_curl_code (lua_State *L, CURLcode rc)
{
   size_t i;
   for (i = 0; i < sizeof curl_codes / sizeof curl_codes[0]; i++)
      if (curl_codes[i].code == rc)
        {
           lua_pushstring (L, curl_codes[i].name);
           return;
        }
   lua_pushfstring (L, "CURL_%d", (int) rc);
}

/* bc_signal_pending (sys.c) returns the signal's number. */
static const char *
signal_name (int sig)
{
   return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

/* Pushes a table of the response headers: names lower-cased, a repeated
 * header's values joined with ", ", folded lines unfolded. */
static void
push_headers (lua_State *L, const growbuf *h)
{
   const char *p = h->data, *end = h->data + h->len;
   int t, last;
   lua_newtable (L);
   t = lua_gettop (L);
   lua_pushnil (L);               /* the last header's name */
   last = lua_gettop (L);
   while (p < end)
   {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      const char *line = p, *lend = nl ? nl : end, *colon, *v, *q;
      p = nl ? nl + 1 : end;
      while (lend > line && (lend[-1] == '\r' || lend[-1] == ' '
                             || lend[-1] == '\t'))
         lend--;
      if (lend == line || (lend - line >= 5 && memcmp (line, "HTTP/", 5) == 0))
         continue;
      if (*line == ' ' || *line == '\t')
      {
         /* Obsolete line folding: the value goes on. */
         if (lua_isnil (L, last))
            continue;
         for (v = line; v < lend && (*v == ' ' || *v == '\t'); v++)
            ;
         lua_pushvalue (L, last);
         lua_pushvalue (L, last);
         lua_rawget (L, t);
         lua_pushliteral (L, " ");
         lua_pushlstring (L, v, (size_t) (lend - v));
         lua_concat (L, 3);
         lua_rawset (L, t);
         continue;
      }
      colon = memchr (line, ':', (size_t) (lend - line));
      if (colon == NULL)
         continue;
      {
         luaL_Buffer nb;
         const char *ne = colon;
         while (ne > line && (ne[-1] == ' ' || ne[-1] == '\t'))
            ne--;
         luaL_buffinit (L, &nb);
         for (q = line; q < ne; q++)
            luaL_addchar (&nb, (*q >= 'A' && *q <= 'Z') ? *q - 'A' + 'a' : *q);
         luaL_pushresult (&nb);
         lua_replace (L, last);
      }
      for (v = colon + 1; v < lend && (*v == ' ' || *v == '\t'); v++)
         ;
      lua_pushvalue (L, last);
      lua_pushvalue (L, last);
      if (lua_rawget (L, t) == LUA_TNIL)
      {
         lua_pop (L, 1);
         lua_pushlstring (L, v, (size_t) (lend - v));
      }
      else
      {
         lua_pushliteral (L, ", ");
         lua_pushlstring (L, v, (size_t) (lend - v));
         lua_concat (L, 3);
      }
      lua_rawset (L, t);
   }
   lua_pop (L, 1);
}

/* Pushes exactly three values: status, headers, body (nil when streamed),
 * or nil, message, code. */
static void
push_result (lua_State *L, xfer *x)
{
   if (x->callback_failed)
   {
      const char *err = luaL_tolstring (L, x->err_slot, NULL);
      bc_fail (L, "callback", "%s: on_data callback failed: %s", x->label, err);
      lua_remove (L, -4);
      return;
   }
   if (x->interrupted)
   {
      bc_fail (L, "interrupted", "%s: interrupted by %s", x->label,
               signal_name (x->interrupted));
      return;
   }
   if (x->out_of_memory)
   {
      bc_fail (L, "OUT_OF_MEMORY", "%s: out of memory", x->label);
      return;
   }
   if (x->multi_error != CURLM_OK)
   {
      bc_fail (L, x->multi_error == CURLM_OUT_OF_MEMORY ? "OUT_OF_MEMORY"
               : "MULTI_ERROR", "%s: %s", x->label,
               curl_multi_strerror (x->multi_error));
      return;
   }
   if (x->result != CURLE_OK && !(x->stopped && x->result == CURLE_WRITE_ERROR))
   {
      lua_pushnil (L);
      if (x->errbuf[0] != '\0')
         lua_pushfstring (L, "%s: %s (%s)", x->label,
                          curl_easy_strerror (x->result), x->errbuf);
      else
         lua_pushfstring (L, "%s: %s", x->label,
                          curl_easy_strerror (x->result));
      push_curl_code (L, x->result);
      return;
   }
   {
      long status = 0;
      curl_easy_getinfo (x->easy, CURLINFO_RESPONSE_CODE, &status);
      lua_pushinteger (L, status);
   }
   push_headers (L, &x->head);
   if (x->on_data)
      lua_pushnil (L);
   else
      lua_pushlstring (L, x->body.data, x->body.len);
}

/* ---- the Lua functions ------------------------------------------------ */

static int
l_http (lua_State *L)
{
   origin o = { "core.http", "req" };
   batch *b;
   luaL_checktype (L, 1, LUA_TTABLE);
   lua_settop (L, 1);
   b = batch_new (L, 1);
   xfer_setup (L, b, &b->x[0], 1, &o, 1);
   batch_run (b);
   push_result (L, &b->x[0]);
   return 3;
}

static int
l_http_many (lua_State *L)
{
   origin o = { "core.http_many", "" };
   lua_Integer n, i;
   batch *b;
   luaL_checktype (L, 1, LUA_TTABLE);
   lua_settop (L, 1);
   n = luaL_len (L, 1);
   if (n <= 0)
   {
      lua_newtable (L);
      return 1;
   }
   b = batch_new (L, (size_t) n);
   for (i = 1; i <= n; i++)
   {
      snprintf (o.where, sizeof o.where, "reqs[%lld]", (long long) i);
      if (lua_geti (L, 1, i) != LUA_TTABLE)
         luaL_error (L, "core.http_many: %s must be a request table, not a %s",
                     o.where, luaL_typename (L, -1));
      xfer_setup (L, b, &b->x[i - 1], lua_gettop (L), &o, 0);
      lua_pop (L, 1);
   }
   batch_run (b);
   lua_createtable (L, (int) (n < INT_MAX ? n : INT_MAX), 0);
   for (i = 1; i <= n; i++)
   {
      int k;
      lua_createtable (L, 3, 0);
      push_result (L, &b->x[i - 1]);
      for (k = 3; k >= 1; k--)
         lua_rawseti (L, -1 - k, k);
      lua_rawseti (L, -2, i);
   }
   return 1;
}

static const luaL_Reg http_funcs[] = {
   { "http", l_http },
   { "http_many", l_http_many },
   { NULL, NULL }
};

void
bc_http_open (lua_State *L)
{
   static int curl_ready = 0;
   if (!curl_ready)
   {
      /* Not thread-safe, and needed once per process. */
      if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
         luaL_error (L, "bottle.core: curl_global_init failed");
      curl_ready = 1;
   }
   if (luaL_newmetatable (L, BATCH_MT))
   {
      lua_pushcfunction (L, batch_gc);
      lua_setfield (L, -2, "__gc");
      lua_pushcfunction (L, batch_gc);
      lua_setfield (L, -2, "__close");
   }
   lua_pop (L, 1);
   luaL_setfuncs (L, http_funcs, 0);
}
