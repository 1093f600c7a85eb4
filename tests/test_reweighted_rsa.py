"""Reweighted RSA's bootstrap interval over test stimuli (issue 15): each draw against scipy on the materialised draw,
coverage of a known population value, and bad input."""
import numpy as np
import pytest
import scipy.stats

from visreps.core.config import make_rng
from visreps.metrics.resampling import interval
from visreps.metrics.reweighted_rsa import bootstrap_fold_rdms, reweighted_rsa
from visreps.metrics.rsa import compare_rdms, compute_rdm


def two_rdms(seed, n, noise=0.8):
    r = np.random.default_rng(seed)
    F = r.standard_normal((n, 4))
    return [compute_rdm(F + noise * r.standard_normal(F.shape), "euclidean") for _ in range(2)]


@pytest.mark.parametrize("method", ["spearman", "pearson", "kendall_a"])
def test_draws_equal_scipy_on_materialised_draws(method):
    a, b = two_rdms(1, 18)
    folds = [np.arange(9), np.arange(9, 18)]
    pairs = [(a[np.ix_(t, t)], b[np.ix_(t, t)]) for t in folds]
    est, boot, jack = bootstrap_fold_rdms(pairs, folds, 18, method, n_boot=6, seed=4)
    draws = make_rng(4, "reweighted_rsa_bootstrap").integers(0, 18, size=(6, 18))
    ref = {
        "spearman": lambda x, y: scipy.stats.spearmanr(x, y)[0],
        "pearson": lambda x, y: scipy.stats.pearsonr(x, y)[0],
    }
    def direct(si):
        vals = []
        for t in folds:
            s = np.sort(si[np.isin(si, t)])
            if len(np.unique(s)) < 3: return np.nan
            keep = np.triu(s[:, None] != s[None, :], 1)
            x, y = a[np.ix_(s, s)][keep], b[np.ix_(s, s)][keep]
            if method == "kendall_a":  # tau-a by counting concordant minus discordant pairs of pairs
                dx, dy = np.sign(x[:, None] - x[None]), np.sign(y[:, None] - y[None])
                vals.append((dx * dy).sum() / (len(x) * (len(x) - 1)))
            else: vals.append(ref[method](x, y))
        return np.mean(vals)
    np.testing.assert_allclose(boot, [direct(si) for si in draws], atol=1e-10)
    np.testing.assert_allclose(est, np.mean([compare_rdms(p, q, method) for p, q in pairs]), atol=1e-12)
    assert jack.shape == (18,)


def test_interval_covers_a_known_population_value():
    "90% percentile and BCa intervals over test stimuli cover the population Spearman between two noisy RDMs near 90%."
    truth = compare_rdms(*two_rdms(100, 1500), "spearman")
    cover = {"percentile": [], "bca": []}
    for rep in range(60):
        a, b = two_rdms(200 + rep, 40)
        fl = [np.arange(20), np.arange(20, 40)]
        est, boot, jack = bootstrap_fold_rdms(
            [(a[np.ix_(t, t)], b[np.ix_(t, t)]) for t in fl], fl, 40, n_boot=200, seed=rep
        )
        for kind, j in (("percentile", None), ("bca", jack)):
            lo, hi = interval(boot, 0.9, kind, est, j)
            cover[kind].append(lo <= truth <= hi)
    cov = {k: float(np.mean(v)) for k, v in cover.items()}
    assert all(0.75 <= c <= 1.0 for c in cov.values()), cov


def test_reweighted_rsa_interval_and_bad_input():
    r = np.random.default_rng(0)
    X = r.standard_normal((60, 8)); Y = X @ r.standard_normal((8, 12)) + 0.5 * r.standard_normal((60, 12))
    kw = dict(n_folds=3, alphas=np.logspace(-2, 3, 6), inner_cv=3)
    res = reweighted_rsa(X, Y, n_boot=100, ci="bca", **kw)
    assert res.ci_low <= res.score <= res.ci_high and res.boot.shape == (100,) and res.ci == "bca"
    assert np.isnan(reweighted_rsa(X, Y, **kw).ci_low)  # no interval unless asked
    with pytest.raises(ValueError, match="ci='normal'"): reweighted_rsa(X, Y, n_boot=10, ci="normal", **kw)
    with pytest.raises(ValueError, match="level=1.5"): reweighted_rsa(X, Y, n_boot=10, level=1.5, **kw)
    with pytest.raises(ValueError, match="indices into the 60 stimuli"):
        reweighted_rsa(X, Y, draws=np.full((5, 60), 60), **kw)
    with pytest.raises(ValueError, match="n_boot=1"):
        bootstrap_fold_rdms([(np.eye(3), np.eye(3))], [np.arange(3)], 3, n_boot=1)
