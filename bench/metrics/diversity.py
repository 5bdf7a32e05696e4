"""Diversity between k samples generated from the same condition: MS-SSIM (AC-GAN protocol) and LPIPS."""

from __future__ import annotations

import itertools

import numpy as np
import torch

from bench.errors import BenchError

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def sample_pairs(k: int, n_pairs: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """``n_pairs`` distinct unordered pairs i < j of ``range(k)``, drawn without replacement (all if fewer), in
    ``itertools.combinations`` order: ranks drawn among the k(k-1)/2 pairs, then unranked, so a class of 5,000
    images does not list its 12.5 million pairs."""
    total = k * (k - 1) // 2
    if n_pairs >= total:
        return list(itertools.combinations(range(k), 2))
    ranks = np.sort(rng.choice(total, n_pairs, replace=False))
    starts = np.arange(k) * (2 * k - np.arange(k) - 1) // 2  # rank of (i, i + 1)
    first = np.searchsorted(starts, ranks, side="right") - 1
    return [(int(i), int(r - starts[i] + i + 1)) for i, r in zip(first, ranks)]


def ms_ssim_scales(height: int, width: int, kernel_size: int = 11) -> int:
    """How many of the 5 standard MS-SSIM scales fit: the coarsest scale must exceed the window."""
    scales = 5
    while scales > 1 and min(height, width) <= (kernel_size - 1) * 2 ** (scales - 1):
        scales -= 1
    if min(height, width) < kernel_size:
        raise BenchError(f"MS-SSIM needs images of at least {kernel_size}x{kernel_size}, got {height}x{width}")
    return scales


def ms_ssim(a: torch.Tensor, b: torch.Tensor, scales: int = 5) -> torch.Tensor:
    """Per-pair MS-SSIM of uint8 [B,3,H,W] images (piq's definition), with the first ``scales`` standard weights.

    With fewer than 5 scales (small images) the truncated weights are renormalised to sum 1, as piq does; the scale
    count is part of the protocol, so such values are never ranked next to 5-scale ones. Computed by
    :mod:`bench.metrics.ssim_fast` (separable window, float64), hand-written because piq's 2-D kernel is too slow in
    float64; parity with ``piq.multi_scale_ssim`` is tested (tests/test_ssim_fast.py).
    """
    from bench.metrics import ssim_fast

    return ssim_fast.ms_ssim(a, b, MS_SSIM_WEIGHTS[:scales])
