"""Fake-vs-real paired metrics on uint8 images as 0..255 float64: PSNR and SSIM, piq's definitions, without piq."""

from __future__ import annotations

import torch

from bench.metrics.base import Metric

PSNR_EPS = 1e-8  # piq.psnr's: identical images give 80 dB, not inf


def _as_float(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.float64)


def psnr(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB of uint8 [B,3,H,W] images over all channels: piq.psnr(data_range=255), written out.

    piq's formula op for op (scale to [0, 1], MSE over C, H, W, -10 log10(MSE + 1e-8)). Written out because
    importing piq pulls in torchvision (~1.6 s per evaluation, a third of the default set's budget over FID-only);
    equality with piq.psnr is tested (tests/test_ssim_fast.py).
    """
    x, y = _as_float(fake) / 255.0, _as_float(real) / 255.0
    mse = torch.mean((x - y) ** 2, dim=[1, 2, 3])
    return -10 * torch.log10(mse + PSNR_EPS)


def ssim(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM (11x11 Gaussian window, sigma 1.5, k1 0.01, k2 0.03, mean over channels; piq's definition).

    ``downsample=False``: the protocol evaluates at the card's resolution, with no implicit pre-scaling. Computed by
    :mod:`bench.metrics.ssim_fast` (separable window, float64), hand-written because piq's 2-D kernel is too slow in
    float64; parity with ``piq.ssim`` is tested (tests/test_ssim_fast.py).
    """
    from bench.metrics import ssim_fast

    return ssim_fast.ssim(fake, real)


class MeanOf(Metric):
    """Mean of per-sample values (float64 sum and count, sum-reducible).

    With ``per_sample=True`` (one value per fake image of the view, in pass order) the values are also kept, as
    the column ``name`` of the evaluation's per-sample table (``per_sample_columns``)."""

    def __init__(self, name: str, per_sample: bool = False) -> None:
        self.name = name
        super().__init__()
        self.add_sum_state("sum")
        self.add_sum_state("count")
        self.per_sample_columns = {name: "values"} if per_sample else {}
        if per_sample:
            self.add_cat_state("values")

    def update(self, values: torch.Tensor) -> None:
        v = values.detach().to(torch.float64).cpu().reshape(-1)
        self._add("sum", v.sum())
        self._add("count", torch.tensor(float(v.numel())))
        if self.per_sample_columns:
            self._append("values", v)

    def compute(self) -> dict[str, float]:
        n = float(self.state("count"))
        return {self.name: float(self.state("sum")) / n if n else float("nan")}


class PairedMean(MeanOf):
    """Mean over pairs of ``fn(fake, real)``, for metrics whose only input is ``pairs``."""

    def __init__(self, name: str, fn) -> None:
        super().__init__(name, per_sample=True)  # one value per fake image: a per-sample column
        self.fn = fn

    def update_view(self, view) -> None:
        self.update(self.fn(view.fake, view.real))
