"""Integration tests for visreps.models.features: lazy (HDF5) stimulus sets, streaming to disk, failure
mid-way, corrupt outputs, ResNet block readouts, and the layer-selection projection at full size."""
import json

import h5py
import numpy as np
import pytest
import torch

from visreps.models.features import (
    ExtractionOptions,
    extract_features,
    load_features,
    preprocess_images,
    read_manifest,
    ReadoutHooks,
    SparseProjection,
)
from visreps.models.zoo import build_model, readout_points

R = ["conv1.pre", "conv3.post", "fc1.pre", "fc2.post"]


@pytest.fixture(scope="module")
def model():
    m = build_model("custom_cnn", 8, width=0.25, seed=1, image_size=64)
    with torch.no_grad():  # non-trivial batch-norm statistics
        m.train(); m(torch.randn(16, 3, 64, 64))
    return m.eval()


@pytest.fixture(scope="module")
def stimuli(tmp_path_factory):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (13, 72, 72, 3), dtype=np.uint8)
    ids = np.array([f"s{i:03d}" for i in range(13)])
    path = tmp_path_factory.mktemp("stim")/"stimuli.h5"
    with h5py.File(path, "w") as f: f["images"] = imgs
    return imgs, ids, path


def test_hdf5_streamed_equals_in_memory(model, stimuli, tmp_path):
    imgs, ids, path = stimuli
    mem = extract_features(
        model, imgs, R, ExtractionOptions(batch_size=5, device="cpu", projection=2000), stimulus_ids=ids, progress=False
    )
    with h5py.File(path, "r") as f:  # a lazy source: only batches are ever read
        disk = extract_features(
            model,
            f["images"],
            R,
            ExtractionOptions(batch_size=4, device="cpu", projection=2000),
            stimulus_ids=ids,
            out_dir=tmp_path / "f",
            progress=False,
        )
    for r in R:
        np.testing.assert_allclose(disk[r].values, mem[r].values, rtol=1e-5, atol=1e-5)
        assert isinstance(disk[r].data, np.memmap)  # streamed results are memory-mapped, not loaded
        assert list(disk[r].stimulus_id.values) == list(ids)
    man = read_manifest(tmp_path/"f")
    assert man["projection"] == 2000 and man["projection_seed"] == 0 and man["image_size"] == 64
    assert man["readouts"]["conv1.pre"]["projected"] and not man["readouts"]["fc2.post"]["projected"]
    assert man["readouts"]["conv1.pre"]["n_features_raw"] == 24 * 15 * 15
    assert not list((tmp_path/"f").glob(".*"))  # no temporary files left


def test_stimulus_set_source(model, stimuli):
    from visreps.data.dataset import StimulusSet
    imgs, ids, _ = stimuli
    ss = StimulusSet(stimulus_id=ids, images=imgs)
    a = extract_features(model, ss, "fc2.post", ExtractionOptions(device="cpu"), progress=False)["fc2.post"]
    b = extract_features(model, imgs, "fc2.post", ExtractionOptions(device="cpu"), stimulus_ids=ids, progress=False)[
        "fc2.post"
    ]
    np.testing.assert_array_equal(a.values, b.values)
    assert list(a.stimulus_id.values) == list(ids)


class _Flaky:
    "An image source that fails on its third batch, as a crashing reader would."
    def __init__(self, imgs): self.imgs, self.calls = imgs, 0
    def __len__(self): return len(self.imgs)
    def __getitem__(self, sl):
        self.calls += 1
        if self.calls == 3: raise OSError("disk went away")
        return self.imgs[sl]


def test_failure_leaves_no_result(model, stimuli, tmp_path):
    imgs, ids, _ = stimuli
    out = tmp_path/"f"
    extract_features(
        model, imgs, R, ExtractionOptions(batch_size=4, device="cpu"), stimulus_ids=ids, out_dir=out, progress=False
    )
    with pytest.raises(OSError, match="disk went away"):
        extract_features(
            model,
            _Flaky(imgs),
            R,
            ExtractionOptions(batch_size=4, device="cpu"),
            stimulus_ids=ids,
            out_dir=out,
            overwrite=True,
            progress=False,
        )
    assert not (out/"manifest.json").exists()  # the old result was invalidated before being overwritten
    assert not list(out.glob(".*.tmp"))
    with pytest.raises(FileNotFoundError, match="holds no complete features"):
        load_features(out, "conv1.pre")
    assert model.training is False and next(model.parameters()).device.type == "cpu"


def test_corrupt_outputs_are_detected(model, stimuli, tmp_path):
    imgs, ids, _ = stimuli
    out = tmp_path/"f"
    extract_features(
        model,
        imgs,
        ["conv1.pre", "fc2.post"],
        ExtractionOptions(device="cpu"),
        stimulus_ids=ids,
        out_dir=out,
        progress=False,
    )
    # a truncated file
    np.save(out/"fc2.post.npy", np.zeros((5, 1024), dtype=np.float32))
    with pytest.raises(ValueError, match=r"has shape \(5, 1024\).*the manifest says \(13, 1024\)"):
        load_features(out, "fc2.post")
    # tampered stimulus ids
    man = json.loads((out/"manifest.json").read_text())
    man["stimulus_ids"][0] = "other"
    (out/"manifest.json").write_text(json.dumps(man))
    with pytest.raises(ValueError, match="do not match their count/hash"):
        load_features(out, "conv1.pre")


def test_resnet_block_readouts(stimuli):
    imgs, ids, _ = stimuli
    m = build_model("resnet18", 5, seed=0).eval()
    feats = extract_features(
        m, imgs[:4], None, ExtractionOptions(device="cpu", image_size=64), stimulus_ids=ids[:4], progress=False
    )
    assert list(feats) == list(readout_points(m)) and len(feats) == 9
    x = preprocess_images(imgs[:4], 64)
    with torch.no_grad():
        stem = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        l10 = m.layer1[0](stem); l11 = m.layer1[1](l10)
    np.testing.assert_allclose(feats["stem"].values, stem.flatten(1).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(feats["layer1.1"].values, l11.flatten(1).numpy(), rtol=1e-5, atol=1e-5)
    assert feats["layer4.1"].shape == (4, 512 * 2 * 2)


def test_layer_selection_projection_full_size():
    "CustomCNN at full width and 224 px: every readout reduced to min(4096, D), the same for the same seed."
    m = build_model("custom_cnn", 16, seed=0)
    imgs = np.random.default_rng(2).integers(0, 256, (3, 256, 256, 3), dtype=np.uint8)
    kw = dict(stimulus_ids=["a", "b", "c"], progress=False)
    opt = ExtractionOptions(projection=4096, device="cpu")
    f = extract_features(m, imgs, ["conv1.pre", "conv5.post", "fc2.post"], opt, **kw)
    assert f["conv1.pre"].shape == (3, 4096) and f["conv1.pre"].attrs["n_features_raw"] == 96 * 55 * 55
    assert f["conv5.post"].shape == (3, 4096) and f["conv5.post"].attrs["n_features_raw"] == 256 * 13 * 13
    assert f["fc2.post"].shape == (3, 4096)
    g = extract_features(m, imgs, ["conv1.pre"], opt.replace(seed=0), **kw)
    np.testing.assert_array_equal(f["conv1.pre"].values, g["conv1.pre"].values)
    h = extract_features(m, imgs, ["conv1.pre"], opt.replace(seed=1), **kw)
    assert not np.allclose(f["conv1.pre"].values, h["conv1.pre"].values)
    # distances between the three stimuli survive the projection (JL, k=4096: ~2% error)
    with torch.no_grad(), ReadoutHooks(m.eval(), "conv1.pre") as hk:
        raw = hk(preprocess_images(imgs, 224))["conv1.pre"].flatten(1)
    d_raw, d_proj = torch.pdist(raw), torch.pdist(torch.from_numpy(f["conv1.pre"].values))
    np.testing.assert_allclose(d_proj.numpy(), d_raw.numpy(), rtol=0.1)
