"""Integration: encoding and PLS on responses in the shared container layout (visreps.data.dataset).

A synthetic subject sees 80 images 3 times over 3 sessions; responses are a linear map of known
image features plus trial noise. Checks known effects and the plumbing between modules:
- single-trial responses are fit with the repeats of an image kept in one fold;
- averaging repeats raises the held-out correlation (less noise), toward the noise-implied bound;
- training and test sets must not share images;
- cross-decomposition finds the latent dimensions the features and responses share.
"""
import numpy as np
import pytest
import xarray as xr

# the project's own module: a plain import, so a broken module fails this test instead of skipping it
import visreps.data.dataset as dataset
from visreps.metrics.encoding import RidgeEncoder, encoding_score, stimulus_ids_of
from visreps.metrics.pls import cross_decompose


def make_world(n_images=80, n_features=12, n_voxels=30, noise=2.0, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.array([f"img{i:03d}" for i in range(n_images)])
    feats = rng.normal(size=(n_images, n_features))
    W = rng.normal(size=(n_features, n_voxels)) / np.sqrt(n_features)
    signal = feats @ W
    reps = 3
    order = np.concatenate([rng.permutation(n_images) for _ in range(reps)])
    rep = np.repeat(np.arange(reps), n_images)
    data = signal[order] + noise * rng.normal(size=(n_images * reps, n_voxels))
    resp = dataset.make_responses(data, ids[order], rep, target=["ventral"] * n_voxels, subject="s1", session=rep)
    X = xr.DataArray(feats, dims=("stimulus", "feature"), coords={"stimulus": ids})
    return X, resp, signal, ids


def test_single_trials_vs_averaged():
    X, resp, signal, ids = make_world()
    train, test = ids[:60], ids[60:]
    tr = resp.isel(presentation=np.isin(resp["stimulus_id"].values, train))
    te = resp.isel(presentation=np.isin(resp["stimulus_id"].values, test))
    single = encoding_score(X, tr, X, te, device="cpu", dtype="float64")
    avg_te = dataset.average_repetitions(te)
    averaged = encoding_score(X, tr, X, avg_te, device="cpu", dtype="float64")
    # scores come back over neuroids with the container's coordinates
    assert single.r.dims == ("neuroid",) and list(single.r["target"].values) == ["ventral"] * 30
    # averaging three repeats divides the noise variance by 3: held-out r must go up
    assert averaged.mean > single.mean + 0.1
    # and it cannot beat the noise-implied bound by more than sampling error
    var_s = signal[60:].var(0)
    bound = np.sqrt(var_s / (var_s + 4.0 / 3))
    assert averaged.mean < bound.mean() + 0.1


def test_repeats_and_sessions_stay_in_one_fold():
    X, resp, _, ids = make_world()
    enc = RidgeEncoder(device="cpu", dtype="float64").fit(X, resp)
    stim = resp["stimulus_id"].values
    for tr, te in enc.folds_:
        assert not set(stim[tr]) & set(stim[te])
    # every image appears in every session here, so grouping by session merges everything
    with pytest.raises(ValueError, match="only 1 distinct groups"):
        RidgeEncoder(device="cpu").fit(X, resp, groups="session")


def test_train_test_overlap_is_refused():
    X, resp, _, _ = make_world()
    with pytest.raises(ValueError, match="in both the training and the test set"):
        encoding_score(X, resp, X, dataset.average_repetitions(resp), device="cpu")


def test_cross_decomposition_on_container():
    rng = np.random.default_rng(1)
    n_images = 96
    ids = np.array([f"img{i:03d}" for i in range(n_images)])
    Z = rng.normal(size=(n_images, 2)) * [3, 2]
    feats = Z @ rng.normal(size=(2, 40)) + rng.normal(size=(n_images, 40))
    data = np.repeat(Z @ rng.normal(size=(2, 25)), 2, axis=0) + rng.normal(size=(2 * n_images, 25))
    resp = dataset.make_responses(data, np.repeat(ids, 2), np.tile([0, 1], n_images), target=["V4"] * 25, subject="s2")
    X = xr.DataArray(feats, dims=("stimulus", "feature"), coords={"stimulus": ids})
    cd = cross_decompose(X, resp, n_components=4, n_folds=8, device="cpu")
    assert (cd.test_r[:, :2] > 0.7).all()
    assert np.abs(cd.mean_test_r[2:]).max() < 0.3
    assert stimulus_ids_of(resp).tolist() == np.repeat(ids, 2).tolist()
