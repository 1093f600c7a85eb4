"""End-to-end checks of the evaluation pipeline on the synthetic world: the known structure shows
(early ROI <- early readouts, ventral ROI <- late readouts, trained > untrained in ventral),
intervals cover estimates, a fixed seed reproduces every number, and a killed sweep resumes."""
import numpy as np
import pandas as pd
import pytest

from visreps.core.config import ConfigError
from visreps.study.evaluate import EvalConfig, TrainRunConfig, run_eval, run_train
from visreps.study.results import ResultsStore
from visreps.data.world import make_world

WORLD = dict(n_levels=6, n_subjects=2, n_train_per_subject=120, n_test=96, image_size=64,
             n_voxels_early=48, n_voxels_mid=48, n_voxels_ventral=48)
EVAL = dict(image_size=64, n_select=120, n_boot=100, pca_ks=[1, 2, 4], pca_n_boot=0, n_ceiling_splits=2,
            device="cpu", batch_size=128)
EARLY = {"conv1.pre", "conv1.post", "conv2.pre", "conv2.post"}
LATE = {"conv5.pre", "conv5.post", "fc1.pre", "fc1.post", "fc2.pre", "fc2.post"}
TRAIN = dict(width=0.25, image_size=64, batch_size=32, lr=2e-3, warmup_epochs=1, test_fraction=0.1,
             progress=False, checkpoint_every=1, device="cpu")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    "The brain data (seed 0), saved as a data set folder, and a separate training world (seed 1)."
    root = tmp_path_factory.mktemp("eval")
    path = make_world(0, **WORLD).save(root / "brain")
    train_path = make_world(1, n_levels=6, n_subjects=1, n_train_per_subject=481, n_test=1, image_size=64,
                            targets=["early"], n_voxels_early=4).save(root / "train_world")
    return root, path, train_path


@pytest.fixture(scope="module")
def checkpoints(world):
    "A coarse 2-way and a fine 64-way network trained briefly on the training world, through `run_train`."
    root, _, train_path = world
    out = {}
    for name, K, col, epochs in (("coarse", 2, "level1", 4), ("fine", 64, "category", 4)):
        cfg = TrainRunConfig(n_classes=K, epochs=epochs, dataset=str(train_path), labels=f"column:{col}",
                             out_dir=str(root / f"train_{name}"), **TRAIN)
        summary = run_train(cfg)
        assert f"K={K}" in summary and str(root) in summary
        out[name] = root / f"train_{name}" / "checkpoints" / f"epoch_{epochs:04d}.pt"
        assert out[name].exists()
    return out


@pytest.fixture(scope="module")
def rsa_results(world, checkpoints):
    "RSA of the untrained, coarse and fine networks on both subjects (data loaded from the folder)."
    root, path, _ = world
    res = root / "results"
    run_eval(
        EvalConfig(
            width=0.25, n_classes=64, model_seed=1, dataset=str(path), analyses=["rsa"], results_root=str(res), **EVAL
        ),
        progress=False,
    )
    for name, ck in checkpoints.items():
        s = run_eval(
            EvalConfig(checkpoint=str(ck), dataset=str(path), analyses=["rsa"], results_root=str(res), **EVAL),
            progress=False,
        )
        assert len(s.written) == 2
    return ResultsStore(res).load()


def test_known_structure(rsa_results):
    df = rsa_results
    test = df[df.split == "test"].set_index(["model", "subject", "target"])
    print(test[["readout", "value", "ci_low", "ci_high", "ceiling", "normalized"]].round(3).to_string())
    for model in ("custom_cnn-untrained-s1", "train_coarse", "train_fine"):
        for s in ("subj01", "subj02"):
            # early ROI: best matched by an early readout (conv1/conv2) in every network
            assert test.loc[(model, s, "early"), "readout"] in EARLY, (model, s)
    for s in ("subj01", "subj02"):
        # ventral ROI: best matched by a late readout in the trained networks ...
        assert test.loc[("train_coarse", s, "ventral"), "readout"] in LATE
        assert test.loc[("train_fine", s, "ventral"), "readout"] in LATE
        # the briefly trained 64-way network beats the untrained one in ventral (point estimates; its CIs
        # still overlap the untrained ones after 4 epochs on 480 images)
        assert (
            test.loc[("train_fine", s, "ventral"), "value"]
            > test.loc[("custom_cnn-untrained-s1", s, "ventral"), "value"]
        )
        # ... and a trained network matches ventral better than the untrained one (CIs apart)
        assert (
            test.loc[("train_coarse", s, "ventral"), "ci_low"]
            > test.loc[("custom_cnn-untrained-s1", s, "ventral"), "ci_high"]
        )
        # early readouts match early cortex better than late ones; the reverse for ventral (trained)
        sel = df[(df.split == "select") & (df.model == "train_coarse") & (df.subject == s)].pivot(
            index="readout", columns="target", values="value"
        )
        assert sel.loc["conv1.post", "early"] > sel.loc["fc2.post", "early"]
        assert sel.loc["fc2.post", "ventral"] > sel.loc["conv1.post", "ventral"]


def test_intervals_and_ceilings(rsa_results):
    t = rsa_results[rsa_results.split == "test"]
    assert ((t.ci_low <= t.value) & (t.value <= t.ci_high)).all()
    assert ((t.ceiling > 0) & (t.ceiling <= 1)).all()
    np.testing.assert_allclose(t.normalized, t.value / t.ceiling)
    assert t.formula.str.contains("Spearman-Brown").all()


def test_bootstrap_arrays_match_records(world, rsa_results):
    root = world[0]
    store = ResultsStore(root / "results")
    row = rsa_results[(rsa_results.split == "test")].iloc[0]
    arr = store.load_arrays(row.run_id)
    dist = arr[f"bootstrap__{row.target}"]
    assert len(dist) == EVAL["n_boot"]
    np.testing.assert_allclose(np.percentile(dist, [2.5, 97.5]), [row.ci_low, row.ci_high])
    readouts = arr["readouts"].tolist()
    assert len(readouts) == 14 and readouts[int(np.argmax(arr[f"select__{row.target}"]))] == row.readout


def test_all_analyses_reproducible_and_resumable(world, checkpoints, monkeypatch):
    ("Kill a sweep after two runs, start it again: only the missing "
     "runs are computed, and the numbers equal a clean run's.")
    root, path, _ = world
    cfg = EvalConfig(
        checkpoint=str(checkpoints["coarse"]),
        dataset=str(path),
        results_root=str(root / "resume"),
        subjects=["subj01"],
        readouts=["conv1.post", "conv3.post", "fc1.post", "fc2.post"],
        pls_components=4,
        **EVAL,
    )
    real_write = ResultsStore.write_run
    calls = []

    def dying_write(self, *a, **kw):
        if len(calls) == 2: raise KeyboardInterrupt("killed mid-sweep")
        calls.append(1)
        return real_write(self, *a, **kw)

    monkeypatch.setattr(ResultsStore, "write_run", dying_write)
    with pytest.raises(KeyboardInterrupt): run_eval(cfg, progress=False)
    monkeypatch.setattr(ResultsStore, "write_run", real_write)
    assert len(ResultsStore(root / "resume").run_ids()) == 2
    again = run_eval(cfg, progress=False)
    assert len(again.skipped) == 2 and len(again.written) == 4 - 2
    assert run_eval(cfg, progress=False).written == []  # finished: a no-op
    clean = run_eval(cfg.replace(results_root=str(root / "clean")), progress=False)
    assert len(clean.written) == 4
    a, b = ResultsStore(root / "resume").load(), ResultsStore(root / "clean").load()
    key = ["subject", "analysis", "target", "metric", "readout", "split"]
    cols = key + ["value", "ci_low", "ci_high", "ceiling", "normalized"]
    pd.testing.assert_frame_equal(
        a[cols].sort_values(key).reset_index(drop=True), b[cols].sort_values(key).reset_index(drop=True)
    )
    assert sorted(a.run_id.unique()) == sorted(b.run_id.unique())
    t = a[a.split == "test"]
    assert set(t.analysis) == {"rsa", "encoding", "pls", "pca_reconstruction"}
    assert ((t.ci_low <= t.value) & (t.value <= t.ci_high) | t.ci_low.isna()).all()
    enc = t[t.analysis == "encoding"].set_index(["subject", "target"])
    assert (enc.value > 0).all() and (enc.normalized > enc.value).all()
    # forcing recomputes a finished run and gives the same numbers
    forced = run_eval(cfg.replace(force=True, analyses=["rsa"]), progress=False)
    assert len(forced.written) == 1
    c = ResultsStore(root / "resume").load(analysis="rsa")
    ar = a[a.analysis == "rsa"]
    pd.testing.assert_frame_equal(
        ar[cols].sort_values(key).reset_index(drop=True), c[cols].sort_values(key).reset_index(drop=True)
    )

def test_bad_checkpoint_and_data(world, checkpoints, tmp_path):
    import torch
    root, path, _ = world
    base = dict(dataset=str(path), results_root=str(tmp_path), **EVAL)
    with pytest.raises(ValueError, match="holds a network with n_classes=2, but the config asks for n_classes=64"):
        run_eval(EvalConfig(checkpoint=str(checkpoints["coarse"]), n_classes=64, **base), progress=False)
    bad = tmp_path / "bad.pt"
    st = torch.load(checkpoints["coarse"], weights_only=True)
    st["config"]["width"] = 0.5  # the weights are of a width-0.25 network
    torch.save(st, bad)
    with pytest.raises(ValueError, match="does not match arch='custom_cnn'"):
        run_eval(EvalConfig(checkpoint=str(bad), **base), progress=False)
    with pytest.raises(FileNotFoundError):
        run_eval(EvalConfig(checkpoint=str(tmp_path / "missing.pt"), **base), progress=False)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        run_eval(EvalConfig(width=0.25, dataset=str(tmp_path / "nowhere"), results_root=str(tmp_path)), progress=False)
    with pytest.raises(ConfigError, match=r"targets=\['early', 'V4'\]: ROI\(s\) \['V4'\] not in the data"):
        run_eval(EvalConfig(width=0.25, targets=["early", "V4"], **base), progress=False)
