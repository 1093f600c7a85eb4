#!/usr/bin/env python
"""Bring code lines to at most 120 characters without changing what the code means.

    python tools/wrap_lines.py            # rewrite nbs/**/*.ipynb code cells, tests/, benchmarks/, tools/
    python tools/wrap_lines.py --check    # only report (exit 1 if it would change a file): nothing is written
    python tools/wrap_lines.py nbs/core/00_config.ipynb tests/test_repo.py   # just these files

Only statements that hold a line over the limit are touched (the house style is compact, so files are never
reformatted as a whole), in four steps, each edit checked on its own:
1. each such logical line is formatted with `ruff format --range` (line length 120, quotes preserved), bottom up;
2. long single-line string literals (f-strings, r/b/u prefixes, either quote, docstrings too) are split at spaces
   (never inside an f-string's `{...}`, never after a backslash) into implicitly concatenated pieces on
   continuation lines, parenthesised when the string is not already inside brackets;
3. long full-line comments are re-wrapped as comments with the same indent (`#|` directives are never touched);
   a trailing comment first loses surplus spaces before its `#`; if the line still does not fit,
4. a trailing comment that makes its line too long moves to comment lines of its own just above its statement (above
   the line itself when the statement is a multi-line class field), wrapped at the limit; and a
   docments comment (after a parameter, a return annotation or a class field) moves to ONE comment line just above
   that parameter or field (fastcore's docments reads a comment there too, but joins several comment lines with a
   newline, so it is never wrapped, and it is moved only when that line fits); a parameter on the `def` line is
   first put on a line of its own. `noqa`, `type:`, `pragma` and `fmt:` comments stay where they are.
An edit is kept only when the source still parses to the same AST (adjacent string constants merged) and the
docments (the `# comment` nbdev reads after each parameter or dataclass field) are unchanged; otherwise it is
undone and reported. Cells that do not parse as Python (IPython magics) are skipped. Needs only stdlib and ruff.
Prints per file the lines over the limit before and after, then every line still over it grouped by kind (to fix
by hand).

    python tools/wrap_lines.py --summaries tools/notebook_summaries.json   # also shorten notebook summaries

`--summaries` takes {"nbs/x.ipynb": {"old": ..., "new": ...}}: in the notebook's title cell (its first markdown cell)
the line `> old` becomes `> new` (nbdev copies that line into the exported module's docstring, which must fit).
"""
import argparse, ast, io, json, os, re, shutil, subprocess, sys, tempfile, textwrap, time, tokenize
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

MAX = 120
ROOT = Path(__file__).resolve().parent.parent
GLOBS = ["nbs/**/*.ipynb", "tests/**/*.py", "benchmarks/**/*.py", "tools/*.py"]
RUFF_TOML = f'line-length = {MAX}\ntarget-version = "py310"\n[format]\nquote-style = "preserve"\n'

# ---------------------------------------------------------------- checks: same AST, same docments

class _Norm(ast.NodeTransformer):
    "Merge adjacent string constants inside f-strings (`f'a ' f'b{x}'` and `f'a b{x}'` then dump the same)"
    def visit_JoinedStr(self, node):
        self.generic_visit(node)
        vals = []
        for v in node.values:
            if vals and isinstance(v, ast.Constant) and isinstance(vals[-1], ast.Constant):
                vals[-1] = ast.Constant(vals[-1].value + v.value)
            else: vals.append(v)
        node.values = vals
        return node

def _merge_imports(tree):
    "Consecutive `from m import a` / `from m import b` of one module read as `from m import a, b`"
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            stmts, out = getattr(node, field, None), []
            if not isinstance(stmts, list): continue
            for s in stmts:
                p = out[-1] if out else None
                same = isinstance(s, ast.ImportFrom) and isinstance(p, ast.ImportFrom)
                if same and (p.module, p.level) == (s.module, s.level): p.names = p.names + s.names
                else: out.append(s)
            setattr(node, field, out)
    return tree

def ast_key(src):
    "What the code means: its AST dump, adjacent string constants merged (and split package imports joined)"
    return ast.dump(_Norm().visit(_merge_imports(ast.parse(src))))

def _tokens(src):
    try: return list(tokenize.generate_tokens(io.StringIO(src).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError): return None

def docments_key(src, exact=False):
    """The docments fastcore reads: per function (and class) the comment of each parameter (field) and the return.
    `exact`: as fastcore's `docments(f)` finds them (positional-only parameters and `**kwargs` are no parameters to
    it, so a comment after `**kwargs` is read as the return's when the return annotation follows on the next line)"""
    toks, tree, out = _tokens(src) or [], ast.parse(src), []
    allc = {t.start[0]: t.string for t in toks if t.type == tokenize.COMMENT}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            p = {x.lineno: x.arg for x in (a.args if exact else a.posonlyargs + a.args)}
            if a.vararg: p[a.vararg.lineno] = a.vararg.arg
            p.update({x.lineno: x.arg for x in a.kwonlyargs})
            if a.kwarg and not exact: p[a.kwarg.lineno] = a.kwarg.arg
            if node.returns: p[node.returns.lineno] = "return"
            names = [x.arg for x in a.posonlyargs + a.args + [a.vararg] + a.kwonlyargs + [a.kwarg] if x] + ["return"]
        elif isinstance(node, ast.ClassDef):
            p = {x.lineno: x.target.id for x in node.body if isinstance(x, ast.AnnAssign) and hasattr(x.target, "id")}
            names = list(p.values())
        else: continue
        lo = min([d.lineno for d in node.decorator_list] + [node.lineno])
        c = {k: re.sub(r"^\s*#", "", v) for k, v in allc.items() if lo <= k <= node.end_lineno}
        def comment(line):
            if line in c: return c[line].strip()
            res, line = [], line - 1
            while line and line in c and line not in p: res.append(c[line]); line -= 1
            return textwrap.dedent("\n".join(reversed(res))) if res else None
        docs = {}
        for k, v in p.items(): docs.setdefault(v, comment(k))
        out.append((node.name, [(n, docs.get(n)) for n in names]))
    return out

def meaning(src):
    try: return ast_key(src), docments_key(src), docments_key(src, exact=True)
    except (SyntaxError, ValueError): return None

# ---------------------------------------------------------------- helpers

def over(src): return [i for i, l in enumerate(src.split("\n"), 1) if len(l) > MAX]

def _string_rows(toks, first=False):
    "Rows inside a multi-line string token (after its first row, or with it): formatting cannot shorten them"
    rows = set()
    for t in toks:
        if t.type == tokenize.STRING and t.end[0] > t.start[0]: rows.update(range(t.start[0] + 1 - first, t.end[0] + 1))
    return rows

def _code_len(line, toks_on_line):
    "Length of `line` without its trailing comment"
    cs = [t for t in toks_on_line if t.type == tokenize.COMMENT]
    return len(line[:cs[0].start[1]].rstrip()) if cs else len(line.rstrip())

def _by_row(toks):
    rows = {}
    for t in toks: rows.setdefault(t.start[0], []).append(t)
    return rows

# ---------------------------------------------------------------- step 1: ruff format --range

def ruff_exe():
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists(): sys.exit("wrap_lines: ruff not found (pip install ruff)")
    return exe

def ruff_range(src, start, end, cfg):
    "`src` with lines start..end (1-based, inclusive) formatted by ruff, or None if ruff fails"
    lines = src.split("\n")
    rng = f"{start}:1-{end}:{len(lines[end - 1]) + 1}"
    r = subprocess.run([RUFF, "format", "--config", cfg, f"--range={rng}", "--stdin-filename", "cell.py", "-"],
                       input=src, capture_output=True, text=True, encoding="utf-8")
    return r.stdout if r.returncode == 0 else None

def logical_lines(toks):
    "(first row, last row) of each logical line"
    out, start = [], None
    for t in toks:
        if t.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING): continue
        if t.type == tokenize.ENDMARKER: break
        if start is None: start = t.start[0]
        if t.type == tokenize.NEWLINE: out.append((start, t.start[0])); start = None
    if start is not None: out.append((start, toks[-1].start[0]))
    return out

def package_import(src, a, b, lib):
    """Lines a..b as one-line `from <lib>... import` statements, or None if they are not one such import
    (notebooks: nbdev rewrites a package import as relative only when it is on one line)"""
    lines = src.split("\n")
    text = "\n".join(lines[a - 1:b])
    try: node = ast.parse(textwrap.dedent(text)).body
    except SyntaxError: return None
    if len(node) != 1 or not isinstance(node[0], ast.ImportFrom) or "#" in text: return None
    imp = node[0]
    if not (imp.level or imp.module == lib or (imp.module or "").startswith(lib + ".")): return None
    ind = " " * (len(lines[a - 1]) - len(lines[a - 1].lstrip()))
    head = f"{ind}from {'.' * imp.level}{imp.module or ''} import "
    names = [x.name + (f" as {x.asname}" if x.asname else "") for x in imp.names]
    def fill(w):
        out = [head + names[0]]
        for n in names[1:]:
            if len(out[-1]) + 2 + len(n) <= w: out[-1] += ", " + n
            else: out.append(head + n)
        return out
    out = fill(MAX)
    for w in range(len(", ".join(names)) // len(out) + len(head), MAX):  # as many lines, evened out
        if len(fill(w)) == len(out): out = fill(w); break
    return "\n".join(lines[:a - 1] + out + lines[b:])

def step_format(src, cfg, log, lib=None):
    toks = _tokens(src)
    if toks is None: return src
    lines, rows, inside = src.split("\n"), _by_row(toks), _string_rows(toks)
    spans = {}
    for (r, c0, c1), _, _ in _strings(toks): spans.setdefault(r, []).append((c0, c1))
    def only_string(r):  # a line holding just one string literal (and closing brackets): a formatter cannot shorten it
        line = lines[r - 1][:_code_len(lines[r - 1], rows.get(r, []))]
        for c0, c1 in sorted(spans.get(r, []), reverse=True): line = line[:c0] + line[c1:]
        return len(spans.get(r, [])) == 1 and not line.strip(" ,)]}")
    def long_code(r): return r not in inside and _code_len(lines[r - 1], rows.get(r, [])) > MAX and not only_string(r)
    units = [(a, b) for a, b in logical_lines(toks) if any(long_code(r) for r in range(a, b + 1))]
    for a, b in reversed(units):
        new = (lib and package_import(src, a, b, lib)) or ruff_range(src, a, b, cfg)
        if new is None: log.append((a, "ruff could not format this statement")); continue
        if new == src: continue
        if meaning(new) != meaning(src):
            log.append((a, "formatting changed the AST or docments: not applied"))
            continue
        src = new
    return src

# ---------------------------------------------------------------- step 2: split long string literals

_PREFIX = re.compile(r"^([rRbBuUfF]*)('''|\"\"\"|'|\")")

def _breaks(body, raw, fstr):
    "Positions in `body` where a piece may start: just after a space, outside `{...}` fields and escapes"
    out, i, depth = [], 0, 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            if not raw and body.startswith("\\N{", i):
                j = body.find("}", i); i = len(body) if j < 0 else j + 1
            else: i += 2
            continue
        if fstr and ch in "{}":
            if depth == 0 and body.startswith(ch * 2, i): i += 2; continue
            depth += 1 if ch == "{" else -1; i += 1; continue
        if ch == " " and depth == 0 and i + 1 < len(body): out.append(i + 1)
        i += 1
    return out

def _cut(n, breaks, first, rest, last_room):
    "Cut points splitting a body of length n: first piece <= first, others <= rest, last one <= last_room"
    cuts, pos, budget = [], 0, first
    while n - pos > budget:
        ok = [b for b in breaks if pos < b <= pos + budget]
        b = ok[-1] if ok else next((b for b in breaks if b > pos), None)
        if b is None: break
        cuts.append(b); pos, budget = b, rest
    if n - pos > last_room:  # the last piece shares its line with what follows the string
        fit = [b for b in breaks if b > pos and n - b <= last_room]
        b = max([b for b in fit if b - pos <= budget], default=min(fit, default=None))
        if b is not None: cuts.append(b)
    return cuts

def _strings(toks):
    "Single-line top-level string literals: (token-like (row, c0, c1), bracket depth, neighbours are strings)"
    out, depth, sig = [], 0, []
    fdepth, fstart = 0, None
    FS, FE = getattr(tokenize, "FSTRING_START", -1), getattr(tokenize, "FSTRING_END", -1)
    for t in toks:
        if t.type == FS:
            if fdepth == 0: fstart = t
            fdepth += 1; continue
        if t.type == FE:
            fdepth -= 1
            if fdepth == 0: sig.append(("S", fstart.start, t.end, depth))
            continue
        if fdepth: continue
        if t.type == tokenize.STRING: sig.append(("S", t.start, t.end, depth))
        elif t.type == tokenize.OP:
            if t.string in "([{": depth += 1
            elif t.string in ")]}": depth -= 1
            sig.append(("O", t.start, t.end, depth))
        elif t.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            sig.append(("X", t.start, t.end, depth))
    for i, (k, s, e, d) in enumerate(sig):
        if k != "S" or s[0] != e[0]: continue
        near = (i and sig[i - 1][0] == "S") or (i + 1 < len(sig) and sig[i + 1][0] == "S")
        out.append(((s[0], s[1], e[1]), d, near))
    return out

def split_string(src, row, c0, c1, depth):
    "`src` with the string literal at row/columns split into pieces, or None when it cannot be split"
    lines = src.split("\n")
    line = lines[row - 1]
    tok = line[c0:c1]
    m = _PREFIX.match(tok)
    if not m: return None
    pre, q = m.groups()
    body = tok[len(pre) + len(q):len(tok) - len(q)]
    if len(q) == 3 and q[0] not in body: q = q[0]  # a one-line """docstring""" is split into "pieces"
    raw, fstr = "r" in pre.lower(), "f" in pre.lower()
    breaks = _breaks(body, raw, fstr)
    if not breaks: return None
    paren = depth == 0
    over_ = len(pre) + 2 * len(q)
    indent = len(line) - len(line.lstrip())
    sc = c0 + paren
    suffix = (")" if paren else "") + line[c1:]
    lead = MAX - sc - over_ < 30 and line[:c0].strip() != ""
    ind = indent + 4 if lead else sc
    first = (MAX - ind if lead else MAX - sc) - over_
    rest = MAX - ind - over_
    last_room = rest - len(suffix.rstrip())
    cuts = _cut(len(body), breaks, first, rest, last_room)
    if not cuts: return None
    for w in range(len(body) // (len(cuts) + 1), rest):  # as many pieces, evened out: no short last word alone
        even = _cut(len(body), breaks, min(first, w), w, min(last_room, w))
        if len(even) == len(cuts) and all(b - a <= w for a, b in zip([0] + even, even + [len(body)])):
            cuts = even; break
    bodies = [body[a:b] for a, b in zip([0] + cuts, cuts + [len(body)])]
    has_field = fstr and any(re.search(r"(?<!\{)\{(?!\{)", b) for b in bodies)
    def piece(b):
        p = pre
        if has_field and "{" not in b and "}" not in b: p = re.sub("[fF]", "", pre)
        return f"{p}{q}{b}{q}"
    pieces = [piece(b) for b in bodies]
    head = line[:c0] + ("(" if paren else "")
    if lead: out = [head.rstrip() if not paren else head] + [" " * ind + p for p in pieces]
    else: out = [head + pieces[0]] + [" " * ind + p for p in pieces[1:]]
    out[-1] += suffix
    return "\n".join(lines[:row - 1] + out + lines[row:])

def step_strings(src, log):
    done = set()
    while True:
        toks = _tokens(src)
        if toks is None: return src
        lines = src.split("\n")
        cand = []
        for (row, c0, c1), d, near in _strings(toks):
            line = lines[row - 1]
            if len(line) <= MAX or c1 - c0 < 12 or (d == 0 and near): continue
            key = (line, c0)
            if key in done: continue
            cand.append((row, c1 - c0, c0, c1, d, key))
        if not cand: return src
        row, _, c0, c1, d, key = max(cand)  # bottom-most line, longest string on it
        done.add(key)
        new = split_string(src, row, c0, c1, d)
        if new is None or new == src: continue
        if meaning(new) != meaning(src):
            log.append((row, "splitting a string changed the AST or docments: not applied"))
            continue
        src = new

# ---------------------------------------------------------------- step 3: comments

def step_comments(src, log):
    toks = _tokens(src)
    if toks is None: return src
    lines = src.split("\n")
    for t in reversed([t for t in toks if t.type == tokenize.COMMENT]):
        row, col = t.start
        line = lines[row - 1]
        if len(line) <= MAX: continue
        code = line[:col]
        if code.strip():  # trailing comment: only surplus spaces before the `#` may go
            short = code.rstrip() + " " + t.string
            if len(short) <= MAX and short != line:
                new = "\n".join(lines[:row - 1] + [short] + lines[row:])
                if meaning(new) == meaning(src): src, lines = new, new.split("\n")
            continue
        if t.string.startswith(("#|", "#!")) or re.search(r"noqa|type:\s", t.string): continue
        mark, text = re.match(r"(#+\s*)(.*)", t.string).groups()
        if mark.strip() == mark: mark += " "
        def wrap(w): return textwrap.wrap(text, w, break_long_words=False, break_on_hyphens=False)
        wrapped = wrap(MAX - col - len(mark))
        if len(wrapped) < 2: continue
        for w in range(len(text) // len(wrapped), MAX - col - len(mark)):  # as many lines, evened out
            if len(wrap(w)) == len(wrapped): wrapped = wrap(w); break
        new = "\n".join(lines[:row - 1] + [code + mark + w for w in wrapped] + lines[row:])
        if meaning(new) != meaning(src):
            log.append((row, "re-wrapping a comment changed the docments: not applied"))
            continue
        src, lines = new, new.split("\n")
    return src

# ---------------------------------------------------------------- step 4: move trailing comments above

_KEEP = re.compile(r"noqa|type:\s|pragma|fmt:\s*(off|on|skip)")

def comment_rows(src):
    """(docs, sig): rows where a trailing comment is a docment ({row: (kind, def node or None)}: a parameter, a
    return annotation or a class field), and all rows of `def` headers (their other trailing comments stay put)"""
    try: tree = ast.parse(src)
    except SyntaxError: return {}, set()
    docs, sig = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            for x in a.posonlyargs + a.args + [a.vararg] + a.kwonlyargs + [a.kwarg]:
                if x: docs[x.lineno] = ("param", node)
            if node.returns: docs[node.returns.lineno] = ("return", node)
            end = node.body[0].lineno - 1 if node.body[0].lineno > node.lineno else node.lineno
            sig.update(range(node.lineno, end + 1))
        elif isinstance(node, ast.ClassDef):
            docs.update({x.lineno: ("field", None) for x in node.body if isinstance(x, ast.AnnAssign)})
    return docs, sig

def _insert_row(toks, lines, row):
    "The row above which comment lines may go for code on `row`: not inside a multi-line token, not after a backslash"
    spans = [(t.start[0], t.end[0]) for t in toks if t.end[0] > t.start[0]
             and t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)]
    comment_end = {t.start[0] for t in toks if t.type == tokenize.COMMENT}
    while True:
        r = min([a for a, b in spans if a < row <= b], default=row)
        if r > 1 and lines[r - 2].rstrip().endswith("\\") and r - 1 not in comment_end: r -= 1
        if r == row: return r
        row = r

def _wrap_comment(indent, mark, text):
    "Comment lines at `indent` holding `text`, each within the limit (evened out), or None when a word does not fit"
    width = MAX - len(indent) - len(mark)
    def wrap(w): return textwrap.wrap(text, w, break_long_words=False, break_on_hyphens=False)
    out = wrap(width)
    if not out or any(len(w) > width for w in out): return None
    for w in range(len(text) // len(out), width):  # as many lines, evened out
        if len(wrap(w)) == len(out): out = wrap(w); break
    return [indent + mark + w for w in out]

_DEF = re.compile(r"^\s*(?:async\s+)?def\s+\w+\s*\(")

def move_comment(src, toks, row, t):
    "`src` with the trailing comment token `t` on `row` moved above its line, or (None, why not)"
    lines = src.split("\n")
    line, col = lines[row - 1], t.start[1]
    code = line[:col].rstrip()
    if len(code) > MAX: return None, None  # the code itself is too long: moving the comment does not help
    if _KEEP.search(t.string): return None, "a noqa/type/pragma/fmt comment stays on its line"
    mark, text = re.match(r"(#+:?\s*)(.*)", t.string).groups()
    mark, text = mark.rstrip() + " ", text.strip()
    docs, sig = comment_rows(src)
    def indent_of(r): return re.match(r"\s*", lines[r - 1]).group()
    if row in docs:  # a docment: ONE comment line just above the parameter or field
        kind, node = docs[row]
        m = _DEF.match(line) if node is not None and row == node.lineno else None
        if m:  # the parameter shares the `def` line: it gets a line of its own first
            if (node.body[0].lineno - 1 if node.body[0].lineno > node.lineno else node.lineno) <= row:
                return None, "a docments comment on a one-line `def` header"
            nxt = lines[row] if row < len(lines) else ""
            ind = re.match(r"\s*", nxt).group() if nxt.strip() and not nxt.strip().startswith(")") else " " * m.end()
            new_line = ind + mark + text
            if len(new_line) > MAX: return None, "docments comment longer than a line on its own"
            rest = line[m.end():col].rstrip()
            return "\n".join(lines[:row - 1] + [line[:m.end()], new_line, ind + rest] + lines[row:]), None
        if row in sig and node is not None and row == node.lineno:
            return None, "a docments comment on the `def` line"
        if _insert_row(toks, lines, row) != row: return None, "no place for a comment line above this line"
        new_line = indent_of(row) + mark + text
        if len(new_line) > MAX: return None, "docments comment longer than a line on its own"
        return "\n".join(lines[:row - 1] + [new_line, code] + lines[row:]), None
    if row in sig: return None, "a comment inside a `def` header"
    r = next((a for a, b in logical_lines(toks) if a <= row <= b), row)  # above the statement
    if r in docs or r in sig: r = _insert_row(toks, lines, row)  # a field's own comment line is its docment: not there
    wrapped = _wrap_comment(indent_of(r), mark, text)
    if wrapped is None: return None, "a word of the comment does not fit on a line"
    return "\n".join(lines[:r - 1] + wrapped + lines[r - 1:row - 1] + [code] + lines[row:]), None

def step_move_comments(src, log):
    tried = set()
    while True:
        toks = _tokens(src)
        if toks is None: return src
        lines = src.split("\n")
        cand = [t for t in toks if t.type == tokenize.COMMENT and len(lines[t.start[0] - 1]) > MAX
                and lines[t.start[0] - 1][:t.start[1]].strip() and lines[t.start[0] - 1] not in tried]
        if not cand: return src
        t = cand[-1]  # bottom-most: edits below do not move the rows above
        row = t.start[0]
        tried.add(lines[row - 1])
        new, why_not = move_comment(src, toks, row, t)
        if new is None:
            if why_not: log.append((row, why_not))
            continue
        if meaning(new) != meaning(src):
            log.append((row, "moving a comment changed the AST or docments: not applied"))
            continue
        src = new

# ---------------------------------------------------------------- one piece of code (cell or file)

def fix_source(src, cfg, lib=None):
    "`src` with its long lines wrapped, and a log of (row, problem); src unchanged when nothing is long"
    log = []
    if not over(src): return src, log
    before = meaning(src)
    if before is None: return src, [(0, "does not parse as Python: skipped")]
    new = step_format(src, cfg, log, lib)
    new = step_strings(new, log)
    new = step_comments(new, log)
    new = step_move_comments(new, log)
    if meaning(new) != before: return src, [(0, "AST or docments changed: cell/file refused, nothing written")]
    return new, log

def param_rows(src):
    "Rows holding a parameter, a return annotation or a class field, or in a `def` header: their comments stay"
    docs, sig = comment_rows(src)
    return set(docs) | sig

def why(line, row, toks, params):
    "Why a line is still too long (for the hand-fix list)"
    s = line.strip()
    if s.startswith("#|"): return "directive"
    if toks is None: return "not Python"
    if row in _string_rows(toks, first=True): return "inside a multi-line string"
    on = [t for t in toks if t.start[0] == row]
    if s.startswith("#"): return "comment (long word/URL)"
    if _code_len(line, on) <= MAX: return "docments comment" if row in params else "trailing comment"
    if any(t.type == tokenize.STRING and t.end[1] - t.start[1] > MAX // 2 for t in on):
        return "string (no space to split at)"
    return "code"

def set_summary(nb, old, new):
    "Replace the line `> old` of the notebook's title cell (its first markdown cell) by `> new`: (changed, problem)"
    cell = next((c for c in nb["cells"] if c["cell_type"] == "markdown"), None)
    lines = "".join(cell["source"]).split("\n") if cell else []
    if "> " + new in lines: return False, None
    if "> " + old not in lines: return False, "the summary line to replace is not in the title cell"
    lines[lines.index("> " + old)] = "> " + new
    cell["source"] = "\n".join(lines).splitlines(keepends=True)
    return True, None

def process(path, check, cfg, summaries=None):
    "Fix one file; returns (path, before, after, [(where, length, kind, text)], problems, changed)"
    is_nb = path.suffix == ".ipynb"
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text) if is_nb else None
    summary = (summaries or {}).get(Path(os.path.relpath(path, ROOT)).as_posix()) if is_nb else None
    cells = [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"] if is_nb \
        else [(None, text)]
    before = after = 0
    rest, probs, changed = [], [], False
    if summary:
        changed, problem = set_summary(nb, summary["old"], summary["new"])
        if problem: probs.append(("title cell", problem))
    for i, src in cells:
        before += len(over(src))
        new, log = fix_source(src, cfg, LIB if is_nb else None)
        where = (lambda r: f"cell {i} line {r}") if is_nb else (lambda r: f"line {r}")
        probs += [(where(r), m) for r, m in log]
        if new != src:
            changed = True
            if is_nb:
                nb["cells"][i]["source"] = new.splitlines(keepends=True)
            else: text = new
        after += len(over(new))
        toks, nl, params = _tokens(new), new.split("\n"), param_rows(new)
        for r in over(new): rest.append((where(r), len(nl[r - 1]), why(nl[r - 1], r, toks, params), nl[r - 1].strip()))
    if changed and not check:
        out = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n" if is_nb else text
        path.write_text(out, encoding="utf-8")
    return path, before, after, rest, probs, changed

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", help="files to fix (default: " + ", ".join(GLOBS) + ")")
    ap.add_argument("--check", action="store_true", help="report only, write nothing")
    ap.add_argument("--summaries", metavar="JSON", help='{"nbs/x.ipynb": {"old": ..., "new": ...}}: replace the '
                    "notebook's `> old` summary line by `> new` in its title cell")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="files processed at once")
    args = ap.parse_args(argv)
    summaries = json.loads(Path(args.summaries).read_text(encoding="utf-8")) if args.summaries else None
    if summaries:
        too_long = [k for k, v in summaries.items() if len(v["new"]) > MAX - 6]  # nbdev writes it as """new"""
        if too_long: sys.exit(f"wrap_lines: summaries over {MAX - 6} characters: {too_long}")
    global RUFF
    RUFF = ruff_exe()
    def skip(p): return any(s.startswith((".", "_")) for s in p.relative_to(ROOT).parts)  # as nbdev skips them
    paths = [Path(p).resolve() for p in args.paths] or sorted(p for g in GLOBS for p in ROOT.glob(g) if not skip(p))
    t0 = time.time()
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "ruff.toml")
        Path(cfg).write_text(RUFF_TOML)
        with ThreadPoolExecutor(args.jobs) as ex:
            res = list(ex.map(lambda p: process(p, args.check, cfg, summaries), paths))
    res = [r for r in res if r[1] or r[4] or r[5]]
    def rel(p): return os.path.relpath(p, ROOT)
    w = max([len(rel(r[0])) for r in res] + [4])
    print(f"{'file':<{w}}  before  after")
    for p, b, a, _, _, _ in res: print(f"{rel(p):<{w}}  {b:>6}  {a:>5}")
    print(f"{'total':<{w}}  {sum(r[1] for r in res):>6}  {sum(r[2] for r in res):>5}")
    left = [(rel(p), *x) for p, _, _, rest, _, _ in res for x in rest]
    if left:
        print(f"\n{len(left)} lines still over {MAX} (fix by hand), by kind:")
        for k in sorted({x[3] for x in left}, key=lambda k: -sum(x[3] == k for x in left)):
            print(f"\n{k}: {sum(x[3] == k for x in left)}")
            for f, where, n, kind, s in left:
                if kind == k: print(f"  {f}:{where}: {n} {s[:100]}")
    probs = [(rel(p), *x) for p, _, _, _, pr, _ in res for x in pr]
    if probs:
        print(f"\n{len(probs)} edits not applied:")
        for f, where, m in probs: print(f"{f}:{where}: {m}")
    kinds = {}
    for x in left: kinds[x[3]] = kinds.get(x[3], 0) + 1
    n = sum(r[5] for r in res)
    print(f"\n{'would change' if args.check else 'wrote'} {n} files in {time.time() - t0:.0f}s; left by kind: {kinds}")
    return 1 if args.check and n else 0

RUFF = "ruff"
_INI = (ROOT / "settings.ini").read_text() if (ROOT / "settings.ini").exists() else ""
LIB = (re.findall(r"(?m)^lib_name\s*=\s*(\S+)", _INI) or ["visreps"])[0]  # nbdev's package
if __name__ == "__main__": sys.exit(main())
