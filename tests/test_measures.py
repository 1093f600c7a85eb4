"""Measures of issue 15 against independent computations: crossnobis vs rsatoolbox, CKA/RV vs closed forms,
cvPCA vs a known power law; bad input gives errors that name the problem."""
import numpy as np
import pytest
import scipy.stats

from visreps.metrics.cka import linear_cka, rv_coefficient
from visreps.metrics.crossval_rdm import compute_rdm_cv, noise_residuals
from visreps.metrics.cvpca import cvpca_power_law, cvpca_spectrum
from visreps.metrics.dimensionality import eigenspectrum


def design(n_c=6, n_r=3, reps=2, P=10, seed=0):
    r = np.random.default_rng(seed)
    cond = np.tile(np.repeat(np.arange(n_c), reps), n_r)
    run = np.repeat(np.arange(n_r), n_c * reps)
    X = r.standard_normal((n_c, P))[cond] + r.standard_normal((len(cond), P))
    return X, cond, run


# rsatoolbox's _build_rdms fills an integer array with NaN (its own cast warning, not ours)
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_crossnobis_matches_rsatoolbox_with_repeats_within_runs():
    import rsatoolbox
    from rsatoolbox.data.noise import prec_from_residuals
    X, cond, run = design()
    ds = rsatoolbox.data.Dataset(X, obs_descriptors={"cond": cond, "run": run})
    R, dof = noise_residuals(X, cond, 6)
    prec = prec_from_residuals(R.copy(), dof=dof)
    ref = rsatoolbox.rdm.calc_rdm(
        ds, method="crossnobis", descriptor="cond", cv_descriptor="run", noise=prec
    ).get_matrices()[0]
    np.testing.assert_allclose(compute_rdm_cv(X, cond, run, "crossnobis", noise=np.linalg.inv(prec)), ref, atol=1e-9)
    ref_e = rsatoolbox.rdm.calc_rdm(ds, method="crossnobis", descriptor="cond", cv_descriptor="run").get_matrices()[0]
    np.testing.assert_allclose(compute_rdm_cv(X, cond, run), ref_e, atol=1e-10)


def test_crossnobis_condition_labels_sorted_and_strings():
    X, cond, run = design()
    names = np.array(list("fedcba"))[cond]
    D = compute_rdm_cv(X, names, run, "crossnobis")
    D0 = compute_rdm_cv(X, cond, run, "crossnobis")
    np.testing.assert_allclose(D, D0[::-1, ::-1], atol=1e-12)  # 'a' (code 5) comes first


@pytest.mark.parametrize("mutate, message", [
    (lambda X, c, r: (X, c, np.zeros_like(r)), "partitions has 1 level"),
    (lambda X, c, r: (X, np.where((c == 2) & (r == 1), 3, c), r), "condition 2 in partition 1"),
    (lambda X, c, r: (np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X), c, r), "NaN or infinite"),
    (lambda X, c, r: (X, c[:-1], r), "conditions has 35 labels but patterns has 36"),
    (lambda X, c, r: (X, np.zeros_like(c), r), "conditions has 1 level"),
])
def test_crossval_rdm_bad_input(mutate, message):
    X, cond, run = design()
    with pytest.raises(ValueError, match=message):
        compute_rdm_cv(*mutate(X, cond, run), metric="crossnobis")


def test_crossnobis_two_runs_without_repeats_asks_for_noise():
    X, cond, run = design(n_r=2, reps=1)
    with pytest.raises(ValueError, match="degree\\(s\\) of freedom"):
        compute_rdm_cv(X, cond, run, "crossnobis")
    assert np.isfinite(compute_rdm_cv(X, cond, run, "crossnobis", noise=np.ones(10))).all()


def test_cka_closed_forms():
    r = np.random.default_rng(1)
    X = r.standard_normal((40, 6))
    Q, _ = np.linalg.qr(r.standard_normal((6, 6)))
    assert linear_cka(X, -2.5 * X @ Q + 1) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(X, -2.5 * X @ Q + 1, debiased=False) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(X, X @ Q, debiased=True) == pytest.approx(1.0, abs=1e-12)
    x, y = r.standard_normal((2, 25, 1))
    assert rv_coefficient(x, y) == pytest.approx(scipy.stats.pearsonr(x[:, 0], y[:, 0])[0] ** 2, abs=1e-12)
    # block structure: CKA of [X, Z] with X, for Z orthogonal to X with equal spectra, is 1/sqrt(2)
    Z = r.standard_normal((40, 6)); Z -= Z.mean(0); Xc = X - X.mean(0)
    U, _, Vt = np.linalg.svd(np.hstack([Xc, Z]), full_matrices=False)
    A, B = U[:, :6], U[:, 6:12]  # orthonormal, mutually orthogonal, centred
    assert linear_cka(np.hstack([A, B]), A, debiased=False) == pytest.approx(1 / np.sqrt(2), abs=1e-10)


def test_cka_bad_input():
    X = np.ones((10, 3)); X[:, 1] = np.arange(10)
    with pytest.raises(ValueError, match="mismatched stimuli"):
        linear_cka(X, X[:9])
    Xn = X.copy(); Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        linear_cka(Xn, X)


def test_cvpca_recovers_power_law_plain_pca_flattens():
    r = np.random.default_rng(2)
    n, p, alpha = 600, 120, 1.2
    Q, _ = np.linalg.qr(r.standard_normal((p, p)))
    sig = (r.standard_normal((n, p)) * np.arange(1, p + 1) ** (-alpha / 2)) @ Q.T
    a, b = sig + 0.35 * r.standard_normal((n, p)), sig + 0.35 * r.standard_normal((n, p))
    assert cvpca_power_law(cvpca_spectrum(a, b), (1, 40)) == pytest.approx(alpha, abs=0.15)
    assert cvpca_power_law(eigenspectrum((a + b) / 2), (1, 40)) < alpha - 0.4
    with pytest.raises(ValueError, match="mismatched repeats"):
        cvpca_spectrum(a, b[:, :-1])
