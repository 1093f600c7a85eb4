"""One thing, one name: the names retired for the glossary's (`roi` for `target`, `layer` for `readout`, `num_classes`
for `n_classes`; visreps/core/vocabulary.py) do not come back as public names of the package.

The package's modules are read as syntax trees (nothing imported): a parameter, a dataclass field, an attribute, a
keyword argument, a function or class name, a string key, may not be a retired name. Local variables and prose are free.
`tools/rename_vocabulary.py` renames what this test finds.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RETIRED = {"roi": "target", "rois": "targets", "num_classes": "n_classes", "layer": "readout", "layers": "readouts"}
# names that contain a retired word but mean something else: NSD's own ROI files and label volumes on disk
ALLOWED_NAMES = {"roi_dir", "roi_file", "roi_labels"}
# (module, the retired name, why it may appear there)
ALLOWED = {
    # torchvision, timm and efficientnet_pytorch take `num_classes=`: a third-party keyword
    ("visreps/models/zoo.py", "num_classes", "keyword"),
    # reading checkpoints written before the rename: their model config says `num_classes`
    ("visreps/models/zoo.py", "num_classes", "string"),
    ("visreps/study/bank.py", "num_classes", "string"),
    # reading results stored before the rename: their records say `roi`
    ("visreps/study/results.py", "roi", "string"),
    # the published model-layer tables (data/reference) keep their authors' column `layer`; renamed when read
    ("visreps/metrics/edstudy.py", "layer", "string"),
    ("visreps/metrics/geometry.py", "layer", "string"),
}


def _retired(name: str) -> str | None:
    if name in RETIRED: return name
    if name in ALLOWED_NAMES: return None
    parts = name.strip("_").split("_")
    hit = [p for p in parts if p in ("roi", "rois")]  # select_roi, roi_columns ...; `layer` parts (n_layers) stay
    return hit[0] if hit else None


def retired_names(root: Path = ROOT) -> list[str]:
    "Every public use of a retired name in the package under `root`, as 'module:line: what'."
    out = []
    for path in sorted((root / "visreps").rglob("*.py")):
        mod = str(path.relative_to(root))
        if path.name == "_modidx.py": continue
        tree = ast.parse(path.read_text())

        def hit(node, name, kind):
            w = _retired(name)
            if w and (mod, w, kind) not in ALLOWED: out.append(f"{mod}:{node.lineno}: {kind} {name!r}")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                a = node.args
                for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                    if arg is not None: hit(arg, arg.arg, "parameter")
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): hit(node, node.name, "name")
            if isinstance(node, ast.ClassDef):
                for st in node.body:
                    if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
                        hit(st, st.target.id, "field")
            if isinstance(node, ast.Attribute): hit(node, node.attr, "attribute")
            if isinstance(node, ast.keyword) and node.arg: hit(node, node.arg, "keyword")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in RETIRED:
                hit(node, node.value, "string")
    return out


def test_no_retired_names():
    found = retired_names()
    assert not found, "retired names (see visreps/core/vocabulary.py; tools/rename_vocabulary.py renames them):\n" + \
        "\n".join(found)


def test_the_check_finds_each_kind(tmp_path):
    "Each kind of public name is found, and a local variable or a compound like `n_layers` is not."
    (tmp_path / "visreps").mkdir()
    (tmp_path / "visreps" / "m.py").write_text(
        "from dataclasses import dataclass\n"
        "@dataclass\nclass C:\n    rois: list\n"
        "def f(x, roi=None, *, layer=1):\n    n_layers = 2\n    for layer_ in ():\n        pass\n"
        "    return g(num_classes=3).layers, 'roi'\n"
        "def select_roi(): pass\n"
        "def roi_dir(): pass\n"
    )
    found = sorted(s.split(": ", 1)[1] for s in retired_names(tmp_path))
    assert found == sorted(["field 'rois'", "parameter 'roi'", "parameter 'layer'", "name 'select_roi'",
                            "attribute 'layers'", "keyword 'num_classes'", "string 'roi'"]), found
