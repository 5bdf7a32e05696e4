"""Frechet Inception Distance: float64 running moments and a Frechet distance without scipy's sqrtm."""

from __future__ import annotations

import numpy as np
import torch

from bench.errors import BenchError
from bench.metrics.base import Metric
from bench.metrics.registry import Column, MetricSpec


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^{1/2}), all in float64.

    The trace term is the sum of the square roots of the eigenvalues of S1^{1/2} S2 S1^{1/2}, which are the
    singular values of S1^{1/2} S2^{1/2}. We take them from an SVD rather than from eigenvalues of the product:
    near-zero eigenvalues of a rank-deficient product carry absolute noise eps*||S||^2, which a square root
    turns into eps^{1/2}*||S|| per eigenvalue; singular values carry only eps*||S||. Nothing here returns a
    complex number, and nothing calls scipy.linalg.sqrtm.
    """
    mu1 = np.asarray(mu1, dtype=np.float64)
    mu2 = np.asarray(mu2, dtype=np.float64)
    sigma1 = np.asarray(sigma1, dtype=np.float64)
    sigma2 = np.asarray(sigma2, dtype=np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise BenchError(
            f"Frechet distance: shapes do not match (mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape})"
        )
    for name, a in (("mu1", mu1), ("mu2", mu2), ("sigma1", sigma1), ("sigma2", sigma2)):
        if not np.isfinite(a).all():
            raise BenchError(f"Frechet distance: {name} contains NaN or Inf")
    diff = mu1 - mu2
    # torch.linalg (float64, LAPACK through torch's build) is ~1.3x faster than numpy's here for 2048 x 2048.
    root1 = _psd_sqrt(torch.from_numpy(sigma1))
    root2 = _psd_sqrt(torch.from_numpy(sigma2))
    tr_covmean = float(torch.linalg.svdvals(root1 @ root2).sum())
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def _psd_sqrt(sigma: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a covariance matrix; round-off negatives in its spectrum are clipped to 0."""
    w, v = torch.linalg.eigh((sigma + sigma.T) / 2.0)
    return (v * w.clamp(min=0.0).sqrt()) @ v.T


class FeatureMoments:
    """float64 n, sum and sum of outer products of feature rows: the FID state, memory independent of N."""

    def __init__(self, dim: int) -> None:
        self.n = 0
        self.sum = np.zeros(dim, dtype=np.float64)
        self.outer = np.zeros((dim, dim), dtype=np.float64)

    def mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and unbiased covariance (ddof = 1, as numpy.cov)."""
        if self.n < 2:
            raise BenchError(f"need at least 2 feature rows for a covariance, got {self.n}")
        mu = self.sum / self.n
        cov = (self.outer - self.n * np.outer(mu, mu)) / (self.n - 1)
        return mu, cov

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"n": np.asarray(self.n, dtype=np.int64), "sum": self.sum, "outer": self.outer}

    @classmethod
    def from_arrays(cls, d: dict[str, np.ndarray]) -> "FeatureMoments":
        m = cls(int(d["sum"].shape[0]))
        m.n = int(d["n"])
        m.sum = np.array(d["sum"], dtype=np.float64)
        m.outer = np.array(d["outer"], dtype=np.float64)
        return m


class FID(Metric):
    """FID between 'real' and 'fake' feature streams; states are float64 moments (sum-reducible)."""

    name = "fid"
    version = "1"

    def __init__(self, dim: int = 2048, network: str = "inception-pool3", key: str = "fid") -> None:
        self.dim, self.network, self.key = dim, network, key  # another feature space: FD_DINOv2, FD_CLIP
        super().__init__()
        for side in ("real", "fake"):
            self.add_sum_state(f"{side}_n", (), torch.int64)
            self.add_sum_state(f"{side}_sum", (dim,))
            self.add_sum_state(f"{side}_outer", (dim, dim))

    def update(self, feats: torch.Tensor, *, real: bool) -> None:
        side = "real" if real else "fake"
        f = feats.detach().to(torch.float64).cpu()
        self._add(f"{side}_n", torch.tensor(f.shape[0]))
        self._add(f"{side}_sum", f.sum(0))
        self._add(f"{side}_outer", f.T @ f)

    def set_real_moments(self, m: FeatureMoments) -> None:
        self._sum_states["real_n"] = torch.tensor(m.n, dtype=torch.int64)
        self._sum_states["real_sum"] = torch.from_numpy(m.sum.copy())
        self._sum_states["real_outer"] = torch.from_numpy(m.outer.copy())

    def moments(self, side: str) -> FeatureMoments:
        m = FeatureMoments(self.dim)
        m.n = int(self.state(f"{side}_n"))
        m.sum = self.state(f"{side}_sum").numpy().copy()
        m.outer = self.state(f"{side}_outer").numpy().copy()
        return m

    def update_view(self, view) -> None:
        self.update(view.output(self.network), real=False)

    def update_real(self, rows: dict[str, np.ndarray], chunk: int = 512) -> None:
        """Real moments from the cached (or just computed) rows, in float64 chunks."""
        feats = rows[self.network]
        for i in range(0, len(feats), chunk):
            self.update(torch.from_numpy(feats[i : i + chunk]), real=True)

    def compute(self) -> dict[str, float]:
        mu1, s1 = self.moments("fake").mean_cov()
        mu2, s2 = self.moments("real").mean_cov()
        return {self.key: frechet_distance(mu1, s1, mu2, s2)}


SPEC = MetricSpec(
    "fid", higher_is_better=False, inputs=("features",), networks=("inception-pool3",), build=lambda ctx: FID(ctx.networks["inception-pool3"].dim),
    columns=(Column("fid", "FID", False, 2),), weights_required=True, builtin=True,
    description="Frechet distance of Inception pool3 features, fake vs the real folder (clean-fid's clean mode)",
)
