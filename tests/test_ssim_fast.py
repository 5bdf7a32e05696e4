"""bench.metrics.ssim_fast (separable window) against piq.ssim / piq.multi_scale_ssim in float64, the definitions
the SSIM and MS-SSIM metric versions promise: same value to 1e-10 on noise, photos, identical and inverted images,
odd and small sizes (MS-SSIM with fewer scales), batch sizes 1 and 4, independent of batch composition; and PSNR,
written out from piq.psnr, equal to it."""

import numpy as np
import piq
import pytest
import torch
from PIL import Image

from bench.metrics import ssim_fast
from bench.metrics.diversity import MS_SSIM_WEIGHTS, ms_ssim, ms_ssim_scales
from bench.metrics.paired import psnr, ssim
from conftest import perturb, smooth_images

TOL = 1e-10  # float64 both sides; the separable and the 2-D window differ only in rounding (~1e-15 seen)


def _t(images):
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def _piq_ssim(a, b):
    return piq.ssim(a.to(torch.float64), b.to(torch.float64), data_range=255.0, reduction="none", downsample=False)


def _piq_ms_ssim(a, b, scales):
    w = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=torch.float64)
    return piq.multi_scale_ssim(a.to(torch.float64), b.to(torch.float64), data_range=255.0, reduction="none",
                                scale_weights=w)


def _photos(h, w, n):
    """n crops of scikit-image's bundled photos resized to h x w (PIL bicubic), real textures and flat regions."""
    data = pytest.importorskip("skimage.data")
    src = [data.astronaut(), data.chelsea(), data.coffee(), np.repeat(data.camera()[..., None], 3, axis=2)]
    return [np.asarray(Image.fromarray(src[i % len(src)]).resize((w, h), Image.BICUBIC)) for i in range(n)]


def _noise(h, w, n, seed):
    return list(np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8))


def _smooth(h, w, n, seed):
    return [np.asarray(Image.fromarray(im).resize((w, h), Image.BILINEAR)) for im in smooth_images(n, 16, seed)]


KINDS = {
    # (a, b): a pair of batches of the same shape
    "noise": lambda h, w, n: (_noise(h, w, n, 1), _noise(h, w, n, 2)),  # SSIM ~ 0, negative cs terms
    "noisy-smooth": lambda h, w, n: (_smooth(h, w, n, 3), perturb(_smooth(h, w, n, 3), seed=4, amount=30)),
    "photo-vs-blurred-noisy": lambda h, w, n: (_photos(h, w, n), perturb(
        [np.asarray(Image.fromarray(p).resize((max(w // 3, 1), max(h // 3, 1))).resize((w, h))) for p in
         _photos(h, w, n)], seed=5, amount=12)),
    "photo-vs-other-photo": lambda h, w, n: (_photos(h, w, n), _photos(h, w, n + 1)[1:]),
    "photo-vs-inverted": lambda h, w, n: (_photos(h, w, n), [255 - p for p in _photos(h, w, n)]),  # relu clamps
}

# (height, width): smallest window, odd sides, one odd side (piq pads both), each MS-SSIM scale count 1..5
SIZES = [(11, 11), (13, 20), (21, 21), (37, 45), (64, 64), (81, 96), (97, 130), (160, 161), (161, 161), (165, 172)]


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_ssim_and_ms_ssim_match_piq_float64(kind, size):
    h, w = size
    n = 1 if h * w > 20000 else 3  # batch sizes 1 and > 1 (both are also in the batch tests below)
    a, b = (_t(x) for x in KINDS[kind](h, w, n))
    np.testing.assert_allclose(ssim_fast.ssim(a, b).numpy(), _piq_ssim(a, b).numpy(), rtol=0, atol=TOL)
    scales = ms_ssim_scales(h, w)
    np.testing.assert_allclose(ssim_fast.ms_ssim(a, b, MS_SSIM_WEIGHTS[:scales]).numpy(),
                               _piq_ms_ssim(a, b, scales).numpy(), rtol=0, atol=TOL)


def test_scale_counts_of_the_sizes_tested():
    """SIZES really covers every scale count, so weight renormalisation and the odd-side padding are exercised."""
    assert sorted({ms_ssim_scales(h, w) for h, w in SIZES}) == [1, 2, 3, 4, 5]
    assert ms_ssim_scales(160, 161) == 4 and ms_ssim_scales(161, 161) == 5


@pytest.mark.parametrize("batch", [1, 4])
def test_metric_functions_match_piq_at_batch_sizes(batch):
    """What the metrics call (paired.ssim, diversity.ms_ssim) against the piq calls they replaced."""
    a = _t(_photos(161, 168, batch))
    b = _t(perturb(_photos(161, 168, batch), seed=7, amount=20))
    ours, ref = ssim(a, b), _piq_ssim(a, b)
    assert ours.shape == ref.shape == (batch,) and ours.dtype == torch.float64
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=0, atol=TOL)
    ours, ref = ms_ssim(a, b, 5), _piq_ms_ssim(a, b, 5)
    assert ours.shape == ref.shape == (batch,)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=0, atol=TOL)
    assert float((ours - ref).abs().max()) < TOL


@pytest.mark.parametrize("size", [(11, 11), (64, 75), (161, 161)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_identical_images_give_one(size):
    a = _t(_photos(*size, 2))
    scales = ms_ssim_scales(*size)
    np.testing.assert_allclose(ssim_fast.ssim(a, a).numpy(), 1.0, rtol=0, atol=TOL)
    np.testing.assert_allclose(ssim_fast.ms_ssim(a, a, MS_SSIM_WEIGHTS[:scales]).numpy(), 1.0, rtol=0, atol=TOL)


def test_value_is_independent_of_batch_composition():
    """An image's value alone, in a batch of 5 at any position, and next to other images: the same to 1e-15."""
    a = _t(_photos(96, 104, 3) + _noise(96, 104, 2, 8))
    b = _t(perturb(_photos(96, 104, 3), seed=9, amount=25) + _smooth(96, 104, 2, 10))
    scales = ms_ssim_scales(96, 104)
    for fn in (ssim_fast.ssim, lambda x, y: ssim_fast.ms_ssim(x, y, MS_SSIM_WEIGHTS[:scales])):
        together = fn(a, b)
        alone = torch.cat([fn(a[i:i + 1], b[i:i + 1]) for i in range(5)])
        perm = torch.tensor([3, 0, 4, 2, 1])
        shuffled = fn(a[perm], b[perm])[torch.argsort(perm)]
        for other in (alone, shuffled):
            np.testing.assert_allclose(together.numpy(), other.numpy(), rtol=0, atol=1e-15)
        assert len(set(together.tolist())) == 5  # five different values: no accidental constant


def test_tolerance_tells_definitions_apart():
    """The parity tests can fail: piq with a neighbouring definition (sigma 1.6, k2 0.031, 5-scale weights not
    renormalised, one scale fewer) is far outside TOL of ours."""
    a = _t(_photos(161, 161, 2))
    b = _t(perturb(_photos(161, 161, 2), seed=11, amount=20))
    x, y = a.to(torch.float64), b.to(torch.float64)
    ours = ssim_fast.ssim(a, b)
    for kw in ({"kernel_sigma": 1.6}, {"k2": 0.031}):
        other = piq.ssim(x, y, data_range=255.0, reduction="none", downsample=False, **kw)
        assert float((ours - other).abs().min()) > 1e3 * TOL, kw
    ours_ms = ssim_fast.ms_ssim(a, b, MS_SSIM_WEIGHTS)
    raw = piq.multi_scale_ssim(x, y, data_range=255.0, reduction="none")  # piq's default: weights as given
    fewer = _piq_ms_ssim(a, b, 4)
    assert float((ours_ms - raw).abs().min()) > 1e3 * TOL and float((ours_ms - fewer).abs().min()) > 1e3 * TOL


def test_too_small_images_are_refused():
    a = torch.zeros(1, 3, 10, 40, dtype=torch.uint8)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim_fast.ssim(a, a)
    b = torch.zeros(1, 3, 40, 40, dtype=torch.uint8)
    with pytest.raises(ValueError, match="at least 41x41"):
        ssim_fast.ms_ssim(b, b, MS_SSIM_WEIGHTS[:3])


def test_separable_taps_are_piqs_2d_window():
    taps = torch.tensor(ssim_fast.gaussian_taps(), dtype=torch.float64)
    two_d = piq.functional.gaussian_filter(11, 1.5, dtype=torch.float64)[0]
    assert float((torch.outer(taps, taps) - two_d).abs().max()) < 1e-17


@pytest.mark.parametrize("kind", ["noisy-smooth", "photo-vs-inverted"])
def test_psnr_equals_piq(kind):
    """paired.psnr writes piq.psnr out (no piq import on the evaluation path): the same ops, the same values."""
    a, b = (_t(x) for x in KINDS[kind](37, 45, 3))
    ref = piq.psnr(a.to(torch.float64), b.to(torch.float64), data_range=255.0, reduction="none")
    np.testing.assert_allclose(psnr(a, b).numpy(), ref.numpy(), rtol=1e-15, atol=0)
    assert float(psnr(a, a)[0]) == pytest.approx(80.0)  # piq's eps 1e-8 on the [0, 1] MSE
