/* The DLP and response patterns of a pipelock config: each needs a name
 * and a regex (pipelock refuses the config otherwise: "DLP pattern missing
 * name"), and the regex must be one Go's regexp (RE2) compiles.  RE2 cannot
 * be run from here, so the constructs other engines accept and RE2 refuses
 * are found lexically: lookaround, atomic groups, backreferences,
 * possessive quantifiers.  `pipelock check` stays the last word. */
#include <string.h>

#include "core.h"

/* NULL when `re` uses none of the constructs, else what it uses. */
static const char *
re2_refuses (const char *re, size_t n)
{
   size_t i = 0;
   int in_class = 0;
   while (i < n) {
      char c = re[i];
      if (c == '\\') {
         if (i + 1 < n && !in_class && re[i + 1] >= '1' && re[i + 1] <= '9')
            return "a backreference (\\1..\\9)";
         if (i + 1 < n && re[i + 1] == 'k' && i + 2 < n && (re[i + 2] == '<' || re[i + 2] == '{'))
            return "a named backreference (\\k)";
         i += 2;
         continue;
      }
      if (in_class) {
         if (c == '[' && i + 1 < n && re[i + 1] == ':') {   /* [:alpha:] inside a class */
            const char *end = memchr (re + i + 2, ']', n - i - 2);
            i = end ? (size_t) (end - re) + 1 : n;
            continue;
         }
         if (c == ']')
            in_class = 0;
         i++;
         continue;
      }
      if (c == '[') {
         in_class = 1;
         i++;
         if (i < n && re[i] == '^')
            i++;
         if (i < n && re[i] == ']')   /* a leading ] is a literal */
            i++;
         continue;
      }
      if (c == '(' && i + 2 < n && re[i + 1] == '?') {
         char d = re[i + 2];
         if (d == '=' || d == '!')
            return "a lookahead ((?= or (?!)";
         if (d == '<' && i + 3 < n && (re[i + 3] == '=' || re[i + 3] == '!'))
            return "a lookbehind ((?<= or (?<!)";
         if (d == '>')
            return "an atomic group ((?>)";
      }
      if ((c == '*' || c == '+' || c == '?' || c == '}') && i + 1 < n && re[i + 1] == '+')
         return "a possessive quantifier (*+, ++, ?+, {n}+)";
      i++;
   }
   return NULL;
}

static int
check_list (lua_State *L, int cfg, const char *section, const char *what)
{
   int n, i;
   if (lua_getfield (L, cfg, section) != LUA_TTABLE) {
      lua_pop (L, 1);
      return 0;
   }
   if (lua_getfield (L, -1, "patterns") != LUA_TTABLE) {
      lua_pop (L, 2);
      return 0;
   }
   n = (int) lua_rawlen (L, -1);
   for (i = 1; i <= n; i++) {
      size_t len = 0;
      const char *name, *re, *bad;
      if (lua_rawgeti (L, -1, i) != LUA_TTABLE) {   /* the schema check says so */
         lua_pop (L, 1);
         continue;
      }
      lua_getfield (L, -1, "name");
      name = lua_tolstring (L, -1, &len);
      if (!name || len == 0) {
         lua_pushnil (L);
         lua_pushfstring (L, "%s.patterns[%d].name: %s pattern needs a name", section, i, what);
         lua_pushliteral (L, "invalid_config");
         return 3;
      }
      lua_getfield (L, -2, "regex");
      re = lua_tolstring (L, -1, &len);
      if (!re || len == 0) {
         lua_pushnil (L);
         lua_pushfstring (L, "%s.patterns[%d].regex: %s pattern needs a regex", section, i, what);
         lua_pushliteral (L, "invalid_config");
         return 3;
      }
      if ((bad = re2_refuses (re, len))) {
         lua_pushnil (L);
         lua_pushfstring (L, "%s.patterns[%d].regex: uses %s, which Go's regexp (RE2) refuses", section, i, bad);
         lua_pushliteral (L, "invalid_config");
         return 3;
      }
      lua_pop (L, 3);
   }
   lua_pop (L, 2);
   return 0;
}

int
bc_pipelock_check_patterns (lua_State *L, int cfg)
{
   if (check_list (L, cfg, "dlp", "a DLP") != 0)
      return 3;
   return check_list (L, cfg, "response_scanning", "a response");
}
