"""`visreps.score_model` on real-layout data: the NSD fixture tree (native files, two subjects), loaded as a
NeuralDataset and as a source string, gives one tidy row per subject x ROI with a convention; the same call through
the cached `run_eval` gives the same values."""
import numpy as np
import pandas as pd
import pytest
import torch

import visreps
from visreps.data.loaders.nsd import load_nsd_dataset

from fixtures_nsd import nsd_tree  # noqa: F401

torch.set_num_threads(1)
OPTS = dict(n_select=20, n_boot=20, n_ceiling_splits=2, device="cpu", image_size=64, projection=256, fit_projection=256)


@pytest.fixture(scope="module")
def nsd(nsd_tree):
    root, truth = nsd_tree
    return root, load_nsd_dataset(root, subjects=(1, 2))


@pytest.fixture(scope="module")
def model():
    return visreps.models.zoo.build_model("custom_cnn", 8, width=0.25, image_size=64, seed=0)


def test_score_model_on_nsd_fixture(nsd, model):
    root, ds = nsd
    s = visreps.score_model(model, ds, "fc2.post", ["rsa", "encoding"], **OPTS)
    assert list(s.columns[:len(visreps.study.analyses.SCORE_COLUMNS)]) == list(visreps.study.analyses.SCORE_COLUMNS)
    assert set(s.subject) == set(ds.subjects) and set(s.target) == set(ds.targets)
    assert len(s) == len(ds.subjects) * len(ds.targets) * 2
    assert s.convention.str.len().min() > 40 and set(s.dataset) == {ds.name}
    assert ((s.ci_low <= s.value + 1e-12) & (s.value <= s.ci_high + 1e-12)).all()
    # a source string loads the same data and gives the same numbers
    s2 = visreps.score_model(
        model, f"nsd:{root}", "fc2.post", ["rsa", "encoding"], dataset_options=dict(subjects=(1, 2)), **OPTS
    )
    key = ["subject", "target", "analysis", "metric"]
    pd.testing.assert_frame_equal(s.sort_values(key).reset_index(drop=True), s2.sort_values(key).reset_index(drop=True))


def test_run_eval_is_the_cached_score_model(nsd, model, tmp_path):
    root, ds = nsd
    path = tmp_path / "m.pt"
    visreps.models.zoo.save_checkpoint(path, model, epoch=1)
    cfg = visreps.study.evaluate.EvalConfig(
        checkpoint=str(path), readouts=["fc2.post"], analyses=["rsa"], results_root=str(tmp_path / "r"), **OPTS
    )
    visreps.study.evaluate.run_eval(cfg, data=ds, progress=False)
    rec = visreps.study.results.ResultsStore(tmp_path / "r").load()
    rec = rec[rec.split == "test"].sort_values(["subject", "target"])
    s = visreps.score_model(model, ds, "fc2.post", ["rsa"], **OPTS).sort_values(["subject", "target"])
    np.testing.assert_array_equal(rec.value.values.astype(float), s.value.values)
    np.testing.assert_array_equal(rec.ci_low.values.astype(float), s.ci_low.values)
