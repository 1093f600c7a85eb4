"""plans/paper.yaml's further targets (NSD-synthetic, TVSD, BrainIO): the plan still parses and expands, and every
target's source string names a registered loader with options that loader accepts."""
import importlib
import inspect

from visreps.data.sources import SOURCES, parse_source, source_options
from visreps.app.sweep import expand_plan, load_plan

NEW = {"evaluate_ood": {"nsd-synthetic"}, "evaluate_tvsd": {"tvsd"}, "evaluate_brainio": {"brainio"}}


def _accepts(kind, options):
    module, func, _ = SOURCES[kind]
    sig = inspect.signature(getattr(importlib.import_module(module), func))
    return all(k in sig.parameters for k in options)  # each option is a named parameter of the loader itself


def test_paper_plan_has_the_further_targets():
    plan = load_plan("paper")
    specs = expand_plan(plan, "/nonexistent/results")
    by = {}
    for s in specs: by.setdefault(s.stage, []).append(s)
    trained = {s.parameters["model"] for s in by["evaluate"] if s.parameters["model"] != "untrained"}
    assert {s.parameters["dataset"] for s in by["evaluate"]} == {"nsd:/data/nsd"}  # the NSD stage is unchanged
    for stage, kinds in NEW.items():
        runs = by[stage]
        assert {s.parameters["model"] for s in runs} == trained and {s.parameters["epoch"] for s in runs} == {20}
        datasets = {s.parameters["dataset"] for s in runs}
        assert {parse_source(source_options(d)[0])[0] for d in datasets} == kinds
        for d in datasets:
            base, opts = source_options(d)
            kind, arg = parse_source(base)
            assert arg.startswith("/data/") and _accepts(kind, opts), d
        assert len({s.run_dir for s in runs}) == len(runs)
    assert len(by["evaluate_brainio"]) == 2 * len(trained) and len(by["evaluate_tvsd"]) == 2 * len(trained)
    bio = [source_options(s.parameters["dataset"])[1] for s in by["evaluate_brainio"]]
    assert {o.get("time_bins") for o in bio} == {None, "50-200"}
    # one pooled subject with a held-out fifth
    assert all(o["subject_coord"] is None and o["test_fraction"] == 0.2 for o in bio)
    assert source_options(by["evaluate_ood"][0].parameters["dataset"])[1] == {"nsd_train": True}
    tv = [source_options(s.parameters["dataset"])[1] for s in by["evaluate_tvsd"]]
    assert sorted(o["monkeys"][0] for o in tv) == ["F"] * len(trained) + ["N"] * len(trained)  # one monkey per run
    assert all(o["images"] == "/data/things" for o in tv)


def _targets():
    "{stage: [dataset source strings]} of the further targets, as the paper plan expands them."
    by = {}
    for s in expand_plan(load_plan("paper"), "/nonexistent/results"):
        if s.stage in NEW: by.setdefault(s.stage, set()).add(s.parameters["dataset"])
    return {k: sorted(v) for k, v in by.items()}


def test_the_plan_source_strings_load_on_native_fixtures(tmp_path):
    ("Each target's string, with /data/<x> pointing at a fixture in "
     "the release's layout, loads through load_neural_data unchanged.")
    import numpy as np
    from visreps.data.loaders.brainio import write_brainio_fixture
    from visreps.data.loaders.nsd import write_nsd_fixture
    from visreps.data.loaders.nsd_synthetic import write_nsd_synthetic_fixture
    from visreps.data.sources import load_neural_data
    from visreps.data.loaders.things_images import write_things_images_fixture
    from visreps.data.loaders.tvsd import write_tvsd_fixture
    data = tmp_path/"data"
    write_nsd_fixture(
        data / "nsd", n_subjects=1, n_sessions=1, trials_per_session=12, shape=(5, 5, 4), beta_formats=("hdf5",)
    )
    write_nsd_synthetic_fixture(data/"nsd", n_subjects=1, n_images=10, n_common=7, n_trials=14)
    write_things_images_fixture(data/"things", per_concept=3)
    tv = write_tvsd_fixture(data/"tvsd", n_train=12, n_test=3, n_reps=2)
    mh = write_brainio_fixture(
        data / "brainio",
        "dicarlo.MajajHong2015.public",
        "dicarlo.hvm-public",
        n_images=15,
        n_reps=2,
        image_size=(6, 6),
        dims=("neuroid", "presentation", "time_bin"),
        layout="brainscore",
        seed=1,
    )
    fzx = write_brainio_fixture(
        data / "brainio",
        "movshon.FreemanZiemba2013.public",
        "movshon.FreemanZiemba2013-public",
        n_images=15,
        n_reps=2,
        image_size=(6, 6),
        animals=(("m1", 2, "V1"), ("m2", 2, "V2")),
        time_bins=((0, 50), (50, 100), (100, 200), (200, 300)),
        seed=2,
    )
    ap = write_brainio_fixture(
        data / "brainio",
        "movshon.FreemanZiemba2013.aperture",
        "FreemanZiemba2013.aperture-public",
        n_images=15,
        n_reps=1,
        image_size=(6, 6),
        animals=(("m1", 1, "V1"),),
        seed=3,
    )
    local = lambda src: src.replace("/data/", f"{data}/")
    t = _targets()
    ood = load_neural_data(
        local(t["evaluate_ood"][0]), n_images=10, n_common=7, verbose=False, progress=False, image_size=8
    )  # fixture sizes by keyword
    assert set(ood.attrs["test_ids"]) == {i for i in ood.stimuli.stimulus_id if i.startswith("synthetic-")}
    for src in t["evaluate_tvsd"]:
        ds = load_neural_data(local(src), image_size=8)
        (m,) = ds.subjects
        assert m in ("monkeyF", "monkeyN") and sorted(ds.targets) == ["IT", "V1", "V4"]
        assert ds.attrs["test_ids"] == tv[m[-1]]["test_ids"] and ds.stimuli.images_for(
            ds.attrs["test_ids"][:1]
        ).shape == (1, 8, 8, 3)
    majaj, freeman = sorted(t["evaluate_brainio"], key=lambda s: "Freeman" in s)
    ds = load_neural_data(local(majaj), image_size=6)
    assert ds.subjects == ["MajajHong2015-public"] and ds.targets == ["IT", "V4"] and len(ds.attrs["test_ids"]) == 3
    import h5py
    with h5py.File(mh["assembly"], "r") as f: raw = f["data"][()][:, :, 0].T  # stored neuroid first
    np.testing.assert_array_equal(ds.get("MajajHong2015-public").values, raw)
    ds = load_neural_data(local(freeman), image_size=6)
    assert ds.targets == ["V1", "V2"]
    import zipfile, io
    from PIL import Image
    with zipfile.ZipFile(ap["zip"]) as z, Image.open(io.BytesIO(z.read("img004.png"))) as im:
        # the aperture set's images
        np.testing.assert_array_equal(ds.stimuli.images_for(["img004"])[0], np.asarray(im.convert("RGB")))
    fz = ds.get(ds.subjects[0])
    # the 50-200 ms window: bins 50-100 and 100-200 averaged
    np.testing.assert_allclose(fz.values, fzx["values"][:, :, 1:3].mean(2), atol=1e-12)
