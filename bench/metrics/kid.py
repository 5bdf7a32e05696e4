"""Kernel Inception Distance: unbiased MMD^2 with the cubic polynomial kernel over seeded random subsets."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from bench.errors import BenchError
from bench.metrics.base import Metric
from bench.metrics.registry import Column, MetricSpec


def polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD^2 between two equal-size samples with k(a, b) = (a.b / d + coef0) ** degree."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m, d = x.shape
    k_xx = (x @ x.T / d + coef0) ** degree
    k_yy = (y @ y.T / d + coef0) ** degree
    k_xy = (x @ y.T / d + coef0) ** degree
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    feats_fake: np.ndarray,
    feats_real: np.ndarray,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Mean and std of unbiased MMD^2 over ``subsets`` random subsets (without replacement) of each side.

    Subsets come from ``numpy.random.RandomState(seed)``, fake indices first, then real, per subset: the same
    draw order as torch-fidelity, so the same seed selects the same subsets. A subset size above either N is
    clamped to the smaller N with a warning (the value is then a different estimator: it is recorded).
    """
    n1, n2 = len(feats_fake), len(feats_real)
    if min(n1, n2) < 2:
        raise BenchError(f"KID needs at least 2 samples per side, got fake={n1}, real={n2}")
    size = subset_size
    if size > min(n1, n2):
        size = min(n1, n2)
        warnings.warn(f"KID subset size {subset_size} > N (fake={n1}, real={n2}); clamped to {size}", stacklevel=2)
    rng = np.random.RandomState(seed)
    mmds = np.empty(subsets, dtype=np.float64)
    for i in range(subsets):
        a = feats_fake[rng.choice(n1, size, replace=False)]
        b = feats_real[rng.choice(n2, size, replace=False)]
        mmds[i] = polynomial_mmd2_unbiased(a, b)
    return {"kid": float(mmds.mean()), "kid_std": float(mmds.std()), "kid_subset_size": size}


class KID(Metric):
    """Keeps feature rows (KID needs pairwise kernels, not moments); rows are gathered across processes."""

    name = "kid"
    version = "1"

    def __init__(self, subsets: int = 100, subset_size: int = 1000, seed: int = 0, network: str = "inception-pool3",
                 key: str = "kid") -> None:
        super().__init__()
        self.subsets, self.subset_size, self.seed = subsets, subset_size, seed
        self.network, self.key = network, key  # another feature space: KID_DINOv2, KID_CLIP
        self.add_cat_state("real")
        self.add_cat_state("fake")

    def update(self, feats: torch.Tensor, *, real: bool) -> None:
        self._append("real" if real else "fake", feats.to(torch.float32))

    def update_view(self, view) -> None:
        self.update(view.output(self.network), real=False)

    def update_real(self, rows: dict[str, np.ndarray]) -> None:
        self.update(torch.from_numpy(rows[self.network]), real=True)

    def compute(self) -> dict[str, float]:
        out = kernel_inception_distance(
            self.state("fake").numpy(),
            self.state("real").numpy(),
            subsets=self.subsets,
            subset_size=self.subset_size,
            seed=self.seed,
        )
        return {k.replace("kid", self.key, 1): v for k, v in out.items()}


SPEC = MetricSpec(
    "kid", higher_is_better=False, inputs=("features",), networks=("inception-pool3",),
    build=lambda ctx: KID(ctx.opts.kid_subsets, ctx.opts.kid_subset_size, ctx.opts.kid_seed),
    protocol=lambda ctx: {"kid_subsets": ctx.opts.kid_subsets, "kid_subset_size": ctx.opts.kid_subset_size,
                          "kid_seed": ctx.opts.kid_seed},
    columns=(Column("kid", "KID", False, 4),), weights_required=True, builtin=True,
    description="unbiased MMD^2 of Inception pool3 features (cubic kernel), mean and std over seeded subsets",
)
