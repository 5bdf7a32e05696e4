"""Intra-class FID (Miyato & Koyama 2018): the FID between the samples of one class and the real images of that class,
averaged over the classes of the real folder. It tells a generator that draws good images of the wrong class, or one
class well and the others badly, from one that draws every class well, which the overall FID does not."""

from __future__ import annotations

import numpy as np
import torch

from bench.errors import BenchError
from bench.metrics.base import Metric
from bench.metrics.classes import real_classes, sample_classes
from bench.metrics.fid import frechet_distance
from bench.metrics.registry import Column, MetricSpec


def frechet_distance_rows(x: np.ndarray, y: np.ndarray, form: str = "auto") -> float:
    """Frechet distance between the Gaussians fitted (mean, covariance with ddof 1) to feature rows ``x`` [n1, d]
    and ``y`` [n2, d], float64, for any n (n < d included: a class has tens of images, the features 2048 dims).

    With A = (x - mean) / sqrt(n1 - 1) and B likewise, S1 = A^T A and S2 = B^T B, and the nonzero eigenvalues of
    S1 S2 are those of (A B^T)(A B^T)^T, so tr (S1 S2)^{1/2} is the sum of the singular values of the n1 x n2 matrix
    A B^T: exact, and cheaper than two d x d square roots while n1 n2 < d^2 (beyond that, ``form="auto"`` takes the
    moments' form, :func:`bench.metrics.fid.frechet_distance`; ``"rows"`` / ``"moments"`` force one, for tests).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    (n1, d), n2 = x.shape, y.shape[0]
    if min(n1, n2) < 2 or y.shape[1] != d:
        raise BenchError(f"Frechet distance needs at least 2 rows per side of one width, got {x.shape} and {y.shape}")
    if form == "moments" or (form == "auto" and n1 * n2 >= d * d):
        return frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    mu1, mu2 = x.mean(0), y.mean(0)
    a = (x - mu1) / np.sqrt(n1 - 1)
    b = (y - mu2) / np.sqrt(n2 - 1)
    tr_covmean = float(torch.linalg.svdvals(torch.from_numpy(a @ b.T)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + (a * a).sum() + (b * b).sum() - 2.0 * tr_covmean)


class IntraClassFID(Metric):
    """Feature rows and classes of both sides (cat states: per-class covariances need the rows, not global sums)."""

    name = "fid_intra"

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        for side in ("fake", "real"):
            self.add_cat_state(f"{side}_rows")
            self.add_cat_state(f"{side}_class")

    def update_view(self, view) -> None:
        self._append("fake_rows", view.output("inception-pool3").to(torch.float64))
        self._append("fake_class", torch.from_numpy(sample_classes(self.ctx, view.items)))

    def update_real(self, rows: dict[str, np.ndarray]) -> None:
        self._append("real_rows", torch.from_numpy(np.asarray(rows["inception-pool3"], dtype=np.float64)))
        self._append("real_class", torch.from_numpy(real_classes(self.ctx)))

    def per_class_rows(self, what: str):
        """(class, fake rows, real rows) for each class of the real folder; fewer than 2 rows on a side raise."""
        fake, fake_cls = self.state("fake_rows").numpy(), self.state("fake_class").numpy()
        real, real_cls = self.state("real_rows").numpy(), self.state("real_class").numpy()
        for c in sorted(set(real_cls.tolist())):
            nf, nr = int((fake_cls == c).sum()), int((real_cls == c).sum())
            if min(nf, nr) < 2:
                raise BenchError(f"{what}: class {c} has {nf} generated and {nr} real image(s); it needs at least 2 "
                                 f"of each (pass --metrics without {self.name} to skip it)")
            yield c, fake[fake_cls == c], real[real_cls == c]

    def compute(self) -> dict:
        per_class = {str(c): frechet_distance_rows(x, y) for c, x, y in self.per_class_rows("intra-class FID")}
        return {"fid_intra": float(np.mean(list(per_class.values()))),
                "_details": {"fid_intra_per_class": per_class}}


def check_class_sizes(ctx) -> str | None:
    """Why the per-class distances cannot be computed (a class of the real folder with fewer than 2 generated or
    real images, e.g. under --limit), or None: listed unavailable, refused only when asked for by name."""
    from collections import Counter

    real = Counter(ctx.opts.classes[r.key] for r in ctx.reals)
    fake = Counter(ctx.opts.classes[p.group] for p in ctx.pairs)
    small = next((c for c in sorted(real) if min(real[c], fake[c]) < 2), None)
    if small is None:
        return None
    return (f"class {small} has {fake[small]} generated and {real[small]} real image(s); per-class distances need at "
            "least 2 of each")


SPEC = MetricSpec(
    "fid_intra", higher_is_better=False, inputs=("features", "classes"), networks=("inception-pool3",),
    build=IntraClassFID, columns=(Column("fid_intra", "intra-FID", False, 2),), builtin=True, check=check_class_sizes,
    description="mean over classes of the FID between a class's samples and its real images (Miyato & Koyama 2018)",
)


class FrechetToRows:
    """The Frechet distance of many row sets (subsets, bootstrap resamples) to one fixed set of reference rows, with
    the reference side's centring and covariance square root computed once. Each call gives what
    :func:`frechet_distance_rows` gives for the same rows, by the same two forms (rows while n1 n2 < d^2)."""

    def __init__(self, reference: np.ndarray) -> None:
        y = np.asarray(reference, dtype=np.float64)
        if len(y) < 2:
            raise BenchError(f"Frechet distance needs at least 2 reference rows, got {len(y)}")
        self.n, self.d = y.shape
        self.mu = y.mean(0)
        self.b = (y - self.mu) / np.sqrt(self.n - 1)
        self.trace = float((self.b * self.b).sum())
        self._root: torch.Tensor | None = None

    def _reference_root(self) -> torch.Tensor:
        if self._root is None:
            from bench.metrics.fid import _psd_sqrt

            self._root = _psd_sqrt(torch.from_numpy(self.b.T @ self.b))
        return self._root

    def __call__(self, x: np.ndarray, counts: np.ndarray | None = None) -> float:
        """The distance of rows ``x``, or, with ``counts``, of the set holding row i ``counts[i]`` times (a bootstrap
        resample): the same mean and covariance, from the distinct rows weighted by their counts."""
        x = np.asarray(x, dtype=np.float64)
        if counts is not None:
            keep = counts > 0
            x, w = x[keep], np.asarray(counts, dtype=np.float64)[keep]
        else:
            w = np.ones(len(x))
        n1 = int(w.sum())
        if n1 < 2 or x.shape[1] != self.d:
            raise BenchError(f"Frechet distance needs at least 2 rows of width {self.d}, got {x.shape}")
        mu = (w @ x) / n1
        a = (x - mu) * np.sqrt(w / (n1 - 1))[:, None]  # a' a: the covariance (ddof 1) of the repeated rows
        if len(a) * self.n < self.d * self.d:
            tr_covmean = float(torch.linalg.svdvals(torch.from_numpy(a @ self.b.T)).sum())
        elif len(a) >= self.d:
            # a full-rank covariance: tr (R S R)^1/2 from the eigenvalues of one symmetric matrix (R = the reference's
            # root, computed once), a third of the cost of a second root and an SVD; rank-deficient sets (fewer rows
            # than dimensions) take the branch below, where eigenvalue noise under a square root would show
            r = self._reference_root()
            m = r @ torch.from_numpy(a.T @ a) @ r
            tr_covmean = float(torch.linalg.eigvalsh((m + m.T) / 2.0).clamp(min=0.0).sqrt().sum())
        else:  # fewer rows than dimensions: (a R)' (a R) = R S R, so the singular values of a R, with no second root
            tr_covmean = float(torch.linalg.svdvals(torch.from_numpy(a) @ self._reference_root()).sum())
        diff = mu - self.mu
        return float(diff @ diff + (a * a).sum() + self.trace - 2.0 * tr_covmean)
