"""FID-infinity and IS-infinity (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to
find them"): FID and IS are biased in the number of images N, with a bias linear in 1/N to first order. So the metric
is computed on random subsets of sizes N_i evenly spaced in [N / 10, N] (the authors' 5,000 .. 50,000 for N =
50,000), a least-squares line is fitted to the values against 1 / N_i, and its value at 1 / N = 0 is reported.

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

POINTS = 15
MIN_FRACTION = 0.1
SEED = 0


def subset_sizes(n: int, points: int = POINTS, min_fraction: float = MIN_FRACTION) -> np.ndarray:
    """``points`` sizes evenly spaced from ``n * min_fraction`` (at least 2) to ``n``, truncated to integers as the
    authors' ``np.linspace(5000, num_im, num_points).astype('int32')``."""
    lo = max(2, int(n * min_fraction))
    if n < lo or points < 2:
        raise BenchError(f"extrapolation to infinite N needs at least 2 images and 2 points, got N = {n}")
    return np.linspace(lo, n, points).astype(np.int64)


def extrapolate(values_at: Callable[[np.ndarray], float], n: int, *, points: int = POINTS,
                min_fraction: float = MIN_FRACTION, seed: int = SEED) -> dict:
    """Fit ``value = intercept + slope / N_i`` over seeded random subsets of ``range(n)`` and return the intercept,
    the slope and the points. ``values_at(indices)`` computes the metric on the rows ``indices``."""
    sizes = subset_sizes(n, points, min_fraction)
    rng = np.random.default_rng(seed)
    values = np.array([values_at(rng.permutation(n)[:size]) for size in sizes], dtype=np.float64)
    slope, intercept = np.polyfit(1.0 / sizes, values, 1)
    return {"value": float(intercept), "slope": float(slope), "sizes": sizes.tolist(), "values": values.tolist()}


def fid_infinity(fake: np.ndarray, real: np.ndarray, **kwargs) -> dict:
    """FID-infinity of feature rows ``fake`` against the whole set of ``real`` rows."""
    fake = np.asarray(fake, dtype=np.float64)
    to_real = FrechetToRows(real)
    return extrapolate(lambda idx: to_real(fake[idx]), len(fake), **kwargs)


def is_infinity(logits: np.ndarray | torch.Tensor, **kwargs) -> dict:
    """IS-infinity of Inception logits (the IS of each subset with one split, as the authors)."""
    x = np.asarray(logits, dtype=np.float64)
    return extrapolate(lambda idx: inception_score(x[idx], splits=1, seed=None)["is"], len(x), **kwargs)


def _protocol(ctx) -> dict:
    from bench.protocol import Protocol

    return {"extrapolation": Protocol.freeze({"points": POINTS, "min_fraction": MIN_FRACTION, "seed": SEED,
                              "subsets": "without replacement, first N_i of a permutation",
                              "fit": "least squares in 1/N, value at 1/N = 0", "is_splits": 1})}


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
    description="FID extrapolated to infinitely many images (Chong & Forsyth 2020): 15 seeded subsets, fit in 1/N",
)
IS_INF = MetricSpec(
    "is_inf", higher_is_better=True, inputs=("outputs",), networks=("inception-logits",), build=lambda ctx: ISInfinity(),
    protocol=_protocol, columns=(Column("is_inf", "IS∞", True, 2),), builtin=True,
    description="Inception Score extrapolated to infinitely many images (Chong & Forsyth 2020), one split per subset",
)
