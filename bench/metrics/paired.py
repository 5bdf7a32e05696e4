"""Fake-vs-real paired metrics: PSNR and SSIM (piq), on uint8 images as 0..255 float64."""

from __future__ import annotations

import torch

from bench.metrics.base import Metric


def _as_float(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.float64)


def psnr(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB of uint8 [B,3,H,W] images over all channels (piq; data range 255)."""
    import piq

    return piq.psnr(_as_float(fake), _as_float(real), data_range=255.0, reduction="none")


def ssim(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM (11x11 Gaussian window, sigma 1.5, k1 0.01, k2 0.03, mean over channels; piq).

    ``downsample=False``: the protocol evaluates at the card's resolution, with no implicit pre-scaling.
    """
    import piq

    return piq.ssim(_as_float(fake), _as_float(real), data_range=255.0, reduction="none", downsample=False)


class MeanOf(Metric):
    """Mean of per-sample values (float64 sum and count, sum-reducible)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__()
        self.add_sum_state("sum")
        self.add_sum_state("count")

    def update(self, values: torch.Tensor) -> None:
        v = values.detach().to(torch.float64).cpu().reshape(-1)
        self._add("sum", v.sum())
        self._add("count", torch.tensor(float(v.numel())))

    def compute(self) -> dict[str, float]:
        n = float(self.state("count"))
        return {self.name: float(self.state("sum")) / n if n else float("nan")}


class PairedMean(MeanOf):
    """Mean over pairs of ``fn(fake, real)``, for metrics whose only input is ``pairs``."""

    def __init__(self, name: str, fn) -> None:
        super().__init__(name)
        self.fn = fn

    def update_view(self, view) -> None:
        self.update(self.fn(view.fake, view.real))
