"""FID-infinity and IS-infinity (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to
find them"): FID and IS are biased in the number of images N, with a bias linear in 1/N to first order. So the metric
is computed on random subsets of sizes N_i evenly spaced in [N / 10, N] (the authors' 5,000 .. 50,000 for N =
50,000), a least-squares line is fitted to the values against 1 / N_i, and its value at 1 / N = 0 is reported.

The expansion in 1/N holds for N well above the feature dimension d (2048 for FID, 1008 classes for IS; the
authors' smallest subset is 5,000): below d a covariance cannot have full rank and FID is far from linear in 1/N
(the oracle of 100 images, FID 0, extrapolated to 1.41). So no subset is smaller than d, and fewer than 2 d images
are refused (listed as unavailable with the reason) rather than extrapolated.

As the authors' ``score_infinity.py``: 15 points; each subset is the first N_i rows of a fresh random permutation
(without replacement); FID is taken against the statistics of the whole real set, IS with one split. Our subsets are
seeded (``numpy.random.default_rng(seed)``), theirs are not.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from bench.errors import BenchError
from bench.metrics.base import FeatureRows, Metric
from bench.metrics.fid_intra import FrechetToRows
from bench.metrics.inception_score import inception_score
from bench.metrics.registry import Column, MetricSpec

FID_DIM = 2048  # Inception pool3
IS_DIM = 1008  # Inception logits
POINTS = 15
MIN_FRACTION = 0.1
SEED = 0


def too_few(n: int, dim: int, what: str) -> str | None:
    """Why ``n`` images are too few to extrapolate a statistic of ``dim``-dimensional rows, or None."""
    if n < 2 * dim:
        return (f"{what} needs at least {2 * dim} generated images (2 x the {dim} feature dimensions: below that the "
                f"value is not linear in 1/N), got {n}")
    return None


def subset_sizes(n: int, dim: int, points: int = POINTS, min_fraction: float = MIN_FRACTION) -> np.ndarray:
    """``points`` sizes evenly spaced from ``max(n * min_fraction, dim)`` to ``n``, truncated to integers as the
    authors' ``np.linspace(5000, num_im, num_points).astype('int32')`` (the same sizes for n = 50,000)."""
    why = too_few(n, dim, "extrapolation to infinite N")
    if why or points < 2:
        raise BenchError(why or f"extrapolation needs at least 2 points, got {points}")
    return np.linspace(max(int(n * min_fraction), dim), n, points).astype(np.int64)


def extrapolate(values_at: Callable[[np.ndarray], float], n: int, dim: int, *, points: int = POINTS,
                min_fraction: float = MIN_FRACTION, seed: int = SEED) -> dict:
    """Fit ``value = intercept + slope / N_i`` over seeded random subsets of ``range(n)`` and return the intercept,
    the slope and the points. ``values_at(indices)`` computes the metric on the rows ``indices``."""
    sizes = subset_sizes(n, dim, points, min_fraction)
    rng = np.random.default_rng(seed)
    values = np.array([values_at(rng.permutation(n)[:size]) for size in sizes], dtype=np.float64)
    slope, intercept = np.polyfit(1.0 / sizes, values, 1)
    return {"value": float(intercept), "slope": float(slope), "sizes": sizes.tolist(), "values": values.tolist()}


def fid_infinity(fake: np.ndarray, real: np.ndarray, **kwargs) -> dict:
    """FID-infinity of feature rows ``fake`` against the whole set of ``real`` rows."""
    fake = np.asarray(fake, dtype=np.float64)
    to_real = FrechetToRows(real)
    return extrapolate(lambda idx: to_real(fake[idx]), len(fake), fake.shape[1], **kwargs)


def is_infinity(logits: np.ndarray | torch.Tensor, **kwargs) -> dict:
    """IS-infinity of Inception logits (the IS of each subset with one split, as the authors)."""
    x = np.asarray(logits, dtype=np.float64)
    return extrapolate(lambda idx: inception_score(x[idx], splits=1, seed=None)["is"], len(x), x.shape[1], **kwargs)


def _protocol(ctx) -> dict:
    from bench.protocol import Protocol

    return {"extrapolation": Protocol.freeze({"points": POINTS, "min_fraction": MIN_FRACTION, "seed": SEED,
                              "subsets": "without replacement, first N_i of a permutation",
                              "fit": "least squares in 1/N, value at 1/N = 0", "is_splits": 1,
                                              "min_size": "max(N * min_fraction, feature dim); N >= 2 feature dim"})}


class FIDInfinity(FeatureRows):
    name = "fid_inf"

    def compute(self) -> dict:
        fit = fid_infinity(*self.rows())
        return {"fid_inf": fit["value"], "_details": {"fid_inf_fit": fit}}


class ISInfinity(Metric):
    name = "is_inf"

    def __init__(self) -> None:
        super().__init__()
        self.add_cat_state("logits")

    def update_view(self, view) -> None:
        self._append("logits", view.output("inception-logits").to(torch.float64))

    def compute(self) -> dict:
        fit = is_infinity(self.state("logits").numpy())
        return {"is_inf": fit["value"], "_details": {"is_inf_fit": fit}}


SPEC = MetricSpec(
    "fid_inf", higher_is_better=False, inputs=("features",), networks=("inception-pool3",), build=lambda ctx: FIDInfinity(),
    protocol=_protocol, columns=(Column("fid_inf", "FID∞", False, 2),), builtin=True,
    check=lambda ctx: too_few(len(ctx.fakes), FID_DIM, "FID-infinity"),
    description="FID extrapolated to infinitely many images (Chong & Forsyth 2020): 15 seeded subsets, fit in 1/N",
)
IS_INF = MetricSpec(
    "is_inf", higher_is_better=True, inputs=("outputs",), networks=("inception-logits",), build=lambda ctx: ISInfinity(),
    protocol=_protocol, columns=(Column("is_inf", "IS∞", True, 2),), builtin=True,
    check=lambda ctx: too_few(len(ctx.fakes), IS_DIM, "IS-infinity"),
    description="Inception Score extrapolated to infinitely many images (Chong & Forsyth 2020), one split per subset",
)
