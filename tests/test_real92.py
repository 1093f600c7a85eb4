"""The Kriegeskorte 92-image loader: the real files (when cached) and the pip fetch's failure path.

Tests on the real data run when the release is cached (`fetch_kriegeskorte92()` once, or
`$VISREPS_CACHE/kriegeskorte92`); otherwise they are skipped with the reason."""
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.stats

from visreps.core.config import CommandError
from visreps.data.loaders.kriegeskorte92 import (
    FILES,
    PROVENANCE,
    REQUIRED,
    default_cache_dir,
    fetch_kriegeskorte92,
    load_kriegeskorte92,
    sha256_file,
    write_kriegeskorte92_fixture,
)
from visreps.metrics.rdm_scores import noise_ceiling

CACHE = default_cache_dir()
HAVE_REAL = all((CACHE/f).exists() for f in REQUIRED)
real = pytest.mark.skipif(
    not HAVE_REAL, reason=f"the 92-image release is not cached in {CACHE} (run fetch_kriegeskorte92() once)"
)


@pytest.fixture(scope="module")
def ds():
    return load_kriegeskorte92(CACHE, fetch=False)


def _layout(x, depth=0):
    "A structural signature of a loadmat value: types, dtypes, dimensionality, struct fields (sizes left out)."
    if isinstance(x, dict): return {k: _layout(v, depth) for k, v in x.items() if not k.startswith("__")}
    if isinstance(x, np.ndarray):
        sig = (x.dtype.kind, x.dtype.names, x.ndim)
        if x.dtype.names and x.size: sig += tuple((f, _layout(x.ravel()[0][f], depth + 1)) for f in x.dtype.names)
        elif x.dtype == object and x.size: sig += (_layout(x.ravel()[0], depth + 1),)
        return sig
    return type(x).__name__


@real
def test_fixture_has_the_release_layout(tmp_path):
    fx = write_kriegeskorte92_fixture(tmp_path/"fx")
    for f in REQUIRED:
        assert _layout(scipy.io.loadmat(fx/f)) == _layout(scipy.io.loadmat(CACHE/f)), f


@real
def test_real_files_hashes_and_content(ds):
    for f in REQUIRED: assert sha256_file(CACHE/f) == FILES[f]
    assert ds.n_stimuli == 92 and len(ds) == 34
    assert ds.stimuli.images.shape == (92, 175, 175, 3) and ds.stimuli.images.dtype == np.uint8
    assert ds.stimuli.metadata["cat_animate"].sum() == 48 and ds.stimuli.metadata["cat_inanim"].sum() == 44
    assert (ds.stimuli.metadata["animal"] == ds.stimuli.metadata["cat_animate"]).all()
    hit = ds.select(target="hIT").descriptors()
    assert sorted(set(hit.subject)) == ["BE", "KO", "SN", "TI"] and sorted(set(hit.session)) == [1, 2]
    # the mean of the 4 x 2 hIT RDMs is the paper's figure-1 hIT RDM (float32 data)
    np.testing.assert_allclose(
        ds.rdms.sel(rdm=ds.rdms["target"] == "hIT").values.mean(0), ds.rdm("hITvisStim_316vx"), atol=1e-6
    )
    np.testing.assert_array_equal(ds.rdm("monkeyIT"), ds.rdm("mIT_674neurons"))


@real
def test_hit_mit_correlation_equals_scipy_on_the_raw_vectors(ds):
    m = scipy.io.loadmat(CACHE/"Kriegeskorte_Neuron2008_supplementalData.mat")["RDMs_mIT_hIT_fig1"][0]
    raw = {e["name"][0]: e["RDM"].ravel() for e in m}
    r = scipy.stats.pearsonr(raw["mIT_674neurons"], raw["hITvisStim_316vx"])[0]
    iu = np.triu_indices(92, 1)
    assert abs(np.corrcoef(ds.rdm("mIT_674neurons")[iu], ds.rdm("hITvisStim_316vx")[iu])[0, 1] - r) < 1e-12
    assert round(r, 2) == 0.49  # Kriegeskorte et al. 2008 report r = 0.49


@real
def test_real_noise_ceiling_is_a_band(ds):
    lo, hi = noise_ceiling(ds, "hIT", "kendall_a")
    assert 0 < lo < hi < 1


def test_fetch_without_pypi_names_the_command_and_leaves_nothing(tmp_path):
    dest = tmp_path/"cache"/"kriegeskorte92"
    with pytest.raises(CommandError, match=r"pip download --no-deps --no-binary :all: rsatoolbox==0\.0\.4"):
        fetch_kriegeskorte92(dest, pip_options=("--no-index",), timeout=120)
    assert not dest.exists() and list((tmp_path/"cache").iterdir()) == []


def test_non_empty_foreign_folder_is_not_overwritten(tmp_path):
    (tmp_path/"k").mkdir(); (tmp_path/"k"/"notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a complete kriegeskorte92 cache"):
        fetch_kriegeskorte92(tmp_path/"k", sdist=tmp_path/"k"/"notes.txt")
    assert (tmp_path/"k"/"notes.txt").read_text() == "mine"


def _lite0(pretrained):
    from visreps.models.zoo import build_model

    try:
        return (
            build_model("efficientnet_lite0", pretrained=True)
            if pretrained
            else build_model("efficientnet_lite0", seed=0)
        ).eval()
    except Exception as e:
        pytest.skip(f"EfficientNet-Lite0 weights not installed: {e}")


@real
def test_trained_network_beats_untrained_on_hit(ds):
    ("ImageNet-trained Lite0 (block 12) is closer to human IT than "
     "the same architecture untrained, beyond the bootstrap intervals.")
    from visreps.models.features import ExtractionOptions, extract_features
    from visreps.metrics.rdm_scores import rsa_scores
    out = {}
    for pretrained in (True, False):
        f = extract_features(
            _lite0(pretrained), ds.stimuli, ["block12"], ExtractionOptions(device="cpu"), progress=False
        )
        out[pretrained] = rsa_scores(f, ds, "hIT", "kendall_a", n_boot=200, n_boot_subjects=0).iloc[0]
    assert out[True].ci_low > out[False].ci_high, (out[True].value, out[False].value)
    # the default value is the mean over the 4 subjects of tau-a with each subject's RDM (the pooled RDM gives more)
    assert out[True].value > 0.15 and abs(out[False].value) < 0.15
    assert out[True].ceiling_low < out[True].ceiling_high and out[True].normalized < 1


@real
def test_trained_head_score_is_rsatoolbox_eval_fixed(ds):
    ("The trained Lite0 head's hIT score is rsatoolbox's eval_fixed "
     "(tau-a, 4 subject RDMs): 0.099, not the pooled 0.143.")
    rsatoolbox = pytest.importorskip("rsatoolbox")
    import warnings
    from visreps.metrics.rsa import compute_rdm
    from visreps.models.features import ExtractionOptions, extract_features
    from visreps.metrics.rdm_scores import rsa_scores
    f = extract_features(_lite0(True), ds.stimuli, ["head"], ExtractionOptions(device="cpu"), progress=False)
    row = rsa_scores(f, ds, "hIT", "kendall_a", n_boot=0).iloc[0]
    pooled = rsa_scores(f, ds, "hIT", "kendall_a", n_boot=0, convention="pooled").iloc[0]
    R = compute_rdm(f["head"].values.reshape(92, -1).astype(np.float64), device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rsatoolbox.inference.eval_fixed(rsatoolbox.model.ModelFixed("head", rsatoolbox.rdm.RDMs(R[None])),
                                              rsatoolbox.rdm.RDMs(ds.subject_rdms("hIT").values), method="tau-a")
    assert abs(row.value - res.evaluations.mean()) < 1e-9, (row.value, res.evaluations.mean())
    assert pooled.value > row.value and np.isnan(pooled.ceiling_high)
