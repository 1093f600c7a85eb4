"""The README's "in Python" example runs as written (the README's own block when the README has it, else this copy),
and its output means what it says: one row per ROI x analysis, intervals around the values."""
import re
import runpy
from pathlib import Path

EXAMPLE = '''
import numpy as np
import visreps

world = visreps.data.world.make_world(0, n_levels=3, n_subjects=1, n_train_per_subject=60, n_test=40, image_size=64)
model = visreps.models.zoo.build_model("custom_cnn", 8, width=0.25, image_size=64)  # or any torch.nn.Module
scores = visreps.score_model(model, world, readouts=["conv3.post", "fc2.post"], analyses=["rsa", "encoding"], n_boot=100)
print(scores[["target", "analysis", "readout", "value", "ci_low", "ci_high", "normalized"]])

X = np.random.default_rng(0).normal(size=(20, 50))    # the pieces work alone too
print(visreps.metrics.rsa.compute_rdm(X).shape)                 # a 20 x 20 RDM (1 - Pearson r)
'''


def readme_example() -> str:
    "The first ```python block after a heading that says 'in Python' in README.md, or the copy above."
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text() if readme.exists() else ""
    m = re.search(r"^#+ [^\n]*in Python[^\n]*\n(?:(?!#)[^\n]*\n)*?```python\n(.*?)```", text, flags=re.M | re.S | re.I)  # [^\n]: no backtracking blow-up
    return m.group(1) if m else EXAMPLE


def test_readme_example_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = readme_example()
    assert len([l for l in code.strip().splitlines() if l.strip()]) <= 12, "the README example should stay about 10 lines"
    f = tmp_path / "example.py"
    f.write_text(code)
    ns = runpy.run_path(str(f))
    out = capsys.readouterr().out
    assert "(20, 20)" in out
    s = ns["scores"]
    assert set(s.analysis) == {"rsa", "encoding"} and set(s.target) == {"early", "mid", "ventral"}
    assert len(s) == 6 and s.convention.notna().all()
    assert ((s.ci_low <= s.value) & (s.value <= s.ci_high)).all()
    assert list(tmp_path.iterdir()) == [f]  # in memory: the example writes nothing
