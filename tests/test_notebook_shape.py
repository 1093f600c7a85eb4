"""Every `#| export` cell of a notebook is followed by its test: the next code cell is not an export cell (the module's
first export cell, its imports, excepted). A notebook whose definition has no test beside it fails here by name."""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _untested(nb: Path) -> list[str]:
    "The first lines of the export cells of `nb` that the next code cell does not test."
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    src = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    is_export = [s.lstrip().startswith("#| export") for s in src]
    first = next((i for i, e in enumerate(is_export) if e), None)
    out = []
    for i, e in enumerate(is_export):
        if not e or i == first: continue
        if i + 1 < len(src) and not is_export[i + 1] and src[i + 1].strip(): continue
        body = [ln for ln in src[i].splitlines()[1:] if ln.strip() and not ln.lstrip().startswith("#")]
        out.append(body[0][:60] if body else "(empty)")
    return out


def test_every_export_cell_is_followed_by_its_test():
    missing = {str(nb.relative_to(ROOT)): u for nb in sorted((ROOT / "nbs").glob("**/*.ipynb")) if (u := _untested(nb))}
    assert not missing, "export cells without a test after them:\n" + "\n".join(f"{k}: {v}" for k, v in missing.items())


def test_the_check_sees_a_missing_test(tmp_path):
    cells = [dict(cell_type="code", source=s) for s in ("#| export\nimport os", "#| export\ndef f(): pass",
                                                         "#| export\ndef g(): pass", "assert g() is None")]
    (tmp_path / "x.ipynb").write_text(json.dumps(dict(cells=cells)))
    assert _untested(tmp_path / "x.ipynb") == ["def f(): pass"]
