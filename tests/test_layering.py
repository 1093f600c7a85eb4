"""The package's layers as a test: metrics import no models, loaders, pipelines or the command line; data import no
networks; core imports no torch. Imports are read from the source with `ast` (function-level imports included), and
a subprocess checks that importing `visreps.core` (and the package) leaves torch unimported."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "visreps"

METRICS = ["rsa", "gram", "reliability", "encoding", "pls", "dimensionality", "geometry", "crossval_rdm", "rdmset", "edstudy", "cka", "cvpca", "inference", "reweighted_rsa", "variance_partition"]
DATA = ["dataset", "world", "data.images", "data.nsd", "data.sources", "data.nsd_synthetic", "data.tvsd", "data.things_images",
        "data.brainio", "data.kriegeskorte92"]
NETWORKS = {"visreps.models", "visreps.identity", "visreps.features", "visreps.training", "torchvision", "timm"}
LOADERS = {"visreps.data", "visreps.world"}
PIPELINES = {"visreps.evaluate", "visreps.feature_cache", "visreps.steps", "visreps.bank", "visreps.sweep", "visreps.scoring", "visreps.training", "visreps.book"}
CLI = {"visreps.cli"}

# Known breaches, each with its reason and where it should go; anything else fails. None are left: keep it so.
ALLOWED: dict[tuple[str, str], str] = {}


def module_file(name: str) -> Path:
    return PKG.joinpath(*name.split(".")).with_suffix(".py")


def imports_of(name: str) -> set[str]:
    "Absolute names of every module `visreps.<name>` imports, at the top or inside functions (not in a lazy module `__getattr__`)."
    tree = ast.parse(module_file(name).read_text())
    package = ("visreps." + name).rsplit(".", 1)[0]
    lazy = {id(n) for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "__getattr__" for n in ast.walk(f)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in lazy: continue
        if isinstance(node, ast.Import): out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else: mod = node.module
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}  # `from visreps import models`
    return out


def hits(imported: set[str], banned: set[str], name: str = "") -> list[str]:
    allowed = {b for (n, b) in ALLOWED if n == name}
    return sorted(m for m in imported if any(m == b or m.startswith(b + ".") for b in banned)
                  and not any(m == a or m.startswith(a + ".") for a in allowed))


def test_the_checker_catches_a_breach():
    assert hits({"visreps.models", "numpy"}, NETWORKS, "rsa") == ["visreps.models"]
    assert hits({"visreps.features.extract_features"}, NETWORKS, "rdmset") == ["visreps.features.extract_features"]
    assert hits({"visreps.modelsx", "visreps.identity"}, NETWORKS, "rsa") == ["visreps.identity"]  # a prefix is not a module


def test_no_breach_is_allowed():
    assert not ALLOWED, f"the layering has known breaches again: {ALLOWED}"


def test_imports_are_resolved():
    "The parser sees relative, absolute and function-level imports (a check of the checker)."
    got = imports_of("scoring")
    assert "visreps.core" in got and "visreps.evaluate" in got and "visreps.rdmset" in got


@pytest.mark.parametrize("name", [m for m in METRICS if module_file(m).exists()])
def test_metrics_import_no_models_loaders_pipelines_or_cli(name):
    bad = hits(imports_of(name), NETWORKS | LOADERS | PIPELINES | CLI, name)
    assert not bad, f"metric module visreps.{name} imports {bad}"


@pytest.mark.parametrize("name", [m for m in DATA if module_file(m).exists()])
def test_data_imports_no_networks(name):
    bad = hits(imports_of(name), NETWORKS | PIPELINES | CLI, name)
    assert not bad, f"data module visreps.{name} imports {bad}"


def test_core_imports_no_torch():
    bad = hits(imports_of("core"), {"torch", "torchvision"} | {f"visreps.{m}" for m in ("backend", "models", "features")})
    assert not bad, f"visreps.core imports {bad}"


def test_importing_core_and_the_package_leaves_torch_out():
    code = "import sys, visreps, visreps.core; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
