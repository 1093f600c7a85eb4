("Model bank: YAML validation errors, and a tiny bank study end to "
 "end (2 untrained architectures + 1 quickly trained CustomCNN).")
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import visreps.study.bank as vb
from visreps.core.config import ConfigError
from visreps.training.steps import train_world_models
from visreps.metrics.edstudy import (
    KEY_COLUMNS,
    ed_encoding_correlation,
    load_reference,
    normalise_keys,
    summarize_ed_encoding,
)

torch.set_num_threads(1)  # tiny networks: one thread avoids oversubscribing a CPU shared with other test processes


def _write(tmp_path, text, name="bank.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


# ---------------------------------------------------------------- validation
def test_unknown_key_names_entry_and_key(tmp_path):
    p = _write(tmp_path, """
        name: b
        models:
          - name: ok
            arch: alexnet
          - name: typo
            arch: resnet18
            seed: [1, 2]
        """)
    with pytest.raises(ConfigError, match=r"models\[1\] \(name='typo'\): Unknown BankEntry key\(s\) \['seed'\]"):
        vb.load_bank(p)


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['model'\]"):
        vb.load_bank(_write(tmp_path, "name: b\nmodel: []\n"))


def test_unknown_arch(tmp_path):
    p = _write(tmp_path, "models:\n  - name: net\n    arch: resnet34\n")
    with pytest.raises(
        ConfigError, match=r"models\[0\] \(name='net'\).*arch='resnet34': unknown architecture; expected one of"
    ):
        vb.load_bank(p)


def test_bad_value_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match=r"width=-1.0: expected a positive number"):
        vb.load_bank(_write(tmp_path, "models:\n  - {name: n, arch: custom_cnn, width: -1}\n"))
    with pytest.raises(ConfigError, match="is not valid YAML"):
        vb.load_bank(_write(tmp_path, "models: [name: {\n", "bad.yaml"))


def test_missing_weights_names_entry_and_path(tmp_path):
    p = _write(tmp_path, "models:\n  - {name: r50-in1k, arch: resnet50, weights: weights/r50.pth}\n")
    bank = vb.load_bank(p, base_dir=tmp_path)
    with pytest.raises(
        FileNotFoundError, match=r"bank entry 'r50-in1k': weights file '.*weights/r50.pth' does not exist"
    ):
        vb.expand_bank(bank)


def test_glob_matching_nothing(tmp_path):
    p = _write(
        tmp_path, "models:\n  - {name: sweep, checkpoints: '{results_root}/demo/train/*/checkpoints/epoch_*.pt'}\n"
    )
    with pytest.raises(
        FileNotFoundError,
        match=r"bank entry 'sweep': "
              r"checkpoints='\{results_root\}/demo/train/\*/checkpoints/epoch_\*.pt' matched no file",
    ):
        vb.expand_bank(vb.load_bank(p), results_root=tmp_path)
    # run_bank reports it before any work
    cfg = vb.BankConfig(bank=str(p), results_root=str(tmp_path), progress=False)
    with pytest.raises(FileNotFoundError, match="matched no file"):
        vb.run_bank(cfg, dataset=object(), log=None)


def test_shipped_banks_validate():
    assert [e.name for e in vb.load_bank(vb.find_bank_file("demo")).entries][0] == "trained"
    with pytest.raises(FileNotFoundError, match="weights file .* does not exist; visreps never downloads"):
        vb.expand_bank(vb.load_bank(vb.find_bank_file("paper")))


def test_reference_through_the_same_function():
    ref = load_reference("max")
    s = vb.summarize_study(ref)
    allr = s[s.view == "all model-layers"].iloc[0]
    assert allr.n == 536 and abs(allr.r - 0.588) < 5e-4
    kinds = s[s.view == "by kind"].set_index("group")
    assert set(kinds.index) == {"Supervised", "Self-Supervised", "Untrained"} and (kinds.r > 0.5).all()
    assert (s.n_failed == 0).all()  # the published table has no failed model-layers
    pd.testing.assert_frame_equal(s.drop(columns="n_failed"), summarize_ed_encoding(ref))


# ---------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from visreps.data.world import make_world
    root = tmp_path_factory.mktemp("bank")
    runs = train_world_models(root / "train", ["coarse2"], seed=0, image_size=64, n_images=96, epochs=1, width=0.1,
                                 batch_size=32, checkpoint_every=1)
    ds = make_world(
        seed=5, n_subjects=2, n_train_per_subject=40, n_test=30, n_voxels_early=16, n_voxels_mid=16, n_voxels_ventral=16
    )
    bank = dict(
        name="tiny",
        models=[
            dict(name="trained", checkpoints="{train_dir}/*/checkpoints/epoch_*.pt"),
            dict(
                name="cnn",
                arch="custom_cnn",
                width=0.1,
                n_classes=8,
                readouts=["conv2.post", "conv5.post", "fc2.post"],
            ),
            dict(name="r18", arch="resnet18", n_classes=8, readouts=["layer1.0", "layer3.1", "layer4.1"]),
        ],
    )
    cfg = vb.BankConfig(
        n_images=40,
        pls_components=3,
        pls_folds=2,
        encoding_cv=3,
        n_alphas=5,
        n_ceiling_splits=3,
        device="cpu",
        out_dir=str(root / "study"),
        train_dir=str(root / "train"),
        pooling_components=128,
        progress=False,
    )
    table = vb.run_bank(cfg, bank=bank, dataset=ds, log=None)
    return dict(root=root, runs=runs, ds=ds, bank=bank, cfg=cfg, table=table)


def test_table_has_reference_columns(tiny):
    t = tiny["table"]
    assert list(t.columns[:len(vb.STUDY_COLUMNS)]) == list(vb.STUDY_COLUMNS)
    n_layers = 2 * 7 + 3 + 3  # two checkpoints (epochs 0, 1) x 7 readouts + 3 + 3
    assert t.groupby(["model", "readout"]).ngroups == n_layers
    assert len(t) == n_layers * 3 * 3 * 3  # poolings x regions x analyses
    ck = t[t.entry == "trained"]
    assert set(ck.task) == {"coarse2"} and set(ck.n_classes) == {2} and set(ck.epoch) == {0.0, 1.0}
    assert set(ck[ck.final].epoch) == {1.0}
    assert set(t[t.entry == "r18"].architecture) == {"ResNet18"} and set(t[t.entry == "r18"].task) == {"none"}
    assert set(t.kind) == {"Untrained", "Supervised"} and set(t.source) == {"visreps-world"}


def test_slices_join_like_the_reference(tiny):
    t = tiny["table"]
    # the published tables join eigenmetrics (one pooling) with encoding scores on the key: ours do the same, one to one
    eig = vb.study_slice(t, "ventral", "encoding_pls", "avg")[list(KEY_COLUMNS) + ["effective dimensionality"]]
    enc = vb.study_slice(t, "ventral", "encoding_pls", "max")[list(KEY_COLUMNS) + ["score"]]
    joined = normalise_keys(enc).merge(normalise_keys(eig), on=list(KEY_COLUMNS), validate="one_to_one")
    assert len(joined) == len(enc) == 7 + 3 + 3
    res = ed_encoding_correlation(joined).loc["all"]
    from scipy.stats import pearsonr
    ref = pearsonr(joined["effective dimensionality"], joined["score"])
    assert res.n == len(joined) and abs(res.r - ref.statistic) < 1e-10
    s = vb.summarize_study(vb.study_slice(t, "ventral", "rsa", "max"))
    assert set(s.view) == {"all model-layers", "by kind", "best layer per model", "layer-wise"}
    assert s[s.view == "best layer per model"].n.item() == 3  # three final models


def test_ed_matches_independent_computation(tiny):
    t, cfg = tiny["table"], tiny["cfg"]
    from visreps.models.features import ExtractionOptions, extract_features
    m = [m for m in vb.expand_bank(tiny["bank"], **cfg.paths()) if m.entry == "r18"][0]
    net = vb.build_bank_model(m)
    images = vb.held_out_world_images(cfg.n_images, cfg.seed, cfg.image_size, cfg.world)
    f = extract_features(
        net,
        images,
        ["layer3.1"],
        ExtractionOptions(device="cpu", image_size=64, resize=cfg.resize, pooling="max"),
        stimulus_ids=[f"i{i}" for i in range(len(images))],
        progress=False,
    )["layer3.1"].values.astype(np.float64)
    lam = np.clip(np.linalg.eigvalsh(np.cov(f.T)), 0, None)
    want = lam.sum() ** 2 / (lam ** 2).sum()
    got = t[(t.model == m.name) & (t.readout == "layer3.1") & (t.pooling == "max")]["effective dimensionality"]
    assert len(got) == 9 and np.allclose(got, want, rtol=1e-4)


def test_rerun_skips_finished_and_adds_new(tiny, monkeypatch):
    built = []
    orig = vb.build_bank_model
    monkeypatch.setattr(vb, "build_bank_model", lambda m, *a, **k: (built.append(m.name), orig(m, *a, **k))[1])
    bank = dict(
        tiny["bank"],
        models=tiny["bank"]["models"] + [dict(name="alex", arch="alexnet", n_classes=8, readouts=["conv5.post"])],
    )
    t2 = vb.run_bank(tiny["cfg"], bank=bank, dataset=tiny["ds"], log=None)
    assert built == ["alex/seed0"]
    old = t2[t2.entry != "alex"].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, tiny["table"])
    # a changed setting recomputes
    built.clear()
    vb.run_bank(
        tiny["cfg"].replace(pls_folds=3),
        bank=dict(tiny["bank"], models=bank["models"][-1:]),
        dataset=tiny["ds"],
        log=None,
    )
    assert built == ["alex/seed0"]


def test_epochs_and_granularity_views(tiny):
    ep = vb.ed_over_epochs(tiny["table"])
    assert sorted(ep.epoch.unique()) == [0.0, 1.0] and len(ep) == 14
    gr = vb.ed_by_granularity(tiny["table"])
    assert len(gr) == 7 and set(gr.n_classes) == {2}
