("Image folders (ImageNet, Tiny-ImageNet), PCA-label joins, and "
 "the packed store: resumption, corrupt files, verification.")
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import visreps.data.loaders.images as vi
from visreps.data.loaders.images import (
    attach_pca_labels,
    decode_image,
    list_imagenet,
    list_tiny_imagenet,
    load_packed,
    pack_images,
    read_pca_labels,
)


def _img(path, rng, h=None, w=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    h = h or int(rng.integers(18, 40)); w = w or int(rng.integers(18, 40))
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def tiny(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path/"tiny-imagenet-200"
    wnids = ["n09", "n02", "n05"]
    root.mkdir(); (root/"wnids.txt").write_text("\n".join(wnids) + "\n")
    for w in wnids:
        for i in range(4): _img(root/"train"/w/"images"/f"{w}_{i}.JPEG", rng, 64, 64)
    ann = []
    for i, w in enumerate(["n05", "n09", "n02", "n05"]):
        _img(root/"val"/"images"/f"val_{i}.JPEG", rng, 64, 64); ann.append(f"val_{i}.JPEG\t{w}\t0\t0\t10\t10")
    (root/"val"/"val_annotations.txt").write_text("\n".join(ann) + "\n")
    return root


def test_tiny_imagenet_tables(tiny):
    tr = list_tiny_imagenet(tiny, "train")
    assert len(tr) == 12 and tr.label.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert (tr.wnid.map({"n02": 0, "n05": 1, "n09": 2}) == tr.label).all()
    va = list_tiny_imagenet(tiny, "val")
    assert dict(zip(va.image, va.label)) == {"val_0.JPEG": 1, "val_1.JPEG": 2, "val_2.JPEG": 0, "val_3.JPEG": 1}
    (tiny/"val"/"images"/"val_0.JPEG").unlink()
    with pytest.raises(FileNotFoundError, match="1 image\\(s\\) listed in .*val_annotations.txt' are not in"):
        list_tiny_imagenet(tiny, "val")
    _img(tiny / "val" / "images" / "val_0.JPEG", np.random.default_rng(1))
    _img(tiny / "val" / "images" / "extra.JPEG", np.random.default_rng(2))
    with pytest.raises(KeyError, match="have no label in .*val_annotations.txt', e.g. \\['extra.JPEG'\\]"):
        list_tiny_imagenet(tiny, "val")


def test_imagenet_val_folder_layout_and_synset_file(tmp_path):
    rng = np.random.default_rng(0)
    for w in ("n03", "n01"):
        _img(tmp_path/"train"/w/f"{w}_0.JPEG", rng); _img(tmp_path/"val"/w/f"v_{w}.JPEG", rng)
    (tmp_path/"LOC_synset_mapping.txt").write_text("n01 tench, Tinca tinca\nn02 goldfish\nn03 shark\n")
    va = list_imagenet(tmp_path, "val")
    assert dict(zip(va.image, va.label)) == {"v_n01.JPEG": 0, "v_n03.JPEG": 2}  # index over the 3 synsets
    with pytest.raises(FileNotFoundError, match="ImageNet folder .*none/train' does not exist"):
        list_imagenet(tmp_path/"none", "train")
    with pytest.raises(ValueError, match="split='test'"):
        list_imagenet(tmp_path, "test")
    _img(tmp_path/"val"/"n09"/"v_n09.JPEG", rng)
    with pytest.raises(KeyError, match=r"wnid\(s\) \['n09'\] are not in the class index \(3 classes\)"):
        list_imagenet(tmp_path, "val")


def test_pca_labels_join_by_basename(tmp_path, tiny):
    tr = list_tiny_imagenet(tiny, "train")
    f = tmp_path/"labels.csv"
    pd.DataFrame(dict(image=["/some/where/" + n for n in tr.image[::-1]], pca_label=np.arange(12)[::-1] % 4)).to_csv(
        f, index=False
    )
    out = attach_pca_labels(tr[["path", "label"]], f)
    assert out.pca_label.tolist() == [i % 4 for i in range(12)]
    f.write_text("file,label\na,1\n")
    with pytest.raises(ValueError, match="expected header 'image,pca_label'"):
        read_pca_labels(f)
    f.write_text("image,pca_label\nx.JPEG,1\nx.JPEG,2\n")
    with pytest.raises(ValueError, match="labelled more than once, e.g. \\['x.JPEG'\\]"):
        read_pca_labels(f)


def _one_shot(table, crop, resize):
    return np.stack([decode_image(p, crop, resize) for p in table.path])


def test_pack_resumes_after_a_crash(tmp_path, tiny, monkeypatch):
    tab = list_tiny_imagenet(tiny, "train")
    out = tmp_path/"p"
    real, calls = vi._decode_safe, {"n": 0}
    def crash_on_7th(args):
        calls["n"] += 1
        if calls["n"] == 7: raise KeyboardInterrupt("killed")
        return real(args)
    monkeypatch.setattr(vi, "_decode_safe", crash_on_7th)
    with pytest.raises(KeyboardInterrupt):
        pack_images(tab, out, 24, resize=32, chunk=4, workers=1, progress=False)
    status = np.load(out/"status.npy")
    assert status.tolist() == [1] * 4 + [0] * 8  # first chunk committed, the crashed chunk not
    with pytest.raises(FileNotFoundError, match="packing not finished"):
        load_packed(out)
    with pytest.raises(ValueError, match="unfinished pack made with"):
        pack_images(tab, out, 16, chunk=4, progress=False)
    monkeypatch.setattr(vi, "_decode_safe", real)
    pack_images(tab, out, 24, resize=32, chunk=4, workers=2, progress=False)
    P = load_packed(out, verify="full")
    np.testing.assert_array_equal(P.images, _one_shot(tab, 24, 32))
    assert P.index.id.tolist() == tab.image.tolist() and P.labels.tolist() == tab.label.tolist()
    assert not (out/"status.npy").exists() and not (out/"images.partial.npy").exists()


def test_process_pool_corrupt_files_and_verification(tmp_path, tiny):
    (tiny/"train"/"n05"/"images"/"n05_bad.JPEG").write_bytes(b"\xff\xd8 truncated")
    tab = list_tiny_imagenet(tiny, "train")
    out = tmp_path/"p"
    pack_images(tab, out, 16, executor="process", workers=2, chunk=5, progress=False)
    P = load_packed(out, verify="full")
    good = tab[tab.image != "n05_bad.JPEG"]
    assert len(P) == 12 == P.info["n"] and P.info["n_skipped"] == 1
    np.testing.assert_array_equal(P.images, _one_shot(good, 16, None))
    sk = pd.read_csv(out/"skipped.csv")
    assert sk.id.tolist() == ["n05_bad.JPEG"] and sk.path[0].endswith("n05_bad.JPEG")
    with pytest.raises(ValueError, match="n05_bad.JPEG"):
        pack_images(tab, tmp_path/"strict", 16, strict=True, progress=False)
    # tampering is caught: a changed byte (full check), a shortened index (quick check)
    raw = np.load(out/"images.npy", mmap_mode="r+"); raw[3, 0, 0, 0] ^= 1; raw.flush(); del raw
    load_packed(out, verify="quick")
    with pytest.raises(ValueError, match="checksum differs"):
        load_packed(out, verify="full")
    idx = pd.read_csv(out/"index.csv"); idx.iloc[:-1].to_csv(out/"index.csv", index=False)
    with pytest.raises(ValueError, match="index.csv' has 11 rows; pack.json says 12"):
        load_packed(out)
