"""The notebooks are the source: the exported package and the committed notebooks must agree with them."""
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(
    p
    for p in (ROOT / "nbs").rglob("*.ipynb")
    if not any(part.startswith((".", "_")) for part in p.relative_to(ROOT / "nbs").parts)
)
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NBS) >= 2, f"expected notebooks under {ROOT/'nbs'}"


def test_export_matches_package(tmp_path):
    "Exporting every notebook into a scratch copy reproduces visreps/ byte for byte (nbdev_export is a no-op)."
    work = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        work,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "book", "results", "*.egg-info", "__pycache__", ".nbsrc", "artifacts"
        ),
    )
    res = subprocess.run(
        [sys.executable, "-c", "from nbdev.doclinks import nbdev_export; nbdev_export()"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    cmp = filecmp.dircmp(ROOT / "visreps", work / "visreps", ignore=["__pycache__"])

    def diffs(c, prefix=""):
        out = [prefix + f for f in c.diff_files + c.left_only + c.right_only]
        for name, sub in c.subdirs.items():
            out += diffs(sub, prefix + name + "/")
        return out

    bad = diffs(cmp)
    assert not bad, f"nbdev_export would change visreps/: {bad}. Edit nbs/, run nbdev_export, commit both."


@pytest.mark.parametrize("nb", NBS + EXPERIMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebook_is_clean(nb, tmp_path):
    "Committed notebooks carry no outputs or execution counts (nbdev_clean leaves them unchanged)."
    copy = tmp_path / nb.name
    shutil.copy(nb, copy)
    res = subprocess.run(
        [str(Path(sys.executable).parent / "nbdev_clean"), "--fname", str(copy)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert copy.read_bytes() == nb.read_bytes(), f"{nb.relative_to(ROOT)} is not clean: run nbdev_clean"


@pytest.mark.parametrize("nb", EXPERIMENTS, ids=lambda p: p.name)
def test_experiment_has_parameters_cell(nb):
    "Papermill injects parameters after the cell tagged `parameters`; without the tag, defaults would silently win."
    import json
    cells = json.loads(nb.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{nb.name}: expected exactly one cell tagged 'parameters', found {len(tagged)}"
    # the book shows papermill's injected cell (the values of this run); the defaults cell stays folded
    assert "hide-input" in tagged[0]["metadata"]["tags"], (
        f"{nb.name}: the parameters cell should also be tagged 'hide-input'"
    )
