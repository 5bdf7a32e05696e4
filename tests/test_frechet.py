"""Frechet distance vs a float64 scipy sqrtm reference, and FID moments vs numpy.cov."""

import numpy as np
import pytest
import scipy.linalg
import torch

from bench.metrics.fid import FID, frechet_distance


def scipy_reference(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    d = mu1 - mu2
    return d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def random_spd(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


@pytest.mark.parametrize("d", [2, 16, 128])
def test_frechet_matches_scipy_sqrtm(d):
    rng = np.random.default_rng(d)
    for _ in range(3):
        mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
        s1, s2 = random_spd(rng, d), random_spd(rng, d)
        ours, ref = frechet_distance(mu1, s1, mu2, s2), scipy_reference(mu1, s1, mu2, s2)
        assert abs(ours - ref) <= 1e-8 * abs(ref), (ours, ref)


def test_frechet_of_identical_rank_deficient_covariances_is_zero():
    # 50 samples in 256 dimensions: singular covariance, where sqrtm of the product is ill-conditioned.
    rng = np.random.default_rng(0)
    x = np.abs(rng.standard_normal((50, 256)))
    mu, s = x.mean(0), np.cov(x, rowvar=False)
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-9


def test_fid_moments_match_numpy_cov_and_are_batch_independent():
    rng = np.random.default_rng(1)
    feats = rng.random((37, 8)).astype(np.float32)
    whole, split = FID(dim=8), FID(dim=8)
    whole.update(torch.from_numpy(feats), real=True)
    for i in range(0, 37, 5):
        split.update(torch.from_numpy(feats[i : i + 5]), real=True)
    for m in (whole, split):
        mu, cov = m.moments("real").mean_cov()
        np.testing.assert_allclose(mu, feats.astype(np.float64).mean(0), rtol=1e-12)
        np.testing.assert_allclose(cov, np.cov(feats.astype(np.float64), rowvar=False), rtol=1e-10, atol=1e-14)


def test_fid_states_merge_like_one_process():
    rng = np.random.default_rng(2)
    a, b = rng.random((20, 4)), rng.random((30, 4))
    one = FID(dim=4)
    one.update(torch.from_numpy(a), real=True)
    one.update(torch.from_numpy(b), real=False)
    shard1, shard2 = FID(dim=4), FID(dim=4)
    shard1.update(torch.from_numpy(a[:7]), real=True)
    shard1.update(torch.from_numpy(b[:11]), real=False)
    shard2.update(torch.from_numpy(a[7:]), real=True)
    shard2.update(torch.from_numpy(b[11:]), real=False)
    merged = shard1.merge(shard2).compute()["fid"]
    assert merged == pytest.approx(one.compute()["fid"], rel=1e-12)
    # independent: numpy means/covs and the scipy reference
    ref = scipy_reference(b.mean(0), np.cov(b, rowvar=False), a.mean(0), np.cov(a, rowvar=False))
    assert merged == pytest.approx(ref, rel=1e-8)


def test_frechet_rejects_nan():
    from bench.errors import BenchError

    s = np.eye(3)
    with pytest.raises(BenchError, match="NaN"):
        frechet_distance(np.array([np.nan, 0, 0]), s, np.zeros(3), s)
