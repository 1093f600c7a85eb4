"""The package's layers as a test. A module's layer is its folder, so a new module cannot escape the rules:

core < data < models, metrics < training < study < app

- nothing imports a layer above its own, at the top of a module or inside a function;
- models and metrics are siblings: neither imports the other;
- metrics and models take data containers (`visreps.data.dataset`, `visreps.data.rdms`), never a loader, the world or
  `load_neural_data`;
- no import cycle among modules;
- the torch-free core (everything in `visreps.core` but `backend`) imports no torch, and neither does `import visreps`.

Imports are read from the source with `ast`; the lazy `__getattr__` of a package's `__init__` is not an import.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "visreps"
RANK = {"core": 0, "data": 1, "models": 2, "metrics": 2, "training": 3, "study": 4, "app": 5}
SIBLINGS = {("models", "metrics"), ("metrics", "models")}
CONTAINERS = {"visreps.data.dataset", "visreps.data.rdms"}
TORCH_FREE = ["visreps.core.config", "visreps.core.storage", "visreps.core.vocabulary"]


def modules() -> dict[str, Path]:
    "Every module of the package: dotted name -> file (package `__init__`s and `_modidx` left out)."
    out = {}
    for f in sorted(PKG.rglob("*.py")):
        if f.name.startswith("_"): continue
        out[".".join(("visreps",) + f.relative_to(PKG).with_suffix("").parts)] = f
    return out


def layer(name: str) -> str:
    "A module's layer: the first folder under `visreps/` (a module at the top has no layer)."
    parts = name.split(".")
    if len(parts) < 3 or parts[1] not in RANK: raise AssertionError(f"{name} is not in a layer folder {sorted(RANK)}")
    return parts[1]


def imports_of(name: str, source: str | None = None) -> set[str]:
    "Absolute names of every module `name` imports (top level or inside functions), `from a import b` as `a` and `a.b`."
    tree = ast.parse(source if source is not None else modules()[name].read_text())
    package = name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import): out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else: mod = node.module
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}
    return out


def resolve(imported: set[str], known: set[str]) -> set[str]:
    "The package's modules among the imported names (`visreps.a.b.func` -> `visreps.a.b`)."
    out = set()
    for m in imported:
        parts = m.split(".")
        for k in range(len(parts), 1, -1):
            if ".".join(parts[:k]) in known: out.add(".".join(parts[:k])); break
    return out


def breaches(name: str, deps: set[str]) -> list[str]:
    "What `name` may not import among `deps`, each with the rule it breaks."
    mine, bad = layer(name), []
    for d in sorted(deps):
        if d == name: continue
        theirs = layer(d)
        if RANK[theirs] > RANK[mine]: bad.append(f"{d} (layer {theirs} is above {mine})")
        elif (mine, theirs) in SIBLINGS: bad.append(f"{d} ({mine} and {theirs} are siblings)")
        elif mine in ("models", "metrics") and theirs == "data" and d not in CONTAINERS:
            bad.append(f"{d} ({mine} take data containers, never loaders)")
    return bad


MODULES = modules()
GRAPH = {n: resolve(imports_of(n), set(MODULES)) - {n} for n in MODULES}


def test_the_checker_catches_a_breach():
    "A check of the checker, on made-up sources: upward, sibling and loader imports are caught, downward ones are not."
    src = "from visreps.study.evaluate import run_eval\nfrom visreps.data.dataset import NeuralDataset\n" \
          "def f():\n    from visreps.models import zoo\n    import visreps.data.loaders.nsd\n"
    deps = resolve(imports_of("visreps.metrics.rsa", src), set(MODULES))
    assert deps == {"visreps.study.evaluate", "visreps.data.dataset", "visreps.models.zoo", "visreps.data.loaders.nsd"}
    got = breaches("visreps.metrics.rsa", deps)
    assert [b.split(" ")[0] for b in got] == [
        "visreps.data.loaders.nsd",
        "visreps.models.zoo",
        "visreps.study.evaluate",
    ]
    assert breaches("visreps.study.evaluate", {"visreps.metrics.rsa", "visreps.data.loaders.nsd"}) == []
    assert resolve({"visreps.metrics.rsax"}, set(MODULES)) == set()  # a prefix is not a module


def test_every_module_is_in_a_layer_folder():
    assert len(MODULES) > 30
    for n in MODULES: layer(n)


def test_relative_and_function_level_imports_are_read():
    got = GRAPH["visreps.study.scoring"]
    assert {"visreps.study.evaluate", "visreps.core.config", "visreps.data.rdms"} <= got


@pytest.mark.parametrize("name", sorted(MODULES))
def test_nothing_imports_upward(name):
    bad = breaches(name, GRAPH[name])
    assert not bad, f"{name} imports {bad}"


def test_no_import_cycle():
    "Tarjan's strongly connected components of the module graph: every one is a single module."
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
        for w in GRAPH[v]:
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: cycles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index: visit(v)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("name", TORCH_FREE)
def test_core_imports_no_torch(name):
    bad = sorted(m for m in imports_of(name) if m.split(".")[0] in ("torch", "torchvision", "timm")
                 or m.startswith("visreps.core.backend"))
    assert not bad, f"{name} imports {bad}"


def test_importing_core_and_the_package_leaves_torch_out():
    code = "import sys, visreps, visreps.core.config, visreps.core.storage; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
