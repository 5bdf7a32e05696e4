"""SSIM on the Y channel with a border crop (the super-resolution convention, BasicSR's ``calculate_ssim`` with
``test_y_channel=True``: 11x11 Gaussian, 'valid' filtering on 0..255 data), per image, averaged. The crop and its
protocol field are psnr_y's (:mod:`bench.metrics.psnr_y`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.metrics.paired import PairedMean
from bench.metrics.psnr_y import check_size, crop_border, protocol
from bench.metrics.registry import Column, MetricSpec

if TYPE_CHECKING:
    from bench.evaluate import EvalContext


def _build(ctx: "EvalContext") -> PairedMean:
    from bench.sr_conventions import ssim_y

    c = crop_border(ctx)
    return PairedMean("ssim_y", lambda fake, real: ssim_y(fake, real, c))


def _check(ctx: "EvalContext") -> str | None:
    from bench.sr_conventions import SSIM_WINDOW

    return check_size(ctx, SSIM_WINDOW)


SPEC = MetricSpec("ssim_y", higher_is_better=True, inputs=("pairs",), build=_build, protocol=protocol,
                  columns=(Column("ssim_y", "SSIM-Y", True, 4),), check=_check,
                  description="SSIM on the Y channel (MATLAB rgb2ycbcr), border crop = SR scale (BasicSR)",
                  builtin=True, tasks=("super-resolution",))
