"""BrainIO assemblies and stimulus sets written as the brainio package writes them: values against the raw netCDF
variables read with h5py, MultiIndex rebuilt, time bins, regions, repetitions, lazy ZIP images, bad input."""
import zipfile

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from visreps.data.loaders.brainio import (
    assembly_responses,
    load_brainio_dataset,
    read_assembly,
    read_stimulus_set,
    write_brainio_fixture,
)
from visreps.data.sources import load_neural_data


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    d = tmp_path_factory.mktemp("brainio")
    majaj = write_brainio_fixture(
        d,
        "dicarlo.MajajHongFixture2015.public",
        "dicarlo.hvmfixture-public",
        n_images=5,
        n_reps=4,
        animals=(("Chabo", 3, "IT"), ("Tito", 4, "V4")),
        time_bins=((70, 170),),
        seed=0,
    )
    freeman = write_brainio_fixture(
        d,
        "movshon.FreemanZiembaFixture2013.public",
        "movshon.fzfixture-public",
        n_images=4,
        n_reps=2,
        animals=(("m1", 2, "V1"), ("m2", 3, "V2")),
        time_bins=((0, 10), (10, 20), (20, 30), (30, 40)),
        legacy_ids=True,
        seed=1,
    )
    return d, majaj, freeman


def _raw(nc):
    "The data variable and the coordinate variables, read with h5py alone."
    with h5py.File(nc, "r") as f:
        out = {k: f[k][()] for k in f if isinstance(f[k], h5py.Dataset)}
    return {k: (v.astype(str) if v.dtype.kind in "OS" else v) for k, v in out.items()}


def test_written_like_brainio_and_read_back_with_multiindexes(cache):
    d, m, _ = cache
    with h5py.File(m["assembly"], "r") as f:
        assert f.attrs["identifier"] == "dicarlo.MajajHongFixture2015.public"
        assert f["data"].compression == "gzip"  # compressed as write_netcdf does
        assert "presentation" not in f or f["presentation"].attrs.get("CLASS") == b"DIMENSION_SCALE"
    a = read_assembly(m["assembly"])
    assert isinstance(a.indexes["presentation"], pd.MultiIndex)
    assert list(a.indexes["neuroid"].names) == ["neuroid_id", "animal", "region", "electrode"]
    np.testing.assert_array_equal(a.values, _raw(m["assembly"])["data"])


def test_values_regions_repetitions_single_bin(cache):
    d, m, _ = cache
    raw = _raw(m["assembly"])
    ds = load_brainio_dataset(m["assembly"], image_size=6)
    assert ds.subjects == ["Chabo", "Tito"] and ds.targets == ["IT", "V4"]
    tito = ds.get("Tito")
    cols = raw["animal"] == "Tito"
    np.testing.assert_allclose(tito.values, raw["data"][:, cols, 0], rtol=0, atol=0)
    assert tito.stimulus_id.values.tolist() == raw["stimulus_id"].tolist()
    np.testing.assert_array_equal(tito.repetition.values, raw["repetition"])  # the assembly's own numbering
    assert tito.target.values.tolist() == raw["region"][cols].tolist()
    assert "object_name" in tito.coords and "electrode" in tito.coords  # other coordinates kept
    assert tito.sizes["presentation"] == 5 * 4  # repeats stay presentations


def test_time_bins_mean_window_and_index(cache):
    d, _, f = cache
    raw = _raw(f["assembly"])
    a = read_assembly(f["assembly"])
    x = raw["data"]  # (presentation, neuroid, time_bin)
    m1 = raw["animal"] == "m1"
    np.testing.assert_allclose(assembly_responses(a)["m1"].values, x[:, m1].mean(2), atol=1e-12)
    np.testing.assert_allclose(
        assembly_responses(a, time_bins=(10, 30))["m1"].values, x[:, m1, 1:3].mean(2), atol=1e-12
    )
    np.testing.assert_allclose(assembly_responses(a, time_bins="20-40")["m1"].values, x[:, m1, 2:4].mean(2), atol=1e-12)
    np.testing.assert_array_equal(assembly_responses(a, time_bins=-1)["m1"].values, x[:, m1, 3])
    with pytest.raises(ValueError, match="no time bin lies within 5-9"):
        assembly_responses(a, time_bins=(5, 9))
    assert assembly_responses(a)["m2"].stimulus_id.values.tolist() == raw["image_id"].tolist()  # legacy `image_id`


def test_images_come_from_the_zip_lazily(cache):
    d, m, _ = cache
    ds = load_brainio_dataset(m["assembly"], image_size=6)
    assert not isinstance(ds.stimuli.images, np.ndarray)
    from PIL import Image
    import io
    with zipfile.ZipFile(m["zip"]) as z, Image.open(io.BytesIO(z.read("img003.png"))) as im:
        full = np.asarray(im.convert("RGB"))
    H, W = full.shape[:2]
    exp = (
        np.asarray(Image.fromarray(full).resize((int(6 * W / H), 6), Image.BILINEAR))[:, (int(6 * W / H) - 6) // 2 :][
            :, :6
        ]
        if W > H
        else None
    )
    got = ds.stimuli.images_for(["img003"])[0]
    assert got.shape == (6, 6, 3)
    np.testing.assert_array_equal(got, exp)
    assert ds.stimuli.metadata.loc["img003", "category"] == "cat1"


def test_a_folder_of_assemblies_and_the_source_string(cache):
    d, m, f = cache
    ds = load_brainio_dataset(d, image_size=6)
    assert sorted(ds.subjects) == ["FreemanZiembaFixture2013-public-m1", "FreemanZiembaFixture2013-public-m2",
                                   "MajajHongFixture2015-public-Chabo", "MajajHongFixture2015-public-Tito"]
    assert sorted(ds.targets) == ["IT", "V1", "V2", "V4"]
    one = load_neural_data(f"brainio:{f['assembly']}?time_bins=10-20&image_size=6")
    np.testing.assert_array_equal(one.get("m2").values, _raw(f["assembly"])["data"][:, 2:, 1])


def _rewrite(src, dst, fn):
    ds = xr.open_dataset(src, engine="h5netcdf").load()
    ds = fn(ds)
    dst.parent.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(dst, engine="h5netcdf")
    return dst


def test_bad_input(cache, tmp_path):
    d, m, f = cache
    with pytest.raises(FileNotFoundError, match="nothing.nc.*presentation x neuroid"):
        load_brainio_dataset(tmp_path/"nothing.nc")
    with pytest.raises(FileNotFoundError, match="no .nc files"):
        load_brainio_dataset(tmp_path)
    # an assembly without stimulus ids
    p = _rewrite(m["assembly"], tmp_path/"noid"/"assy_x.nc", lambda ds: ds.drop_vars("stimulus_id"))
    with pytest.raises(ValueError, match="no stimulus ids"):
        load_brainio_dataset(p, stimulus_set=m["csv"])
    # no stimulus set to be found, then loading without images
    p = _rewrite(m["assembly"], tmp_path/"alone"/"assy_y.nc", lambda ds: ds)
    with pytest.raises(FileNotFoundError, match="stimulus_dicarlo_hvmfixture-public.csv"):
        load_brainio_dataset(p)
    assert load_brainio_dataset(p, stimulus_set=False).subjects == ["Chabo", "Tito"]
    # a stimulus set whose ZIP lacks some images
    zdir = tmp_path/"zip"; zdir.mkdir()
    csv = zdir/"stimulus_s.csv"; csv.write_text(m["csv"].read_text())
    with zipfile.ZipFile(m["zip"]) as zin, zipfile.ZipFile(zdir/"stimulus_s.zip", "w") as zout:
        for n in zin.namelist():
            if n != "img002.png": zout.writestr(n, zin.read(n))
    with pytest.raises(FileNotFoundError, match=r"1 of 5 image\(s\) are not in the archive.*img002.png"):
        read_stimulus_set(csv)
    with pytest.raises(FileNotFoundError, match="img002.png"):
        load_brainio_dataset(m["assembly"], stimulus_set=csv)
    # stimulus ids the CSV does not list
    pd.read_csv(m["csv"]).iloc[:3].to_csv(zdir/"short.csv", index=False)
    with pytest.raises(ValueError, match=r"2 stimulus id\(s\) of the assembly are not in the stimulus set"):
        load_brainio_dataset(m["assembly"], stimulus_set=zdir/"short.csv")
    # NaN in the responses: an error, or those presentations dropped on request
    def nan(ds):
        v = ds["data"].values.copy(); v[2, 0, 0] = np.nan; ds["data"] = (ds["data"].dims, v); return ds
    p = _rewrite(m["assembly"], tmp_path/"nan"/"assy_z.nc", nan)
    with pytest.raises(ValueError, match="NaN.*'Chabo'.*nan='drop'"):
        load_brainio_dataset(p, stimulus_set=m["csv"])
    ds = load_brainio_dataset(p, stimulus_set=m["csv"], nan="drop", image_size=6)
    assert ds.get("Chabo").sizes["presentation"] == 19 and ds.get("Tito").sizes["presentation"] == 20
    # no region coordinate
    p = _rewrite(m["assembly"], tmp_path/"noregion"/"assy_r.nc", lambda ds: ds.drop_vars("region"))
    with pytest.raises(ValueError, match="no neuroid coordinate 'region'"):
        load_brainio_dataset(p, stimulus_set=m["csv"])


def _zip_image(zp, member):
    from PIL import Image
    import io
    with zipfile.ZipFile(zp) as z, Image.open(io.BytesIO(z.read(member))) as im:
        return np.asarray(im.convert("RGB"))


def test_brainscore_sha1_cache_layout(tmp_path):
    ("brainscore_core keeps every file in <cache>/<sha1>/ and extracts a "
     "ZIP into <zip folder>/<stem>/; MajajHong2015 is stored neuroid first.")
    import hashlib

    m = write_brainio_fixture(
        tmp_path,
        "dicarlo.MajajHongFixture2015.public",
        "dicarlo.hvmfixture-public",
        n_images=5,
        n_reps=2,
        image_size=(6, 6),
        dims=("neuroid", "presentation", "time_bin"),
        layout="brainscore",
        extract=True,
        seed=4,
    )
    for k in ("assembly", "csv", "zip"):
        assert m[k].parent.parent == tmp_path and m[k].parent.name == hashlib.sha1(m[k].read_bytes()).hexdigest()
    assert (
        m["csv"].name == "stimulus_dicarlo_hvmfixture-public.csv"
        and m["zip"].name == "stimulus_dicarlo_hvmfixture-public.zip"
    )
    with h5py.File(m["assembly"], "r") as f:
        raw = f["data"][()]  # (neuroid, presentation, time_bin) as stored
        animal = f["animal"][()].astype(str)
    assert raw.shape == (5, 10, 1)
    for source in (str(tmp_path) + "?identifier=dicarlo.MajajHongFixture2015.public", str(m["assembly"])):
        ds = load_neural_data(f"brainio:{source}")
        np.testing.assert_array_equal(ds.get("Tito").values, raw[animal == "Tito", :, 0].T)
        np.testing.assert_array_equal(ds.stimuli.images_for(["img003"])[0], _zip_image(m["zip"], "img003.png"))
    m["zip"].unlink()  # only the extracted copy is left: read from <zip folder>/<stem>/
    ds = load_brainio_dataset(m["assembly"])
    np.testing.assert_array_equal(
        ds.stimuli.images_for(["img001"])[0], np.asarray(Image_open(m["zip"].parent / m["zip"].stem / "img001.png"))
    )
    for p in (m["zip"].parent/m["zip"].stem).iterdir(): p.unlink()
    with pytest.raises(
        FileNotFoundError, match=r"stimulus_dicarlo_hvmfixture-public.zip is neither next to it nor in a sibling folder"
    ):
        load_brainio_dataset(m["assembly"])


def Image_open(path):
    from PIL import Image
    with Image.open(path) as im: return im.convert("RGB")


def test_stimulus_set_by_identifier_and_assembly_by_identifier(tmp_path):
    ("FreemanZiemba2013.public is paired in Brain-Score with "
     "FreemanZiemba2013.aperture-public, not the set its attribute names.")
    f = write_brainio_fixture(
        tmp_path,
        "movshon.FZFixture2013.public",
        "movshon.FZFixture2013-public",
        n_images=4,
        n_reps=2,
        image_size=(6, 6),
        layout="brainscore",
        seed=5,
    )
    ap = write_brainio_fixture(
        tmp_path,
        "movshon.FZFixture2013.aperture",
        "FZFixture2013.aperture-public",
        n_images=4,
        n_reps=1,
        image_size=(6, 6),
        layout="brainscore",
        seed=6,
    )
    own = load_brainio_dataset(tmp_path, identifier="movshon.FZFixture2013.public")
    np.testing.assert_array_equal(own.stimuli.images_for(["img002"])[0], _zip_image(f["zip"], "img002.png"))
    ds = load_neural_data(
        f"brainio:{tmp_path}?identifier=movshon.FZFixture2013.public&stimulus_set=FZFixture2013.aperture-public"
    )
    assert sorted(ds.subjects) == ["Chabo", "Tito"]  # only the assembly asked for
    np.testing.assert_array_equal(ds.stimuli.images_for(["img002"])[0], _zip_image(ap["zip"], "img002.png"))
    assert not np.array_equal(_zip_image(ap["zip"], "img002.png"), _zip_image(f["zip"], "img002.png"))
    with pytest.raises(
        FileNotFoundError, match="stimulus set 'nothing-public' was not found as stimulus_nothing-public.csv"
    ):
        load_brainio_dataset(tmp_path, identifier="movshon.FZFixture2013.public", stimulus_set="nothing-public")
    with pytest.raises(
        FileNotFoundError, match=r"no assy_x_Y\.nc in .*found \['assy_movshon_FZFixture2013_aperture.nc'"
    ):
        load_brainio_dataset(tmp_path, identifier="x.Y")


def test_neuroids_without_a_region(cache, tmp_path):
    ("A neuroid whose `region` is empty or NaN is no silent region "
     "'' or 'nan': an error naming it, or dropped on request.")
    d, m, _ = cache
    def blank(ds):
        r = ds["region"].values.astype(object); r[1] = ""; r[4] = np.nan
        return ds.assign_coords(region=("neuroid", r.astype(str)))
    p = _rewrite(m["assembly"], tmp_path/"noregion"/"assy_n.nc", blank)
    raw = _raw(m["assembly"])
    with pytest.raises(ValueError, match=r"2 neuroid\(s\) have no region.*Chabo_e1.*Tito_e1.*unassigned='drop'"):
        load_brainio_dataset(p, stimulus_set=m["csv"])
    ds = load_brainio_dataset(p, stimulus_set=m["csv"], unassigned="drop", image_size=6)
    assert ds.targets == ["IT", "V4"]
    keep = np.setdiff1d(np.arange(7), [1, 4])
    got = np.concatenate([ds.get(s).values for s in ds.subjects], axis=1)
    np.testing.assert_array_equal(got, raw["data"][:, keep, 0])
    assert ds.get("Chabo").neuroid_id.values.tolist() == ["Chabo_e0", "Chabo_e2"]


def test_the_stimulus_set_is_part_of_the_run_identity_and_the_feature_cache_key(tmp_path, monkeypatch):
    ("stimulus_set= changes the images, not their ids: runs and cached "
     "features of the assembly's own set are not reused for another.")
    from eval_keys import eval_keys
    d = tmp_path / "cache"
    f = write_brainio_fixture(d, "movshon.FZFixture2013.public", "movshon.FZFixture2013-public", n_images=8, n_reps=2,
                              image_size=(6, 6), layout="brainscore", seed=5)
    write_brainio_fixture(d, "movshon.FZFixture2013.aperture", "FZFixture2013.aperture-public", n_images=8, n_reps=1,
                          image_size=(6, 6), layout="brainscore", seed=6)
    load = lambda **kw: load_brainio_dataset(
        d, identifier="movshon.FZFixture2013.public", subject_coord=None, test_fraction=0.5, **kw
    )
    own, aperture = load(), load(stimulus_set="FZFixture2013.aperture-public")
    named, by_csv = load(stimulus_set="movshon.FZFixture2013-public"), load(stimulus_set=f["csv"])
    ids_own, key_own = eval_keys(own, tmp_path / "res", monkeypatch)
    ids_ap, key_ap = eval_keys(aperture, tmp_path / "res", monkeypatch)
    assert set(ids_own).isdisjoint(ids_ap) and key_own != key_ap
    # its own set, named: the same images, the same keys
    assert eval_keys(named, tmp_path / "res", monkeypatch) == (ids_own, key_own)
    assert eval_keys(by_csv, tmp_path / "res", monkeypatch)[1] != key_ap
    assert own.attrs["image_options"] == dict(stimulus_set="movshon.FZFixture2013-public", image_size=None)
    assert aperture.attrs["image_options"]["stimulus_set"] == "FZFixture2013.aperture-public"
    assert by_csv.attrs["image_options"]["stimulus_set"].startswith("csv:")


def test_bad_nan_or_unassigned_is_a_config_error_before_any_file_is_read(tmp_path):
    from visreps.core.config import ConfigError
    for key in ("unassigned", "nan"):
        with pytest.raises(ConfigError, match=rf"{key}='keep': expected one of \['error', 'drop'\]"):
            load_brainio_dataset(tmp_path / "not-there.nc", **{key: "keep"})  # the option, not the missing file
