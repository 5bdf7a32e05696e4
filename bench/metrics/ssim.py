"""SSIM of each fake image against the real image of the same name (11x11 Gaussian, sigma 1.5), averaged."""

from __future__ import annotations

from bench.metrics.paired import PairedMean, ssim
from bench.metrics.registry import Column, MetricSpec

SPEC = MetricSpec("ssim", higher_is_better=True, inputs=("pairs",), build=lambda ctx: PairedMean("ssim", ssim),
                  columns=(Column("ssim", "SSIM", True, 3),), builtin=True)
