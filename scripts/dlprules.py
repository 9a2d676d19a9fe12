"""What the scripts that turn a secret scanner's rule set into DLP patterns
for pipelock share (gitleaks-dlp.py, titus-dlp.py): the literal skeletons
of a regex (does every match spell a keyword?), pipelock's literal prefix
(its prefilter runs a pattern only on text holding it), the reshaping that
gives a rule such a prefix without losing a match, and C string output."""
import json
import re
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
