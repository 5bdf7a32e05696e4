"""A 50-digit Frechet distance (mpmath), the reference for the rank-deficient covariances of per-class FID: float64
eigendecompositions of a singular covariance leave ~1e-16 negatives whose square roots cost 1e-8 of the value."""

from __future__ import annotations

import mpmath as mp
import numpy as np


def frechet_distance_mp(x: np.ndarray, y: np.ndarray, digits: int = 50) -> float:
    """||mu1 - mu2||^2 + tr S1 + tr S2 - 2 tr (S1^1/2 S2 S1^1/2)^1/2 of rows x [n1, d] and y [n2, d], covariances
    with ddof 1, every step in ``digits``-digit arithmetic (mpmath's symmetric eigensolver)."""
    with mp.workdps(digits):
        def centred(a: np.ndarray) -> tuple[list, mp.matrix]:
            n, d = a.shape
            m = mp.matrix(a.tolist())
            mu = [mp.fsum(m[i, j] for i in range(n)) / n for j in range(d)]
            c = mp.matrix(n, d)
            for i in range(n):
                for j in range(d):
                    c[i, j] = (m[i, j] - mu[j]) / mp.sqrt(n - 1)
            return mu, c

        mu1, a = centred(np.asarray(x, dtype=np.float64))
        mu2, b = centred(np.asarray(y, dtype=np.float64))
        s1, s2 = a.T * a, b.T * b
        w, q = mp.eigsy(s1)
        r1 = q * mp.diag([mp.sqrt(max(v, 0)) for v in w]) * q.T
        m = r1 * s2 * r1
        w2, _ = mp.eigsy((m + m.T) / 2)
        d = len(mu1)
        value = (mp.fsum((mu1[j] - mu2[j]) ** 2 for j in range(d)) + mp.fsum(s1[j, j] for j in range(d))
                 + mp.fsum(s2[j, j] for j in range(d)) - 2 * mp.fsum(mp.sqrt(max(v, 0)) for v in w2))
        return float(value)
