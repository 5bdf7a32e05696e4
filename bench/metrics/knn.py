"""k-nearest-neighbour manifold metrics: precision and recall (Kynkäänniemi et al. 2019, k = 3) and density and
coverage (Naeem et al. 2020, k = 5), on the Inception pool3 rows of the shared feature pass.

Written by hand because the reference packages differ in the one detail that decides a boundary case (we follow
each paper's own code: torch-fidelity's precision/recall counts a point on the sphere as inside, ``<=``; the ``prdc``
package of Naeem et al. does not, ``<``) and leave ties to floating-point luck. A radius is the distance to the k-th
nearest other row of the same set (the (k+1)-th smallest distance, the row itself being the first), as in both.
Distances are float64 and computed in chunks, so memory is O(chunk x N) rather than O(N^2); ties are decided by the
convention, not by rounding (``TIE_BAND``); the parity tests run both packages on the same rows.
"""

from __future__ import annotations

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


# A generated copy of a real image lies on its neighbours' spheres (the oracle row): such ties must be decided by the
# convention (inside a closed ball, outside an open one), not by rounding. Distances from |a|^2 + |b|^2 - 2 a.b (BLAS)
# are rounded differently for each chunking, and the same image's features differ by ~6e-7 between thread counts
# (squared distances by up to 8e-8 of |a|^2 + |b|^2, measured; the real rows may come from a cache another process
# wrote): the digits oracle scored density 1.10 instead of 1 that way. So a comparison within TIE_BAND of
# |a|^2 + |b|^2 counts as on the sphere. Distinct points fall in the band about 2e-6 of the time.
TIE_BAND = 1e-6
EXTRA_CANDIDATES = 8  # neighbours beyond the k-th whose exact distances are compared when taking a radius


def _sq_chunks(x: torch.Tensor, y: torch.Tensor, chunk: int = CHUNK):
    """(start, squared distances of rows x[start:start+chunk] to every row of y, their tie band), float64."""
    x_sq, y_sq = (x * x).sum(1), (y * y).sum(1)
    for start in range(0, len(x), chunk):
        a, a_sq = x[start : start + chunk], x_sq[start : start + chunk, None]
        yield start, (a_sq + y_sq[None, :] - 2.0 * (a @ y.T)).clamp_(min=0.0), TIE_BAND * (a_sq + y_sq[None, :])


def _exact_sq(x: torch.Tensor, y: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    return ((x[i] - y[j]) ** 2).sum(-1)


def kth_neighbour_radii(x: np.ndarray | torch.Tensor, k: int, chunk: int = CHUNK) -> np.ndarray:
    """Distance from each row to its k-th nearest neighbour among the other rows (float64, exact: the candidates'
    distances are recomputed as sums of squared differences before the k-th is taken)."""
    return np.sqrt(_kth_sq_radii(_as64(x), k, chunk).numpy())


def _kth_sq_radii(x: torch.Tensor, k: int, chunk: int = CHUNK) -> torch.Tensor:
    if not 1 <= k < len(x):
        raise BenchError(f"k-NN radius with k = {k} needs more than {k} feature rows, got {len(x)}")
    m = min(len(x), k + 1 + EXTRA_CANDIDATES)
    out = torch.empty(len(x), dtype=torch.float64)
    for start, d2, _ in _sq_chunks(x, x, chunk):
        cand = d2.topk(m, dim=1, largest=False).indices  # the row itself among them
        rows = torch.arange(start, start + len(d2))[:, None].expand_as(cand)
        out[start : start + len(d2)] = _exact_sq(x, x, rows, cand).sort(dim=1).values[:, k]
    return out


def _inside(d2: torch.Tensor, band: torch.Tensor, r2: torch.Tensor, closed: bool) -> torch.Tensor:
    """[chunk, len(y)] bool: inside the ball of radius^2 r2 (broadcast); within the tie band means on the sphere."""
    return d2 <= r2 + band if closed else d2 < r2 - band


def precision_recall(fake: np.ndarray, real: np.ndarray, k: int = PR_K, chunk: int = CHUNK) -> dict[str, float]:
    """Improved precision and recall: the share of fake rows inside the union of the real rows' k-NN balls, and
    of real rows inside the fake rows' balls (closed balls, as torch-fidelity's ``<=``)."""
    fake_t, real_t = _as64(fake), _as64(real)
    r2_real, r2_fake = _kth_sq_radii(real_t, k, chunk), _kth_sq_radii(fake_t, k, chunk)
    precise = torch.zeros(len(fake_t), dtype=torch.bool)
    recalled = torch.zeros(len(real_t), dtype=torch.bool)
    for start, d2, band in _sq_chunks(fake_t, real_t, chunk):  # d2[i, j] = |fake_i - real_j|^2
        n = len(d2)
        precise[start : start + n] = _inside(d2, band, r2_real[None, :], True).any(1)
        recalled |= _inside(d2, band, r2_fake[start : start + n, None], True).any(0)
    return {"precision": float(precise.double().mean()), "recall": float(recalled.double().mean())}


def density_coverage(fake: np.ndarray, real: np.ndarray, k: int = DC_K, chunk: int = CHUNK) -> dict[str, float]:
    """Density (mean over fake rows of the number of real k-NN balls holding it, / k) and coverage (the share of
    real rows whose ball holds at least one fake row), both with the real rows' radii and open balls (prdc's ``<``)."""
    fake_t, real_t = _as64(fake), _as64(real)
    r2_real = _kth_sq_radii(real_t, k, chunk)[None, :]
    inside_count = 0
    covered = torch.zeros(len(real_t), dtype=torch.bool)
    for _, d2, band in _sq_chunks(fake_t, real_t, chunk):
        inside = _inside(d2, band, r2_real, False)
        inside_count += int(inside.sum())
        covered |= inside.any(0)
    return {"density": inside_count / (k * len(fake_t)), "coverage": float(covered.double().mean())}


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


def _enough(k: int, what: str):
    def check(ctx) -> str | None:
        n_fake, n_real = len(ctx.fakes), len(ctx.reals)
        if min(n_fake, n_real) <= k:
            return f"{what} with k = {k} needs more than {k} images per side, got {n_fake} generated and {n_real} real"
        return None

    return check


def _protocol(ctx) -> dict:
    from bench.protocol import Protocol

    return {"knn": Protocol.freeze({"features": FEATURES, "distance": "euclidean-float64", "precision_recall_k": PR_K,
                    "precision_recall_ball": "closed (<=, torch-fidelity)", "density_coverage_k": DC_K,
                    "density_coverage_ball": "open (<, prdc)",
                    "tie_band": f"{TIE_BAND:g} of |a|^2 + |b|^2 counts as on the sphere"})}


SPEC = MetricSpec(
    "precision_recall", higher_is_better=True, inputs=("features",), networks=(FEATURES,),
    build=lambda ctx: PrecisionRecall(PR_K), protocol=_protocol, builtin=True,
    check=_enough(PR_K, "precision/recall"),
    columns=(Column("precision", "precision", True, 3), Column("recall", "recall", True, 3)),
    description="improved precision and recall (Kynkaanniemi et al. 2019, k = 3) of Inception pool3 features",
)
DENSITY_COVERAGE = MetricSpec(
    "density_coverage", higher_is_better=True, inputs=("features",), networks=(FEATURES,),
    build=lambda ctx: DensityCoverage(DC_K), protocol=_protocol, builtin=True,
    check=_enough(DC_K, "density/coverage"),
    columns=(Column("density", "density", True, 3), Column("coverage", "coverage", True, 3)),
    description="density and coverage (Naeem et al. 2020, k = 5) of Inception pool3 features",
)
