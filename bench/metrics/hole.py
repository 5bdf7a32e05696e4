"""Pixel errors of inpainting: mean L1 / L2 over the whole image, and PSNR / L1 / L2 inside the hole.

Definitions (images scaled to 0..1, every channel): L1 = mean |fake - real|, L2 = mean (fake - real)^2, the
"mean L1 / L2 loss" context encoders report (Pathak et al. 2016, Table 1, printed in %; the leaderboard shows
them in % too); PSNR as :func:`bench.metrics.paired.psnr` (piq's, eps 1e-8). Each is computed per image and
averaged over images. The in-hole versions average over the hole's pixels only (3 values per pixel).

The hole of each sample is regenerated from the evaluation's mask protocol (``bench.masks``: the inpainting task's
parameters, which ``bench run`` puts in the protocol fields) and the sample's key (the name of its real image),
so it is the hole the method was given. Without that protocol (``bench eval`` on two folders) the in-hole
metrics are unavailable, and they stay out of the fingerprint (``registry.fingerprinted``).
"""

from __future__ import annotations

import torch

from bench.metrics.paired import PSNR_EPS, MeanOf, PairedMean
from bench.metrics.registry import Column, MetricSpec


def _diff(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    return fake.to(torch.float64) / 255.0 - real.to(torch.float64) / 255.0


def l1(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Per-image mean absolute error of uint8 [B,3,H,W] images on the 0..1 scale."""
    return _diff(fake, real).abs().mean(dim=(1, 2, 3))


def l2(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error of uint8 [B,3,H,W] images on the 0..1 scale."""
    return (_diff(fake, real) ** 2).mean(dim=(1, 2, 3))


def _in_hole(values: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Per-image mean of [B,3,H,W] values over the pixels where ``hole`` (bool [B,H,W]) is True."""
    from bench.errors import BenchError

    w = hole[:, None].to(torch.float64).expand_as(values)
    n = w.sum(dim=(1, 2, 3))
    if bool((n == 0).any()):
        raise BenchError("an inpainting mask has no missing pixel: in-hole metrics are undefined")
    return (values * w).sum(dim=(1, 2, 3)) / n


def hole_l1(fake: torch.Tensor, real: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Per-image mean absolute error (0..1 scale) over the hole's pixels and the three channels."""
    return _in_hole(_diff(fake, real).abs(), hole)


def hole_l2(fake: torch.Tensor, real: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error (0..1 scale) over the hole's pixels and the three channels."""
    return _in_hole(_diff(fake, real) ** 2, hole)


def hole_psnr(fake: torch.Tensor, real: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB of the hole's pixels (data range 1 on the 0..1 scale, piq's eps)."""
    return -10 * torch.log10(hole_l2(fake, real, hole) + PSNR_EPS)


class HoleMean(MeanOf):
    """Mean over pairs of ``fn(fake, real, hole)``; the hole regenerated per sample from the mask protocol."""

    def __init__(self, name: str, fn, params: dict) -> None:
        super().__init__(name, per_sample=True)
        self.fn, self.params = fn, params

    def update_view(self, view) -> None:
        import numpy as np

        from bench.masks import mask_for

        size = tuple(view.real.shape[-2:])
        # the key of a sample is its condition's (the real image's name): what make_batch was given
        hole = torch.from_numpy(np.stack([mask_for(self.params, p.group, size) for p in view.items]))
        self.update(self.fn(view.fake, view.real, hole))


def _mask_params(ctx) -> dict | None:
    from bench.masks import params_from_protocol

    return params_from_protocol(ctx.opts.protocol_fields)


def _needs_masks(ctx) -> str | None:
    if _mask_params(ctx) is None:
        return ("needs the hole of each sample: the inpainting task's mask protocol (`bench run` on an inpainting "
                "dataset)")
    return None


def _hole_spec(name: str, fn, title: str, decimals: int, percent: bool, higher: bool) -> MetricSpec:
    return MetricSpec(name, higher_is_better=higher, inputs=("pairs", "masks"),
                      build=lambda ctx: HoleMean(name, fn, _mask_params(ctx)), check=_needs_masks,
                      columns=(Column(name, title, higher, decimals, percent),), builtin=True,
                      tasks=("inpainting",), description=f"{title} inside the inpainting hole")


L1 = MetricSpec("l1", higher_is_better=False, inputs=("pairs",), build=lambda ctx: PairedMean("l1", l1),
                columns=(Column("l1", "L1 %", False, 2, percent=True),), builtin=True, tasks=("inpainting",),
                description="mean absolute error on the 0..1 scale (context encoders' mean L1 loss)")
L2 = MetricSpec("l2", higher_is_better=False, inputs=("pairs",), build=lambda ctx: PairedMean("l2", l2),
                columns=(Column("l2", "L2 %", False, 2, percent=True),), builtin=True, tasks=("inpainting",),
                description="mean squared error on the 0..1 scale (context encoders' mean L2 loss)")
HOLE_PSNR = _hole_spec("hole_psnr", hole_psnr, "hole PSNR", 2, False, True)
HOLE_L1 = _hole_spec("hole_l1", hole_l1, "hole L1 %", 2, True, False)
HOLE_L2 = _hole_spec("hole_l2", hole_l2, "hole L2 %", 2, True, False)
