"""visreps.metrics.rsa against scipy and rsatoolbox at sizes too slow for the notebook (each test a few seconds)."""
import numpy as np
import pytest
import scipy.stats
from scipy.spatial.distance import pdist

from visreps.metrics.resampling import draw
from visreps.metrics.rsa import bootstrap_rsa, compare_rdms, compute_rdm, rdm_to_vector


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    latent = rng.normal(size=(1500, 20))  # 1,124,250 pairs: more than one processing chunk
    X = latent @ rng.normal(size=(20, 300)) + 2 * rng.normal(size=(1500, 300))
    Y = latent @ rng.normal(size=(20, 200)) + 4 * rng.normal(size=(1500, 200))
    return X, Y


def test_rdm_and_spearman_match_scipy_and_rsatoolbox(data):
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm, compare
    X, Y = data
    A, B = compute_rdm(X), compute_rdm(Y)
    x, y = pdist(X, "correlation"), pdist(Y, "correlation")
    np.testing.assert_allclose(rdm_to_vector(A), x, atol=1e-10)
    np.testing.assert_allclose(rdm_to_vector(B), y, atol=1e-10)
    rho = compare_rdms(A, B)
    assert abs(rho - scipy.stats.spearmanr(x, y).statistic) < 1e-10
    ra, rb = calc_rdm(Dataset(X), method="correlation"), calc_rdm(Dataset(Y), method="correlation")
    assert abs(rho - compare(ra, rb, method="spearman")[0, 0]) < 1e-10
    assert abs(compare_rdms(A, B, "pearson") - compare(ra, rb, method="corr")[0, 0]) < 1e-10
    assert abs(compare_rdms(A, B, "kendall_a") - compare(ra, rb, method="tau-a")[0, 0]) < 1e-10


def test_kendall_a_from_scipy_tau_b_with_heavy_ties(data):
    X, _ = data
    A = np.round(compute_rdm(X[:400]), 2)  # many ties in both
    cat = np.random.default_rng(0).integers(0, 4, 400)
    B = (cat[:, None] != cat[None, :]).astype(float) + np.round(compute_rdm(X[:400, ::-1].copy()), 1)
    x, y = rdm_to_vector(A), rdm_to_vector(B)
    # tau-a from scipy's tau-b: (C - D) = tau_b * sqrt((n0 - n1)(n0 - n2)); n1, n2 tied pairs
    n0 = x.size * (x.size - 1) / 2
    ties = lambda v: sum(c * (c - 1) / 2 for c in np.unique(v, return_counts=True)[1])
    tau_b = scipy.stats.kendalltau(x, y).statistic
    expect = tau_b * np.sqrt((n0 - ties(x)) * (n0 - ties(y))) / n0
    assert abs(compare_rdms(A, B, "kendall_a") - expect) < 1e-12
    assert abs(compare_rdms(A, B) - scipy.stats.spearmanr(x, y).statistic) < 1e-10


@pytest.mark.parametrize("tied", [False, True])
def test_bootstrap_matches_naive_resampling(data, tied):
    X, Y = data
    A, B = compute_rdm(X[:300]), compute_rdm(Y[:300])
    if tied: A = np.round(A, 2)
    res = bootstrap_rsa(A, B, n_boot=40, frac=0.9, seed=5)
    idx = draw("stimuli", 300, 40, 5, "bootstrap_rsa", frac=0.9, min_distinct=3, sort=True)
    naive = [
        scipy.stats.spearmanr(rdm_to_vector(A[np.ix_(s, s)]), rdm_to_vector(B[np.ix_(s, s)])).statistic for s in idx
    ]
    np.testing.assert_allclose(res.distribution, naive, atol=1e-10)
    assert res.ci[0] <= res.estimate <= res.ci[1]
    assert res.ci[1] - res.ci[0] > 0


def test_tensor_input_and_symmetry_at_block_edges():
    import torch
    X = np.random.default_rng(1).normal(size=(1025, 9))
    D = compute_rdm(torch.from_numpy(X), "euclidean")
    assert isinstance(D, torch.Tensor)
    D = D.numpy()
    assert np.array_equal(D, D.T)
    np.testing.assert_allclose(rdm_to_vector(D), pdist(X), atol=1e-9)
