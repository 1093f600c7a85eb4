"""The RDM-set analyses against rsatoolbox (an independent implementation) where the definitions agree."""
import warnings

import numpy as np
import pytest

from visreps.data.rdms import RDMSet, make_rdms
from visreps.metrics.rdm_scores import noise_ceiling
from visreps.metrics.rsa import compute_rdm

rsatoolbox = pytest.importorskip("rsatoolbox")


def _toy(n=16, n_subj=5, noise=0.4, seed=0):
    g = np.random.default_rng(seed)
    base = g.normal(size=(n, 10))
    mats = [compute_rdm(base + noise * g.normal(size=base.shape)) for _ in range(n_subj)]
    rs = RDMSet(
        make_rdms(
            np.stack(mats),
            [f"i{i}" for i in range(n)],
            [f"IT|s{s}" for s in range(n_subj)],
            "fmri",
            "IT",
            subject=[f"s{s}" for s in range(n_subj)],
        )
    )
    rt = rsatoolbox.rdm.RDMs(np.stack(mats), rdm_descriptors=dict(subject=[f"s{s}" for s in range(n_subj)]))
    return rs, rt


@pytest.mark.parametrize("method,rsa_method,pool", [("kendall_a", "tau-a", "rank"), ("spearman", "spearman", "rank"),
                                                    ("pearson", "corr", "zscore")])
def test_noise_ceiling_matches_rsatoolbox(method, rsa_method, pool):
    rs, rt = _toy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lo_ref, hi_ref = rsatoolbox.inference.boot_noise_ceiling(rt, method=rsa_method, rdm_descriptor="subject")
    lo, hi = noise_ceiling(rs, "IT", method, pool=pool)
    np.testing.assert_allclose([lo, hi], [lo_ref, hi_ref], rtol=0, atol=1e-10)


def test_plain_mean_differs_from_ranked_pool():
    ("pool='mean' (the issue's definition) is not rsatoolbox's "
     "ranked pool: the two are close but not equal for rank methods.")
    rs, _ = _toy()
    a, b = noise_ceiling(rs, "IT", "kendall_a", pool="mean"), noise_ceiling(rs, "IT", "kendall_a", pool="rank")
    assert a != b and np.allclose(a, b, atol=0.05)


# --- the default score convention against rsatoolbox's eval_fixed (issue 23 item 1) ---

from visreps.metrics.rdm_scores import rdm_scores  # noqa: E402

RSA_METHOD = {"kendall_a": "tau-a", "spearman": "spearman", "pearson": "corr"}
RSA_POOL = {"kendall_a": "rank", "spearman": "rank", "pearson": "zscore"}


def _eval_fixed(model_rdm, subject_rdms, method):
    "rsatoolbox's fixed-model evaluation on the subjects' RDMs: the per-subject scores and the noise ceiling."
    data = rsatoolbox.rdm.RDMs(np.asarray(subject_rdms))
    model = rsatoolbox.model.ModelFixed("m", rsatoolbox.rdm.RDMs(np.asarray(model_rdm)[None]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rsatoolbox.inference.eval_fixed(model, data, method=RSA_METHOD[method])
    return res.evaluations.ravel(), np.asarray(res.noise_ceiling, dtype=float).ravel()


@pytest.mark.parametrize("method", ["kendall_a", "spearman", "pearson"])
def test_per_subject_score_is_rsatoolbox_eval_fixed(method):
    "value = rsatoolbox eval_fixed's mean over subjects; ceiling (with rsatoolbox's pool) = its noise ceiling."
    rs, rt = _toy(n_subj=4, noise=0.8)
    g = np.random.default_rng(7)
    model = compute_rdm(g.normal(size=(16, 10)) + rs.subject_rdms("IT").values.mean(0)[:, :10])
    row = rdm_scores({"m": model}, rs, "IT", method, n_boot=0, pool=RSA_POOL[method]).iloc[0]
    ev, nc = _eval_fixed(model, rt.get_matrices(), method)
    np.testing.assert_allclose([row.value, row.ceiling_low, row.ceiling_high], [ev.mean(), *nc], rtol=0, atol=1e-10)
    assert row.convention.startswith("per_subject:") and row.ceiling_low < row.ceiling_high
    pooled = rdm_scores({"m": model}, rs, "IT", method, n_boot=0, convention="pooled").iloc[0]
    assert pooled.value != row.value and np.isnan([pooled.ceiling_low, pooled.ceiling_high, pooled.normalized]).all()


# --- the same on the real 92-image data, when cached ---

from visreps.data.loaders.kriegeskorte92 import REQUIRED, default_cache_dir, load_kriegeskorte92  # noqa: E402

_CACHE = default_cache_dir()
real = pytest.mark.skipif(not all((_CACHE/f).exists() for f in REQUIRED),
                          reason=f"the 92-image release is not cached in {_CACHE} (run fetch_kriegeskorte92() once)")


@pytest.fixture(scope="module")
def ds92():
    return load_kriegeskorte92(_CACHE, fetch=False)


@real
@pytest.mark.parametrize("method", ["kendall_a", "pearson"])
def test_real92_hit_scores_are_rsatoolbox_eval_fixed(ds92, method):
    "hIT (4 subjects x 2 sessions): each model RDM of the release scores rsatoolbox eval_fixed on the 4 subject RDMs."
    models = {t: ds92.rdm(ds92.select(target=t).names[0]) for t in ("animacy", "HMAX", "V1", "mIT")}
    tab = rdm_scores(models, ds92, "hIT", method, n_boot=0, pool=RSA_POOL[method]).set_index("readout")
    subjects = ds92.subject_rdms("hIT").values
    for name, R in models.items():
        ev, nc = _eval_fixed(R, subjects, method)
        got = tab.loc[name, ["value", "ceiling_low", "ceiling_high"]].to_numpy(float)
        np.testing.assert_allclose(got, [ev.mean(), *nc], rtol=0, atol=1e-9, err_msg=name)


@real
def test_real92_group_rdm_is_not_above_its_ceiling(ds92):
    "The published hIT group RDM (fig. 1, the mean of the 8 session RDMs) scores its own upper bound: normalized 1."
    tab = rdm_scores({"group": ds92.rdm("hITvisStim_316vx")}, ds92, "hIT", "kendall_a", n_boot=100, seed=0)
    row = tab.iloc[0]
    assert abs(row.normalized - 1) < 1e-3 and row.normalized <= 1 + 1e-6, row.normalized
    assert row.ceiling_low < row.value <= row.ceiling_high + 1e-6 and row.ci_low <= row.value <= row.ci_high
    pooled = rdm_scores(
        {"group": ds92.rdm("hITvisStim_316vx")}, ds92, "hIT", "kendall_a", n_boot=0, convention="pooled"
    )
    assert pooled.value[0] > 0.99 and np.isnan(pooled.normalized[0])
