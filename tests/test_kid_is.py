"""KID and IS against torch-fidelity's functions on the same features / logits."""

import numpy as np
import pytest
import torch
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric

from bench.errors import BenchError
from bench.metrics.inception_score import InceptionScore, inception_score
from bench.metrics.kid import KID, kernel_inception_distance


@pytest.mark.parametrize("seed", [0, 7])
def test_kid_matches_torch_fidelity(seed):
    rng = np.random.default_rng(seed)
    fake = rng.random((60, 32)).astype(np.float32)
    real = (rng.random((50, 32)) * 1.1).astype(np.float32)
    ours = kernel_inception_distance(fake, real, subsets=20, subset_size=25, seed=seed)
    # float64 on both sides: torch-fidelity keeps the input dtype, and float32 sums differ at ~1e-6
    ref = kid_features_to_metric(torch.from_numpy(fake).double(), torch.from_numpy(real).double(), kid_subsets=20,
                                 kid_subset_size=25, kid_degree=3, kid_gamma=None, kid_coef0=1,
                                 rng_seed=seed, verbose=False)
    assert ours["kid"] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-9, abs=1e-12)
    assert ours["kid_std"] == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-9, abs=1e-12)


def test_kid_is_seeded_and_clamps_the_subset_size_with_a_warning():
    rng = np.random.default_rng(0)
    a, b = rng.random((30, 8)), rng.random((40, 8))
    with pytest.warns(UserWarning, match="clamped to 30"):
        first = kernel_inception_distance(a, b, subsets=5, subset_size=1000, seed=3)
    with pytest.warns(UserWarning):
        again = kernel_inception_distance(a, b, subsets=5, subset_size=1000, seed=3)
    assert first == again and first["kid_subset_size"] == 30
    assert kernel_inception_distance(a, b, subsets=5, subset_size=10, seed=4) != kernel_inception_distance(
        a, b, subsets=5, subset_size=10, seed=3)


def test_kid_state_gathers_rows_in_order():
    rng = np.random.default_rng(1)
    fake, real = torch.from_numpy(rng.random((20, 4))), torch.from_numpy(rng.random((20, 4)))
    one = KID(subsets=3, subset_size=10)
    one.update(fake, real=False)
    one.update(real, real=True)
    s1, s2 = KID(subsets=3, subset_size=10), KID(subsets=3, subset_size=10)
    s1.update(fake[:9], real=False)
    s1.update(real[:5], real=True)
    s2.update(fake[9:], real=False)
    s2.update(real[5:], real=True)
    assert s1.merge(s2).compute()["kid"] == pytest.approx(one.compute()["kid"], rel=1e-6)


@pytest.mark.parametrize("n", [10, 103])
def test_inception_score_matches_torch_fidelity(n):
    logits = torch.randn(n, 1008, generator=torch.Generator().manual_seed(n)) * 3
    ours = inception_score(logits, splits=10, seed=2020)
    ref = isc_features_to_metric(logits, splits=10, shuffle=True, rng_seed=2020)
    assert ours["is"] == pytest.approx(ref["inception_score_mean"], rel=1e-12)
    assert ours["is_std"] == pytest.approx(ref["inception_score_std"], rel=1e-9, abs=1e-12)
    m = InceptionScore()
    m.update(logits[: n // 2])
    m.update(logits[n // 2 :])
    assert m.compute()["is"] == pytest.approx(ref["inception_score_mean"], rel=1e-12)


def test_inception_score_needs_enough_finite_logits():
    with pytest.raises(BenchError, match="at least 10"):
        inception_score(torch.randn(5, 1008))
    bad = torch.randn(20, 1008)
    bad[3, 0] = float("nan")
    with pytest.raises(BenchError, match="NaN"):
        inception_score(bad)
