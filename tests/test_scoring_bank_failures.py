"""Model-bank failures are recorded, counted and bounded (issue 14, 5c): a model-layer whose features are constant
(here: a network with all-zero weights) gets its error in the table's `error` column, is left out of the ED-score
correlation with a count in the summary, and a study stops when more than `max_failed_fraction` of model-layers fail."""
import pytest
import torch

import visreps.study.bank as vb
from visreps.core.config import CommandError
from visreps.models.zoo import build_model
from visreps.data.world import make_world

torch.set_num_threads(1)
READOUTS = ["conv2.post", "conv5.post", "fc2.post"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("bankfail")
    zero = build_model("custom_cnn", 8, width=0.1, image_size=64, seed=0)
    torch.save({k: torch.zeros_like(v) for k, v in zero.state_dict().items()}, root / "zeros.pt")
    ds = make_world(
        seed=5,
        n_levels=3,
        n_subjects=1,
        n_train_per_subject=30,
        n_test=24,
        n_voxels_early=8,
        n_voxels_mid=8,
        n_voxels_ventral=8,
    )
    bank = dict(
        name="fail",
        models=[
            dict(
                name="zeros",
                arch="custom_cnn",
                width=0.1,
                n_classes=8,
                weights=str(root / "zeros.pt"),
                readouts=READOUTS,
            ),
            dict(name="cnn", arch="custom_cnn", width=0.1, n_classes=8, readouts=READOUTS),
        ],
    )
    cfg = vb.BankConfig(
        n_images=30,
        pls_components=2,
        pls_folds=2,
        encoding_cv=2,
        n_alphas=3,
        n_ceiling_splits=2,
        device="cpu",
        poolings=["max"],
        analyses=["encoding_pls", "rsa"],
        pooling_components=64,
        progress=False,
        out_dir=str(root / "study"),
        train_dir=str(root),
    )
    return dict(root=root, ds=ds, bank=bank, cfg=cfg)


def test_failures_are_recorded_and_counted(study):
    table = vb.run_bank(
        study["cfg"].replace(max_failed_fraction=0.6), bank=study["bank"], dataset=study["ds"], log=None
    )
    bad = table[table.error != ""]
    assert set(bad.entry) == {"zeros"} and set(bad.readout) == set(READOUTS)
    assert bad.error.str.contains("constant").all()
    assert (table[table.entry == "cnn"].error == "").all()
    sl = vb.study_slice(table, "ventral", "encoding_pls", "max", final_only=False)
    assert set(sl.entry) == {"cnn"} and len(sl.attrs["failures"]) == 3
    s = vb.summarize_study(sl)
    assert (s.n_failed == 3).all()
    # the table read back keeps the errors
    back = vb.load_study_table(study["root"] / "study" / "table.csv")
    assert (back[back.entry == "zeros"].error != "").all()


def test_too_many_failures_stop_the_study(study):
    with pytest.raises(CommandError, match=r"3 of 6 model-layers failed, more than max_failed_fraction=0.1"):
        vb.run_bank(
            study["cfg"].replace(out_dir=str(study["root"] / "study2")),
            bank=study["bank"],
            dataset=study["ds"],
            log=None,
        )
