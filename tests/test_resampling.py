"""The one resampling module against the schemes it replaced: every analysis's draws, on fixed seeds, are the draws
the analysis made with its own code before (that code is kept here, verbatim, as the reference); the intervals
against numpy's percentiles and scipy's BCa."""
import numpy as np
import pytest
import scipy.stats

from visreps.core.config import DataError, make_rng
from visreps.metrics.resampling import counts, draw, interval, jackknife


# --- the replaced implementations, as they drew ---
def old_bootstrap_indices(n_stimuli, n_boot, frac, seed):  # metrics.rsa (bootstrap_rsa, the study's encoding CI)
    k = int(round(frac * n_stimuli))
    rng = make_rng(seed, "bootstrap_rsa")
    return np.sort(np.stack([rng.choice(n_stimuli, size=k, replace=False) for _ in range(n_boot)]), axis=1)


def old_stimulus_bootstrap_counts(n_stimuli, n_boot, seed):  # metrics.rdm_scores
    rng = make_rng(seed, "rdmset_stimulus_bootstrap")
    return np.stack(
        [np.bincount(rng.integers(0, n_stimuli, n_stimuli), minlength=n_stimuli) for _ in range(n_boot)]
    ).astype(np.float64)


def old_subject_draws(S, n_boot, seed, t):  # metrics.rdm_scores._target_plan
    return np.sort(make_rng(seed, "rdmset_subject_bootstrap", t).integers(0, S, (n_boot, S)), axis=1)


def old_bootstrap_draws(n_stimuli, n_subjects, n_boot, seed):  # metrics.inference
    rng = make_rng(seed, "two_factor_bootstrap")
    stim = rng.integers(0, n_stimuli, size=(n_boot, n_stimuli))
    subj = rng.integers(0, n_subjects, size=(n_boot, n_subjects))
    for b in range(n_boot):
        while len(np.unique(subj[b])) < 2: subj[b] = rng.integers(0, n_subjects, size=n_subjects)
        while len(np.unique(stim[b])) < 3: stim[b] = rng.integers(0, n_stimuli, size=n_stimuli)
    return stim, subj


def old_counts(idx, n):  # metrics.inference._counts
    out = np.zeros((len(idx), n))
    np.add.at(out, (np.repeat(np.arange(len(idx)), idx.shape[1]), idx.ravel()), 1)
    return out


def old_jack_counts(n, n_blocks, seed):  # metrics.inference._jack_counts
    g = min(n, n_blocks)
    lab = make_rng(seed, "jackknife_blocks").permutation(np.arange(n) % g)
    return np.stack([(lab != b).astype(float) for b in range(g)])


def old_fold_draws(n_folds, n_boot, seed, n_targets):  # study.evaluate.run_pls: one generator over the ROIs
    rng = make_rng(seed, "pls_fold_bootstrap")
    return [rng.integers(0, n_folds, size=(n_boot, n_folds)) for _ in range(n_targets)]


def old_selection(n, n_select, seed, stream):  # study.evaluate.draw_selection_ids
    return np.sort(make_rng(seed, *stream).choice(n, n_select, replace=False))


def old_bca_interval(dist, estimate, jack, level=0.95):  # metrics.inference.bca_interval
    alpha = (1 - level) / 2
    if jack is None: return tuple(float(q) for q in np.quantile(dist, [alpha, 1 - alpha]))
    prop = (np.sum(dist < estimate) + 0.5 * np.sum(dist == estimate)) / len(dist)
    prop = min(max(prop, 0.5 / len(dist)), 1 - 0.5 / len(dist))
    z0 = scipy.stats.norm.ppf(prop)
    u = np.mean(jack) - np.asarray(jack)
    den = 6 * (u @ u) ** 1.5
    a = float((u ** 3).sum() / den) if den > 0 else 0.0
    z = scipy.stats.norm.ppf([alpha, 1 - alpha])
    q = scipy.stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
    return tuple(float(x) for x in np.quantile(dist, q))


SEEDS = [0, 1, 7, 123]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n,frac", [(40, 0.9), (41, 0.5), (300, 0.9), (7, 0.43)])
def test_subsamples_are_the_old_ones(seed, n, frac):
    new = draw("stimuli", n, 30, seed, "bootstrap_rsa", frac=frac, min_distinct=3, sort=True)
    np.testing.assert_array_equal(new, old_bootstrap_indices(n, 30, frac, seed))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [5, 7, 92, 156])
def test_stimulus_counts_are_the_old_ones(seed, n):
    new = counts(draw("stimuli", n, 25, seed, "rdmset_stimulus_bootstrap"), n)
    np.testing.assert_array_equal(new, old_stimulus_bootstrap_counts(n, 25, seed))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("S", [2, 3, 8])
def test_subject_draws_are_the_old_ones(seed, S):
    new = draw("subjects", S, 40, seed, ("rdmset_subject_bootstrap", "IT"), sort=True)
    np.testing.assert_array_equal(new, old_subject_draws(S, 40, seed, "IT"))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n,ns", [(5, 2), (4, 3), (30, 5), (92, 15)])
def test_two_factor_draws_are_the_old_ones(seed, n, ns):
    stim, subj = draw("both", (n, ns), 60, seed)
    old_stim, old_subj = old_bootstrap_draws(n, ns, 60, seed)
    np.testing.assert_array_equal(stim, old_stim); np.testing.assert_array_equal(subj, old_subj)
    np.testing.assert_array_equal(counts(stim, n), old_counts(old_stim, n))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n,g", [(30, 20), (7, 20), (92, 20)])
def test_jackknife_blocks_are_the_old_ones(seed, n, g):
    np.testing.assert_array_equal(jackknife(n, g, seed), old_jack_counts(n, g, seed))


@pytest.mark.parametrize("seed", SEEDS)
def test_fold_and_selection_draws_are_the_old_ones(seed):
    rng = make_rng(seed, "pls_fold_bootstrap")
    new = [draw("folds", 5, 50, rng) for _ in range(3)]
    for a, b in zip(new, old_fold_draws(5, 50, seed, 3)): np.testing.assert_array_equal(a, b)
    stream = ("select", "subj01", "abc")
    np.testing.assert_array_equal(draw("stimuli", 80, 1, seed, stream, size=10, sort=True)[0],
                                  old_selection(80, 10, seed, stream))
    reweighted = draw("stimuli", 20, 5, seed, "reweighted_rsa_bootstrap")
    np.testing.assert_array_equal(reweighted, make_rng(seed, "reweighted_rsa_bootstrap").integers(0, 20, size=(5, 20)))


@pytest.mark.parametrize("seed", SEEDS)
def test_intervals_are_the_old_ones(seed):
    g = np.random.default_rng(seed)
    d, jack = g.gamma(2.0, size=500), g.gamma(2.0, size=30)
    assert interval(d, 0.95, "bca", 1.7, jack) == old_bca_interval(d, 1.7, jack)
    assert interval(d, 0.9, "bca", 2.5, jack) == old_bca_interval(d, 2.5, jack, 0.9)
    # the percentile interval is numpy's percentiles: what rdm_scores, bootstrap_rsa and the study computed
    assert interval(d) == tuple(np.percentile(d, (2.5, 97.5)))
    # bca_interval's percentile form put its quantiles at (1 - level) / 2 = 0.025000000000000022: the last bit only
    np.testing.assert_allclose(interval(d), old_bca_interval(d, 0, None), rtol=1e-14)


def test_bca_matches_scipy():
    x = np.random.default_rng(1).lognormal(size=30)
    for stat in (np.mean, np.var):
        ref = scipy.stats.bootstrap((x,), stat, method="BCa", n_resamples=3000, rng=np.random.default_rng(2))
        jack = np.array([stat(np.delete(x, i)) for i in range(len(x))])
        ours = interval(ref.bootstrap_distribution, 0.95, "bca", stat(x), jack)
        np.testing.assert_allclose(ours, (ref.confidence_interval.low, ref.confidence_interval.high), rtol=1e-10)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="factor='pixels'"): draw("pixels", 5)
    with pytest.raises(DataError, match="1 subject"): draw("subjects", 1, 10)
    with pytest.raises(ValueError, match="give frac or size"): draw("stimuli", 10, 2, frac=0.5, size=3)
    with pytest.raises(ValueError, match="size=11"): draw("stimuli", 10, 2, size=11)
    with pytest.raises(ValueError, match="n_boot=0"): draw("stimuli", 10, 0)
    with pytest.raises(ValueError, match="indices into 4 units"): counts(np.array([[0, 4]]), 4)
