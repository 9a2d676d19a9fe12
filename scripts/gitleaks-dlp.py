#!/usr/bin/env python3
"""Writes csrc/dlp_gitleaks.h: DLP patterns for pipelock taken from gitleaks'
default rule set (the one the git gate runs), so that a request body or
header is refused for the credential shapes a push is refused for.

  scripts/gitleaks-dlp.py [GITLEAKS_TOML] > csrc/dlp_gitleaks.h

GITLEAKS_TOML defaults to config/gitleaks.toml of the gitleaks module the git
gate builds (go mod download -json github.com/zricethezav/gitleaks/v8@v8.30.1).

Left out, each for a reason pipelock cannot honour:
- rules whose regex can match without any of the rule's keywords: gitleaks
  runs a rule only on text holding one of its keywords, pipelock runs every
  pattern on everything, so sourcegraph-access-token (any 40 hex digits
  once "sgp_" or "sourcegraph" is near) would refuse every commit SHA.
  Decided on the parsed regex: every path through it must spell a keyword
  (generic-api-key, facebook-access-token, linkedin-client-id... go);
- rules that, reshaped as below, do not start with a literal of MIN_PREFIX
  characters or more: pipelock runs a pattern only on text holding its
  literal prefix (internal/scanner/prefilter.go) and every other pattern on
  every field of every request; 27 such rules cost 86 ms per 64 KiB of a
  code body in Go's regexp, all 208 cost 680 ms;
- generic-api-key in any case: gitleaks keeps its false positives down with
  an entropy threshold and stopwords, which pipelock's patterns lack;
- rules bound to a file path (`path`), which a request body does not have;
- rules with no regular expression.
Reshaping keeps every match of the rule: a leading (?i) goes (pipelock adds
its own), then a lazy lead-in [\w.-]{0,50}?, a leading \b and an optional
leading group such as (?:https?://)? (the match starts later, or also
inside a word), a leading capture group becomes a
plain one, and a leading alternation of literals becomes one pattern per
branch, named "<id> (2)", "<id> (3)"...
pipelock prefixes (?i) to each pattern, and Go's regexp (RE2, like
gitleaks') compiles them; `pipelock check` on a rendered config is the proof
(spec/egress_config_spec.lua runs it).
"""
import json
import re
import subprocess
import sys
import tomllib
import warnings

# Python's parser warns about Go's [[:class:]] style sets; the skeletons do
# not look inside sets.
warnings.simplefilter("ignore", FutureWarning)

try:
    import re._constants as C
    import re._parser as sre_parse
except ImportError:  # Python before 3.11
    import sre_constants as C
    import sre_parse

VERSION = "v8.30.1"
SKIP = {"generic-api-key": "needs entropy and stopwords"}


CAP = 4096
GAP, ANYCH = "\0", "\1"


def paths(items):
    """The literal skeletons of the matches of `items`: each a string where
    GAP stands for text of no known content and ANYCH for any one char."""
    out = [""]
    for op, av in items:
        if op is C.LITERAL:
            alts = [chr(av).lower()]
        elif op is C.ANY:
            alts = [ANYCH]
        elif op is C.IN and len(av) <= 8 and all(o is C.LITERAL for o, _ in av):
            alts = sorted({chr(v).lower() for _, v in av})
        elif op is C.SUBPATTERN:
            alts = paths(av[-1])
        elif op is C.BRANCH:
            alts = [p for b in av[1] for p in paths(b)]
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
            alts = [p + (GAP if av[1] != av[0] or av[0] > 1 else "") for p in paths(av[2])]
        else:
            alts = [GAP]
        out = [a + b for a in out for b in alts]
        if len(out) > CAP:
            return [GAP]
    return out


def contains(path, kw):
    for i in range(len(path) - len(kw) + 1):
        if all(path[i + j] == c or path[i + j] == ANYCH for j, c in enumerate(kw)):
            return True
    return False


def guaranteed(items, kws):
    """True when no match of `items` can leave out every keyword"""
    return all(any(contains(p, k) for k in kws) for p in paths(items))


def literal_prefix(regex):
    """pipelock's extractLiteralPrefix (internal/scanner/prefilter.go), in
    Python: the literal text a pattern starts with, lowercased, or ""."""
    s = regex[4:] if regex.startswith("(?i)") else regex
    if s.startswith("(?:"):
        c = s.find(")")
        if c < 0: return ""
        grp = s[3:c]
        if "|" in grp: return ""
        if c+1 < len(s) and s[c+1] in "?*+{": return ""
        s = grp + s[c+1:]
    out=[]; i=0
    while i < len(s):
        ch=s[i]
        if ch=="\\":
            if i+1>=len(s): break
            nx=s[i+1]
            if nx in ".\\-_[](){}+*?^$|/": out.append(nx); i+=2; continue
            break
        if ch in "[(.*+?{}^$|": break
        out.append(ch); i+=1
    return "".join(out).lower()

def split_alternation(s):
    """'(?:a|b)rest' with literal alternatives -> ['arest','brest'] else None"""
    m = re.match(r"\(\?:([A-Za-z0-9_\-|]+)\)", s)
    if not m or "|" not in m.group(1): return None
    rest = s[m.end():]
    if rest[:1] in ("?","*","+","{"): return None
    return [a + rest for a in m.group(1).split("|")]

def transform(rx):
    """The rule's regex in the shape pipelock's prefilter can use; each step
    keeps every match of the original (it only drops what cannot change
    whether a text matches, or splits an alternation into patterns)."""
    s = rx.strip()
    if s.startswith("(?i)"):
        s = s[4:]  # pipelock prefixes (?i) itself
    if s.startswith("[\\w.-]{0,50}?"):
        s = s[len("[\\w.-]{0,50}?"):]  # a lazy optional lead-in: the match starts later
    if s.startswith("\\b"):
        s = s[2:]  # the word boundary before the prefix: also fires inside a word
    lead = re.match(r"\(\?:[^()|]*(?:\|[^()|]*)*\)\?", s)
    if lead:
        s = s[lead.end():]  # an optional lead-in group, such as (?:https?://)?
    if s.startswith("(") and not s.startswith("(?"):
        s = "(?:" + s[1:]  # pipelock uses the whole match, not the group
    alts = split_alternation(s)
    return alts or [s]


MIN_PREFIX = 4


def needs_keyword(rule):
    kws = [k.lower() for k in rule.get("keywords", [])]
    if not kws:
        return True  # no keyword prefilter in gitleaks either
    # case does not matter (keywords are matched case-insensitively; the
    # skeletons are lowercased), and Python's parser refuses flags mid-pattern
    parsed = sre_parse.parse(rule["regex"].replace("(?i)", "").replace("\\z", "$"))
    return guaranteed(list(parsed), kws)


def default_toml():
    out = subprocess.run(["go", "mod", "download", "-json", "github.com/zricethezav/gitleaks/v8@" + VERSION],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["Dir"] + "/config/gitleaks.toml"


def c_string(s, width=24):
    """A C string literal, cut into pieces of `width` characters that the
    compiler joins: a rule whose regex is a literal token prefix
    (bedrock-api-key-...) would otherwise match its own line, and secret
    scanners (the git gate's gitleaks among them) would flag this file."""
    pieces = []
    for i in range(0, max(len(s), 1), width):
        out = json.dumps(s[i:i + width], ensure_ascii=True)
        while "??" in out:  # no trigraphs, whatever the compiler's mode
            out = out.replace("??", "?\\?")
        pieces.append(out)
    return " ".join(pieces)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else default_toml()
    with open(path, "rb") as f:
        rules = tomllib.load(f)["rules"]
    kept = []
    for r in rules:
        if r["id"] in SKIP or "path" in r or not r.get("regex") or not needs_keyword(r):
            continue
        parts = transform(r["regex"])
        if all(len(literal_prefix("(?i)" + x)) >= MIN_PREFIX for x in parts):
            kept.append((r, parts))
    w = sys.stdout.write
    w("/* Generated by scripts/gitleaks-dlp.py from gitleaks %s config/gitleaks.toml\n" % VERSION)
    w(" * (MIT licence, github.com/gitleaks/gitleaks): %d of its %d rules.  Each\n" % (len(kept), len(rules)))
    w(" * regex is reshaped so that it starts with a literal (pipelock runs such a\n")
    w(" * pattern only on text holding that literal) without losing a match: no\n")
    w(" * leading (?i), lazy lead-in or \\b, a leading alternation split into one\n")
    w(" * pattern per branch.  Left out: rules whose regex can match without one of\n")
    w(" * their keywords, rules that do not start with a literal of %d or more\n" % MIN_PREFIX)
    w(" * characters, generic-api-key, rules bound to a file path or with no regex.\n")
    w(" * Do not edit by hand. */\n")
    w("#ifndef BC_DLP_GITLEAKS_H\n#define BC_DLP_GITLEAKS_H\n\n#include <stddef.h>\n\n")
    w("struct bc_dlp_rule { const char *id; const char *regex; };\n\n")
    w("static const struct bc_dlp_rule bc_dlp_gitleaks[] = {\n")
    n = 0
    for r, parts in kept:
        for i, x in enumerate(parts):
            name = r["id"] if i == 0 else "%s (%d)" % (r["id"], i + 1)
            w("   { %s,\n     %s },\n" % (c_string(name, 1000), c_string(x)))
            n += 1
    w("   { NULL, NULL }\n};\n\n#endif\n")


if __name__ == "__main__":
    main()
