"""The held-out set of a multi-subject data set that names its test images (TVSD: every monkey saw every image)."""
import numpy as np

from visreps.data.dataset import NeuralDataset, StimulusSet, make_responses


def _two_subjects_seeing_everything(named):
    ids = [f"img{i}" for i in range(10)]
    rng = np.random.default_rng(0)
    resp = {s: make_responses(rng.normal(size=(10, 3)), ids, np.zeros(10, int), ["IT"] * 3, s) for s in ("F", "N")}
    attrs = {} if named is None else {"test_ids": named}
    return NeuralDataset("toy", resp, StimulusSet(ids, np.zeros((10, 4, 4, 3), np.uint8)), attrs)


def test_named_test_set_restricts_the_shared_images():
    ds = _two_subjects_seeing_everything(["img7", "img2", "img9"])
    assert ds.test_ids().tolist() == ["img2", "img7", "img9"]  # stimulus-set order
    train, test = ds.split("F")
    assert test.tolist() == ["img2", "img7", "img9"] and len(train) == 7 and not set(train) & set(test)


def test_without_a_named_test_set_every_shared_image_is_held_out():
    ds = _two_subjects_seeing_everything(None)
    assert len(ds.test_ids()) == 10
