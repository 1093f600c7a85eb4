"""Your data, your network, one answer: a single subject's images and responses made with `make_dataset` score
end to end, and a data set without a test set says what to set."""
import numpy as np
import pytest
from scipy.spatial.distance import pdist

import visreps
from visreps.core.config import DataError
from visreps.data.dataset import NeuralDataset
from visreps.study.evaluate import evaluation_test_ids


def _recordings(n=40, n_rep=2, n_vox=12, seed=0):
    "Images whose mean colour drives the responses, and noisy repeats of those responses."
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    signal = images.reshape(n, -1, 3).mean(1) @ rng.normal(size=(3, n_vox))
    return images, signal[:, None, :] + rng.normal(scale=5.0, size=(n, n_rep, n_vox))


def test_one_subject_without_a_test_set_says_what_to_set():
    images, R = _recordings()
    ds = visreps.make_dataset(images, R, target="IT", test_fraction=0.25)
    bare = NeuralDataset(ds.name, ds.responses, ds.stimuli)  # as a hand-made one-subject set without attrs['test_ids']
    with pytest.raises(DataError, match=r"0 held-out .* attrs\['test_ids'\] .*make_dataset"):
        evaluation_test_ids(bare, bare.subjects)
    test = evaluation_test_ids(ds, ds.subjects)
    assert len(test) == 10 and set(test) <= set(ds.stimuli.stimulus_id)


def test_make_dataset_prints_the_draw(capsys):
    images, R = _recordings()
    visreps.make_dataset(images, R, test_fraction=0.25, seed=3)
    assert "holding out 10 of 40 stimuli" in capsys.readouterr().out


def test_score_model_on_one_subject_and_on_rdms():
    torch = pytest.importorskip("torch")
    images, R = _recordings()
    ds = visreps.make_dataset(images, R, target="IT", subject="me", test_fraction=0.25)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(16, 6))
    s = visreps.score_model(model, ds, readouts=["1", "4"], analyses=["rsa"], n_boot=20, n_select=6)
    assert set(s.subject) == {"me"} and set(s.target) == {"IT"} and (s.n_stimuli == 10).all()
    assert s.value.notna().all() and ((s.ci_low <= s.value) & (s.value <= s.ci_high)).all()
    # the same images, and RDMs of the mean responses as condensed vectors: an RDM set scores too
    rdms = visreps.make_rdm_set({"IT": pdist(R.mean(1), "correlation")}, images, kind="fmri", target="IT")
    t = visreps.score_model(model, rdms, readouts=["4"])
    assert len(t) == 1 and t.target.tolist() == ["IT"] and np.isfinite(t.value).all()


def test_command_line_takes_the_source_strings(tmp_path):
    pytest.importorskip("torch")
    import contextlib, io
    from PIL import Image
    from visreps.app.cli import main
    images, R = _recordings()
    (tmp_path / "imgs").mkdir()
    for i, im in enumerate(images): Image.fromarray(im).save(tmp_path / "imgs" / f"pic{i:02d}.png")
    np.save(tmp_path / "resp.npy", R)
    src = f"images:{tmp_path / 'imgs'}?responses={tmp_path / 'resp.npy'}&target=IT&test_fraction=0.25"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["eval", f"dataset={src}", "width=0.25", "n_classes=4", "n_select=8", "n_boot=5", "device=cpu",
                   f"results_root={tmp_path / 'res'}", "analyses=[rsa]", "readouts=[fc2.post]"])
    assert rc == 0, err.getvalue()
    assert "holding out 10 of 40 stimuli" in out.getvalue()


def test_command_line_evaluates_an_rdm_set_as_score_model_does(tmp_path):
    "`visreps eval` on an RDM set (it used to fail: 'RDMSet' object has no attribute 'subjects') stores every readout x"
    " target, with the numbers `score_model` gives on the same RDMs; options that mean nothing for RDMs are refused."
    pytest.importorskip("torch")
    import contextlib, io
    import pandas as pd
    from PIL import Image
    from visreps.app.cli import main
    from visreps.study.results import results_table
    images, R = _recordings()
    (tmp_path / "imgs").mkdir()
    for i, im in enumerate(images): Image.fromarray(im).save(tmp_path / "imgs" / f"pic{i:02d}.png")
    rdms = np.stack([pdist(R[:, k, :], "correlation") for k in range(2)])  # two 'subjects' as condensed RDMs
    np.save(tmp_path / "rdms.npy", rdms)
    src = f"rdms:{tmp_path / 'rdms.npy'}?images={tmp_path / 'imgs'}&kind=eeg&target=late"
    opts = ["width=0.25", "n_classes=4", "n_boot=10", "device=cpu", "image_size=64", "readouts=[conv3.post,fc2.post]"]
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = main(["eval", f"dataset={src}", *opts, f"results_root={tmp_path / 'res'}"])
    assert rc == 0, err.getvalue()
    got = results_table(tmp_path / "res").sort_values("readout").reset_index(drop=True)
    assert got.readout.tolist() == ["conv3.post", "fc2.post"] and set(got.target) == {"late"}
    model = visreps.build_model("custom_cnn", 4, width=0.25, seed=1, image_size=64)
    want = visreps.score_model(model, visreps.load_neural_data(src), ["conv3.post", "fc2.post"], n_boot=10,
                               rsa_method="spearman", device="cpu", image_size=64).sort_values("readout")
    np.testing.assert_allclose(got.value.to_numpy(float), want.value.to_numpy(float), rtol=1e-12)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err := io.StringIO()):
        rc = main(["eval", f"dataset={src}", *opts, "analyses=[encoding]", f"results_root={tmp_path / 'r2'}"])
    assert rc == 2 and "supports only ['rsa']" in err.getvalue()
