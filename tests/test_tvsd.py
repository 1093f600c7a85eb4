"""TVSD from fixture files in the release's layout (MATLAB v7.3 via h5py and v5 via scipy): values against the raw
arrays read independently, electrode areas, repetitions as presentations, THINGS images, bad input."""
import h5py
import numpy as np
import pytest

from visreps.data.sources import load_neural_data
from visreps.data.loaders.things_images import write_things_images_fixture
from visreps.data.loaders.tvsd import (
    DEFAULT_AREAS,
    load_tvsd_dataset,
    load_tvsd_responses,
    tvsd_paths,
    write_tvsd_fixture,
)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    d = tmp_path_factory.mktemp("tvsd")
    t73 = write_tvsd_fixture(d/"v73", n_train=9, n_test=3, n_reps=4, seed=3)
    t5 = write_tvsd_fixture(d/"v5", n_train=9, n_test=3, n_reps=4, seed=3, mat_version="v5")
    return d, t73, t5


def _raw(path, name):
    "A MATLAB v7.3 variable in MATLAB's orientation, read with h5py alone."
    with h5py.File(path, "r") as f:
        return f[name][()].T


def test_values_are_the_raw_arrays_train_then_every_test_repetition(release):
    d, t, _ = release
    mua = tvsd_paths(d/"v73", "N")["mua"]
    train, reps = _raw(mua, "train_MUA"), _raw(mua, "test_MUA_reps")  # (electrodes, images), (electrodes, images, reps)
    da = load_tvsd_responses(d/"v73", "N")
    np.testing.assert_allclose(da.values[:9], train.T, rtol=1e-6)
    for r in range(4):
        np.testing.assert_allclose(da.values[9 + 3 * r: 12 + 3 * r], reps[:, :, r].T, rtol=1e-6)
    assert da.repetition.values.tolist() == [0] * 9 + [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert da.stimulus_id.values[:9].tolist() == t["N"]["train_ids"]
    assert da.split.values.tolist() == ["train"] * 9 + ["test"] * 12
    mean = load_tvsd_responses(d/"v73", "N", test_trials="mean", splits="test")
    np.testing.assert_allclose(mean.values, _raw(mua, "test_MUA").T, rtol=1e-6)


def test_v5_and_v73_read_alike(release):
    d, t73, t5 = release
    a, b = load_tvsd_responses(d/"v73", "F"), load_tvsd_responses(d/"v5", "F")
    np.testing.assert_array_equal(a.values, b.values)
    assert a.stimulus_id.values.tolist() == b.stimulus_id.values.tolist()
    assert a.things_path.values.tolist() == b.things_path.values.tolist()
    with open(tvsd_paths(d/"v5", "F")["mua"], "rb") as fh:
        assert not fh.read(8).startswith(b"\x89HDF")  # really the v5 format


def test_electrode_areas_follow_the_release_table(release):
    d, _, _ = release
    for m in ("F", "N"):
        da = load_tvsd_responses(d/"v73", m)
        for first, last, area in DEFAULT_AREAS[m]:
            sel = (da.electrode.values >= first) & (da.electrode.values <= last)
            assert set(da.target.values[sel]) == {area} and sel.sum() == last - first + 1
    ds = load_tvsd_dataset(d/"v73")
    assert sorted(ds.targets) == ["IT", "V1", "V4"] and ds.subjects == ["monkeyF", "monkeyN"]
    it = ds.get("monkeyN", "IT")
    assert it.sizes["neuroid"] == 256 and it.electrode.values.min() == 769
    assert ds.attrs["test_ids"] == load_tvsd_responses(d/"v73", "F", splits="test").stimulus_id.values[:3].tolist()
    np.testing.assert_allclose(it.snr.values, _raw(tvsd_paths(d/"v73", "N")["mua"], "SNR")[768:].mean(1), rtol=1e-12)
    assert (it.array.values == (it.electrode.values - 1) // 64 + 1).all()


def test_quality_measures_in_the_released_orientations(release):
    "SNR, lats (days x electrodes in h5py), reliab (pairs x electrodes), SNR_max and oracle (electrodes x 1 in h5py)."
    d, _, _ = release
    for v in ("v73", "v5"):
        da = load_tvsd_responses(d/v, "F")
        mua = tvsd_paths(d/"v73", "F")["mua"]  # the same values; read the HDF5 copy with h5py alone
        with h5py.File(mua, "r") as f:
            raw = {k: f[k][()] for k in ("SNR", "SNR_max", "lats", "reliab", "oracle")}
        assert raw["oracle"].shape == (1024, 1) and raw["SNR"].shape == (4, 1024) and raw["reliab"].shape == (6, 1024)
        np.testing.assert_allclose(da.oracle.values, raw["oracle"][:, 0], rtol=1e-12)
        np.testing.assert_allclose(da.snr_max.values, raw["SNR_max"][:, 0], rtol=1e-12)
        np.testing.assert_allclose(da.snr.values, raw["SNR"].mean(0), rtol=1e-12)
        np.testing.assert_allclose(da.latency.values, raw["lats"].mean(0), rtol=1e-12)
        np.testing.assert_allclose(da.reliability.values, raw["reliab"].mean(0), rtol=1e-12)
    it = load_tvsd_responses(d/"v73", "N", targets="IT")
    np.testing.assert_allclose(it.oracle.values, raw_n_oracle(d)[768:], rtol=1e-12)  # kept electrodes only


def raw_n_oracle(d):
    with h5py.File(tvsd_paths(d/"v73", "N")["mua"], "r") as f: return f["oracle"][()][:, 0]


def test_images_from_a_things_folder_are_read_lazily(release, tmp_path):
    d, t, _ = release
    write_things_images_fixture(tmp_path, per_concept=2)
    ds = load_tvsd_dataset(d/"v73", monkeys="F", images=tmp_path, image_size=8)
    from PIL import Image
    from visreps.data.loaders.images import _fit_square
    i = t["F"]["test_ids"][1]
    concept = ds.stimuli.metadata.loc[i, "concept"]
    with Image.open(tmp_path/"object_images"/concept/f"{i}.jpg") as im: exp = _fit_square(im, 8)
    np.testing.assert_array_equal(ds.stimuli.images_for([i])[0], exp)
    assert not isinstance(ds.stimuli.images, np.ndarray)
    src = load_neural_data(f"tvsd:{d/'v73'}?monkeys=[F]&images={tmp_path}&image_size=8")
    np.testing.assert_array_equal(src.stimuli.images_for([i]), ds.stimuli.images_for([i]))


def test_bad_input(release, tmp_path):
    d, t, _ = release
    with pytest.raises(FileNotFoundError, match="monkeyF/THINGS_normMUA.mat"):
        load_tvsd_dataset(tmp_path/"nothing")
    (tmp_path/"half"/"monkeyF").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="THINGS_normMUA.mat"):
        load_tvsd_responses(tmp_path/"half", "F")
    with pytest.raises(ValueError, match=r"24 electrode\(s\) have no area"):
        load_tvsd_responses(d/"v73", "F", areas={"F": [(1, 1000, "V1")]})
    ok = load_tvsd_responses(d/"v73", "F", areas={"F": [(1, 1000, "V1")]}, unassigned="drop")
    assert ok.sizes["neuroid"] == 1000
    assert load_tvsd_responses(d/"v73", "F", drop_electrodes=range(1, 65)).electrode.values.min() == 65
    with pytest.raises(ValueError, match="expected a monkey letter"):
        load_tvsd_responses(d/"v73", "FF")
    # NaN in the MUA: named electrodes, no silent drop
    nan = tmp_path/"nan"
    write_tvsd_fixture(nan, monkeys="N", n_train=4, n_test=2, n_reps=2)
    p = tvsd_paths(nan, "N")["mua"]
    with h5py.File(p, "r+") as f:
        # h5py (images, electrodes): monkey N's sixth array
        x = f["train_MUA"][()]; x[1, 320:384] = np.nan; f["train_MUA"][...] = x
    with pytest.raises(ValueError, match=r"64 electrode\(s\).*e\.g\. electrodes \[321, 322"):
        load_tvsd_responses(nan, "N")
    assert load_tvsd_responses(nan, "N", drop_electrodes=range(321, 385)).sizes["neuroid"] == 960
    # a log listing fewer images than the MUA has
    short = tmp_path/"short"
    write_tvsd_fixture(short, monkeys="F", n_train=4, n_test=2, n_reps=2)
    write_tvsd_fixture(tmp_path/"other", monkeys="F", n_train=3, n_test=2, n_reps=2)
    tvsd_paths(tmp_path/"other", "F")["images"].replace(tvsd_paths(short, "F")["images"])
    with pytest.raises(ValueError, match="lists 3 train images"):
        load_tvsd_responses(short, "F")
