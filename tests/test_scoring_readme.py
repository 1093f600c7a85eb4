"""Every ```python block of README.md runs as written, each in a fresh folder. The "in Python" example (the README's own
block when the README has it, else this copy) means what it says: one row per ROI x analysis, intervals around the
values; the own-data example holds out a test set and draws one panel per target."""
import re
import runpy

import pandas as pd
from pathlib import Path

import pytest

EXAMPLE = '''
import numpy as np
import visreps

world = visreps.data.world.make_world(0, n_levels=3, n_subjects=1, n_train_per_subject=60, n_test=40, image_size=64)
model = visreps.models.zoo.build_model("custom_cnn", 8, width=0.25, image_size=64)  # or any torch.nn.Module
scores = visreps.score_model(model, world, readouts=["conv3.post", "fc2.post"], analyses=["rsa", "encoding"],
                             n_boot=100)
print(scores[["target", "analysis", "readout", "value", "ci_low", "ci_high", "normalized"]])

X = np.random.default_rng(0).normal(size=(20, 50))    # the pieces work alone too
print(visreps.metrics.rsa.compute_rdm(X).shape)                 # a 20 x 20 RDM (1 - Pearson r)
'''


def readme_example() -> str:
    "The first ```python block after a heading that says 'in Python' in README.md, or the copy above."
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text() if readme.exists() else ""
    # [^\n]: no backtracking blow-up
    m = re.search(r"^#+ [^\n]*in Python[^\n]*\n(?:(?!#)[^\n]*\n)*?```python\n(.*?)```", text, flags=re.M | re.S | re.I)
    return m.group(1) if m else EXAMPLE


def python_blocks() -> list[str]:
    "Every ```python block of README.md, in order."
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text() if readme.exists() else ""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


def run_block(code: str, folder: Path) -> dict:
    "Run `code` as a script in `folder`: its namespace."
    f = folder / "example.py"
    f.write_text(code)
    return runpy.run_path(str(f))


def test_readme_has_python_blocks():
    blocks = python_blocks()
    assert len(blocks) >= 2 and readme_example() in blocks
    assert any("make_dataset" in b and "make_rdm_set" in b for b in blocks), "the README shows your own data"


@pytest.mark.parametrize("i", range(len(python_blocks())))
def test_every_readme_block_runs(i, tmp_path, monkeypatch):
    code = python_blocks()[i]
    if code == readme_example(): pytest.skip("checked in detail by test_readme_example_runs")
    monkeypatch.chdir(tmp_path)
    ns = run_block(code, tmp_path)
    if "make_dataset" in code:  # what the own-data example promises
        mine, scores, fig = ns["mine"], ns["scores"], ns["fig"]
        assert len(mine.test_ids()) == 12 and set(scores.target) == {"IT"} and (scores.n_stimuli == 12).all()
        assert [a.get_title() for a in fig.axes] == list(ns["meg"].targets)
        assert (tmp_path / "profile.png").read_bytes()[:4] == b"\x89PNG"


def test_readme_example_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = readme_example()
    assert len([l for l in code.strip().splitlines() if l.strip()]) <= 12, (
        "the README example should stay about 10 lines"
    )
    f = tmp_path / "example.py"
    f.write_text(code)
    ns = runpy.run_path(str(f))
    out = capsys.readouterr().out
    assert "(20, 20)" in out
    s = ns["scores"]
    assert set(s.analysis) == {"rsa", "encoding"} and set(s.target) == {"early", "mid", "ventral"}
    assert len(s) == 12 and s.convention.notna().all()  # 3 ROIs x 2 readouts x 2 analyses
    assert s.groupby(["subject", "target", "analysis"]).selected.sum().eq(1).all()  # one selected each
    assert ((s.ci_low <= s.value) & (s.value <= s.ci_high)).all()
    assert list(tmp_path.iterdir()) == [f]  # in memory: the example writes nothing
    # seeded: the same numbers on every run (the network's initialisation is the only draw the example leaves open)
    assert re.search(r"build_model\([^)]*seed=\d+", code), "the README example must seed build_model"
    again = runpy.run_path(str(f))["scores"]
    pd.testing.assert_frame_equal(s.reset_index(drop=True), again.reset_index(drop=True))
