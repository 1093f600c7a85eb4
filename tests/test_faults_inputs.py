"""Issue 25: input files that are almost right are read, or refused with a sentence that says what is wrong."""
import json

import numpy as np
import pytest

from visreps.data.dataset import load_dataset
from visreps.data.world import make_world
from visreps.core.config import DataError


@pytest.mark.parametrize("key", ["subjects", "name"])
def test_dataset_json_without_a_key_names_it(tmp_path, key):
    make_world(0, n_levels=2, n_subjects=1, n_train_per_subject=8, n_test=8, image_size=32,
               n_voxels_early=4, n_voxels_mid=4, n_voxels_ventral=4).save(tmp_path / "w")
    meta = json.loads((tmp_path / "w" / "dataset.json").read_text())
    (tmp_path / "w" / "dataset.json").write_text(json.dumps({k: v for k, v in meta.items() if k != key}))
    with pytest.raises(DataError, match=f"dataset.json': '{key}' is None, expected"):
        load_dataset(tmp_path / "w")


def test_label_csv_with_a_byte_order_mark_is_read(tmp_path):
    from visreps.training.labels import read_label_csv
    from visreps.data.loaders.images import read_pca_labels
    p = tmp_path / "labels.csv"
    p.write_bytes("image,pca_label\na.JPEG,1\nb.JPEG,0\n".encode("utf-8-sig"))  # Excel's "CSV UTF-8"
    assert read_label_csv(p)[1].tolist() == [1, 0]
    assert read_pca_labels(p).pca_label.tolist() == [1, 0]


WO = ["n_levels=2", "n_subjects=1", "n_train_per_subject=8", "n_test=8", "image_size=32",
      "n_voxels_early=4", "n_voxels_mid=4", "n_voxels_ventral=4"]


def run(argv):
    import contextlib, io
    from visreps.app.cli import main
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, err.getvalue()


def test_world_out_a_link_writes_into_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    (tmp_path / "dangling").symlink_to(tmp_path / "later")
    for seed in (0, 1):  # the second world replaces the first, in the target
        assert run(["world", f"out={tmp_path / 'link'}", f"seed={seed}", *WO])[0] == 0
        assert (tmp_path / "link").is_symlink() and (tmp_path / "target" / "dataset.json").exists()
        assert load_dataset(tmp_path / "link").attrs["world_id"] == load_dataset(tmp_path / "target").attrs["world_id"]
    assert run(["world", f"out={tmp_path / 'dangling'}", *WO])[0] == 0
    assert (tmp_path / "dangling").is_symlink() and (tmp_path / "later" / "dataset.json").exists()
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert left == ["dangling", "later", "link", "target"]  # no temporary folders left


def test_world_out_a_link_loop_is_refused(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    rc, err = run(["world", f"out={tmp_path / 'a'}", *WO])
    assert rc == 2 and "a' is a symbolic link that leads to no folder" in err, err
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()


def _cut(path, frac=0.5):
    b = path.read_bytes()
    path.write_bytes(b[: int(len(b) * frac)])  # an interrupted download or copy


@pytest.mark.parametrize("which", ["expdesign", "stimuli", "beta"])
def test_a_truncated_nsd_file_is_named(tmp_path, which):
    from visreps.data.loaders.nsd import NSDLayout, load_nsd_dataset, write_nsd_fixture
    write_nsd_fixture(tmp_path / "nsd", n_subjects=1, mat_version="v7.3", beta_formats=("hdf5",))
    lay = NSDLayout(tmp_path / "nsd")
    f = dict(expdesign=lay.expdesign, stimuli=lay.stimuli, beta=lay.beta_file(1, 1, "hdf5"))[which]
    _cut(f)
    with pytest.raises(DataError, match=f"{f.name}' is not readable: truncated or damaged"):
        load_nsd_dataset(tmp_path / "nsd", subjects=[1], target="ventral", progress=False, verbose=False)


@pytest.mark.parametrize("which", ["mua", "images"])
def test_a_truncated_tvsd_file_is_named(tmp_path, which):
    from visreps.data.loaders.tvsd import load_tvsd_dataset, tvsd_paths, write_tvsd_fixture
    write_tvsd_fixture(tmp_path / "tvsd", monkeys=("F",))
    f = tvsd_paths(tmp_path / "tvsd", "F")[which]
    _cut(f)
    with pytest.raises(DataError, match=f"{f.name}' is not readable: truncated or damaged"):
        load_tvsd_dataset(tmp_path / "tvsd", monkeys=["F"])


def _deny(monkeypatch, target):
    "Opening `target` with h5py fails as it does for a file this user may not read (tests run as root, who may)."
    import h5py
    real = h5py.File

    def file(name, *a, **k):
        if str(name) == str(target):
            raise PermissionError(13, f"Unable to synchronously open file (unable to open file: name = '{name}', "
                                      "errno = 13, error message = 'Permission denied')")
        return real(name, *a, **k)
    monkeypatch.setattr(h5py, "File", file)


@pytest.mark.parametrize("name", ["responses_subj01.nc", "stimuli.h5"])
def test_a_data_set_file_this_user_may_not_read_is_not_called_damaged(tmp_path, monkeypatch, name):
    make_world(0, n_levels=2, n_subjects=1, n_train_per_subject=8, n_test=8, image_size=32,
               n_voxels_early=4, n_voxels_mid=4, n_voxels_ventral=4).save(tmp_path / "w")
    _deny(monkeypatch, tmp_path / "w" / name)
    with pytest.raises(DataError) as e:
        load_dataset(tmp_path / "w")
    assert str(e.value).startswith(f"permission denied: '{tmp_path / 'w' / name}'"), e.value
    assert "truncated" not in str(e.value) and "rewrite" not in str(e.value)


def test_a_feature_cache_file_this_user_may_not_read_is_not_computed_again(tmp_path, monkeypatch, capsys):
    import numpy as np
    from visreps.study.feature_cache import _read_gram
    f = tmp_path / "gram-x.npz"
    np.savez(f, G=np.eye(2), s=np.ones(2), D=np.array(2), projected=np.eye(2))
    real = np.load

    def load(p, *a, **k):
        if str(p) == str(f): raise PermissionError(13, "Permission denied", str(p))
        return real(p, *a, **k)
    monkeypatch.setattr(np, "load", load)
    with pytest.raises(DataError, match=f"permission denied: '{f}'"):
        _read_gram(f)
    assert "truncated" not in capsys.readouterr().err


@pytest.fixture
def world_folder(tmp_path):
    make_world(0, n_levels=2, n_subjects=1, n_train_per_subject=8, n_test=8, image_size=32,
               n_voxels_early=4, n_voxels_mid=4, n_voxels_ventral=4).save(tmp_path / "w")
    return tmp_path / "w"


def test_integer_responses_in_a_data_set_folder_are_read_as_float(world_folder):
    import numpy as np
    import xarray as xr
    f = world_folder / "responses_subj01.nc"
    counts = (xr.load_dataarray(f, engine="h5netcdf") * 100).round().astype("int32")  # e.g. spike counts
    counts.to_netcdf(f, engine="h5netcdf")
    got = load_dataset(world_folder).get("subj01")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.values, counts.values.astype(np.float64))


def _rewrite_images(folder, fn):
    import h5py
    with h5py.File(folder / "stimuli.h5", "a") as h:
        im = h["images"][:]
        del h["images"]
        h["images"] = fn(im)
        del h.attrs["content_id"]  # a file written by hand records none
    return im


@pytest.mark.parametrize("scale", [1 / 255, 1.0])
def test_float_images_in_0_1_or_0_255_are_read_as_uint8(world_folder, scale):
    import numpy as np
    im = _rewrite_images(world_folder, lambda im: (im * scale).astype(np.float32))
    st = load_dataset(world_folder).stimuli
    assert st.images.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(st.images), im)


def _doubled(im):  # floats in [0, 510]: neither convention
    out = im * 2.0
    out[0, 0, 0, 0] = 0
    return out


@pytest.mark.parametrize("how, said", [(_doubled, "images are float64 with values in [0, 510]"),
                                       (lambda im: im.astype("S1"), "images are |S1")])
def test_images_of_another_range_or_type_are_refused_in_one_sentence(world_folder, tmp_path, how, said):
    _rewrite_images(world_folder, how)
    rc, err = run(["eval", f"dataset={world_folder}", "width=0.25", "device=cpu", f"results_root={tmp_path / 'S'}"])
    assert rc == 2 and f"stimulus file '{world_folder / 'stimuli.h5'}': {said}; expected uint8" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


EO = ["width=0.25", "n_classes=8", "image_size=64", "n_select=30", "projection=64", "n_boot=20",
      "n_ceiling_splits=2", "device=cpu", "analyses=[rsa]", "readouts=[conv1.post,fc2.post]"]


@pytest.fixture(scope="module")
def scored_world(tmp_path_factory):
    "A small world with float64 responses and its scores."
    import xarray as xr
    d = tmp_path_factory.mktemp("scaled")
    make_world(0, n_levels=3, n_subjects=2, n_train_per_subject=40, n_test=20, image_size=32, n_voxels_early=16,
               n_voxels_mid=16, n_voxels_ventral=16).save(d / "w")
    for f in (d / "w").glob("responses_*.nc"):
        xr.load_dataarray(f, engine="h5netcdf").astype("float64").to_netcdf(f, engine="h5netcdf")
    assert run(["eval", f"dataset={d / 'w'}", *EO, f"results_root={d / 'S'}"])[0] == 0
    return d


def _responses_times(src, dst, fn):
    import shutil
    import xarray as xr
    shutil.copytree(src, dst)
    f = dst / "responses_subj01.nc"
    fn(xr.load_dataarray(f, engine="h5netcdf")).to_netcdf(f, engine="h5netcdf")
    return dst


@pytest.mark.parametrize("factor", [1e200, 1e-200])
def test_responses_in_other_units_score_as_in_usual_ones(scored_world, tmp_path, factor):
    "Every score is a correlation: one factor on a subject's responses changes nothing (float32 once overflowed)."
    from visreps.study.results import ResultsStore
    w = _responses_times(scored_world / "w", tmp_path / "w", lambda da: da * factor)
    rc, err = run(["eval", f"dataset={w}", *EO, f"results_root={tmp_path / 'S'}"])
    assert rc == 0, err
    cols = ["subject", "target", "readout", "split", "metric", "value", "ceiling"]
    def scores(root): return ResultsStore(root).load()[cols].sort_values(cols[:5]).reset_index(drop=True)
    ref, got = scores(scored_world / "S"), scores(tmp_path / "S")
    assert len(got) == len(ref) > 0
    np.testing.assert_allclose(got.value.to_numpy(float), ref.value.to_numpy(float), rtol=1e-12)


@pytest.mark.parametrize("where", ["all", "mid"])
def test_constant_responses_are_named_not_blamed_on_n_select(scored_world, tmp_path, where):
    def flat(da):
        da[:, (da.target.values == where) if where != "all" else slice(None)] = 3.0
        return da
    w = _responses_times(scored_world / "w", tmp_path / "w", flat)
    rc, err = run(["eval", f"dataset={w}", *EO, f"results_root={tmp_path / 'S'}"])
    target = "early" if where == "all" else where
    assert rc == 2 and f"subject 'subj01': every response of ROI '{target}' is 3 (constant responses)" in err, err
    assert "n_select" not in err and len(err.strip().splitlines()) == 1
