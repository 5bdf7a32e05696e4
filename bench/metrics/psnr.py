"""PSNR of each fake image against the real image of the same name (piq's definition, data range 255), averaged."""

from __future__ import annotations

from bench.metrics.paired import PairedMean, psnr
from bench.metrics.registry import Column, MetricSpec

SPEC = MetricSpec("psnr", higher_is_better=True, inputs=("pairs",), build=lambda ctx: PairedMean("psnr", psnr),
                  columns=(Column("psnr", "PSNR", True, 2),), builtin=True)
