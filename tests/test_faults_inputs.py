"""Issue 25: input files that are almost right are read, or refused with a sentence that says what is wrong."""
import json

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
