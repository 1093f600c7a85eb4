"""NSD-synthetic from fixture files in the NSD release's layout: values against numpy on the raw betas, ids,
repetitions and one-back trials, images, NSD in front of it, caching, bad input."""
import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from visreps.data.loaders.nsd import DEFAULT_LABELS, NSDLayout, load_nsd_responses, write_nsd_fixture
from visreps.data.loaders.nsd_synthetic import (
    NSDSyntheticLayout,
    load_nsd_synthetic_dataset,
    load_nsd_synthetic_responses,
    write_nsd_synthetic_fixture,
)
from visreps.data.sources import load_neural_data

N_IMAGES, N_COMMON, N_TRIALS = 12, 8, 30


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("nsdsyn")
    nsd = write_nsd_fixture(
        root, n_subjects=2, n_sessions=2, trials_per_session=20, shape=(6, 7, 5), beta_formats=("hdf5",)
    )
    syn = write_nsd_synthetic_fixture(root, n_images=N_IMAGES, n_common=N_COMMON, n_trials=N_TRIALS, mat_version="v7.3")
    return root, nsd, syn


def _mask(nsd, subject, name):
    return nsd["targets"][(subject, "streams")] == DEFAULT_LABELS["streams"].index(name) + 1


def _expected(nsd, syn, subject, name, zscore=True):
    b = syn["betas"][subject][_mask(nsd, subject, name)].astype(np.float64).T / 300.0 # (trials, voxels), C-order voxels
    return (b - b.mean(0)) / b.std(0) if zscore else b


KW = dict(n_images=N_IMAGES, n_common=N_COMMON, verbose=False)


def test_values_hdf5_and_nifti_match_numpy_on_the_raw_betas(tree):
    root, nsd, syn = tree
    for fmt in ("hdf5", "nifti"):
        da = load_nsd_synthetic_responses(root, 2, "early", beta_format=fmt, **KW)
        np.testing.assert_allclose(da.values, _expected(nsd, syn, 2, "early"), atol=2e-6)
    raw = load_nsd_synthetic_responses(root, 1, "ventral", zscore=False, **KW)
    np.testing.assert_allclose(raw.values, _expected(nsd, syn, 1, "ventral", zscore=False), atol=1e-6)
    np.testing.assert_array_equal(
        np.c_[raw.x.values, raw.y.values, raw.z.values], np.argwhere(_mask(nsd, 1, "ventral"))
    )


def test_design_ids_repetitions_and_one_back(tree):
    root, nsd, syn = tree
    da = load_nsd_synthetic_responses(root, 2, "ventral", **KW)
    order = syn["order"]
    np.testing.assert_array_equal(da.image.values, order)
    np.testing.assert_array_equal(da.repetition.values, pd.Series(order).groupby(order).cumcount().to_numpy())
    np.testing.assert_array_equal(da.one_back.values, np.r_[False, order[1:] == order[:-1]])
    assert da.one_back.values.sum() >= 1 and (da.session.values == 0).all()
    exp = [f"synthetic-{k}" if k < N_COMMON else f"synthetic-{k}-subj02" for k in order]
    assert da.stimulus_id.values.tolist() == exp
    # the same voxels, in the same order, as NSD's loader gives for that region
    assert (
        da.neuroid_id.values == load_nsd_responses(root, 2, "ventral", progress=False, verbose=False).neuroid_id.values
    ).all()


def test_dataset_is_test_only_and_images_are_the_central_square(tree):
    root, nsd, syn = tree
    ds = load_nsd_synthetic_dataset(root, [1, 2], "ventral", **KW)
    assert set(ds.attrs["test_ids"]) == set(ds.stimuli.stimulus_id)
    # each subject's own colour images are not shared
    assert set(ds.shared_ids()) == {f"synthetic-{k}" for k in range(N_COMMON)}
    H, W = syn["common"].shape[1:3]
    off = (W - H) // 2
    raw = load_nsd_synthetic_dataset(root, [1, 2], "ventral", gamma=None, **KW)
    np.testing.assert_array_equal(raw.stimuli.images_for(["synthetic-3"])[0], syn["common"][3][:, off:off + H])
    np.testing.assert_array_equal(
        raw.stimuli.images_for([f"synthetic-{N_COMMON + 1}-subj02"])[0], syn["color"][2][1][:, off : off + H]
    )
    assert not isinstance(ds.stimuli.images, np.ndarray)  # read on demand


def test_images_are_square_rooted_as_the_paper_code_prepares_them(tree):
    ("gifale95/NSD-synthetic feeds networks (np.sqrt(img / 255) * "
     "255).astype(np.uint8) of the stored bricks; so does the default.")
    root, nsd, syn = tree
    ds = load_nsd_synthetic_dataset(root, [1, 2], "ventral", **KW)
    H, W = syn["common"].shape[1:3]
    off = (W - H) // 2
    sqrt = lambda a: (np.sqrt(a / 255) * 255).astype(np.uint8)
    with h5py.File(NSDSyntheticLayout(root).stimuli, "r") as f: common = f["imgBrick"][()]
    with h5py.File(NSDSyntheticLayout(root).color_stimuli(2), "r") as f: color = f["imgBrick"][()]
    np.testing.assert_array_equal(ds.stimuli.images_for(["synthetic-3"])[0], sqrt(common[3][:, off:off + H]))
    np.testing.assert_array_equal(
        ds.stimuli.images_for([f"synthetic-{N_COMMON + 1}-subj02"])[0], sqrt(color[1][:, off : off + H])
    )
    assert ds.attrs["manifest"]["gamma"] == "sqrt"
    with pytest.raises(ValueError, match="gamma='linear'"):
        load_nsd_synthetic_dataset(root, 1, "ventral", gamma="linear", **KW)


def test_nsd_train_is_one_parameter(tree):
    root, nsd, syn = tree
    ds = load_nsd_synthetic_dataset(root, 1, "early", nsd_train=True, image_size=8, **KW, progress=False)
    da = ds.get("subj01")
    assert da.sizes["presentation"] == 2 * 20 + N_TRIALS
    np.testing.assert_allclose(da.values[40:], _expected(nsd, syn, 1, "early"), atol=2e-6)
    np.testing.assert_allclose(
        da.values[:40], load_nsd_responses(root, 1, "early", progress=False, verbose=False).values, atol=0
    )
    train, test = ds.split("subj01")
    assert set(test) == {i for i in da.stimulus_id.values if i.startswith("synthetic")}
    assert train.size and not any(i.startswith("synthetic") for i in train)
    assert ds.stimuli.image_size == (8, 8)
    nsd_id = train[0]
    from PIL import Image
    from visreps.data.loaders.images import _fit_square

    np.testing.assert_array_equal(
        ds.stimuli.images_for([nsd_id])[0], _fit_square(Image.fromarray(nsd["images"][int(nsd_id)]), 8)
    )
    via_source = load_neural_data(
        f"nsd-synthetic:{root}?nsd_train=true&target=early&n_images={N_IMAGES}&n_common={N_COMMON}&verbose=false&image_size=8&progress=false"
    )
    np.testing.assert_array_equal(via_source.get("subj01").values, da.values)


def test_a_write_that_fails_midway_leaves_no_cache_file(tree, tmp_path, monkeypatch):
    root, _, _ = tree
    import xarray as xr
    real = xr.DataArray.to_netcdf

    def half(self, path, *a, **k):  # write part of the file, then die
        real(self, path, *a, **k)
        with open(path, "r+b") as fh: fh.truncate(100)
        raise OSError("disk full")
    monkeypatch.setattr(xr.DataArray, "to_netcdf", half)
    with pytest.raises(OSError, match="disk full"):
        load_nsd_synthetic_responses(root, 1, "ventral", cache_dir=tmp_path/"c", **KW)
    assert list((tmp_path/"c").iterdir()) == []  # neither a truncated .nc nor a temp file
    monkeypatch.undo()
    da = load_nsd_synthetic_responses(root, 1, "ventral", cache_dir=tmp_path/"c", **KW)
    assert [p.suffix for p in (tmp_path/"c").iterdir()] == [".nc"] and da.sizes["presentation"] == N_TRIALS


def test_cache_round_trip_and_nothing_half_written(tree, tmp_path):
    root, nsd, syn = tree
    cache = tmp_path/"cache"
    a = load_nsd_synthetic_responses(root, 1, "ventral", cache_dir=cache, **KW)
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].suffix == ".nc"
    b = load_nsd_synthetic_responses(root, 1, "ventral", cache_dir=cache, **KW)
    np.testing.assert_array_equal(a.values, b.values)
    assert b.stimulus_id.values.tolist() == a.stimulus_id.values.tolist()
    for c in ("repetition", "one_back", "image", "target", "neuroid_id"):
        np.testing.assert_array_equal(b[c].values, a[c].values)
    with pytest.raises(ValueError, match="lists 31"):  # design longer than the betas: no cache file appears
        bad = tmp_path/"badroot"
        write_nsd_fixture(bad, n_subjects=1, n_sessions=1, trials_per_session=10, shape=(5, 5, 4), beta_formats=())
        write_nsd_synthetic_fixture(bad, n_subjects=1, n_images=N_IMAGES, n_common=N_COMMON, n_trials=N_TRIALS)
        import scipy.io
        scipy.io.savemat(NSDSyntheticLayout(bad).design, dict(masterordering=np.r_[syn["order"], 1][None, :] + 1.0))
        load_nsd_synthetic_responses(bad, 1, "ventral", cache_dir=tmp_path/"c2", **KW)
    assert not (tmp_path/"c2").exists() or not list((tmp_path/"c2").iterdir())


def test_bad_input_names_the_path_and_layout(tree, tmp_path):
    root, nsd, syn = tree
    with pytest.raises(FileNotFoundError, match="nsdsynthetic_expdesign.mat"):
        load_nsd_synthetic_responses(tmp_path, 1, "ventral", **KW)
    with pytest.raises(FileNotFoundError, match="betas_nsdsynthetic"):
        load_nsd_synthetic_responses(root, 3, "ventral", **KW)  # no such subject's betas
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_nsd_synthetic_dataset(tmp_path/"nowhere")
    with pytest.raises(ValueError, match="masterordering values must lie in 1..5"):
        load_nsd_synthetic_responses(root, 1, "ventral", n_images=5, verbose=False)
    # NaN in the betas (a float NIfTI): a clear error
    nan_root = tmp_path/"nan"
    write_nsd_fixture(nan_root, n_subjects=1, n_sessions=1, trials_per_session=10, shape=(5, 5, 4), beta_formats=())
    t = write_nsd_synthetic_fixture(
        nan_root, n_subjects=1, n_images=N_IMAGES, n_common=N_COMMON, n_trials=N_TRIALS, beta_formats=("nifti",)
    )
    b = t["betas"][1].astype(np.float32); b[..., 3] = np.nan
    nib.save(nib.Nifti1Image(b, np.eye(4)), NSDSyntheticLayout(nan_root).beta_file(1, "nifti"))
    with pytest.raises(ValueError, match="non-finite"):
        load_nsd_synthetic_responses(nan_root, 1, "ventral", **KW)


def test_gamma_is_part_of_the_run_identity_and_the_feature_cache_key(tree, tmp_path, monkeypatch):
    "gamma changes the images, not their ids: runs and cached features of gamma=None are not those of the default."
    from eval_keys import eval_keys
    root, nsd, syn = tree
    load = lambda **kw: load_nsd_synthetic_dataset(
        root, 1, "early", nsd_train=True, image_size=8, progress=False, **KW, **kw
    )
    sqrt, raw, again = load(), load(gamma=None), load(gamma="sqrt")
    ids_sqrt, key_sqrt = eval_keys(sqrt, tmp_path, monkeypatch)
    ids_raw, key_raw = eval_keys(raw, tmp_path, monkeypatch)
    ids_again, key_again = eval_keys(again, tmp_path, monkeypatch)
    assert set(ids_sqrt).isdisjoint(ids_raw) and key_sqrt != key_raw
    assert ids_sqrt == ids_again and key_sqrt == key_again  # the same options: the same runs and features
    assert sqrt.attrs["image_options"] == dict(gamma="sqrt", image_size=8, image_key="imgBrick")
    assert raw.attrs["image_options"]["gamma"] is None


def test_a_bad_gamma_is_a_config_error_before_any_response_is_read(tree, monkeypatch):
    from visreps.core.config import ConfigError
    import visreps.data.loaders.nsd_synthetic as ns
    root, nsd, syn = tree
    def never(*a, **k): raise AssertionError("responses read before gamma was checked")
    monkeypatch.setattr(ns, "load_nsd_synthetic_responses", never)
    with pytest.raises(ConfigError, match=r"gamma='linear': expected one of \['sqrt', None\]"):
        ns.load_nsd_synthetic_dataset(root, [1, 2], "ventral", gamma="linear", **KW)
