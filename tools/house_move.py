"""The house move of issue 22, as a script: flat modules into layer folders, one notebook per module.

Run once from the repository root on the tree before the move (`python tools/house_move.py`), then `nbdev_export`.
It is kept as the record of what moved where: `MODULES` maps every old module to its new home, `NAMES` the
definitions that left a module that was split, `CELLS` the notebook cells that moved with them. Every reference in
the notebooks, tests, experiments, benchmarks, plans, book pages and README is rewritten from these tables.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# old module (under visreps.) -> (new module, new notebook path under nbs/)
MODULES = {
    "core": ("core.config", "core/00_config"),
    "storage": ("core.storage", "core/01_storage"),
    "backend": ("core.backend", "core/02_backend"),
    "dataset": ("data.dataset", "data/10_dataset"),
    "rdmset": ("metrics.rdm_scores", "metrics/31_rdm_scores"),
    "world": ("data.world", "data/12_world"),
    "data.images": ("data.loaders.images", "data/loaders/13_images"),
    "data.nsd": ("data.loaders.nsd", "data/loaders/14_nsd"),
    "data.nsd_synthetic": ("data.loaders.nsd_synthetic", "data/loaders/15_nsd_synthetic"),
    "data.tvsd": ("data.loaders.tvsd", "data/loaders/16_tvsd"),
    "data.things_images": ("data.loaders.things_images", "data/loaders/17_things_images"),
    "data.brainio": ("data.loaders.brainio", "data/loaders/18_brainio"),
    "data.kriegeskorte92": ("data.loaders.kriegeskorte92", "data/loaders/18_kriegeskorte92"),
    "data.sources": ("data.sources", "data/19_sources"),
    "models": ("models.zoo", "models/20_zoo"),
    "identity": ("models.identity", "models/21_identity"),
    "features": ("models.features", "models/22_features"),
    "labeling": ("training.labels", "training/23_labels"),
    "training": ("training.trainer", "training/24_trainer"),
    "steps": ("training.steps", "training/25_steps"),
    "rsa": ("metrics.rsa", "metrics/30_rsa"),
    "crossval_rdm": ("metrics.crossval_rdm", "metrics/32_crossval_rdm"),
    "reweighted_rsa": ("metrics.reweighted_rsa", "metrics/33_reweighted_rsa"),
    "cka": ("metrics.cka", "metrics/34_cka"),
    "reliability": ("metrics.reliability", "metrics/35_reliability"),
    "encoding": ("metrics.encoding", "metrics/36_encoding"),
    "pls": ("metrics.pls", "metrics/37_pls"),
    "dimensionality": ("metrics.dimensionality", "metrics/38_dimensionality"),
    "geometry": ("metrics.geometry", "metrics/39_geometry"),
    "cvpca": ("metrics.cvpca", "metrics/40_cvpca"),
    "variance_partition": ("metrics.variance_partition", "metrics/41_variance_partition"),
    "gram": ("metrics.gram", "metrics/42_gram"),
    "edstudy": ("metrics.edstudy", "metrics/43_edstudy"),
    "inference": ("metrics.inference", "metrics/44_inference"),
    "results": ("study.results", "study/50_results"),
    "feature_cache": ("study.feature_cache", "study/51_feature_cache"),
    "evaluate": ("study.evaluate", "study/53_evaluate"),
    "scoring": ("study.scoring", "study/54_scoring"),
    "bank": ("study.bank", "study/55_bank"),
    "sweep": ("app.sweep", "app/90_sweep"),
    "book": ("app.book", "app/91_book"),
    "cli": ("app.cli", "app/92_cli"),
}
OLD_NB = {
    "core": "00_core",
    "storage": "01_storage",
    "backend": "02_backend",
    "dataset": "10_dataset",
    "world": "11_world",
    "data.images": "12_images",
    "data.nsd": "13_nsd",
    "data.nsd_synthetic": "14_nsd_synthetic",
    "data.tvsd": "15_tvsd",
    "data.things_images": "16_things_images",
    "data.brainio": "17_brainio",
    "data.kriegeskorte92": "18_kriegeskorte92",
    "data.sources": "19_sources",
    "models": "20_models",
    "features": "21_features",
    "labeling": "22_labeling",
    "training": "23_training",
    "identity": "24_identity",
    "rsa": "30_rsa",
    "rdmset": "31_rdmset",
    "crossval_rdm": "32_crossval_rdm",
    "reweighted_rsa": "33_reweighted_rsa",
    "cka": "34_cka",
    "reliability": "35_reliability",
    "encoding": "36_encoding",
    "pls": "37_pls",
    "dimensionality": "38_dimensionality",
    "geometry": "39_geometry",
    "cvpca": "40_cvpca",
    "variance_partition": "41_variance_partition",
    "gram": "42_gram",
    "edstudy": "43_edstudy",
    "inference": "44_inference",
    "results": "50_results",
    "feature_cache": "51_feature_cache",
    "steps": "52_steps",
    "evaluate": "53_evaluate",
    "scoring": "54_scoring",
    "bank": "55_bank",
    "sweep": "56_sweep",
    "cli": "90_cli",
    "book": "91_book",
}
NEW_NBS = {"rdms": "data/11_rdms", "analyses": "study/52_analyses"}
PACKAGE_NB = ("92_package", "99_package")

# definitions that left a split module: old module -> {name: new module}
NAMES = {
    "core": {
        **dict.fromkeys(("atomic_path", "write_text_atomic", "write_json_atomic", "_json_default"), "core.storage"),
        **dict.fromkeys(("get_device", "as_tensor", "to_numpy", "seed_everything", "compute_dtype"), "core.backend"),
    },
    "rdmset": dict.fromkeys(("KINDS", "DESCRIPTORS", "RDM_DIMS", "make_rdms", "validate_rdms", "RDMSet"), "data.rdms"),
    "scoring": dict.fromkeys(
        (
            "Analysis",
            "ANALYSES",
            "STUDY_ANALYSES",
            "analyses_of",
            "SCORE_COLUMNS",
            "score_table",
            "_convention",
            "_VALUE_MEANS",
        ),
        "study.analyses",
    ),
    "dimensionality": dict.fromkeys(
        ("POOLING_MODES", "_PROJECTION_BLOCK", "gaussian_projection", "pool_activations"), "models.features"
    ),
    "data.things_images": dict.fromkeys(("things_image_root",), "data.loaders.images"),
    "data.sources": dict.fromkeys(("read_things_embeddings", "write_things_fixture"), "data.loaders.things_images"),
    "bank": dict.fromkeys(("world_task_labels", "train_world_models"), "training.steps"),
}

# text files whose references are rewritten
TEXT_GLOBS = [
    "nbs/**/*.ipynb",
    "tests/**/*.py",
    "experiments/*.ipynb",
    "benchmarks/**/*.py",
    "benchmarks/*.md",
    "book/**/*.md",
    "book/*.yml",
    "plans/*.yaml",
    "banks/*.yaml",
    "README.md",
    "Makefile",
    "tools/*.sh",
    "setup.py",
    "settings.ini",
    "pyproject.toml",
    "data/**/*.md",
]

def new_module(old: str, name: str | None = None) -> str:
    if name is not None and name in NAMES.get(old, {}): return NAMES[old][name]
    return MODULES[old][0]

_OLD = sorted(MODULES, key=len, reverse=True)
_ALT = "|".join(re.escape(m) for m in _OLD)
# one pass over the text, so that nothing written is read again:
# `from visreps.X import a, b` (X an old module; names on one line or parenthesised), `from visreps import X, Y`,
# and any dotted name `visreps.X` or `visreps.X.name`
_REF = re.compile(
    r"(?P<from>from visreps\.(?P<fmod>" + _ALT + r")(?![\w.]) import (?P<fnames>\([^)]*\)|[\w ,]+))"
    r"|(?P<pkg>from visreps import (?P<pnames>[\w ,]+))"
    r"|(?P<dot>(?<![\w.])visreps\.(?P<dmod>" + _ALT + r")(?![\w])(?:\.(?P<dname>\w+))?)")
_NBPATH = re.compile(r"nbs/(?P<nb>\d\d_\w+)\.ipynb")


def _names(names: str) -> list[str]:
    inner = names.strip()
    if inner.startswith("("): inner = inner[1:-1]
    return [n.strip() for n in inner.split(",") if n.strip()]


def _rewrite_from(m: re.Match, text: str) -> str:
    old, names = m["fmod"], _names(m["fnames"])
    groups: dict[str, list[str]] = {}
    for n in names: groups.setdefault(new_module(old, n.split(" as ")[0].strip()), []).append(n)
    line_start = text.rfind("\n", 0, m.start()) + 1
    prefix = text[line_start:m.start()]
    sep = "\n" + prefix if prefix.strip() == "" else "; "
    trail = m["fnames"][len(m["fnames"].rstrip()):]
    return sep.join(f"from visreps.{mod} import {', '.join(ns)}" for mod, ns in groups.items()) + trail


def _rewrite_pkg(m: re.Match) -> str:
    names = _names(m["pnames"])
    trail = m["pnames"][len(m["pnames"].rstrip()):]
    if not all(n.split(" as ")[0].strip() in MODULES for n in names): return m.group(0)
    out = []
    for n in names:
        base, _, alias = (x.strip() for x in n.partition(" as "))
        parent, _, leaf = new_module(base).rpartition(".")
        alias = alias or (base if leaf != base else "")
        out.append(f"from visreps.{parent} import {leaf}" + (f" as {alias}" if alias else ""))
    return "; ".join(out) + trail


def _rewrite_dot(m: re.Match) -> str:
    old, name = m["dmod"], m["dname"]
    if name is not None and name in NAMES.get(old, {}): return f"visreps.{NAMES[old][name]}.{name}"
    return f"visreps.{MODULES[old][0]}" + (f".{name}" if name else "")


def rewrite_nbpath(m: re.Match) -> str:
    nb = m["nb"]
    for old, o in OLD_NB.items():
        if o == nb: return f"nbs/{MODULES[old][1]}.ipynb"
    if nb == PACKAGE_NB[0]: return f"nbs/app/{PACKAGE_NB[1]}.ipynb"
    return m.group(0)


def rewrite_text(text: str) -> str:
    def one(m):
        if m["from"]: return _rewrite_from(m, text)
        if m["pkg"]: return _rewrite_pkg(m)
        return _rewrite_dot(m)
    return _NBPATH.sub(rewrite_nbpath, _REF.sub(one, text))


# ---- notebook surgery ----------------------------------------------------------------------------------------------
def load(p: Path) -> dict: return json.loads(p.read_text())


def save(p: Path, nb: dict):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def src(c) -> str: return "".join(c["source"])


def set_src(c, s: str): c["source"] = s.splitlines(keepends=True)


def find(nb, pattern: str) -> int:
    hits = [i for i, c in enumerate(nb["cells"]) if re.search(pattern, src(c), re.M)]
    assert len(hits) == 1, f"{pattern!r}: {len(hits)} cells"
    return hits[0]


def take(nb, start: str, stop: str | None = None) -> list:
    "Remove and return the cells from the one matching `start` up to (not including) the one matching `stop`."
    i = find(nb, start)
    j = find(nb, stop) if stop else len(nb["cells"])
    assert j > i, (start, stop)
    out = nb["cells"][i:j]
    del nb["cells"][i:j]
    return out


def insert_before(nb, pattern: str | None, cells: list):
    i = find(nb, pattern) if pattern else len(nb["cells"])
    nb["cells"][i:i] = cells


def md(text: str) -> dict: return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}


def code(text: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": text.splitlines(keepends=True),
    }


def git(*args): subprocess.run(["git", *args], cwd=ROOT, check=True)


def move_notebooks():
    for old, (mod, path) in MODULES.items():
        src_p, dst_p = ROOT / "nbs" / f"{OLD_NB[old]}.ipynb", ROOT / "nbs" / f"{path}.ipynb"
        dst_p.parent.mkdir(parents=True, exist_ok=True)
        git("mv", str(src_p), str(dst_p))
    dst = ROOT / "nbs" / "app" / f"{PACKAGE_NB[1]}.ipynb"
    git("mv", str(ROOT / "nbs" / f"{PACKAGE_NB[0]}.ipynb"), str(dst))


def nbp(path: str) -> Path: return ROOT / "nbs" / f"{path}.ipynb"


def split_cells():
    "The cells of the four straddling modules (and two cycles) move to where their layer is."
    # core: the atomic writes join storage (one atomic write); the backend re-export shim goes
    core, storage = load(nbp("core/00_config")), load(nbp("core/01_storage"))
    shim = find(core, r"^_BACKEND_NAMES"); del core["cells"][shim]
    atomic = take(core, r"^## Atomic writes", r"^## Typed configs\n")
    del storage["cells"][find(storage, r"^def write_text_atomic")]
    insert_before(storage, r"^## Folders that appear whole", atomic)
    save(nbp("core/00_config"), core); save(nbp("core/01_storage"), storage)
    # rdmset: the container is data (data/11_rdms), the analyses stay metrics (metrics/31_rdm_scores)
    scores = load(nbp("metrics/31_rdm_scores"))
    head = [json.loads(json.dumps(c)) for c in scores["cells"][:4]]
    container = take(scores, r"^Many public data sets share RDMs", r"^## Pooling subjects")
    rdms = dict(scores, cells=[*head, *container])
    set_src(rdms["cells"][0], "#| default_exp data.rdms")
    set_src(rdms["cells"][2], "# RDM data sets\n> A validated container for data sets that share only representational "
            "dissimilarity matrices (RDMs), not responses: `make_rdms` and `RDMSet`.")
    i = find(scores, r"^# RDM data sets")
    set_src(
        scores["cells"][i],
        "# Scores against an RDM set\n> The noise ceiling of an RDM set, an exact stimulus bootstrap, "
        "and RSA scores of a network's features against every target of an RDM set.",
    )
    fixture = [json.loads(json.dumps(c)) for c in container if "rand_rdm" in src(c)]
    insert_before(scores, r"^## Pooling subjects", fixture)
    save(nbp("data/11_rdms"), rdms); save(nbp("metrics/31_rdm_scores"), scores)
    # scoring: the registry of analyses and the score table's columns are study/52_analyses; score_model stays
    scoring = load(nbp("study/54_scoring"))
    head = [json.loads(json.dumps(c)) for c in (scoring["cells"][0], scoring["cells"][3], scoring["cells"][4])]
    reg = take(scoring, r"^## One registry of analyses", r"^## Options")
    analyses = dict(
        scoring,
        cells=[
            head[0],
            md(
                "# Analyses and the score table\n> One registry of the analyses both studies "
                "run, and the columns of the score table every route writes."
            ),
            *head[1:],
            *reg,
        ],
    )
    set_src(analyses["cells"][0], "#| default_exp study.analyses")
    save(nbp("study/52_analyses"), analyses); save(nbp("study/54_scoring"), scoring)
    # dimensionality: pooling conv activations is a feature reduction (models/22_features)
    dim, feats = load(nbp("metrics/38_dimensionality")), load(nbp("models/22_features"))
    pool = take(dim, r"^## Pooling convolutional activations", r"^## The PCA-reconstruction control")
    pool.insert(1, code("_rng = np.random.default_rng(0)"))
    i = find(feats, r"^MANIFEST = ")
    while feats["cells"][i - 1]["cell_type"] == "markdown": i -= 1
    feats["cells"][i:i] = pool
    save(nbp("metrics/38_dimensionality"), dim); save(nbp("models/22_features"), feats)
    # things_images <-> tvsd: the THINGS folder rule is an image-folder rule (data/loaders/13_images)
    things, images = load(nbp("data/loaders/17_things_images")), load(nbp("data/loaders/13_images"))
    root = take(things, r"^EXPECTED_LAYOUT = ", r"^def things_image_table")
    s = src(root[0]).replace("EXPECTED_LAYOUT", "THINGS_LAYOUT")
    set_src(root[0], s)
    images["cells"].extend(
        [
            md(
                "## THINGS image folders\nThe THINGS database unpacks into one folder per concept; TVSD and the "
                "THINGS loader both find that folder the same way."
            ),
            *root,
        ]
    )
    for c in things["cells"]: set_src(c, src(c).replace("EXPECTED_LAYOUT", "THINGS_LAYOUT"))
    # sources: THINGS embeddings are a THINGS loader
    sources = load(nbp("data/19_sources"))
    emb = take(sources, r"^## THINGS behavioural embeddings", r"^## One entry point")
    insert_before(things, r"^## A fixture in the database's layout", emb)
    save(nbp("data/loaders/17_things_images"), things); save(nbp("data/loaders/13_images"), images)
    save(nbp("data/19_sources"), sources)
    # bank: quick training runs on the world are a training step (training/25_steps)
    bank, steps = load(nbp("study/55_bank")), load(nbp("training/25_steps"))
    quick = take(bank, r"^## Quick training runs on the world", r"^## Command")
    steps["cells"].extend(quick)
    save(nbp("study/55_bank"), bank); save(nbp("training/25_steps"), steps)


def set_default_exp():
    for old, (mod, path) in MODULES.items():
        nb = load(nbp(path))
        i = find(nb, r"^#\| default_exp ")
        set_src(nb["cells"][i], f"#| default_exp {mod}")
        save(nbp(path), nb)


def rewrite_all():
    files = sorted({p for g in TEXT_GLOBS for p in ROOT.glob(g) if p.is_file() and ".venv" not in p.parts})
    for p in files:
        if p.suffix == ".ipynb":
            nb = load(p); changed = False
            for c in nb["cells"]:
                s = src(c); n = rewrite_text(s)
                if n != s: set_src(c, n); changed = True
            if changed: save(p, nb)
            continue
        t = p.read_text()
        n = rewrite_text(t)
        if n != t: p.write_text(n)


if __name__ == "__main__":
    if not (ROOT / "nbs" / "00_core.ipynb").exists(): sys.exit("the move is done already (nbs/00_core.ipynb is gone)")
    move_notebooks()
    split_cells()
    set_default_exp()
    rewrite_all()
    for old in MODULES:
        f = ROOT / "visreps" / (old.replace(".", "/") + ".py")
        if f.exists(): git("rm", "-q", str(f))
    print("moved; now: nbdev_export, then the tests")
