"""Inference of issue 15: the two-factor bootstrap draw for draw against rsatoolbox, coverage of a known
difference, the permutation test's null distribution, and bad input; a NaN in one column leaves the others
(issue 23)."""
import warnings

import numpy as np
import pytest
import scipy.stats

from visreps.metrics.inference import (
    kendalls_w,
    model_differences,
    permutation_test_rsa,
    score_table,
    two_factor_bootstrap,
    two_factor_bootstrap_encoding,
)
from visreps.metrics.resampling import draw, jackknife
from visreps.metrics.rsa import rdm_to_vector


def rdm_of(x): return np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))


def toy(seed=0, n=12, ns=3, noise=(0.4, 1.0, 3.0)):
    r = np.random.default_rng(seed)
    f = r.standard_normal((n, 4))
    subj = np.stack([rdm_of(f + 0.7 * r.standard_normal((n, 4))) for _ in range(ns)])
    mods = {f"m{i}": rdm_of(f + s * r.standard_normal((n, 4))) for i, s in enumerate(noise)}
    return mods, subj


def rsatoolbox_on_our_draws(mods, subj, stim_idx, subj_idx, method):
    "rsatoolbox's eval_dual_bootstrap with its resampler replaced by one that hands it our draws, one after the other."
    import rsatoolbox
    import rsatoolbox.inference.evaluate as rev
    n, ns, B = subj.shape[1], subj.shape[0], len(stim_idx)
    data = rsatoolbox.rdm.RDMs(
        subj, pattern_descriptors={"index": np.arange(n)}, rdm_descriptors={"index": np.arange(ns)}
    )
    models = [rsatoolbox.model.ModelFixed(k, rsatoolbox.rdm.RDMs(v[None])) for k, v in mods.items()]
    it = iter(range(B))
    def sample(rdms, rdm_descriptor="index", pattern_descriptor="index"):
        b = next(it)
        return (
            rdms.subsample(rdm_descriptor, subj_idx[b]).subsample_pattern(pattern_descriptor, stim_idx[b]),
            subj_idx[b],
            stim_idx[b],
        )
    orig, rev.bootstrap_sample = rev.bootstrap_sample, sample
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return rev.eval_dual_bootstrap(models, data, method=method, N=B)
    finally:
        rev.bootstrap_sample = orig


def same_draws_as_rsatoolbox(method, mods, subj, n, ns, B, seed):
    ("Our two-factor bootstrap and rsatoolbox's dual bootstrap on "
     "the same draws; asserts every draw's scores and ceilings agree.")
    stim_idx, subj_idx = draw("both", (n, ns), B, seed=seed)
    ours = two_factor_bootstrap(mods, subj, method, draws=(stim_idx, subj_idx))
    tb = rsatoolbox_on_our_draws(mods, subj, stim_idx, subj_idx, {"pearson": "corr"}.get(method, method))
    np.testing.assert_allclose(ours.both[:, :3], tb.evaluations[:, :, 0, 0, 0], atol=1e-10)
    np.testing.assert_allclose(ours.both[:, 3:5], tb.noise_ceiling[:, :, 0, 0].T, atol=1e-10)
    return ours, tb


def test_draws_equal_rsatoolbox_dual_bootstrap():
    mods, subj = toy()
    ours, tb = same_draws_as_rsatoolbox("pearson", mods, subj, n=12, ns=3, B=15, seed=4)
    var = [ours.variance(*ours.contrast_draws({m: 1})[:4])[0] for m in mods]
    np.testing.assert_allclose(var, tb.model_var, rtol=1e-9)
    dvar = [
        ours.variance(*ours.contrast_draws({a: 1, b: -1})[:4])[0] for a, b in (("m0", "m1"), ("m0", "m2"), ("m1", "m2"))
    ]
    np.testing.assert_allclose(dvar, tb.diff_var, rtol=1e-9)


def test_nan_in_one_column_leaves_the_others_as_rsatoolbox():
    """Draws of one distinct subject have no lower ceiling (NaN in that column only); every model's variance and every
    difference's is still rsatoolbox's on the same draws (its model variances never see the ceiling columns). Before,
    0 x NaN made those draws NaN for every contrast: on this 11-subject x 5-stimulus case the model variances were
    8-23% too small."""
    mods, subj = toy(seed=7, n=5, ns=11)
    stim_idx, subj_idx = draw("both", (5, 11), 60, seed=7)
    subj_idx[::6] = subj_idx[::6, :1]  # one subject, drawn 11 times
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        ours = two_factor_bootstrap(mods, subj, "pearson", draws=(stim_idx, subj_idx))
    low = ours.columns.index("ceiling_low")
    assert np.flatnonzero(np.isnan(ours.both[:, low])).tolist() == list(range(0, 60, 6))
    assert not np.isnan(np.delete(ours.both, low, 1)).any()
    tb = rsatoolbox_on_our_draws(mods, subj, stim_idx, subj_idx, "corr")
    np.testing.assert_allclose(ours.both[:, :3], tb.evaluations[:, :, 0, 0, 0], atol=1e-10)
    var = [ours.variance(*ours.contrast_draws({m: 1})[:4])[0] for m in mods]
    np.testing.assert_allclose(var, tb.model_var, rtol=1e-9)
    dvar = [
        ours.variance(*ours.contrast_draws({a: 1, b: -1})[:4])[0] for a, b in (("m0", "m1"), ("m0", "m2"), ("m1", "m2"))
    ]
    np.testing.assert_allclose(dvar, tb.diff_var, rtol=1e-9)
    tab = score_table(ours, "percentile").set_index("model")
    assert (
        np.isfinite(tab[["ci_low", "ci_high", "se", "normalized_ci_low"]].values).all()
        and np.isfinite(tab.ceiling_low_ci.iloc[0]).all()
    )
    assert any("one distinct subject" in str(w.message) and "only of those" in str(w.message) for w in said)


def test_encoding_without_a_ceiling_has_scores_and_intervals():
    ("No repeats: no ceiling (NaN columns), but every model's "
     "score, interval and difference (before: all NaN, and a crash).")
    r = np.random.default_rng(11)
    sig = r.standard_normal((15, 4))
    resp = np.stack([sig + r.standard_normal((15, 4)) for _ in range(3)])
    preds = {
        "good": np.stack([sig + 0.3 * r.standard_normal((15, 4)) for _ in range(3)]),
        "bad": r.standard_normal((3, 15, 4)),
    }
    res = two_factor_bootstrap_encoding(preds, resp, n_boot=30)
    tab = score_table(res, "percentile")
    assert tab[["ceiling_low", "normalized"]].isna().all().all()
    assert np.isfinite(tab[["value", "ci_low", "ci_high", "se"]].values).all()
    assert model_differences(res, "percentile").ci_low[0] > 0


def test_coverage_of_a_known_difference():
    "90% percentile intervals of the corrected two-factor bootstrap cover the population difference near 90%."
    def world(seed, n, ns):
        r = np.random.default_rng(seed)
        f = r.standard_normal((n, 3))
        mk = lambda s: rdm_of(f + s * r.standard_normal((n, 3)))
        return {"a": mk(0.6), "b": mk(1.0)}, np.stack([mk(0.7) for _ in range(ns)])
    mref, sref = world(999, 300, 30)
    truth = np.mean(
        [[scipy.stats.pearsonr(rdm_to_vector(m), rdm_to_vector(s))[0] for s in sref] for m in mref.values()], 1
    ) @ [1, -1]
    hits = []
    for rep in range(40):
        m, s = world(rep, 20, 5)
        d = model_differences(two_factor_bootstrap(m, s, "pearson", n_boot=150, seed=rep), "percentile", level=0.9)
        hits.append(d.ci_low[0] <= truth <= d.ci_high[0])
    assert 0.72 <= np.mean(hits) <= 1.0, np.mean(hits)  # 40 replicates: SD of the rate ~0.05


def test_permutation_null_uniform_and_related_small():
    ps = [
        permutation_test_rsa(
            rdm_of(np.random.default_rng(s).standard_normal((7, 2))),
            rdm_of(np.random.default_rng(5000 + s).standard_normal((7, 2))),
            n_perm=49,
            seed=s,
            method="pearson",
        )[1]
        for s in range(250)
    ]
    assert scipy.stats.kstest(ps, "uniform").pvalue > 0.01
    x = np.random.default_rng(1).standard_normal((12, 3))
    v, p = permutation_test_rsa(
        rdm_of(x), rdm_of(x + 0.2 * np.random.default_rng(2).standard_normal((12, 3))), n_perm=99
    )
    assert p == 1 / 100 and v > 0.8


def test_kendalls_w_matches_mean_spearman_identity():
    X = np.random.default_rng(3).standard_normal((5, 9))
    rs = [scipy.stats.spearmanr(X[i], X[j])[0] for i in range(5) for j in range(i + 1, 5)]
    assert kendalls_w(X) == pytest.approx((4 * np.mean(rs) + 1) / 5, abs=1e-12)


def test_score_table_and_differences_find_the_real_difference():
    mods, subj = toy(n=40, ns=8, noise=(0.3, 1.0, 4.0))
    res = two_factor_bootstrap(mods, subj, n_boot=200)  # t-test dof = min(n_subjects, n_stimuli) - 1 = 7
    tab = score_table(res).set_index("model")
    assert tab.value["m0"] > tab.value["m2"] and (tab.ci_low <= tab.value).all() and (tab.value <= tab.ci_high).all()
    d = model_differences(res).set_index(["model_a", "model_b"])
    assert d.loc[("m0", "m2"), "real_holm"] and d.p_holm.min() >= d.p_value.min()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda m, s: (m, s[:1]), "at least 2"),
        (lambda m, s: ({k: v[:-1, :-1] for k, v in m.items()}, s), "mismatched stimuli"),
        (
            lambda m, s: (m, np.where(np.eye(12, k=3, dtype=bool) | np.eye(12, k=-3, dtype=bool), np.nan, s)),
            "NaN or infinite",
        ),
        (lambda m, s: (m, s[:, :5]), "square"),
    ],
)
def test_bootstrap_bad_input(make, message):
    mods, subj = toy()
    with pytest.raises(ValueError, match=message):
        two_factor_bootstrap(*make(mods, subj), n_boot=5)


def test_bootstrap_rejects_unsupported_method():
    mods, subj = toy()
    with pytest.raises(ValueError, match="method='kendall_a'"):
        two_factor_bootstrap(mods, subj, "kendall_a")


# --- the exact Spearman route: the fast path (fixed sort orders,
# integer pool sorts) against the slow one it replaced ---

class _SlowRanker:
    ("Reference: weighted average ranks by sorting the values and "
     "a cumulative sum of the weights (the former implementation).")
    def __init__(self, v):
        self.order = np.argsort(v, kind="stable")
        sv = v[self.order]
        new = np.r_[True, sv[1:] != sv[:-1]]
        self.group = np.cumsum(new) - 1
        self.group_end = np.r_[np.flatnonzero(new)[1:] - 1, v.size - 1]

    def ranks(self, w):
        cum = np.cumsum(w[self.order])
        c_end = cum[self.group_end]
        before = np.r_[0.0, c_end[:-1]]
        r = np.empty(w.size); r[self.order] = (before + (c_end - before + 1) / 2)[self.group]
        return r


def _wpearson(w, x, y):
    s0 = w.sum(); wx = w * x
    m1x, m1y = wx.sum(), w @ y
    return (s0 * (wx @ y) - m1x * m1y) / np.sqrt((s0 * (wx @ x) - m1x ** 2) * (s0 * (w @ (y * y)) - m1y ** 2))


def _slow_spearman_stats(M, S, c, k):
    "Scores, lower and upper ceiling of one (stimulus counts, subject counts) pair: every RDM and every pool re-ranked."
    n = M.shape[1]; iu = np.triu_indices(n, 1)
    w = c[iu[0]] * c[iu[1]]
    RM = [_SlowRanker(m[iu]).ranks(w) for m in M]; RS = np.stack([_SlowRanker(s[iu]).ranks(w) for s in S])
    sc = np.array([[_wpearson(w, a, b) for b in RS] for a in RM]) @ k / k.sum()
    pool = lambda a: _SlowRanker((a @ RS) / a.sum()).ranks(w)
    present = np.flatnonzero(k > 0)
    lo = np.mean(
        [
            np.nan if k.sum() == k[s] else _wpearson(w, RS[s], pool(np.where(np.arange(len(k)) == s, 0, k)))
            for s in present
        ]
    )
    hi = np.mean([_wpearson(w, RS[s], pool(k)) for s in present])
    return np.r_[sc, lo, hi, sc / hi]


def test_fast_spearman_equals_slow_reference():
    ("Every draw, subject-only draw, stimulus-only draw and "
     "jackknife row of the fast path equals the re-ranking reference.")
    mods, subj = toy(seed=3, n=30, ns=5)
    mods["tied"] = np.round(mods["m1"], 0)  # ties in a model RDM
    subj[1] = np.round(subj[1], 0)  # and in a subject RDM
    n, ns, B = 30, 5, 12
    stim_idx, subj_idx = draw("both", (n, ns), B, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = two_factor_bootstrap(mods, subj, "spearman", draws=(stim_idx, subj_idx), n_jack_blocks=6)
    M = np.stack(list(mods.values()))
    C = [np.bincount(s, minlength=n).astype(float) for s in stim_idx]
    K = [np.bincount(s, minlength=ns).astype(float) for s in subj_idx]
    ones_c, ones_k = np.ones(n), np.ones(ns)
    np.testing.assert_allclose(res.estimate, _slow_spearman_stats(M, subj, ones_c, ones_k), atol=1e-10)
    np.testing.assert_allclose(res.both, [_slow_spearman_stats(M, subj, C[b], K[b]) for b in range(B)], atol=1e-10)
    np.testing.assert_allclose(res.subj, [_slow_spearman_stats(M, subj, ones_c, K[b]) for b in range(B)], atol=1e-10)
    np.testing.assert_allclose(res.stim, [_slow_spearman_stats(M, subj, C[b], ones_k) for b in range(B)], atol=1e-10)
    jack = [_slow_spearman_stats(M, subj, ones_c, 1.0 - np.eye(ns)[s]) for s in range(ns)]
    jack += [_slow_spearman_stats(M, subj, cj, ones_k) for cj in jackknife(n, 6, 0).astype(float)]
    np.testing.assert_allclose(res.jack, jack, atol=1e-10)
    # the threads do not change the numbers
    from visreps.metrics.inference import draw_correlations_spearman
    allC = np.stack([ones_c, *C])
    cl = [[ones_k, *K]] + [[K[b], ones_k] for b in range(B)]
    R1, c1 = draw_correlations_spearman(M, subj, allC, cl, n_jobs=1)
    R2, c2 = draw_correlations_spearman(M, subj, allC, cl, n_jobs=2)
    np.testing.assert_array_equal(R1, R2); assert c1 == c2


def test_spearman_draws_equal_rsatoolbox_dual_bootstrap():
    ("The Spearman route (scores and both ceilings on each draw) "
     "against rsatoolbox's eval_dual_bootstrap fed the same draws.")
    mods, subj = toy(seed=5, n=14, ns=4)
    ours, tb = same_draws_as_rsatoolbox("spearman", mods, subj, n=14, ns=4, B=10, seed=2)
