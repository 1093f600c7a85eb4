"""What a training run was trained on (issue 23 item 3): `visreps train` writes `provenance.json` (the data set's name,
source and content id, the stimuli trained on, the label file or column with its K, image size, seeds, version, commit),
refuses labels with K classes when `n_classes` is not K, and takes `n_classes` from the labels when it is left out
(before, an omitted `n_classes` trained a 1000-way network on K labels)."""
import json

import numpy as np
import pytest

from visreps.core.config import hash_file, hash_json
from visreps.data.dataset import load_dataset, stimuli_content_id
from visreps.data.world import make_world
from visreps.training.labels import write_label_csv
from visreps.training.trainer import load_train_state

TINY = dict(n_levels=2, n_subjects=1, n_train_per_subject=24, n_test=16, image_size=64,
            n_voxels_early=4, n_voxels_mid=4, n_voxels_ventral=4)
TRAIN = ["width=0.125", "epochs=1", "batch_size=16", "device=cpu", "image_size=64", "progress=false"]


from cli_run import run  # visreps ARGV in this process, output captured


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    r = tmp_path_factory.mktemp("prov")
    path = make_world(0, **TINY).save(r / "w")
    ds = load_dataset(path)
    ids = ds.stimuli.stimulus_id
    write_label_csv(r / "labels4.csv", ids, np.arange(len(ids)) % 4)  # K = 4, no sidecar: the largest label + 1
    return r, path, ds


@pytest.mark.parametrize("labels", ["column:category", "labels4.csv"])
def test_labels_with_k_classes_and_another_num_classes_are_refused(world, tmp_path, labels):
    r, path, _ = world
    labels = labels if labels.startswith("column:") else str(r / labels)
    rc, out, err = run(["train", f"dataset={path}", f"labels={labels}", "n_classes=8", *TRAIN,
                        f"out_dir={tmp_path / 't'}"])
    assert rc == 2, (out, err)
    assert f"n_classes=8: the labels {labels!r} have K=4 classes; give n_classes=4" in err
    assert not (tmp_path / "t").exists()


def test_a_train_run_records_what_it_was_trained_on(world, tmp_path):
    r, path, ds = world
    rc, out, err = run(["train", f"dataset={path}", f"labels={r / 'labels4.csv'}", *TRAIN, f"out_dir={tmp_path / 't'}"])
    assert rc == 0, err
    assert "K=4" in out
    ck = load_train_state(tmp_path / "t" / "checkpoints" / "last.pt")
    assert ck["config"]["n_classes"] == 4  # taken from the labels
    prov = json.loads((tmp_path / "t" / "provenance.json").read_text())
    assert prov["data"] == dict(name=ds.name, stimuli=ds.stimuli.content_id, n_stimuli=len(ds.stimuli),
                                source=str(path), image_options=None)
    st = prov["stimuli"]  # trained on the data set's stimuli but its held-out (test) ones, in its order
    keep = [i for i in ds.stimuli.stimulus_id.tolist() if i not in set(ds.test_ids().tolist())]
    assert len(keep) == len(ds.stimuli) - 16 and prov["left_out"]["n"] == 16
    assert (st["ids_hash"], st["n"], st["content_id"], st["named_by"]) == (
        hash_json(keep), len(keep), stimuli_content_id(keep, ds.stimuli.images_for(keep)), "id")
    lab = prov["labels"]
    csv = r / "labels4.csv"
    assert (lab["path"], lab["sha256"], lab["n_classes"], lab["column"]) == (str(csv), hash_file(csv, n=64), 4, None)
    assert (prov["image_size"], prov["seed"], prov["split_seed"]) == (64, 1, 0)
    assert prov["visreps_version"] and "git_commit" in prov
    # a metadata column: recorded by name
    rc, out, err = run(["train", f"dataset={path}", "labels=column:category", *TRAIN, f"out_dir={tmp_path / 'c'}"])
    assert rc == 0, err
    lab = json.loads((tmp_path / "c" / "provenance.json").read_text())["labels"]
    assert (lab["column"], lab["n_classes"], lab["path"]) == ("category", 4, None)


def test_world_training_runs_record_their_images_and_task(tmp_path):
    from visreps.training.steps import train_world_models
    runs = train_world_models(tmp_path, ["coarse2"], seed=0, image_size=64, n_images=40, epochs=1, width=0.1,
                              batch_size=16)
    prov = json.loads((runs["coarse2"] / "provenance.json").read_text())
    got = (prov["labels"]["source"], prov["labels"]["n_classes"], prov["stimuli"]["n"], prov["data"]["n_stimuli"])
    assert got == ("task:coarse2", 2, 40, 40)
    assert prov["world"]["n_test"] == 40
    assert prov["data"]["stimuli"] == prov["stimuli"]["content_id"] and prov["stimuli"]["named_by"] == "id"


def test_an_evaluation_of_a_trained_network_carries_its_training_record(world, tmp_path):
    ("Each stored run keeps what it was computed from: the evaluated "
     "data set's identity and the network's training record.")
    from visreps.study.results import ResultsStore
    r, path, ds = world
    rc, out, err = run(["train", f"dataset={path}", "labels=column:category", *TRAIN, f"out_dir={tmp_path / 't'}"])
    assert rc == 0, err
    ck = tmp_path / "t" / "checkpoints" / "epoch_0001.pt"
    rc, out, err = run(["eval", f"dataset={path}", f"checkpoint={ck}", "n_select=16", "n_boot=5", "device=cpu",
                        "batch_size=8", "analyses=[rsa]", f"results_root={tmp_path / 'S'}"])
    assert rc == 0, err
    store = ResultsStore(tmp_path / "S")
    (rid,) = store.run_ids()
    prov = store.read_run(rid)["provenance"]
    assert prov["data"]["stimuli"] == ds.stimuli.content_id and prov["data"]["source"] == str(path)
    assert prov["training"] == json.loads((tmp_path / "t" / "provenance.json").read_text())
    assert prov["training"]["labels"]["column"] == "category"
    assert prov["overlap"] == dict(n=0, n_test=16, examples=[], by="image_sha256", allowed=False)


def test_train_on_a_world_leaves_its_test_stimuli_out_and_its_evaluation_runs(world, tmp_path):
    ("`visreps train dataset=world:...` trains on the world's training stimuli (before, on every stimulus: "
     "then every evaluation on the same world would test on trained images).")
    from visreps.training.trainer import TRAINED_STIMULI, read_trained_stimuli
    r, path, ds = world
    argv = ["train", f"dataset=world:{path}", "labels=column:category", *TRAIN, f"out_dir={tmp_path / 't'}"]
    rc, out, err = run(argv)
    assert rc == 0, err
    assert "(16 held-out stimuli of the data set left out)" in out
    trained = set(read_trained_stimuli(tmp_path / "t" / TRAINED_STIMULI).stimulus_id)
    assert trained and not trained & set(ds.test_ids().tolist())
    rc, out, err = run(["eval", f"dataset=world:{path}", f"checkpoint={tmp_path / 't' / 'checkpoints' / 'last.pt'}",
                        "n_select=16", "n_boot=5", "device=cpu", "batch_size=8", "analyses=[rsa]",
                        f"results_root={tmp_path / 'S'}"])
    assert rc == 0, err


def test_an_evaluation_on_stimuli_the_network_was_trained_on_is_refused_unless_allowed(world, tmp_path):
    ("A network trained on every image of the world (a notebook calling `train`): its evaluation on the world's test "
     "stimuli says how many it was trained on and stops (exit 2, nothing written); allow_overlap=true evaluates it, "
     "and the record keeps the count.")
    from visreps.study.results import ResultsStore
    from visreps.training.trainer import TrainConfig, split_indices, train
    r, path, ds = world
    ids = ds.stimuli.stimulus_id
    cfg = TrainConfig(n_classes=4, width=0.125, epochs=1, batch_size=16, device="cpu", image_size=64, progress=False)
    train(cfg, ds.stimuli.images_for(ids), ds.stimuli.metadata.category.values, tmp_path / "t",
          provenance=dict(stimulus_ids=ids))
    trained = set(ids[split_indices(len(ids), cfg.test_fraction, cfg.split_seed)[0].numpy()].tolist())
    n = len(trained & set(ds.test_ids().tolist()))
    assert 0 < n < 16
    ck = tmp_path / "t" / "checkpoints" / "last.pt"
    argv = ["eval", f"dataset={path}", f"checkpoint={ck}", "n_select=16", "n_boot=5", "device=cpu", "batch_size=8",
            "analyses=[rsa]", f"results_root={tmp_path / 'S'}"]
    rc, out, err = run(argv)
    assert rc == 2, (out, err)
    assert f"checkpoint {str(ck)!r} was trained on {n} of the 16 test stimuli of dataset 'world'" in err
    assert "allow_overlap=true" in err and err.count("\n") == 1
    assert not (tmp_path / "S" / "runs").exists() or not ResultsStore(tmp_path / "S").run_ids()
    rc, out, err = run([*argv, "allow_overlap=true"])
    assert rc == 0, err
    store = ResultsStore(tmp_path / "S")
    (rid,) = store.run_ids()
    ov = store.read_run(rid)["provenance"]["overlap"]
    assert (ov["n"], ov["n_test"], ov["allowed"]) == (n, 16, True)


def test_a_redirected_training_log_shows_an_eta(world, tmp_path):
    "Standard error to a file (no bar): one line per epoch, with the time left."
    r, path, _ = world
    argv = [a for a in TRAIN if not a.startswith(("progress", "epochs"))]
    rc, out, err = run(["train", f"dataset={path}", "labels=column:category", *argv, "epochs=2",
                        f"out_dir={tmp_path / 't'}"])
    assert rc == 0, err
    lines = [line for line in err.splitlines() if "epoch " in line]
    assert len(lines) == 2, err
    assert lines[0].startswith(f"[train] {tmp_path / 't'}: epoch 1/2, loss ") and ", ETA 00:" in lines[0]
    assert lines[1].endswith("ETA 00:00")


def test_pca16_and_fine16_cli_runs_are_told_apart_by_their_records(tmp_path):
    ("The issue's case: `visreps labels` + `visreps train` for PCA-16 and a fine 16-class network on the world, both "
     "evaluated: the figure pages' `label_models` labels them '16' and 'fine (16)' from their records (by K alone "
     "both were 'fine (16)' and averaged into one bar).")
    from visreps.app.book import label_models
    from visreps.study.results import ResultsStore
    path = make_world(0, **dict(TINY, n_levels=4, n_train_per_subject=48)).save(tmp_path / "w")
    assert load_dataset(path).stimuli.metadata.category.max() == 15
    rc, out, err = run(["labels", f"dataset={path}", "granularities=[16]", "width=0.125", "image_size=64", "device=cpu",
                        f"out_dir={tmp_path / 'labels'}"])
    assert rc == 0, err
    for name, labels in (("pca16", tmp_path / "labels" / "pca_labels_16.csv"), ("fine16", "column:category")):
        rc, out, err = run(["train", f"dataset={path}", f"labels={labels}", *TRAIN, f"out_dir={tmp_path / name}"])
        assert rc == 0 and "K=16" in out, err
        rc, out, err = run(["eval", f"dataset={path}", f"checkpoint={tmp_path / name / 'checkpoints' / 'last.pt'}",
                            "n_select=16", "n_boot=5", "device=cpu", "batch_size=8", "analyses=[rsa]",
                            "readouts=[fc2.post]", f"results_root={tmp_path / 'S'}"])
        assert rc == 0, err
    lab = json.loads((tmp_path / "pca16" / "provenance.json").read_text())["labels"]  # the label source's weights
    assert lab["method"] == "pca_median_bits" and lab["made_from_weights"].startswith("state:")
    rs = ResultsStore(tmp_path / "S")
    df, order = label_models(rs, rs.load(split="test"))
    assert order == ["16", "fine (16)"]
    assert dict(zip(df.model, df.granularity)) == {"pca16": "16", "fine16": "fine (16)"}
