"""What a cached feature or a stored run was computed from (issue 25 items 1 and 2): the content of the stimuli, not
only their ids. Two synthetic worlds name their images alike (`img00000...`); evaluated into one results store, each
must score as in a fresh store. A data set whose images are replaced under the same name, ids and responses is evaluated
again, and `force=true` computes again from the images, not from the features cached before."""
from pathlib import Path

import numpy as np
import pytest

from visreps.app.cli import main
from visreps.data.dataset import NeuralDataset, StimulusSet, load_dataset
from visreps.data.world import make_world
from visreps.study.results import ResultsStore

TINY = dict(n_levels=2, n_subjects=1, n_train_per_subject=24, n_test=16, image_size=64,
            n_voxels_early=4, n_voxels_mid=4, n_voxels_ventral=4)


def eval_args(data, root, *more):
    return ["eval", f"dataset=folder:{data}", "width=0.25", "n_classes=4", "n_select=16", "n_boot=5", "device=cpu",
            "batch_size=8", "analyses=[rsa,pca_reconstruction]", "pca_ks=[2,4]", f"results_root={root}", *more]


def rows(root) -> list:
    "Every record of the results store as a sorted list of rows (all columns as text, the value exact)."
    df = ResultsStore(root).load()
    cols = sorted(c for c in df.columns if c != "value")  # one order whatever the runs read first
    text = df[cols].astype(object).where(df[cols].notna(), "").astype(str)  # NaN as "": comparable
    return sorted(tuple(r) + (repr(float(v)),) for r, v in zip(text.values.tolist(), df.value))


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    d = tmp_path_factory.mktemp("identity")
    return {k: make_world(seed, **TINY, **opts).save(d / k)
            for k, seed, opts in (("w0", 0, {}), ("w1", 1, {}), ("clutter", 0, dict(clutter=0.9)))}


@pytest.fixture(scope="module")
def fresh(worlds, tmp_path_factory):
    "Each world evaluated alone in its own results store."
    out = {}
    for k, path in worlds.items():
        root = tmp_path_factory.mktemp(f"fresh-{k}") / "S"
        assert main(eval_args(path, root)) == 0
        out[k] = rows(root)
    return out


@pytest.mark.parametrize("second", ["w1", "clutter"])
def test_two_worlds_in_one_results_root_score_as_in_fresh_roots(worlds, fresh, tmp_path, second):
    "World 0 then another world (seed 1, or only more clutter) into one store: the records of two fresh stores."
    root = tmp_path / "S"
    assert main(eval_args(worlds["w0"], root)) == 0
    assert main(eval_args(worlds[second], root)) == 0
    assert len(ResultsStore(root).run_ids()) == 4
    assert rows(root) == sorted(fresh["w0"] + fresh[second])


def test_replaced_images_are_evaluated_again(worlds, fresh, tmp_path, capsys):
    "Same name, ids and responses, other images (world 1's): new runs, scored from the new images."
    root, data = tmp_path / "S", tmp_path / "data"
    w0, w1 = load_dataset(worlds["w0"], lazy_images=False), load_dataset(worlds["w1"], lazy_images=False)
    w0.save(data)
    assert main(eval_args(data, root)) == 0
    other = StimulusSet(w0.stimuli.stimulus_id, w1.stimuli.images, w0.stimuli.metadata)
    NeuralDataset(w0.name, w0.responses, other, w0.attrs).save(data)
    capsys.readouterr()
    assert main(eval_args(data, root)) == 0
    assert "eval: 2 run(s) written, 0 already done" in capsys.readouterr().out
    assert len(ResultsStore(root).run_ids()) == 4
    # scored from world 1's images: the records of a fresh evaluation of exactly that data set, beside the old ones
    alone = tmp_path / "alone"
    assert main(eval_args(data, alone)) == 0
    assert rows(root) == sorted(fresh["w0"] + rows(alone))


def test_force_computes_again_from_the_images_not_the_cached_features(worlds, fresh, tmp_path, capsys):
    root = tmp_path / "S"
    assert main(eval_args(worlds["w0"], root)) == 0
    grams = sorted((root / "features").glob("gram-*.npz"))
    assert grams
    for f in grams:  # cached statistics that are no longer what the images give (e.g. written by an older version)
        with np.load(f) as z: got = {k: z[k] for k in z.files}
        got["G"] = got["G"][::-1, ::-1].copy(); got["projected"] = got["projected"][::-1].copy()
        with open(f, "wb") as fh: np.savez(fh, **got)
    capsys.readouterr()
    assert main(eval_args(worlds["w0"], root, "force=true")) == 0
    assert "eval: 2 run(s) written" in capsys.readouterr().out
    assert rows(root) == fresh["w0"]
