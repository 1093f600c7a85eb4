"""Top-5 accuracy is undefined (NaN) with 5 or fewer classes, where it would be trivially 1 (issue 14, 5d)."""
import math

import torch

from visreps.training.trainer import _accumulate, _finish


def _score(n_classes):
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(40, n_classes, generator=g), torch.randint(0, n_classes, (40,), generator=g)
    sums = torch.zeros(5, dtype=torch.float64)
    _accumulate(logits, y, torch.tensor(1.0), sums)
    return _finish(sums), logits, y


def test_top5_undefined_for_few_classes():
    for k in (2, 4, 5):
        assert math.isnan(_score(k)[0]["top5"])


def test_top5_counts_hits_in_the_five_best():
    out, logits, y = _score(8)
    expect = (logits.topk(5, dim=1).indices == y[:, None]).any(1).double().mean().item()
    assert abs(out["top5"] - expect) < 1e-12
    assert abs(out["top1"] - (logits.argmax(1) == y).double().mean().item()) < 1e-12
