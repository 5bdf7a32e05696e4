"""Bootstrap confidence intervals of FID and KID over the evaluated samples.

The generated images are resampled with replacement (seeded; the real set is the fixed reference, as in FID's own
use) and the statistic is recomputed on each resample. A resample repeats about a third of its images, which biases
FID upward (a set with repeats is less diverse) by more than the spread itself, so the plain percentile interval of
the replicates often misses the value it is meant to bracket. We report that bias (mean of the replicates minus the
value on all samples) and the percentile interval of the replicates with the bias removed: the sampling spread of
the statistic at this N around the reported value, with the replicates' standard deviation. (FID at infinite N is
``fid_inf``.) FID's replicates are exact Frechet distances (the real side's covariance root is computed
once). KID's replicates are the unbiased MMD^2 of the whole resample with KID's kernel (the quantity KID's subset
average estimates), from kernel sums computed once: with c_i the count of fake row i in a resample,
sum_{a != b} k(x_a, x_b) = c' K c - sum_i c_i K_ii and sum_{a, j} k(x_a, y_j) = sum_i c_i (K_xy 1)_i, so a replicate
costs O(n^2), not a kernel pass.
"""

from __future__ import annotations

import numpy as np
import torch

from bench.errors import BenchError
from bench.metrics.base import FeatureRows
from bench.metrics.fid_intra import FrechetToRows
from bench.metrics.registry import MetricSpec

REPLICATES = 100
LEVEL = 0.95
SEED = 0
CHUNK = 1024


def resample_counts(n: int, replicates: int = REPLICATES, seed: int = SEED) -> np.ndarray:
    """[replicates, n] counts of each row in each resample (n draws with replacement), seeded."""
    rng = np.random.default_rng(seed)
    return np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(replicates)])


def interval(replicates: np.ndarray, estimate: float, level: float = LEVEL) -> dict[str, float]:
    """The bootstrap bias (mean of the replicates - the estimate), the percentile interval of the replicates with the
    bias removed, and their standard deviation."""
    reps = np.asarray(replicates, dtype=np.float64)
    bias = float(reps.mean() - estimate)
    lo, hi = np.quantile(reps - bias, [(1 - level) / 2, (1 + level) / 2])
    return {"ci_low": float(lo), "ci_high": float(hi), "boot_std": float(reps.std(ddof=1)), "boot_bias": bias}


def fid_replicates(fake: np.ndarray, real: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """FID of each resample (rows repeated by their counts) against all real rows (each from the ~63 % distinct
    rows of the resample, weighted by their counts)."""
    fake = np.asarray(fake, dtype=np.float64)
    to_real = FrechetToRows(real)
    return np.array([to_real(fake, c) for c in counts])


def _kernel(a: torch.Tensor, b: torch.Tensor, d: int) -> torch.Tensor:
    return (a @ b.T / d + 1.0) ** 3


def kid_replicates(fake: np.ndarray, real: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Unbiased MMD^2 (KID's cubic kernel) of each resample of the fake rows against all real rows."""
    x = torch.as_tensor(np.asarray(fake), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(real), dtype=torch.float64)
    (n, d), m = x.shape, len(y)
    if min(n, m) < 2:
        raise BenchError(f"KID needs at least 2 rows per side, got {n} generated and {m} real")
    k_xx = _kernel(x, x, d)
    cross = torch.zeros(n, dtype=torch.float64)  # sum_j k(x_i, y_j)
    yy = 0.0  # sum_{j != l} k(y_j, y_l)
    for s in range(0, m, CHUNK):
        yc = y[s : s + CHUNK]
        cross += _kernel(x, yc, d).sum(1)
        k = _kernel(yc, y, d)
        yy += float(k.sum()) - float(torch.diagonal(k, offset=s).sum())
    c = torch.as_tensor(counts, dtype=torch.float64)  # [B, n]
    xx = ((c @ k_xx) * c).sum(1) - c @ torch.diagonal(k_xx)
    out = xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2.0 * (c @ cross) / (n * m)
    return out.numpy()


class BootstrapCI(FeatureRows):
    """Fake and real Inception rows; the replicates share one set of resamples for FID and KID."""

    name = "bootstrap_ci"

    def __init__(self, replicates: int = REPLICATES, level: float = LEVEL, seed: int = SEED) -> None:
        super().__init__()
        self.replicates, self.level, self.seed = replicates, level, seed

    def compute(self) -> dict:
        fake, real = self.rows()
        counts = resample_counts(len(fake), self.replicates, self.seed)
        every = np.ones((1, len(fake)), dtype=np.int64)  # the estimate itself: each sample once
        fid = fid_replicates(fake, real, np.concatenate([every, counts]))
        kid = kid_replicates(fake, real, np.concatenate([every, counts]))
        out: dict = {}
        for key, values in (("fid", fid), ("kid", kid)):
            out.update({f"{key}_{k}": v for k, v in interval(values[1:], float(values[0]), self.level).items()})
        # a Frechet distance is >= 0 (KID's unbiased estimate is not): the shifted interval of an oracle reached -1.1
        out["fid_ci_low"] = max(0.0, out["fid_ci_low"])
        return out


def _protocol(ctx) -> dict:
    from bench.protocol import Protocol

    return {"bootstrap": Protocol.freeze({"replicates": REPLICATES, "level": LEVEL, "seed": SEED, "resampled": "generated images",
                          "interval": "percentile, bootstrap bias removed, FID's clipped at 0", "kid_replicate": "unbiased MMD^2 of the whole resample"})}


SPEC = MetricSpec(
    "bootstrap_ci", higher_is_better=False, inputs=("features",), networks=("inception-pool3",),
    build=lambda ctx: BootstrapCI(), protocol=_protocol, builtin=True, leaderboard=False,
    check=lambda ctx: None if len(ctx.fakes) >= 2 else "needs at least 2 generated images",
    description="95% percentile bootstrap intervals of FID and KID over the generated images (100 seeded resamples)",
)
