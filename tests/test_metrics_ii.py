"""The second metric set's math beyond the registry tester (tests/test_metric_registry.py holds each metric's parity
with its reference package on the evaluator's views): k-NN conventions and chunking on larger sets with ties,
FID-infinity against the closed form of a Gaussian case, the bootstrap's replicates and interval, and the protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.errors import BenchError
from bench.metrics.bootstrap import fid_replicates, interval, kid_replicates, resample_counts
from bench.metrics.extrapolation import fid_infinity, subset_sizes
from bench.metrics.fid_intra import FrechetToRows, frechet_distance_rows
from bench.metrics.kid_intra import polynomial_mmd2_unbiased_unequal
from bench.metrics.knn import density_coverage, kth_neighbour_radii, precision_recall


def _sets(seed=0, n_fake=300, n_real=400, d=16):
    rng = np.random.default_rng(seed)
    real = rng.standard_normal((n_real, d))
    fake = np.concatenate([real[:50], rng.normal(0.4, 1.2, (n_fake - 50, d))])  # 50 exact copies: ties at 0
    return fake, real


@pytest.mark.parametrize("seed", [0, 1])
def test_precision_recall_equal_torch_fidelitys_both_implementations(seed):
    from torch_fidelity.metric_prc import calculate_precision_recall_full, calculate_precision_recall_part

    fake, real = _sets(seed)
    got = precision_recall(fake, real, k=3)
    f, r = torch.from_numpy(fake), torch.from_numpy(real)
    for impl in (calculate_precision_recall_full, calculate_precision_recall_part):
        p, rc = impl(f, r, 3, 128)
        assert (got["precision"], got["recall"]) == pytest.approx((p, rc), rel=1e-7)  # its float32 .item()s


@pytest.mark.parametrize("seed", [0, 1])
def test_density_coverage_equal_prdcs(seed):
    from prdc import compute_prdc

    fake, real = _sets(seed)
    want = compute_prdc(real_features=real, fake_features=fake, nearest_k=5)
    got = density_coverage(fake, real, k=5)
    assert got == pytest.approx({"density": want["density"], "coverage": want["coverage"]}, abs=1e-12)


def test_the_two_ball_conventions_differ_where_a_point_is_on_a_sphere():
    # real rows on a line 0, 1, 2, 3, 4 (k = 1: every radius is 1); a fake row at 5 lies on the sphere of the real
    # row 4: inside a closed ball (torch-fidelity's precision) and outside an open one (prdc's density)
    real = np.arange(5, dtype=np.float64)[:, None]
    fake = np.array([[5.0], [10.0], [20.0]])
    assert precision_recall(fake, real, k=1)["precision"] == pytest.approx(1 / 3)
    assert density_coverage(fake, real, k=1)["density"] == 0.0


def test_chunking_does_not_change_any_value_even_on_exact_ties():
    # 50 generated rows are copies of real rows, so they lie exactly on spheres of other real rows: with BLAS
    # distances alone, chunks of 7 rows counted 2 more balls for density than chunks of 1024 (found by this test)
    fake, real = _sets(2)
    for chunk in (7, 64):
        assert precision_recall(fake, real, chunk=chunk) == precision_recall(fake, real)
        assert density_coverage(fake, real, chunk=chunk) == density_coverage(fake, real)
        np.testing.assert_array_equal(kth_neighbour_radii(real, 3, chunk), kth_neighbour_radii(real, 3))


def test_an_oracle_decides_its_ties_by_the_math():
    # fake == real: each copy is at distance 0 from its twin, and exactly on the sphere of every real row whose k-th
    # neighbour is its twin. Closed balls: precision = recall = 1; open balls: coverage = 1 and density counts, per
    # copy, the real rows strictly closer than their k-th neighbour, i.e. exactly k - 1 of each row's k neighbours
    # plus itself: sum over rows of k balls -> density = k / k = 1 when no other ties exist
    real = np.random.default_rng(5).standard_normal((200, 32))
    assert precision_recall(real.copy(), real) == {"precision": 1.0, "recall": 1.0}
    out = density_coverage(real.copy(), real, k=5)
    assert out == {"density": 1.0, "coverage": 1.0}
    # the same with the generated copies' features perturbed by 6e-7 of their norm, the difference measured between
    # Inception features of the same images computed with 1 and 2 threads (the digits oracle scored density 1.10)
    noise = np.random.default_rng(6).standard_normal(real.shape)
    noisy = real + 6e-7 * np.linalg.norm(real, axis=1, keepdims=True) * noise / np.linalg.norm(noise, axis=1, keepdims=True)
    assert precision_recall(noisy, real) == {"precision": 1.0, "recall": 1.0}
    assert density_coverage(noisy, real, k=5) == {"density": 1.0, "coverage": 1.0}


def test_knn_needs_more_rows_than_k():
    with pytest.raises(BenchError, match="needs more than 3"):
        kth_neighbour_radii(np.zeros((3, 4)), 3)


def _exact_rows(rng, n, mu, sd):
    """n rows whose sample mean and covariance (ddof 1) are exactly mu and diag(sd^2)."""
    y = rng.standard_normal((n, len(mu)))
    y -= y.mean(0)
    w, v = np.linalg.eigh(np.cov(y, rowvar=False))
    return (y @ v @ np.diag(w ** -0.5) @ v.T) * sd + mu


def test_fid_infinity_recovers_the_closed_form_of_a_gaussian_case():
    # fake rows from N(mu2, diag sd2^2), real statistics exactly N(mu1, diag sd1^2): the Frechet distance at infinite
    # N is |mu1 - mu2|^2 + sum (sd1 - sd2)^2. FID at N = 2000 in 64 dims is biased by ~+60 % of it; FID-infinity
    # must remove most of that bias (errors measured over these seeds: 0.05 .. 0.20 against FID_N's 0.66 .. 0.87)
    d = 64
    mu1, sd1 = np.zeros(d), np.linspace(0.5, 2.0, d)
    mu2, sd2 = np.full(d, 0.1), np.linspace(0.6, 1.8, d)
    true = float(((mu1 - mu2) ** 2).sum() + ((sd1 - sd2) ** 2).sum())
    errors = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        real = _exact_rows(rng, 5000, mu1, sd1)
        fake = rng.standard_normal((2000, d)) * sd2 + mu2
        fid_n = FrechetToRows(real)(fake)
        fid_inf = fid_infinity(fake, real, seed=seed)["value"]
        assert abs(fid_inf - true) < 0.5 * (fid_n - true), seed
        errors.append(abs(fid_inf - true))
    assert np.mean(errors) < 0.2 * true


def test_fid_infinity_subsets_follow_the_authors_spacing_and_are_seeded():
    np.testing.assert_array_equal(subset_sizes(50000, 2048), np.linspace(5000, 50000, 15).astype("int32"))
    np.testing.assert_array_equal(subset_sizes(5000, 2048)[[0, -1]], [2048, 5000])  # never below the dimension
    with pytest.raises(BenchError, match="at least 4096 generated images"):
        subset_sizes(4095, 2048)
    fake, real = _sets(3, n_fake=120, n_real=150)
    a, b = fid_infinity(fake, real, seed=1), fid_infinity(fake, real, seed=1)
    assert a == b
    assert fid_infinity(fake, real, seed=2)["values"] != a["values"]


@pytest.mark.parametrize("n_fake, n_real, d", [(40, 60, 8), (30, 25, 32), (70, 50, 16), (6, 60, 8)])  # rows form, both moments branches
def test_frechet_to_rows_equals_the_direct_distance_in_both_forms(n_fake, n_real, d):
    rng = np.random.default_rng(n_fake)
    x, y = rng.standard_normal((n_fake, d)), rng.standard_normal((n_real, d)) * 1.3 + 0.2
    # the rows form is exact for any n; the moments form loses up to ~1e-8 of the value where a covariance is
    # rank-deficient (6 rows in 8 dims: see frechet_distance_rows)
    assert FrechetToRows(y)(x) == pytest.approx(frechet_distance_rows(x, y, form="rows"), rel=1e-9)
    assert FrechetToRows(y)(x) == pytest.approx(frechet_distance_rows(x, y, form="moments"), rel=1e-7)


def test_bootstrap_replicates_equal_the_statistics_of_the_resamples_written_out():
    rng = np.random.default_rng(4)
    fake, real = rng.standard_normal((30, 8)), rng.standard_normal((40, 8)) + 0.3
    counts = resample_counts(30, replicates=5, seed=9)
    assert (counts.sum(1) == 30).all()
    rows = [np.repeat(fake, c, axis=0) for c in counts]
    np.testing.assert_allclose(kid_replicates(fake, real, counts),
                               [polynomial_mmd2_unbiased_unequal(r, real) for r in rows], rtol=1e-10)
    np.testing.assert_allclose(fid_replicates(fake, real, counts),
                               [frechet_distance_rows(r, real, form="moments") for r in rows], rtol=1e-9)
    # the same through the rows form (fewer rows than d^2 / n): n = 30 resampled rows of 64 dims
    wide_fake, wide_real = rng.standard_normal((30, 64)), rng.standard_normal((40, 64))
    np.testing.assert_allclose(fid_replicates(wide_fake, wide_real, counts),
                               [frechet_distance_rows(np.repeat(wide_fake, c, axis=0), wide_real, form="rows")
                                for c in counts], rtol=1e-9)
    np.testing.assert_array_equal(resample_counts(30, 5, 9), counts)
    assert not np.array_equal(resample_counts(30, 5, 10), counts)


def test_bootstrap_interval_removes_the_resampling_bias():
    reps = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
    out = interval(reps, 9.0, level=0.5)
    assert out["boot_bias"] == pytest.approx(3.0)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((8.0, 10.0))
    assert out["boot_std"] == pytest.approx(np.std(reps, ddof=1))


def test_too_few_images_for_fid_infinity_are_listed_as_unavailable_not_extrapolated(tmp_path, monkeypatch):
    # an oracle of 100 images (FID 0) extrapolated to FID-infinity 1.41 before this check: subsets smaller than the
    # 2048 feature dimensions are not in the regime where FID is linear in 1/N
    from bench.evaluate import EvalOptions, evaluate_folders
    from conftest import smooth_images, write_folder

    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    real = write_folder(tmp_path / "real", smooth_images(6, size=32, seed=0))
    rec = evaluate_folders(real, real, opts=EvalOptions(candidates=("fid", "fid_inf")))
    assert rec["metrics"]["fid"] == pytest.approx(0.0, abs=1e-6)
    assert "fid_inf" not in rec["metrics"]
    assert "at least 4096 generated images" in rec["unavailable"]["fid_inf"]
    with pytest.raises(BenchError, match="FID-infinity needs at least 4096"):
        evaluate_folders(real, real, opts=EvalOptions(metrics=("fid_inf",)))
    # likewise k-NN balls need more than k images per side (6 here: precision/recall k = 3 apply, k = 5 does not)
    rec = evaluate_folders(real, real, opts=EvalOptions(candidates=("precision_recall", "density_coverage")))
    assert rec["metrics"]["precision"] == 1.0
    assert "needs more than 5 images per side, got 6 generated" not in rec["unavailable"].get("density_coverage", "")
    small = write_folder(tmp_path / "small", smooth_images(5, size=32, seed=0))
    rec = evaluate_folders(small, small, opts=EvalOptions(candidates=("precision_recall", "density_coverage")))
    assert "needs more than 5 images per side, got 5 generated and 5 real" in rec["unavailable"]["density_coverage"]


def test_the_fid_interval_stays_in_fids_range():
    # an oracle (fake = real): FID 0, replicates ~10 from the repeats, the bias-shifted interval reached below 0
    from bench.metrics.bootstrap import BootstrapCI

    rows = torch.from_numpy(np.random.default_rng(7).standard_normal((40, 8)))
    state = BootstrapCI(replicates=30)
    state._append("fake", rows)
    state._append("real", rows)
    out = state.compute()
    assert out["fid_ci_low"] == 0.0 < out["fid_ci_high"] and out["fid_boot_bias"] > 0
    assert out["kid_ci_low"] < 0  # KID's unbiased estimate may be negative: not clipped


def test_every_new_metric_is_in_the_fingerprint_of_a_new_evaluation():
    from bench.evaluate import EvalContext, EvalOptions, _protocol

    ctx = EvalContext(EvalOptions(), [], [], [], {}, (64, 64), None, [])
    proto = _protocol(ctx).to_dict()
    for field in ("knn", "extrapolation", "bootstrap", "dinov2_features", "clip_features"):
        assert proto[field], field
    names = dict(proto["metric_versions"])
    for m in ("precision_recall", "density_coverage", "fid_inf", "is_inf", "bootstrap_ci", "fd_dinov2",
              "kid_dinov2", "fd_clip", "kid_clip"):
        assert m in names
    dinov2 = dict(proto["dinov2_features"])
    assert "d5383ea8f4877b2472eb973e0fd72d557c7da5d3611bd527ceeb1d7162cbf428" in dinov2["weights_sha256"]
