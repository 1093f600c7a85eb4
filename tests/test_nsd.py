"""NSD loader on fixture trees in NSD's native layout: exact values, shared images, ROIs, caching, errors."""
import json
import pickle
import shutil

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

import visreps.data.loaders.nsd as nsd
from visreps.data.loaders.nsd import (
    NSDImages,
    NSDLayout,
    load_nsd,
    load_nsd_dataset,
    load_nsd_responses,
    nsd_shared_ids,
    read_expdesign,
)
from visreps.data.dataset import load_dataset

from fixtures_nsd import expected_images, expected_responses, nsd_tree, nsd_tree_v73, roi_mask  # noqa: F401


def test_hdf5_and_nifti_give_the_expected_values(nsd_tree):
    root, truth = nsd_tree
    exp = expected_responses(truth, 1, "ventral", [1, 2, 3])
    for fmt in ("hdf5", "nifti"):
        da = load_nsd_responses(root, 1, "ventral", beta_format=fmt, progress=False, verbose=False)
        np.testing.assert_allclose(da.values, exp, rtol=0, atol=2e-6)
        assert da.dtype == np.float32
        np.testing.assert_array_equal(da["nsd_id"].values, expected_images(truth, 1, [1, 2, 3]))
    # per session, every voxel has mean 0 and population std 1
    for s in (1, 2, 3):
        v = da.values[da["session"].values == s].astype(np.float64)
        np.testing.assert_allclose(v.mean(0), 0, atol=1e-6)
        np.testing.assert_allclose(v.std(0), 1, atol=1e-5)


def test_raw_betas_are_percent_signal_change(nsd_tree):
    root, truth = nsd_tree
    da = load_nsd_responses(root, 2, "FFA-1", sessions=[2], zscore=False, progress=False, verbose=False)
    np.testing.assert_allclose(da.values, expected_responses(truth, 2, "FFA-1", [2], zscore=False), atol=1e-6)
    mask = roi_mask(truth, 2, "FFA-1")
    xyz = np.argwhere(mask)
    np.testing.assert_array_equal(np.c_[da.x.values, da.y.values, da.z.values], xyz)
    assert list(da.neuroid_id.values[:2]) == [
        f"subj02-{np.ravel_multi_index(tuple(v), truth['shape'])}" for v in xyz[:2]
    ]


def test_v73_design_750_trials_and_repetitions(nsd_tree_v73):
    root, truth = nsd_tree_v73
    with h5py.File(NSDLayout(root).expdesign, "r") as f:
        assert "subjectim" in f  # really a v7.3 (HDF5) file
    ds = load_nsd(root, 1, "early", progress=False, verbose=False)
    da = ds.get("subj01")
    assert da.sizes["presentation"] == 1500
    np.testing.assert_allclose(da.values, expected_responses(truth, 1, "early", [1, 2]), atol=2e-6)
    ids = expected_images(truth, 1, [1, 2])
    rep = pd.Series(ids).groupby(ids).cumcount().to_numpy()
    np.testing.assert_array_equal(da.repetition.values, rep)
    assert json.loads(da.attrs["manifest"])["trials_per_session"] == 750


def test_design_v5_and_v73_read_alike(nsd_tree, tmp_path):
    root, truth = nsd_tree
    d5 = read_expdesign(NSDLayout(root).expdesign)
    np.testing.assert_array_equal(d5.subjectim, truth["subjectim"])
    np.testing.assert_array_equal(d5.masterordering, truth["masterordering"])
    np.testing.assert_array_equal(d5.sharedix, truth["sharedix"])
    t73 = nsd.write_nsd_fixture(tmp_path, mat_version="v7.3", beta_formats=(), n_subjects=0)
    d73 = read_expdesign(NSDLayout(tmp_path).expdesign)
    np.testing.assert_array_equal(d73.subjectim, t73["subjectim"])
    np.testing.assert_array_equal(d73.masterordering, t73["masterordering"])


def test_shared_images_and_test_ids(nsd_tree):
    root, truth = nsd_tree
    ds = load_nsd_dataset(root, [1, 2], "ventral", progress=False, verbose=False)
    seen1, seen2 = (set(expected_images(truth, s, [1, 2, 3]).tolist()) for s in (1, 2))
    assert set(ds.shared_ids().astype(int).tolist()) == seen1 & seen2
    assert set(ds.attrs["test_ids"]) == {str(i) for i in set(truth["sharedix"].tolist()) & (seen1 | seen2)}
    np.testing.assert_array_equal(nsd_shared_ids(root).astype(int), truth["sharedix"])
    train, test = ds.split("subj01")
    assert set(test.tolist()) == set(ds.shared_ids().tolist()) and not set(train.tolist()) & set(test.tolist())
    one = load_nsd(root, 1, "ventral", progress=False, verbose=False, index_base=1)
    assert set(one.attrs["test_ids"]) == {str(i + 1) for i in set(truth["sharedix"].tolist()) & seen1}
    assert one.stimuli.metadata.loc[one.attrs["test_ids"], "shared"].all()


def test_roi_lists_hemispheres_and_label_tables(nsd_tree, capsys):
    root, truth = nsd_tree
    da = load_nsd_responses(root, 1, ["V1v", "early"], sessions=[1], progress=False)
    out = capsys.readouterr().out
    v1v, early = roi_mask(truth, 1, "V1v"), roi_mask(truth, 1, "early")
    assert f"V1v (prf-visualrois, hemisphere=both): {int(v1v.sum())} voxels" in out
    assert (da.target.values == "V1v").sum() == v1v.sum() and (da.target.values == "early").sum() == (
        early & ~v1v
    ).sum()
    left = truth["hemisphere"][da.x.values, da.y.values, da.z.values] == 1
    np.testing.assert_array_equal(da.hemisphere.values, np.where(left, "lh", "rh"))
    lh = load_nsd_responses(root, 1, "early", sessions=[1], hemisphere="lh", progress=False, verbose=False)
    assert lh.sizes["neuroid"] == (early & (truth["hemisphere"] == 1)).sum() and set(lh.hemisphere.values) == {"lh"}
    # the subject's own label table decides what a region's number means
    lt = NSDLayout(root).label_table(2, "floc-places")
    keep = lt.read_text()
    lt.write_text("0 Unknown\n1 PPA\n2 OPA\n3 RSC\n")
    try:
        da = load_nsd_responses(root, 2, "PPA", sessions=[1], zscore=False, progress=False, verbose=False)
        assert da.sizes["neuroid"] == (truth["targets"][(2, "floc-places")] == 1).sum()
    finally:
        lt.write_text(keep)


def test_lazy_images(nsd_tree):
    root, truth = nsd_tree
    ds = load_nsd(root, 1, "ventral", sessions=[1], progress=False, verbose=False)
    imgs = ds.stimuli.images
    assert isinstance(imgs, NSDImages) and imgs.shape[1:] == truth["images"].shape[1:]
    ids = ds.stimuli.stimulus_id.astype(int)
    np.testing.assert_array_equal(imgs[2], truth["images"][ids[2]])
    np.testing.assert_array_equal(imgs[[4, 0, 4]], truth["images"][ids[[4, 0, 4]]])
    np.testing.assert_array_equal(imgs[1:3], truth["images"][ids[1:3]])
    back = pickle.loads(pickle.dumps(imgs))
    np.testing.assert_array_equal(back[[0]], truth["images"][ids[[0]]])
    sel = ds.stimuli.stimulus_id[[3, 1]]
    np.testing.assert_array_equal(ds.stimuli.images_for(sel), truth["images"][sel.astype(int)])
    no = load_nsd(root, 1, "ventral", sessions=[1], images=False, progress=False, verbose=False)
    with pytest.raises(ValueError, match="images=False"):
        no.stimuli.images_for(sel)


def test_manifest_survives_save(nsd_tree, tmp_path):
    root, truth = nsd_tree
    ds = load_nsd_dataset(root, [1, 2], "early", sessions={1: [1, 3], 2: [2]}, progress=False, verbose=False)
    ds.save(tmp_path/"saved")
    back = load_dataset(tmp_path/"saved")
    m = back.attrs["manifest"]["per_subject"]
    assert m["subj01"]["sessions"] == [1, 3] and m["subj02"]["sessions"] == [2]
    assert m["subj01"]["nsd_ids"] == sorted(set(expected_images(truth, 1, [1, 3]).tolist()))
    np.testing.assert_allclose(back.get("subj01").values, ds.get("subj01").values)
    assert json.loads(back.get("subj02").attrs["manifest"])["beta_files"] == [
        "nsddata_betas/ppdata/subj02/func1pt8mm/betas_fithrf_GLMdenoise_RR/betas_session02.hdf5"
    ]


def test_cache_second_load_reads_no_betas(nsd_tree, tmp_path, monkeypatch):
    root, truth = nsd_tree
    a = load_nsd_responses(root, 1, "lateral", cache_dir=tmp_path, progress=False, verbose=False)
    assert len(list(tmp_path.glob("nsd_subj01_*.nc"))) == 1
    def boom(*a, **k): raise AssertionError("betas were read although cached")
    monkeypatch.setattr(nsd, "read_session_betas", boom)
    b = load_nsd_responses(root, 1, "lateral", cache_dir=tmp_path, progress=False, verbose=False)
    np.testing.assert_array_equal(a.values, b.values)
    assert list(b.target.values) == list(a.target.values) and b.attrs["manifest"] == a.attrs["manifest"]
    with pytest.raises(AssertionError, match="betas were read"):  # other options: another cache entry
        load_nsd_responses(root, 1, "lateral", sessions=[1], cache_dir=tmp_path, progress=False, verbose=False)


def test_errors_name_the_path(nsd_tree, tmp_path):
    root, truth = nsd_tree
    lay = NSDLayout(root)
    with pytest.raises(KeyError, match="subject 'subj09' is not in the design"):
        load_nsd(root, 9)
    with pytest.raises(FileNotFoundError, match="subj03/func1pt8mm/betas_fithrf_GLMdenoise_RR"):
        load_nsd(root, 3)
    with pytest.raises(KeyError, match="ROI 'V9' is not an NSD region"):
        load_nsd(root, 1, "V9")
    with pytest.raises(FileNotFoundError, match="betas_session07.nii.gz"):
        load_nsd(root, 1, sessions=[7], beta_format="nifti")
    # copies of the tree with one thing broken
    bad = tmp_path/"bad"
    shutil.copytree(root, bad)
    blay = NSDLayout(bad)
    blay.roi_file(1, "floc-faces").unlink()
    with pytest.raises(FileNotFoundError, match="roi/floc-faces.nii.gz' does not exist"):
        load_nsd(bad, 1, "FFA-2")
    with h5py.File(blay.beta_file(1, 2), "w") as f:
        f.create_dataset("betas", data=np.zeros((30, 8, 10, 10), np.int16))  # one voxel too many along X
    with pytest.raises(
        ValueError, match=r"betas_session02.hdf5' has shape \(30, 8, 10, 10\); expected \(trials, 8, 10, 9\)"
    ):
        load_nsd(bad, 1, "ventral", beta_format="hdf5")
    nib.save(nib.Nifti1Image(np.zeros((9, 10, 7, 30), np.int16), np.eye(4)), blay.beta_file(1, 2, "nifti"))
    with pytest.raises(ValueError, match=r"betas_session02.nii.gz' has shape \(9, 10, 7, 30\)"):
        load_nsd(bad, 1, "ventral", beta_format="nifti")
    blay.beta_file(1, 3).write_bytes(b"garbage")
    with pytest.raises(ValueError, match="betas_session03.hdf5' is not readable"):
        load_nsd(bad, 1, "ventral", sessions=[3], beta_format="hdf5")
    with h5py.File(blay.stimuli, "w") as f:
        f.create_dataset("imgBrick", data=truth["images"][:5])
    with pytest.raises(KeyError, match="nsd_stimuli.hdf5' has 5 images and lacks nsd_id"):
        load_nsd(bad, 2, "ventral", sessions=[1], beta_format="nifti")
    blay.expdesign.write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match="nsd_expdesign.mat' is not a readable MATLAB file"):
        load_nsd(bad, 1)
    blay.expdesign.unlink()
    with pytest.raises(FileNotFoundError, match="nsd_expdesign.mat' does not exist"):
        load_nsd(bad, 1)


def test_one_dispatcher_for_every_source(nsd_tree, tmp_path):
    from visreps.data.sources import load_neural_data
    root, truth = nsd_tree
    ds = load_neural_data(f"nsd:{root}", subjects=[1, 2], target="ventral", progress=False, verbose=False)
    assert ds.subjects == ["subj01", "subj02"]
    np.testing.assert_allclose(ds.get("subj01").values, expected_responses(truth, 1, "ventral", [1, 2, 3]), atol=2e-6)
    ds.save(tmp_path/"as_folder")
    assert load_neural_data(str(tmp_path/"as_folder")).targets == ["ventral"]
    small = dict(n_levels=2, image_size=32, n_subjects=2, n_train_per_subject=8, n_test=4, n_reps=2,
                 n_voxels_early=4, n_voxels_mid=4, n_voxels_ventral=4)
    w = load_neural_data(f"world:{tmp_path/'world'}", **small)
    assert (tmp_path/"world"/"dataset.json").exists()
    again = load_neural_data(f"world:{tmp_path/'world'}")  # second time: read from the folder
    np.testing.assert_allclose(again.get(w.subjects[0]).values, w.get(w.subjects[0]).values)
    assert len(again.shared_ids()) == 4
