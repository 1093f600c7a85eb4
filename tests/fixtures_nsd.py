"""Fixture NSD trees in the native layout, and the expected responses computed directly from the ground truth.

The tree itself is written by `visreps.data.loaders.nsd.write_nsd_fixture` (plain numpy/h5py/nibabel/scipy writes);
the expected values here are computed with numpy only, independently of the loader's reading code.
"""
from pathlib import Path

import numpy as np
import pytest

from visreps.data.loaders.nsd import DEFAULT_LABELS, write_nsd_fixture


def make_tree(root: Path, **kw) -> dict:
    "Write a fixture NSD tree under `root`; return the ground truth."
    return write_nsd_fixture(root, **kw)


def roi_mask(truth: dict, subject: int, name: str) -> np.ndarray:
    "Boolean (X, Y, Z) mask of the region `name` (first atlas that has it)."
    for atlas, names in DEFAULT_LABELS.items():
        if name in names:
            return truth["targets"][(subject, atlas)] == names.index(name) + 1
    raise KeyError(name)


def expected_responses(truth: dict, subject: int, name: str, sessions, zscore: bool = True) -> np.ndarray:
    "(trials, voxels) expected values: int16 betas / 300, z-scored per session and voxel (population std)."
    mask = roi_mask(truth, subject, name)
    out = []
    for s in sessions:
        b = truth["betas"][(subject, s)][mask].astype(np.float64).T / 300.0  # (T, voxels), voxels in C order
        if zscore:
            b = (b - b.mean(axis=0)) / b.std(axis=0)
        out.append(b)
    return np.concatenate(out)


def expected_images(truth: dict, subject: int, sessions) -> np.ndarray:
    "0-based 73k-ids shown on the trials of `sessions` (subjectim[subject, masterordering])."
    T = truth["trials_per_session"]
    trials = np.concatenate([np.arange((s - 1) * T, s * T) for s in sessions])
    return truth["subjectim"][subject - 1, truth["masterordering"][trials]]


@pytest.fixture(scope="module")
def nsd_tree(tmp_path_factory):
    "A tree with .mat v5, HDF5 and NIfTI betas, 2 subjects x 3 sessions x 30 trials."
    root = tmp_path_factory.mktemp("nsd_v5")
    return root, make_tree(root, mat_version="v5", beta_formats=("hdf5", "nifti"), shape=(9, 10, 8))


@pytest.fixture(scope="module")
def nsd_tree_v73(tmp_path_factory):
    "A tree as NSD ships it at full trial count: .mat v7.3, 750 trials per session, NIfTI betas only."
    root = tmp_path_factory.mktemp("nsd_v73")
    return root, make_tree(root, mat_version="v7.3", beta_formats=("nifti",), trials_per_session=750, n_sessions=2,
                           shape=(7, 8, 6), n_unique=300, seed=1)
