"""k-nearest-neighbour manifold metrics: precision and recall (Kynkäänniemi et al. 2019, k = 3) and density and
coverage (Naeem et al. 2020, k = 5), on the Inception pool3 rows of the shared feature pass.

Written by hand because the reference packages differ in the one detail that decides a boundary case, and we
follow each paper's own code exactly: torch-fidelity's precision/recall counts a point on the sphere as inside
(``<=``), the ``prdc`` package of Naeem et al. does not (``<``). A radius is the distance to the k-th nearest other
row of the same set (the (k+1)-th smallest distance, the row itself being the first), as in both. Distances are
float64 and computed in chunks, so memory is O(chunk x N) rather than O(N^2); the parity tests run both packages on
the same rows.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from bench.errors import BenchError
from bench.metrics.base import FeatureRows
from bench.metrics.registry import Column, MetricSpec

PR_K = 3  # Kynkäänniemi et al. 2019, and torch-fidelity's default
DC_K = 5  # Naeem et al. 2020, and prdc's README
CHUNK = 1024
FEATURES = "inception-pool3"


def _as64(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def _distance_chunks(x: torch.Tensor, y: torch.Tensor, chunk: int = CHUNK) -> Iterator[tuple[int, torch.Tensor]]:
    """(start, Euclidean distances of rows x[start:start+chunk] to every row of y), float64."""
    y_sq = (y * y).sum(1)
    for start in range(0, len(x), chunk):
        a = x[start : start + chunk]
        d2 = (a * a).sum(1, keepdim=True) + y_sq[None, :] - 2.0 * (a @ y.T)
        yield start, d2.clamp_(min=0.0).sqrt_()


def kth_neighbour_radii(x: np.ndarray | torch.Tensor, k: int, chunk: int = CHUNK) -> np.ndarray:
    """Distance from each row to its k-th nearest neighbour among the other rows (float64)."""
    x = _as64(x)
    if not 1 <= k < len(x):
        raise BenchError(f"k-NN radius with k = {k} needs more than {k} feature rows, got {len(x)}")
    out = torch.empty(len(x), dtype=torch.float64)
    for start, d in _distance_chunks(x, x, chunk):
        out[start : start + len(d)] = d.kthvalue(k + 1, dim=1).values
    return out.numpy()


def precision_recall(fake: np.ndarray, real: np.ndarray, k: int = PR_K, chunk: int = CHUNK) -> dict[str, float]:
    """Improved precision and recall: the share of fake rows inside the union of the real rows' k-NN balls, and
    of real rows inside the fake rows' balls (torch-fidelity's ``<=``)."""
    fake_t, real_t = _as64(fake), _as64(real)
    r_real = torch.from_numpy(kth_neighbour_radii(real_t, k, chunk))
    r_fake = torch.from_numpy(kth_neighbour_radii(fake_t, k, chunk))
    precise = torch.zeros(len(fake_t), dtype=torch.bool)
    recalled = torch.zeros(len(real_t), dtype=torch.bool)
    for start, d in _distance_chunks(fake_t, real_t, chunk):  # d[i, j] = |fake_i - real_j|
        precise[start : start + len(d)] = (d <= r_real[None, :]).any(1)
        recalled |= (d <= r_fake[start : start + len(d), None]).any(0)
    return {"precision": float(precise.double().mean()), "recall": float(recalled.double().mean())}


def density_coverage(fake: np.ndarray, real: np.ndarray, k: int = DC_K, chunk: int = CHUNK) -> dict[str, float]:
    """Density (mean over fake rows of the number of real k-NN balls holding it, / k) and coverage (the share of
    real rows whose ball holds at least one fake row), both with the real rows' radii and prdc's strict ``<``."""
    fake_t, real_t = _as64(fake), _as64(real)
    r_real = torch.from_numpy(kth_neighbour_radii(real_t, k, chunk))
    inside = 0.0
    nearest_fake = torch.full((len(real_t),), float("inf"), dtype=torch.float64)
    for _, d in _distance_chunks(fake_t, real_t, chunk):
        inside += float((d < r_real[None, :]).sum())
        nearest_fake = torch.minimum(nearest_fake, d.min(0).values)
    return {"density": inside / (k * len(fake_t)), "coverage": float((nearest_fake < r_real).double().mean())}


class _KnnMetric(FeatureRows):
    network = FEATURES

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def _check(self, what: str) -> tuple[np.ndarray, np.ndarray]:
        fake, real = self.rows()
        if min(len(fake), len(real)) <= self.k:
            raise BenchError(f"{what} with k = {self.k} needs more than {self.k} images per side, got "
                             f"{len(fake)} generated and {len(real)} real")
        return fake, real


class PrecisionRecall(_KnnMetric):
    name = "precision_recall"

    def compute(self) -> dict[str, float]:
        return precision_recall(*self._check("precision/recall"), k=self.k)


class DensityCoverage(_KnnMetric):
    name = "density_coverage"

    def compute(self) -> dict[str, float]:
        return density_coverage(*self._check("density/coverage"), k=self.k)


def _protocol(ctx) -> dict:
    from bench.protocol import Protocol

    return {"knn": Protocol.freeze({"features": FEATURES, "distance": "euclidean-float64", "precision_recall_k": PR_K,
                    "precision_recall_ball": "closed (<=, torch-fidelity)", "density_coverage_k": DC_K,
                    "density_coverage_ball": "open (<, prdc)"})}


SPEC = MetricSpec(
    "precision_recall", higher_is_better=True, inputs=("features",), networks=(FEATURES,),
    build=lambda ctx: PrecisionRecall(PR_K), protocol=_protocol, builtin=True,
    columns=(Column("precision", "precision", True, 3), Column("recall", "recall", True, 3)),
    description="improved precision and recall (Kynkaanniemi et al. 2019, k = 3) of Inception pool3 features",
)
DENSITY_COVERAGE = MetricSpec(
    "density_coverage", higher_is_better=True, inputs=("features",), networks=(FEATURES,),
    build=lambda ctx: DensityCoverage(DC_K), protocol=_protocol, builtin=True,
    columns=(Column("density", "density", True, 3), Column("coverage", "coverage", True, 3)),
    description="density and coverage (Naeem et al. 2020, k = 5) of Inception pool3 features",
)
