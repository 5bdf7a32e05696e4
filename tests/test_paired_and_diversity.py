"""PSNR / SSIM vs scikit-image, MS-SSIM vs a brute-force numpy MS-SSIM (Wang et al. 2003), pair sampling."""

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from bench.metrics.diversity import MS_SSIM_WEIGHTS, ms_ssim, ms_ssim_scales, sample_pairs
from bench.metrics.paired import psnr, ssim
from conftest import perturb, smooth_images


def _batch(images):
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


@pytest.fixture
def pair():
    real = smooth_images(3, size=64, seed=10)
    fake = perturb(real, seed=11, amount=30)
    return real, fake


def test_psnr_matches_skimage(pair):
    real, fake = pair
    ours = psnr(_batch(fake), _batch(real)).numpy()
    ref = [peak_signal_noise_ratio(r, f, data_range=255) for r, f in zip(real, fake)]
    # piq adds 1e-8 to the MSE of [0, 1]-scaled images (so identical images give 80 dB, not inf): ~4e-7 relative
    np.testing.assert_allclose(ours, ref, rtol=1e-6)


def test_ssim_matches_skimage(pair):
    real, fake = pair
    ours = ssim(_batch(fake), _batch(real)).numpy()
    ref = [structural_similarity(r, f, data_range=255, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False) for r, f in zip(real, fake)]
    np.testing.assert_allclose(ours, ref, rtol=1e-6)


def _gauss_window(size=11, sigma=1.5):
    x = np.arange(size) - size // 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    g /= g.sum()
    return np.outer(g, g)


def _ssim_cs_numpy(a, b, k1=0.01, k2=0.03, L=255.0):
    """Mean SSIM and contrast-structure terms of one channel, 'valid' Gaussian filtering (brute force)."""
    w = _gauss_window()
    f = lambda x: ndimage.correlate(x, w, mode="constant")[5:-5, 5:-5]  # noqa: E731 - valid region
    c1, c2 = (k1 * L) ** 2, (k2 * L) ** 2
    mu_a, mu_b = f(a), f(b)
    saa, sbb, sab = f(a * a) - mu_a**2, f(b * b) - mu_b**2, f(a * b) - mu_a * mu_b
    cs = (2 * sab + c2) / (saa + sbb + c2)
    lum = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    return (lum * cs).mean(), cs.mean()


def ms_ssim_numpy(a, b, scales):
    weights = np.array(MS_SSIM_WEIGHTS[:scales])
    weights = weights / weights.sum()
    per_channel = []
    for c in range(3):
        x, y = a[:, :, c].astype(np.float64), b[:, :, c].astype(np.float64)
        terms = []
        for s in range(scales):
            ssim_v, cs_v = _ssim_cs_numpy(x, y)
            terms.append(ssim_v if s == scales - 1 else cs_v)
            x = x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2).mean((1, 3))
            y = y.reshape(y.shape[0] // 2, 2, y.shape[1] // 2, 2).mean((1, 3))
        per_channel.append(np.prod(np.maximum(terms, 0) ** weights))
    return float(np.mean(per_channel))


@pytest.mark.parametrize("size", [64, 192])
def test_ms_ssim_matches_numpy_reference(size):
    a = smooth_images(2, size=size, seed=20)
    b = perturb(a, seed=21, amount=25)
    scales = ms_ssim_scales(size, size)
    assert scales == {64: 3, 192: 5}[size]
    ours = ms_ssim(_batch(a), _batch(b), scales).numpy()
    ref = [ms_ssim_numpy(x, y, scales) for x, y in zip(a, b)]
    np.testing.assert_allclose(ours, ref, rtol=1e-6)


def test_sample_pairs_is_seeded_distinct_and_clamped():
    pairs = sample_pairs(6, 5, np.random.default_rng(0))
    assert len(pairs) == len(set(pairs)) == 5 and all(i < j for i, j in pairs)
    assert pairs == sample_pairs(6, 5, np.random.default_rng(0))
    assert sample_pairs(3, 10, np.random.default_rng(0)) == [(0, 1), (0, 2), (1, 2)]


def test_diversity_over_samples_of_one_condition_end_to_end(tmp_path):
    """fake/<name>/<i>.png are samples of real <name>.png; with pairs >= k(k-1)/2 every pair is used."""
    from bench.evaluate import EvalOptions, evaluate_folders
    from conftest import write_folder

    real_imgs = smooth_images(3, size=64, seed=30)
    write_folder(tmp_path / "real", real_imgs)
    samples = {}
    for c in range(3):
        samples[c] = perturb([real_imgs[c]] * 3, seed=40 + c, amount=50)
        write_folder(tmp_path / "fake", samples[c], [f"{c:04d}/{i}.png" for i in range(3)])
    rec = evaluate_folders(tmp_path / "real", tmp_path / "fake",
                           opts=EvalOptions(metrics=("msssim_diversity", "psnr"), diversity_pairs=100, progress=False))
    ref = np.mean([ms_ssim_numpy(samples[c][i], samples[c][j], 3) for c in range(3) for i, j in [(0, 1), (0, 2), (1, 2)]])
    assert rec["metrics"]["msssim_diversity"] == pytest.approx(ref, rel=1e-6)
    ref_psnr = np.mean([peak_signal_noise_ratio(real_imgs[c], s, data_range=255) for c in range(3) for s in samples[c]])
    assert rec["metrics"]["psnr"] == pytest.approx(ref_psnr, rel=1e-6)
    assert rec["inputs"]["fake"]["conditions"] == 3 and rec["protocol"]["msssim_scales"] == 3
