-- Differential check of csrc/re2_syntax.c against Go's own regexp, the
-- library pipelock compiles its patterns with: random patterns from
-- tokens that matter to a regex parser, each judged by the core (through
-- core.pipelock_check, as a DLP pattern) and by Go.  Every pattern the
-- core accepts must compile in Go; the reverse is counted (the check is
-- conservative on purpose).  Needs a Go toolchain (GO=...), which the
-- launcher does not: a development check, not a spec.
--   lua5.4 scripts/re2_differential.lua [N [SEED]]
package.path = "lua/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local core = require "bottle.core"

local N, SEED = tonumber(arg[1]) or 20000, tonumber(arg[2]) or 1
local GO = os.getenv("GO") or "go"

local GO_MAIN = [[
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
)

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for sc.Scan() {
		s, err := strconv.Unquote(sc.Text())
		if err == nil {
			_, err = regexp.Compile("(?i)" + s) // pipelock adds (?i) to DLP patterns
		}
		if err != nil {
			fmt.Fprintln(w, "err")
		} else {
			fmt.Fprintln(w, "ok")
		}
	}
}
]]

local TOKENS = { "a", "b", "z", "0", "9", "(", ")", "(?:", "(?i)", "(?i:", "(?-s)", "(?P<n>", "(?P<m>", "(?<n>",
   "(?=", "(?!", "[", "]", "[^", "^", "$", "-", "*", "+", "?", "*?", "+?", "??", "{2}", "{1,3}", "{2,}", "{,2}",
   "{3,1}", "{1001}", "{", "}", "|", ".", "\\d", "\\w", "\\s", "\\D", "\\b", "\\B", "\\A", "\\z", "\\1", "\\0",
   "\\x41", "\\x{263a}", "\\x4", "\\pL", "\\p{Greek}", "\\Q", "\\E", "\\.", "\\-", "\\]", "\\[", "\\\\", "\\q",
   "\\n", "\\t", "[:alpha:]", "[:nope:]", ":", "é", "\255", "_", " " }

local function go_quote(s)
   return '"' .. s:gsub('[%c"\\\128-\255]', function(c) return ("\\x%02x"):format(c:byte()) end) .. '"'
end

local function ours(re)
   local cfg = assert(core.pipelock_config({ egress = { allowlist = { "example.com" } } }, {}))
   cfg.dlp.patterns = setmetatable({ { name = "p", regex = re } }, core.array_mt)
   return core.pipelock_check(cfg) == true
end

math.randomseed(SEED)
local dir = core.mkdtemp("/tmp/bottle-re2-")
local f = assert(io.open(dir .. "/main.go", "w"))
f:write(GO_MAIN)
f:close()
assert(core.spawn({ GO, "build", "-o", dir .. "/re2check", dir .. "/main.go" }, { env = { GOFLAGS = "-mod=mod" } }) == 0,
   "go build failed")

local patterns, mine = {}, {}
for i = 1, N do
   local t = {}
   for j = 1, math.random(1, 10) do t[j] = TOKENS[math.random(#TOKENS)] end
   patterns[i] = table.concat(t)
   mine[i] = ours(patterns[i])
end
f = assert(io.open(dir .. "/in", "w"))
for _, p in ipairs(patterns) do f:write(go_quote(p), "\n") end
f:close()
assert(core.spawn({ "sh", "-c", '"$1/re2check" < "$1/in" > "$1/out"', "sh", dir }) == 0)
local go, i = {}, 0
for line in io.lines(dir .. "/out") do i = i + 1; go[i] = line == "ok" end
core.rmtree(dir)

local wrong, strict, both_ok, both_err = {}, 0, 0, 0
for k = 1, N do
   if mine[k] and not go[k] then wrong[#wrong + 1] = patterns[k]
   elseif not mine[k] and go[k] then strict = strict + 1
   elseif mine[k] then both_ok = both_ok + 1
   else both_err = both_err + 1 end
end
print(("%d patterns (seed %d): both accept %d, both refuse %d, only Go accepts %d (conservative), "
   .. "only the core accepts %d"):format(N, SEED, both_ok, both_err, strict, #wrong))
for k = 1, math.min(#wrong, 20) do print("  accepted here, refused by Go: " .. go_quote(wrong[k])) end
os.exit(#wrong == 0 and 0 or 1)
