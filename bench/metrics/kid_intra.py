"""Intra-class KID: per class, the unbiased MMD^2 (KID's cubic polynomial kernel) between the class's samples and its
real images, averaged over the classes of the real folder. Unlike KID, every row of the class is used (no subsets:
a class has tens to thousands of images), with the unbiased estimator for unequal sample sizes."""

from __future__ import annotations

import numpy as np

from bench.errors import BenchError
from bench.metrics.fid_intra import IntraClassFID, check_class_sizes
from bench.metrics.registry import Column, MetricSpec


def polynomial_mmd2_unbiased_unequal(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD^2 of rows x [n, d] and y [m, d] with k(a, b) = (a.b / d + coef0) ** degree, n != m allowed:
    sum_{i!=j} k(x_i, x_j) / (n(n-1)) + sum_{i!=j} k(y_i, y_j) / (m(m-1)) - 2 sum k(x_i, y_j) / (nm)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    (n, d), m = x.shape, y.shape[0]
    if min(n, m) < 2:
        raise BenchError(f"MMD needs at least 2 rows per side, got {n} and {m}")
    k_xx = (x @ x.T / d + coef0) ** degree
    k_yy = (y @ y.T / d + coef0) ** degree
    k_xy = (x @ y.T / d + coef0) ** degree
    return float((k_xx.sum() - np.trace(k_xx)) / (n * (n - 1)) + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
                 - 2.0 * k_xy.sum() / (n * m))


class IntraClassKID(IntraClassFID):
    name = "kid_intra"

    def compute(self) -> dict:
        per_class = {str(c): polynomial_mmd2_unbiased_unequal(x, y) for c, x, y in self.per_class_rows("intra-class KID")}
        return {"kid_intra": float(np.mean(list(per_class.values()))), "_details": {"kid_intra_per_class": per_class}}


SPEC = MetricSpec(
    "kid_intra", higher_is_better=False, inputs=("features", "classes"), networks=("inception-pool3",),
    build=IntraClassKID, columns=(Column("kid_intra", "intra-KID", False, 4),), builtin=True, check=check_class_sizes,
    description="mean over classes of the unbiased MMD^2 (KID's kernel, every row) between a class's samples and "
                "its real images",
)
