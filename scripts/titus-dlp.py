#!/usr/bin/env python3
"""Writes csrc/dlp_titus.h: DLP patterns for pipelock taken from the rule set
of Titus (Praetorian's secret scanner, the successor of Nosey Parker; its
rules come from Nosey Parker and MongoDB's Kingfisher), for the credential
shapes neither pipelock's 48 built-ins nor gitleaks' rules describe.

  scripts/titus-dlp.py TITUS_CHECKOUT > csrc/dlp_titus.h

TITUS_CHECKOUT is a checkout of github.com/praetorian-inc/titus (Apache-2.0;
it is not on the Go module proxy, so clone it); its rules are
pkg/rule/rules/*.yml.  The script needs PyYAML and Go (scripts/re2match,
which it builds, runs each pattern in Go's regexp as pipelock does).

Each rule's pattern is freed of extended mode (whitespace and comments, as
Titus does before compiling) and of its leading flags (pipelock prefixes
(?i) itself), then reshaped like gitleaks' (dlprules.transform).  Kept only
when pipelock can run it without Titus' own guards, since pipelock runs
every pattern on every field of every request:
- it starts with a literal of MIN_PREFIX or more characters (pipelock's
  prefilter skips it on text without that literal, the part of a keyword
  gate that pipelock has);
- it is not fuzzy, generic, an identifier, a hash or a test rule, not of low
  confidence, not hidden, and not one that Titus silences on placeholder
  words (ignore_if_contains): the entropy and character-count checks that
  keep those quiet in Titus do not exist in pipelock;
- Go's regexp compiles it, it finds every one of the rule's examples, and
  none of its negative examples, in pipelock's way (scripts/re2match).
"""
import json
import os
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dlprules import MIN_PREFIX, c_string, literal_prefix, transform  # noqa: E402

LEFT_OUT_CATEGORIES = {"fuzzy", "generic", "identifier", "hashed", "test"}


def strip_extended(pattern):
    """The pattern without extended-mode whitespace and comments, and without
    its leading flag group; returns (pattern, flags)."""
    p = pattern.strip()
    flags = ""
    while p.startswith("(?") and p[2:3] not in (":", "P", "<", "=", "!", "#"):
        close = p.find(")")
        if close < 0 or ":" in p[2:close]:
            break
        flags += p[2:close]
        p = p[close + 1:].lstrip()
    if "x" not in flags:
        return p, flags
    out, i, in_class = [], 0, False
    while i < len(p):
        ch = p[i]
        if ch == "\\" and i + 1 < len(p):
            out.append(p[i:i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            out.append(ch)
        elif ch == "[":
            in_class = True
            out.append(ch)
            if p[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
            if p[i + 1:i + 2] == "]":  # a leading ] is a member
                out.append("]")
                i += 1
        elif p.startswith("(?#", i):
            i = p.index(")", i) + 1
            continue
        elif ch == "#":
            nl = p.find("\n", i)
            i = len(p) if nl < 0 else nl
            continue
        elif ch in " \t\r\n\f\v":
            pass
        else:
            out.append(ch)
        i += 1
    return "".join(out), flags


def reshape(regex):
    # a leading named group is a plain one to pipelock, which uses the whole match
    if regex.startswith("(?P<"):
        regex = "(?:" + regex[regex.index(">") + 1:]
    return transform(regex)


class RE2:
    """Go's regexp through scripts/re2match, built once."""

    def __init__(self):
        here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "re2match")
        self.bin = os.path.join(tempfile.mkdtemp(prefix="re2match."), "re2match")
        subprocess.run(["go", "build", "-o", self.bin, "."], cwd=here, check=True)
        self.proc = subprocess.Popen([self.bin], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, regex, texts):
        self.proc.stdin.write(json.dumps({"regex": regex, "texts": texts}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())


def as_list(x):
    return [str(v) for v in x] if isinstance(x, list) else []


def why_left_out(rule, parts, re2):
    """None when the rule is kept, else the reason."""
    if rule.get("visible") is False:
        return "hidden"
    if (rule.get("confidence") or "").lower() == "low":
        return "low confidence"
    if LEFT_OUT_CATEGORIES & set(rule.get("categories") or []):
        return "category"
    if (rule.get("pattern_requirements") or {}).get("ignore_if_contains"):
        return "silenced on placeholders in Titus"
    if not all(len(literal_prefix("(?i)" + x)) >= MIN_PREFIX for x in parts):
        return "no literal prefix"
    examples, negatives = as_list(rule.get("examples")), as_list(rule.get("negative_examples"))
    if not examples:
        return "no example"
    found_pos, found_neg = [False] * len(examples), [False] * len(negatives)
    for x in parts:
        a = re2.ask(x, examples + negatives)
        if "error" in a:
            return "Go's regexp: " + a["error"]
        found_pos = [f or g for f, g in zip(found_pos, a["found"][:len(examples)])]
        found_neg = [f or g for f, g in zip(found_neg, a["found"][len(examples):])]
    if not all(found_pos):
        return "misses one of its examples"
    if any(found_neg):
        return "finds one of its negative examples"
    return None


def commit_of(checkout):
    try:
        return subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: scripts/titus-dlp.py TITUS_CHECKOUT > csrc/dlp_titus.h")
    checkout = sys.argv[1]
    rules_dir = os.path.join(checkout, "pkg", "rule", "rules")
    rules = []
    for name in sorted(os.listdir(rules_dir)):
        if name.endswith(".yml"):
            with open(os.path.join(rules_dir, name)) as f:
                rules.extend((yaml.safe_load(f) or {}).get("rules") or [])
    re2 = RE2()
    kept, seen, reasons = [], set(), {}
    for r in rules:
        regex, _ = strip_extended(r["pattern"])
        parts = [x for x in reshape(regex) if x not in seen]
        why = why_left_out(r, parts, re2) if parts else "a duplicate"
        if why:
            reasons[why] = reasons.get(why, 0) + 1
            continue
        seen.update(parts)
        kept.append((r, parts))
    for why, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        sys.stderr.write("titus-dlp: left out %d: %s\n" % (n, why))
    w = sys.stdout.write
    w("/* Generated by scripts/titus-dlp.py from the rules of Titus (Apache-2.0,\n")
    w(" * github.com/praetorian-inc/titus at %s, pkg/rule/rules/):\n" % commit_of(checkout)[:12])
    w(" * %d of its %d rules, whose own sources are Nosey Parker and MongoDB's\n" % (len(kept), len(rules)))
    w(" * Kingfisher (both Apache-2.0).  Titus: Copyright 2026 Praetorian Security,\n")
    w(" * Inc.; Nosey Parker: Copyright 2023-2026 Praetorian Security, Inc.;\n")
    w(" * Kingfisher: Copyright MongoDB, Inc.  Reshaped as csrc/dlp_gitleaks.h's are.  Left\n")
    w(" * out: rules without a literal prefix of %d or more characters, fuzzy,\n" % MIN_PREFIX)
    w(" * generic, identifier, hash and test rules, low-confidence and hidden ones,\n")
    w(" * those Titus silences on placeholders, and any that Go's regexp refuses or\n")
    w(" * that misses one of its examples or finds one of its negative examples.\n")
    w(" * Do not edit by hand. */\n")
    w("#ifndef BC_DLP_TITUS_H\n#define BC_DLP_TITUS_H\n\n#include \"dlp_rule.h\"\n\n")
    w("static const struct bc_dlp_rule bc_dlp_titus[] = {\n")
    for r, parts in kept:
        for i, x in enumerate(parts):
            name = r["id"] if i == 0 else "%s (%d)" % (r["id"], i + 1)
            w("   { %s,\n     %s },\n" % (c_string(name, 1000), c_string(x)))
    w("   { NULL, NULL }\n};\n\n#endif\n")


if __name__ == "__main__":
    main()
