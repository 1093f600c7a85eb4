"""visreps installs into a user's own environment: the wheel carries the experiment notebooks, plans, banks, book
sources and published reference tables (visreps/_shipped/); an installed copy finds them without a source checkout."""
import ast
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_FILES = ("setup.py", "settings.ini", "pyproject.toml", "README.md")


def setup_shipped() -> tuple:
    "setup.py's SHIPPED tuple, read without running setup.py."
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SHIPPED" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py defines no SHIPPED tuple (the folders it puts into the wheel)")


def tracked(folder: str) -> set[str]:
    "The files git tracks under `folder`, hidden ones left out (e.g. book/.gitignore)."
    out = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {f for f in out.split() if not any(part.startswith(".") for part in Path(f).parts)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    "A wheel built from a clean copy of the sources (nothing under book/_build), installed with pip --target."
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    src.mkdir()
    for f in BUILD_FILES:
        shutil.copy(ROOT / f, src / f)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    for d in ("visreps",) + setup_shipped():
        shutil.copytree(ROOT / d, src / d, ignore=ignore)
    (src / "book" / "_build").mkdir(exist_ok=True)
    (src / "book" / "_build" / "index.html").write_text("a built book: not a source")
    (src / "book" / "generated").mkdir(exist_ok=True)
    (src / "book" / "generated" / "world.ipynb").write_text("{}")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    res = subprocess.run(pip + ["wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp / "whl"), str(src)],
                         cwd=tmp, capture_output=True, text=True)
    assert res.returncode == 0, f"pip wheel failed:\n{res.stdout}\n{res.stderr}"
    (wheel,) = (tmp / "whl").glob("visreps-*.whl")
    target = tmp / "site"
    res = subprocess.run(pip + ["install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                         cwd=tmp, capture_output=True, text=True)
    assert res.returncode == 0, f"pip install --target failed:\n{res.stdout}\n{res.stderr}"
    elsewhere = tmp / "elsewhere"  # not the checkout: nothing there to find by accident
    elsewhere.mkdir()
    return wheel, target, elsewhere


def run_installed(target, cwd, code):
    res = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(cwd)})
    assert res.returncode == 0, f"installed visreps failed:\n{res.stdout}\n{res.stderr[-4000:]}"
    return res.stdout


def test_setup_ships_what_the_package_looks_up():
    from visreps.core.storage import SHIPPED
    assert setup_shipped() == SHIPPED, "setup.py's SHIPPED and visreps.core.storage.SHIPPED must name the same folders"


def test_wheel_holds_the_shipped_files(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.removeprefix("visreps/_shipped/") for n in names if n.startswith("visreps/_shipped/")}
    want = set().union(*(tracked(d) for d in setup_shipped()))
    assert {"plans/demo.yaml", "banks/demo.yaml", "experiments/train.ipynb", "book/_toc.yml"} <= want
    assert want - shipped == set(), f"files missing from the wheel: {sorted(want - shipped)}"
    assert shipped - want == set(), f"the wheel ships files git does not track (built pages?): {sorted(shipped - want)}"


def test_installed_copy_finds_its_files(installed):
    _, target, elsewhere = installed
    code = """if True:
        import json, visreps
        from visreps.core.storage import source_checkout, shipped
        from visreps.app.sweep import load_plan
        from visreps.study.bank import find_bank_file
        from visreps.metrics.edstudy import reference_dir, load_reference
        plan = load_plan("demo")
        print(json.dumps(dict(package=visreps.__file__, checkout=str(source_checkout()), plan=str(plan.path),
                              notebooks=sorted({str(p) for s in plan.stages for p in s.notebooks}),
                              bank=str(find_bank_file("demo")), bank_default=str(find_bank_file("banks/demo.yaml")),
                              reference=str(reference_dir()), n_reference=len(load_reference("max")),
                              book=str(shipped("book", "_toc.yml")))))
    """
    got = json.loads(run_installed(target, elsewhere, code).strip().splitlines()[-1])
    data = (target / "visreps" / "_shipped").resolve()
    assert Path(got["package"]).resolve().is_relative_to(target.resolve()), got["package"]
    assert got["checkout"] == "None"
    assert Path(got["plan"]).resolve() == data / "plans" / "demo.yaml"
    assert got["notebooks"] and all(Path(p).resolve().parent == data / "experiments" for p in got["notebooks"])
    assert Path(got["bank"]).resolve() == Path(got["bank_default"]).resolve() == data / "banks" / "demo.yaml"
    assert Path(got["reference"]).resolve() == data / "data" / "reference" / "elmoznino2022"
    assert got["n_reference"] == 536
    assert Path(got["book"]).resolve() == data / "book" / "_toc.yml"


def test_installed_sweep_demo_dry_run(installed):
    _, target, elsewhere = installed
    code = "from visreps.app.cli import main; raise SystemExit(main(['sweep', 'demo', '--dry-run']))"
    out = run_installed(target, elsewhere, code)
    assert "dry run of plan demo:" in out and "train.ipynb" in out and "ed_bank.ipynb" in out, out[-2000:]
    assert not (elsewhere / "results").exists(), "a dry run writes nothing"


def test_installed_missing_file_names_both_places(installed):
    _, target, elsewhere = installed
    code = """if True:
        from visreps.core.storage import shipped
        try: shipped("plans", "nosuch.yaml")
        except FileNotFoundError as e: print(e)
    """
    out = run_installed(target, elsewhere, code)
    assert "shipped file 'plans/nosuch.yaml' is missing: not in the source checkout (none" in out, out
    assert "visreps/_shipped/plans/nosuch.yaml'" in out, out


def test_installed_sweep_runs_a_shipped_notebook(installed):
    ("The demo plan's first stage on a tiny world: the installed "
     "experiment notebook executes (papermill) from elsewhere.")
    _, target, elsewhere = installed
    tiny = dict(n_levels=3, n_train_per_subject=8, n_test=24, n_voxels_early=16, n_voxels_mid=16, n_voxels_ventral=16)
    argv = ["sweep", "demo", "--stages", "world", "--workers", "1"] + [f"world.{k}={v}" for k, v in tiny.items()]
    run_installed(target, elsewhere, f"from visreps.app.cli import main; raise SystemExit(main({argv!r}))")
    (run,) = (elsewhere / "results" / "world").glob("*/run.json")
    meta = json.loads(run.read_text())
    assert (
        Path(meta["notebook"]).resolve() == (target / "visreps" / "_shipped" / "experiments" / "world.ipynb").resolve()
    )
    assert (run.parent / "world.ipynb").is_file()
