"""SSIM and MS-SSIM of uint8 images with a separable Gaussian window: piq's definitions, at a fraction of the cost.

Hand-written because piq's ``ssim`` / ``multi_scale_ssim`` filter with a 2-D 11x11 kernel (121 taps per pixel),
which in float64 on CPU made SSIM cost more than FID's Inception pass. The Gaussian is separable, so an 11-tap row
pass then an 11-tap column pass gives the same window in 22 taps. Everything else is piq 0.8's definition, step for
step: images scaled to [0, 1] by the data range 255, c1 = 0.01^2, c2 = 0.03^2, 'valid' filtering (no padding), the
mean of the maps per channel then over channels; MS-SSIM: replicate-pad left/top by one pixel when a side is odd,
2x2 average pooling between scales, relu of the cs / ssim terms, weights renormalised to sum 1, the product over
scales per channel, then the mean over channels. tests/test_ssim_fast.py checks parity with piq (float64) to 1e-10.
"""

from __future__ import annotations

from typing import Sequence

import torch

KERNEL_SIZE = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03
DATA_RANGE = 255.0


def gaussian_taps(size: int = KERNEL_SIZE, sigma: float = SIGMA) -> list[float]:
    """The 1-D window whose outer product is piq's normalised 2-D ``gaussian_filter(size, sigma)``."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return (g / g.sum()).tolist()


_TAPS = gaussian_taps()


def _filter(x: torch.Tensor) -> torch.Tensor:
    """'Valid' separable Gaussian filtering of a float64 stack of planes [P, H, W]: [P, H-10, W-10].

    Why shifted slices and not two grouped ``conv2d`` calls: float64 convolution on CPU has no vectorised kernel
    (im2col + gemm), so even the separable 1x11 then 11x1 conv took 0.44-0.50 s for SSIM of 8 pairs at 256x256 on
    2 cores, against 0.06 s for 11 in-place multiply-adds per pass on one plane at a time (piq's 2-D float64
    conv: 2-3 s). Why float64 and not float32: float32 is ~2.5x faster still, but sigma = E[x^2] - mu^2 cancels in
    flat regions, so float32 SSIM is off by up to 5e-7 on smooth images (6e-8 on noise), far outside the 1e-10
    parity that lets the metric keep its version; float64 already keeps the default set within 1.2x of FID-only
    (benchmarks/metrics_vs_peers.py --default-set). Why a stack of planes sized by ``PLANE_BUDGET``: the ~10 maps
    of a 256x256 plane stay in L2/L3 cache, and the whole batch at once streams them through memory 100 times and
    is 2-2.5x slower; but one 32x32 plane at a time spends its time in Python and op dispatch (10x slower than
    piq per pair), so small planes are filtered many at once.
    """
    n = len(_TAPS)
    h = x.shape[-2] - n + 1
    acc = x[:, 0:h] * _TAPS[0]
    for k in range(1, n):
        acc.add_(x[:, k:k + h], alpha=_TAPS[k])
    w = x.shape[-1] - n + 1
    out = acc[..., 0:w] * _TAPS[0]
    for k in range(1, n):
        out.add_(acc[..., k:k + w], alpha=_TAPS[k])
    return out


def _ssim_cs_planes(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and mean contrast-structure term per plane of two float64 [P, H, W] stacks in [0, 1] (piq's
    ``_ssim_per_channel``; sigma_xx + sigma_yy is filtered as one map, E[x^2 + y^2] - (mu_x^2 + mu_y^2), since only
    the sum enters the formula)."""
    c1, c2 = K1**2, K2**2
    mu_x, mu_y = _filter(x), _filter(y)
    e_sq = _filter(torch.mul(x, x).addcmul_(y, y))
    e_xy = _filter(x * y)
    mu_xy = mu_x * mu_y
    mu_sq = (mu_x * mu_x).addcmul_(mu_y, mu_y)
    cs = e_xy.sub_(mu_xy).mul_(2.0).add_(c2).div_(e_sq.sub_(mu_sq).add_(c2))  # (2 sigma_xy + c2) / (... + c2)
    ss = mu_xy.mul_(2.0).add_(c1).div_(mu_sq.add_(c1)).mul_(cs)
    return ss.mean(dim=(-2, -1)), cs.mean(dim=(-2, -1))


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """piq's step between MS-SSIM scales: replicate-pad top and left by one if either side is odd, 2x2 mean."""
    import torch.nn.functional as F

    pad = max(x.shape[-2] % 2, x.shape[-1] % 2)
    return F.avg_pool2d(F.pad(x[:, None], [pad, 0, pad, 0], mode="replicate"), kernel_size=2)[:, 0]


# Pixels filtered at once: one 256x256 plane (cache-sized), or 64 planes of 32x32.
PLANE_BUDGET = 256 * 256


def _terms(a: torch.Tensor, b: torch.Tensor, levels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and cs of [B,C,H,W] images in 0..255 at ``levels`` scales: two [levels, B, C] float64 tensors."""
    if a.shape != b.shape or a.dim() != 4:
        raise ValueError(f"expected two [B,C,H,W] tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if min(a.shape[-2:]) < KERNEL_SIZE:
        raise ValueError(f"SSIM needs images of at least {KERNEL_SIZE}x{KERNEL_SIZE}, got {tuple(a.shape[-2:])}")
    n_img, n_ch, height, width = a.shape
    planes_a, planes_b = a.reshape(-1, height, width), b.reshape(-1, height, width)
    ss = torch.empty(levels, n_img * n_ch, dtype=torch.float64)
    cs = torch.empty(levels, n_img * n_ch, dtype=torch.float64)
    step = max(1, PLANE_BUDGET // (height * width))
    for lo in range(0, n_img * n_ch, step):
        x = planes_a[lo:lo + step].to(torch.float64) / DATA_RANGE
        y = planes_b[lo:lo + step].to(torch.float64) / DATA_RANGE
        for level in range(levels):
            if level:
                x, y = _downsample(x), _downsample(y)
            ss[level, lo:lo + step], cs[level, lo:lo + step] = _ssim_cs_planes(x, y)
    return ss.view(levels, n_img, n_ch), cs.view(levels, n_img, n_ch)


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM of [B,C,H,W] images in 0..255 (uint8): piq.ssim(downsample=False, data_range=255) in float64.

    Hand-written (separable window) because piq's 2-D kernel is too slow in float64; parity with piq is tested.
    """
    return _terms(a, b, 1)[0][0].mean(1)


def ms_ssim(a: torch.Tensor, b: torch.Tensor, weights: Sequence[float]) -> torch.Tensor:
    """Per-image MS-SSIM of [B,C,H,W] images in 0..255 (uint8) over ``len(weights)`` scales, weights renormalised
    to sum 1: piq.multi_scale_ssim(data_range=255, scale_weights=weights) in float64.

    Hand-written (separable window) because piq's 2-D kernel is too slow in float64; parity with piq is tested.
    """
    w = torch.tensor(list(weights), dtype=torch.float64)
    w = w / w.sum()
    levels = w.numel()
    min_size = (KERNEL_SIZE - 1) * 2 ** (levels - 1) + 1
    if min(a.shape[-2:]) < min_size:
        raise ValueError(f"MS-SSIM over {levels} scales needs images of at least {min_size}x{min_size}, "
                         f"got {tuple(a.shape[-2:])}")
    ss, cs = _terms(a, b, levels)
    terms = torch.relu(torch.cat([cs[:-1], ss[-1:]], dim=0))  # (level, image, channel): cs, then the last SSIM
    return torch.prod(terms ** w.view(-1, 1, 1), dim=0).mean(1)
