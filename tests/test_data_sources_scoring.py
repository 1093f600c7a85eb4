"""The new native-format sources run through the scoring pipeline unchanged (one source string each): the held-out
stimuli are the ones each source defines (TVSD's repeated test images, NSD-synthetic behind NSD, BrainIO's seeded
fraction), every region is scored."""
import numpy as np
import pytest
import torch

from visreps.data.loaders.brainio import write_brainio_fixture
from visreps.data.loaders.nsd import write_nsd_fixture
from visreps.data.loaders.nsd_synthetic import write_nsd_synthetic_fixture
from visreps.data.loaders.things_images import write_things_images_fixture
from visreps.data.loaders.tvsd import write_tvsd_fixture
from visreps.study.scoring import score_model

FAST = dict(
    n_boot=10,
    device="cpu",
    image_size=16,
    n_select=8,
    projection=8,
    fit_projection=8,
    encoding_cv=2,
    n_ceiling_splits=2,
)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten()
    )


def _check(tab, targets, n_test):
    assert set(tab.target) == set(targets) and (tab.n_stimuli == n_test).all()
    assert np.isfinite(tab.value).all()


def test_tvsd(net, tmp_path):
    write_things_images_fixture(tmp_path, per_concept=4, size=(20, 16))
    write_tvsd_fixture(tmp_path/"tvsd", monkeys="N", n_train=16, n_test=5, n_reps=2)
    tab = score_model(
        net,
        f"tvsd:{tmp_path / 'tvsd'}?monkeys=[N]&images={tmp_path}&image_size=16",
        analyses=("rsa", "encoding"),
        **FAST,
    )
    _check(tab, ["V1", "V4", "IT"], 5)


def test_nsd_synthetic_behind_nsd(net, tmp_path):
    write_nsd_fixture(
        tmp_path,
        n_subjects=1,
        n_sessions=1,
        trials_per_session=24,
        shape=(5, 6, 4),
        beta_formats=("hdf5",),
        image_size=16,
    )
    write_nsd_synthetic_fixture(tmp_path, n_subjects=1, n_images=10, n_common=7, n_trials=20, image_shape=(16, 24))
    tab = score_model(
        net,
        f"nsd-synthetic:{tmp_path}?nsd_train=true&target=[early]&n_images=10&n_common=7&verbose=false&progress=false&image_size=16",
        analyses=("rsa", "encoding"),
        **FAST,
    )
    _check(tab, ["early"], 10)


def test_brainio_pooled(net, tmp_path):
    b = write_brainio_fixture(
        tmp_path, n_images=16, n_reps=2, image_size=(20, 16), animals=(("Chabo", 3, "IT"), ("Tito", 3, "V4"))
    )
    tab = score_model(
        net, f"brainio:{b['assembly']}?subject_coord=null&test_fraction=0.25&image_size=16", analyses=("rsa",), **FAST
    )
    _check(tab, ["IT", "V4"], 4)


def test_the_evaluate_notebook_runs_unchanged_on_a_native_source(tmp_path):
    ("experiments/evaluate.ipynb, as a plan stage runs it, on a "
     "BrainIO cache given by the paper plan's kind of source string.")
    from pathlib import Path
    import pandas as pd
    from visreps.study.results import ResultsStore
    from visreps.app.sweep import run_notebook

    write_brainio_fixture(
        tmp_path / "brainio",
        "dicarlo.MajajHong2015.public",
        "dicarlo.hvm-public",
        n_images=16,
        n_reps=2,
        image_size=(20, 16),
        dims=("neuroid", "presentation", "time_bin"),
        layout="brainscore",
        seed=7,
    )
    source = (
        f"brainio:{tmp_path / 'brainio'}?identifier=dicarlo.MajajHong2015.public&subject_coord=null&test_fraction=0.25"
    )
    nb = Path(__file__).resolve().parents[1]/"experiments"/"evaluate.ipynb"
    store = tmp_path/"store"
    run_notebook(
        nb,
        dict(
            model="untrained",
            dataset=source,
            image_size=64,
            analyses=["rsa"],
            store=str(store),
            train_dir=str(tmp_path / "train"),
            eval_options=dict(n_boot=10, n_select=8, projection=8, fit_projection=8, n_ceiling_splits=2),
        ),
        tmp_path / "runs",
        timeout=300,
        threads=1,
    )
    rs = ResultsStore(store)
    assert rs.run_ids()
    recs = pd.concat([pd.DataFrame(rs.read_run(r)["records"]) for r in rs.run_ids()])
    test = recs[recs.split == "test"]
    assert set(test.target) == {"IT", "V4"} and set(test.subject) == {"MajajHong2015-public"}
    assert (test.n_stimuli == 4).all() and np.isfinite(test.value).all()
