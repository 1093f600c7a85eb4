"""One thing, one name (issue 22): `roi` -> `target`, `layer` -> `readout`, `num_classes` -> `n_classes`, as a script.

Run from the repository root (`python tools/rename_vocabulary.py`, `--dry-run` to only report), then `nbdev_export`
and `nbdev_clean`. Lines a longer name pushes over 120 characters are wrapped by `tools/wrap_lines.py`. It is
idempotent: a second run changes nothing, and a run over code it has not seen renames the new occurrences the same
way. It never touches the generated `visreps/**/*.py` (exported from the notebooks), the
published tables under `data/` (they keep their authors' column names; the code renames `layer` to `readout` where it
reads them), nor `tools/house_move.py` (the record of an earlier move).

How a name is found, so that `surrounding`, `layernorm`, `layer1`, `n_layers` or `model_layer` stay what they are:
- Python (code cells, `.py`): tokenized. A NAME token is renamed by `NAMES` (whole identifiers only); a string is
  renamed where it is a key (`"roi"`, `"num_classes"`, `num_classes=8`, `{num_classes}`, ...); a comment where it
  names an identifier (`roi`, `num_classes`; a comment's "layer" is prose and stays).
- Markdown (cells, book pages, README): `roi`, `rois`, `num_classes` as whole lowercase words (prose writes "ROI",
  which stays); `layer` only as a code span (`` `layer` ``) or a key (`layer=`).
- YAML (plans, banks): keys and `{placeholders}`.

Before the general renames, the list of PCA granularities that was also called `n_classes` (LabelsConfig, the labels
command, `write_label_files`, the real92 reference notebook) becomes `granularities`, so that `num_classes` ->
`n_classes` does not merge two meanings. A line that maps an old name to a new one on purpose (reading old records:
both names quoted on one line, e.g. `rename(columns={"roi": "target"})`) is kept as it is, and reported.
"""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tokenize
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# whole identifiers, old -> new
NAMES = {
    "roi": "target",
    "rois": "targets",
    "ROIS": "TARGETS",
    "n_rois": "n_targets",
    "select_roi": "select_target",
    "roi_columns": "target_columns",
    "_roi_blocks": "_target_blocks",
    "_roi_labels": "_target_labels",
    "roi_features": "target_features",
    "num_classes": "n_classes",
    "layer": "readout",
    "layers": "readouts",
    "layer_by": "readout_by",
}
# names that stay although they contain an old word: NSD's own files and label volumes (an anatomical ROI on disk),
# the test fixture's masks, and torch's ResNet stages (`layer1` ...) which are not an API name
KEEP = {"roi_file", "roi_files", "roi_dir", "roi_labels", "roi_mask", "roi_means", "roi_count", "n_layers",
        "model_layer"}
# (notebook or file path fragment, name): an identifier that keeps its meaning there
KEEP_IN = {("models/20_zoo", "layer")}  # `for layer in ("layer1", ...)`: ResNet's stage attributes
# renamed in strings and comments as well as in code (a key's name); `layer` only as a whole string or a key
TEXT_WORDS = {k: v for k, v in NAMES.items() if k not in ("layer", "layers")}
# third-party constructors whose keyword stays `num_classes`
THIRD_PARTY = re.compile(r"\btvm\.|getattr\(tvm\b|\btimm\.|\bEfficientNet\.|\btorchvision\.models\b")
# the list of granularities K that shared the name `n_classes` (run first; each rule matches only the old form)
GRANULARITIES_PY = [
    (re.compile(r"\bn_classes(\s*:\s*list\b)"), r"granularities\1"),  # LabelsConfig's field
    (re.compile(r"(\bfor\s+\w+\s+in\s+(?:cfg\.)?)n_classes\b(?![.\[(])"), r"\1granularities"),  # iterated: a list
    (re.compile(r"\bn_classes(=VALID_N_CLASSES)"), r"granularities\1"),  # write_label_files' parameter
    (re.compile(r"(write_label_files\([^\n]*?\b(?:cfg\.)?)n_classes\b"), r"\1granularities"),
    (re.compile(r"^(\s*)n_classes(\s*=\s*\[)", re.M), r"\1granularities\2"),  # a notebook parameter: a list of K
    # LabelsConfig also has an int `n_classes` (its network's outputs): only a list or tuple is the granularities
    (re.compile(r"(LabelsConfig\((?:[^()]|\([^()]*\))*?)\bn_classes=(?=[\[(])"), r"\1granularities="),
    (re.compile(r"([\"'])n_classes=\["), r"\1granularities=["),  # `visreps labels granularities=[2,4]`
]
GRANULARITIES_YAML = [(re.compile(r"(params:\s*\{[^}\n]*?)\bn_classes(:\s*\[)"), r"\1granularities\2")]
GRANULARITIES_MD = [(re.compile(r"`n_classes=\["), r"`granularities=["), (re.compile(r"\bn_classes=\[(?=[\d, ]+\])"),
                                                                             r"granularities=[")]
# exact text written once, before the renames: reading old checkpoints (their model config says `num_classes`) and
# the published model-layer tables (their column is `layer`) with the new names
PATCHES = [
    ('if "num_classes" not in sec and "n_classes" in sec: sec["num_classes"] = sec.pop("n_classes")',
     'if "n_classes" not in sec and "num_classes" in sec: sec["n_classes"] = sec.pop("num_classes")'),
    ("    try: t = pd.read_csv(path)\n",
     '    try: t = pd.read_csv(path).rename(columns={"layer": "readout"})  # the authors\' `layer`\n'),
    ('df = pd.read_csv(path, index_col=0 if name == "data.csv" else None)',
     'df = pd.read_csv(path, index_col=0 if name == "data.csv" else None).rename(columns={"layer": "readout"})'),
    # the study table's column is `target` already: no renaming to compare it with the score table
    ('_st = _st[_st.split == "test"].rename(columns={"roi": "target"})', '_st = _st[_st.split == "test"]'),
]
# a line that names an old and its new name, both quoted, maps one to the other on purpose: it stays
PAIRS = [("roi", "target"), ("rois", "targets"), ("num_classes", "n_classes"), ("layer", "readout")]

TEXT_GLOBS = [
    "nbs/**/*.ipynb",
    "tests/**/*.py",
    "experiments/*.ipynb",
    "benchmarks/**/*.py",
    "benchmarks/*.md",
    "book/**/*.md",
    "plans/*.yaml",
    "banks/*.yaml",
    "README.md",
    "tools/*.py",
    "tools/*.sh",
    "Makefile",
]
SKIP = {"tools/rename_vocabulary.py", "tools/house_move.py", "tests/test_vocabulary.py",
        "tests/test_layering.py"}  # the package's layers (core < data < ...), not a network's

# NSD keeps its ROI files in a folder `roi/`: a path's `/roi` stays
_WORD = {k: re.compile(rf"(?<![\w{'/' if 'roi' in k else ''}]){re.escape(k)}(?![\w{'/' if 'roi' in k else ''}])")
         for k in TEXT_WORDS}
_MDWORD = {k: re.compile(rf"(?<![\w{'/-' if 'roi' in k else ''}]){re.escape(k)}(?![\w{'/-' if 'roi' in k else ''}])")
           for k in TEXT_WORDS}
_LAYER_KEY = re.compile(r"(?<![\w.])(layers?)(?==(?!=))")  # `layer=...` in a string (a key=value, a message)
# a placeholder, a quoted name, a column among the model-layer tables' columns, a parameter named in a message
_LAYER_FMT = re.compile(r"\{(layers?)\}|(?<=['`])(layers?)(?=['`])|(?<=source, )(layer)(?=,)|(?<=source/)(layer)(?=`)"
                        r"|(?<![\w-])(layers)(?= is empty)")
_MD_LAYER = re.compile(r"`(layers?)(=?)`|(?<![\w.\-])(layers?)(?==(?!=))")


class Tally:
    def __init__(self): self.per_file: dict[str, Counter] = {}; self.kept: list[str] = []; self.warn: list[str] = []

    def add(self, where: str, old: str, new: str, n: int = 1):
        if n: self.per_file.setdefault(where, Counter())[f"{old} -> {new}"] += n


T = Tally()


def _protected(line: str) -> bool:
    return any(re.search(rf"[\"']{a}[\"']", line) and re.search(rf"[\"']{b}[\"']", line) for a, b in PAIRS)


def _sub_words(text: str, where: str, pats: dict) -> str:
    for old, pat in pats.items():
        text, n = pat.subn(TEXT_WORDS[old], text)
        T.add(where, old, TEXT_WORDS[old], n)
    return text


def _rules(text: str, rules, where: str, label: str) -> str:
    for pat, rep in rules:
        text, n = pat.subn(rep, text)
        T.add(where, label, "granularities", n)
    return text


def _string(s: str, where: str) -> str:
    "A string literal (quotes included): keys and placeholders renamed."
    body = s.strip("rRbBuUfF").strip("\"'")
    if any(k in where and o in ("layer", "layers") for k, o in KEEP_IN): return _sub_words(s, where, _WORD)
    if body in ("layer", "layers"):
        T.add(where, body, NAMES[body])
        return s.replace(body, NAMES[body])
    s = _sub_words(s, where, _WORD)

    def lay(m):
        w = next(g for g in m.groups() if g)
        T.add(where, w, NAMES[w])
        return m.group(0).replace(w, NAMES[w])
    return _LAYER_FMT.sub(lay, _LAYER_KEY.sub(lay, s))


def _fstring_fields(s: str, where: str) -> str:
    "Whole identifiers of `NAMES` inside an f-string's replacement fields (`{len(layers)}`): Python < 3.12 gives the "
    "whole f-string as one STRING token, so the NAME pass does not see them."
    if "f" not in re.match(r"[A-Za-z]*", s).group(0).lower(): return s

    def name(m):
        w = m.group(0)
        if w in KEEP or any(k in where and o == w for k, o in KEEP_IN): return w
        T.add(where, w, NAMES[w])
        return NAMES[w]

    def field(m):
        return "{" + _FIELD_NAME.sub(name, m.group(1)) + m.group(2)
    return _FIELD.sub(field, s)


_FIELD = re.compile(r"(?<!\{)\{(?!\{)([^{}:!'\"]*)([:!}])")  # a replacement field's expression (no nested quotes)
_FIELD_NAME = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, sorted(NAMES, key=len, reverse=True))) + r")(?!\w)")


def _python(code: str, where: str) -> str:
    "Identifier-aware renames of Python source (magics and shell lines are left as they are)."
    masked = "\n".join(("#" + ln[1:]) if ln.lstrip()[:1] in ("!", "%") else ln for ln in code.split("\n"))
    try: toks = list(tokenize.generate_tokens(io.StringIO(masked).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as e:
        T.warn.append(f"{where}: not tokenized ({e}); left as it is")
        return code
    lines = code.split("\n")
    names = {t.string for t in toks if t.type == tokenize.NAME}
    for old, new in NAMES.items():
        if old in names and new in names and old not in ("num_classes",) and not any(
                k in where and o == old for k, o in KEEP_IN):
            T.warn.append(f"{where}: both `{old}` and `{new}` are names here; check the renamed code")
    edits = []  # (row, col_start, col_end, new text)
    for i, t in enumerate(toks):
        (r0, c0), (r1, c1) = t.start, t.end
        if r0 > len(lines): continue
        if _protected(lines[r0 - 1]):
            if t.type == tokenize.NAME and t.string in NAMES or t.type == tokenize.STRING and any(
                    k in t.string for k in NAMES):
                T.kept.append(f"{where}: {lines[r0 - 1].strip()}")
            continue
        if t.type == tokenize.NAME and t.string in NAMES and t.string not in KEEP:
            if any(k in where and o == t.string for k, o in KEEP_IN): continue
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            is_kw = nxt is not None and nxt.type == tokenize.OP and nxt.string == "="
            if t.string == "num_classes" and is_kw and THIRD_PARTY.search(lines[r0 - 1]): continue
            edits.append((r0, c0, r1, c1, NAMES[t.string])); T.add(where, t.string, NAMES[t.string])
        elif t.type == tokenize.STRING:
            new = _fstring_fields(_string(t.string, where), where)
            if new != t.string: edits.append((r0, c0, r1, c1, new))
        elif t.type == tokenize.COMMENT:
            new = _sub_words(t.string, where, _WORD)
            if new != t.string: edits.append((r0, c0, r1, c1, new))
    for r0, c0, r1, c1, new in sorted(edits, reverse=True):
        if r0 == r1: lines[r0 - 1] = lines[r0 - 1][:c0] + new + lines[r0 - 1][c1:]
        else:
            head, tail = lines[r0 - 1][:c0], lines[r1 - 1][c1:]
            new_lines = (head + new + tail).split("\n")
            lines[r0 - 1:r1] = new_lines
    return "\n".join(lines)


def _patch(text: str, where: str) -> str:
    for old, new in PATCHES:
        if old in text and not (old in new and new in text):  # (a patch may extend its old text)
            text = text.replace(old, new); T.add(where, "patch", new[:60] + "...")
    return text


def rewrite_python(code: str, where: str) -> str:
    return _python(_rules(_patch(code, where), GRANULARITIES_PY, where, "n_classes (list of K)"), where)


def rewrite_markdown(text: str, where: str) -> str:
    text = _rules(text, GRANULARITIES_MD, where, "n_classes (list of K)")
    out = []
    for ln in text.split("\n"):
        if _protected(ln): out.append(ln); continue
        ln = _sub_words(ln, where, _MDWORD)

        def lay(m):
            w = m[1] or m[3]
            T.add(where, w, NAMES[w])
            return m.group(0).replace(w, NAMES[w])
        out.append(_MD_LAYER.sub(lay, ln))
    return "\n".join(out)


def rewrite_yaml(text: str, where: str) -> str:
    text = _rules(text, GRANULARITIES_YAML, where, "n_classes (list of K)")
    return "\n".join(ln if ln.lstrip().startswith("#") else _string(ln, where) for ln in text.split("\n"))


def rewrite_notebook(p: Path, where: str, dry: bool) -> bool:
    nb = json.loads(p.read_text())
    changed = False
    for k, c in enumerate(nb["cells"]):
        s = "".join(c["source"])
        w = f"{where}[{k}]"
        n = rewrite_python(s, w) if c["cell_type"] == "code" else rewrite_markdown(s, w)
        if n != s: c["source"] = n.splitlines(keepends=True); changed = True
        for cw in [x for x in T.per_file if x.startswith(where + "[")]:
            T.per_file.setdefault(where, Counter()).update(T.per_file.pop(cw))
    if changed and not dry: p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return changed


def files() -> list[Path]:
    out = {p for g in TEXT_GLOBS for p in ROOT.glob(g) if p.is_file()}
    return sorted(p for p in out if ".venv" not in p.parts and str(p.relative_to(ROOT)) not in SKIP
                  and "_proc" not in p.parts and ".ipynb_checkpoints" not in p.parts)


def main(dry: bool = False) -> int:
    n_changed, touched = 0, []
    for p in files():
        where = str(p.relative_to(ROOT))
        if p.suffix == ".ipynb": changed = rewrite_notebook(p, where, dry)
        else:
            t = p.read_text()
            if p.suffix == ".py": n = rewrite_python(t, where)
            elif p.suffix in (".yaml", ".yml"): n = rewrite_yaml(t, where)
            elif p.suffix == ".md": n = rewrite_markdown(t, where)
            else: n = _string(t, where) if p.suffix == ".sh" or p.name == "Makefile" else t
            changed = n != t
            if changed and not dry: p.write_text(n)
        n_changed += changed
        if changed and p.suffix in (".py", ".ipynb") and where.split("/")[0] in ("nbs", "tests", "benchmarks", "tools"):
            touched.append(where)
    if touched and not dry:  # a longer name can push a line over 120 characters: wrapped as the house style does
        subprocess.run([sys.executable, str(ROOT / "tools" / "wrap_lines.py"), *touched], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    for where, c in sorted(T.per_file.items()):
        print(f"{where}: " + ", ".join(f"{k} x{v}" for k, v in sorted(c.items())))
    for k in sorted(set(T.kept)): print(f"kept (maps old to new on purpose): {k}")
    for w in sorted(set(T.warn)): print(f"check: {w}")
    print(f"{'would change' if dry else 'changed'} {n_changed} files"
          + ("; now: nbdev_export, nbdev_clean, the tests" if n_changed and not dry else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(dry="--dry-run" in sys.argv[1:]))
