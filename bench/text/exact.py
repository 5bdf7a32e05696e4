"""Cosine rankings that come out the same on every machine.

A float dot product's last bits depend on the BLAS kernel, the vector width and the blocking, so two candidates with
identical embeddings can score 1 ulp apart on one machine and equal on another; a ranking that breaks ties by index
then picks other neighbours there (caption-nearest's FID moved by 0.4 between two machines this way). Here the rows
are rounded to a fixed grid (``GRID_BITS`` fractional bits) and scored as exact int64 dot products: identical rows tie
exactly, and the integers are the same everywhere. Written by hand: no library offers a reproducible cosine ranking.
"""

from __future__ import annotations

import numpy as np

GRID_BITS = 24  # 2^-24 resolution: float32's precision on [0.5, 1)
_MAX_DIM = 2 ** (63 - 2 * GRID_BITS) - 1  # |sum| <= dim * 2^24 * 2^24 stays below 2^63


def candidate_rows(rows: np.ndarray) -> np.ndarray:
    """int64 [M, D]: each row normalised to unit length (float64), on the grid. Their dot product with a query row
    ranks the candidates by cosine."""
    x = np.asarray(rows, dtype=np.float64)
    _check_dim(x)
    x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    return np.rint(np.ldexp(x, GRID_BITS)).astype(np.int64)


def unit_rows(rows: np.ndarray) -> np.ndarray:
    """int64 [M, D]: rows that are already unit-norm (e.g. stored float32 ones), on the grid without renormalising:
    the same stored values give the same integers on every machine."""
    x = np.asarray(rows, dtype=np.float64)
    _check_dim(x)
    if np.abs(x).max(initial=0.0) > 1.0:
        raise ValueError("unit_rows: entries above 1 in magnitude (not unit-norm rows)")
    return np.rint(np.ldexp(x, GRID_BITS)).astype(np.int64)


def query_rows(rows: np.ndarray) -> np.ndarray:
    """int64 [N, D]: each query row scaled by a power of two (exact) so its largest entry lies in [0.5, 1), then on
    the grid. A positive scale does not change a query's ranking of the candidates, and no norm (whose last bit
    varies between machines) is taken."""
    x = np.asarray(rows, dtype=np.float64)
    _check_dim(x)
    peak = np.abs(x).max(axis=-1, keepdims=True)
    _, exp = np.frexp(np.where(peak > 0, peak, 1.0))  # peak = m * 2^exp, m in [0.5, 1)
    return np.rint(np.ldexp(x, GRID_BITS - exp)).astype(np.int64)


def _check_dim(x: np.ndarray) -> None:
    if x.shape[-1] > _MAX_DIM:
        raise ValueError(f"rows of {x.shape[-1]} dimensions: int64 dot products could overflow")
    if not np.isfinite(x).all():
        raise ValueError("rows contain NaN or Inf")


__all__ = ["GRID_BITS", "candidate_rows", "query_rows", "unit_rows"]
