"""THINGS image folders: the concept layout as a lazy stimulus set keyed by image id, joined to THINGS behaviour (SPoSE)
and to TVSD by that id; bad input."""
import numpy as np
import pytest
from PIL import Image

from visreps.data.loaders.images import _fit_square
from visreps.data.sources import load_neural_data
from visreps.data.loaders.things_images import write_things_fixture
from visreps.data.loaders.things_images import (
    load_things_images_dataset,
    things_image_table,
    write_things_images_fixture,
)
from visreps.data.loaders.tvsd import write_tvsd_fixture

CONCEPTS = ["aardvark", "abacus", "accordion", "acorn", "air_conditioner", "airplane"]


@pytest.fixture(scope="module")
def things(tmp_path_factory):
    d = tmp_path_factory.mktemp("things")
    write_things_images_fixture(d, CONCEPTS, per_concept=4, size=(13, 9))
    emb, con = write_things_fixture(d, n_concepts=6)  # next to object_images/: found without being named
    con.write_text("".join(c + "\n" for c in CONCEPTS))
    tv = write_tvsd_fixture(d/"tvsd", n_train=14, n_test=4, n_reps=3)
    return d, np.loadtxt(emb), tv


def test_table_follows_the_concept_folders(things):
    d, _, _ = things
    t = things_image_table(d)
    assert len(t) == 24 and t.concept.tolist() == sorted(t.concept.tolist())
    on_disk = sorted(p.stem for p in (d/"object_images").rglob("*.jpg"))
    assert sorted(t.stimulus_id) == on_disk
    assert (t.things_path == t.concept + "/" + t.stimulus_id + ".jpg").all()
    assert things_image_table(d, images_per_concept=2).groupby("concept").size().tolist() == [2] * 6


def test_behaviour_join_by_concept(things):
    d, X, _ = things
    ds = load_neural_data(f"things-images:{d}?image_size=7")
    b = ds.get("behaviour")
    rows = [CONCEPTS.index(c) for c in b.concept.values]
    np.testing.assert_allclose(b.values, X[rows], rtol=1e-12)
    assert b.stimulus_id.values.tolist() == things_image_table(d).stimulus_id.tolist()
    i = "airplane_01c"
    with Image.open(d/"object_images"/"airplane"/f"{i}.jpg") as im:
        np.testing.assert_array_equal(ds.stimuli.images_for([i])[0], _fit_square(im, 7))
    assert not isinstance(ds.stimuli.images, np.ndarray)


def test_tvsd_join_by_image_id(things):
    d, _, tv = things
    ds = load_things_images_dataset(d, behaviour=False, tvsd=d/"tvsd", monkeys=["N"], image_size=5)
    assert ds.subjects == ["monkeyN"]
    used = set(tv["N"]["train_ids"]) | set(tv["N"]["test_ids"])
    assert set(ds.stimuli.stimulus_id) == used and ds.attrs["test_ids"] == sorted(tv["N"]["test_ids"])
    np.testing.assert_allclose(ds.get("monkeyN").values[:14], tv["N"]["train"].T, rtol=1e-6)
    both = load_things_images_dataset(d, tvsd=d/"tvsd", monkeys=["F"], image_size=5)
    assert both.subjects == ["behaviour", "monkeyF"]


def test_bad_input(things, tmp_path):
    d, _, _ = things
    with pytest.raises(FileNotFoundError, match="object_images/<concept>"):
        load_things_images_dataset(tmp_path/"none")
    write_things_images_fixture(tmp_path/"bare", ["aardvark"], per_concept=1)
    with pytest.raises(FileNotFoundError, match="nothing to pair the images with"):
        load_things_images_dataset(tmp_path/"bare")
    sp = tmp_path/"spose"
    e, c = write_things_fixture(sp, n_concepts=5, n_dims=3)
    c.write_text("".join(x + "\n" for x in CONCEPTS[:5]))
    with pytest.raises(ValueError, match=r"1 THINGS concept\(s\).*airplane.*missing='drop'"):
        load_things_images_dataset(d, behaviour=sp, spose_dims=3)
    assert len(load_things_images_dataset(d, behaviour=sp, missing="drop", spose_dims=None).stimuli) == 20
    write_tvsd_fixture(tmp_path/"tv", monkeys="F", n_train=30, n_test=2, n_reps=2)  # more images than the folder holds
    with pytest.raises(ValueError, match="TVSD image.*not in the THINGS images"):
        load_things_images_dataset(d, behaviour=False, tvsd=tmp_path/"tv", monkeys="F")
    (d/"object_images"/"acorn"/"acorn_01b.jpg").rename(d/"object_images"/"acorn"/"acorn_01b.keep")
    try:
        with pytest.raises(FileNotFoundError, match="acorn_01b.jpg"):
            load_neural_data(f"tvsd:{d/'tvsd'}?monkeys=[F]&images={d}")
    finally:
        (d/"object_images"/"acorn"/"acorn_01b.keep").rename(d/"object_images"/"acorn"/"acorn_01b.jpg")
