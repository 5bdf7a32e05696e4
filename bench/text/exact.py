"""Cosine rankings in which equal rows tie exactly, whatever the machine, the BLAS or the batch.

A float dot product's last bits depend on the BLAS kernel, the vector width and the blocking, so two candidates with
identical embeddings can score 1 ulp apart in one call and equal in another; a ranking that breaks ties by index then
picks other neighbours by machine and by batch size (caption-nearest's FID moved 224.77 -> 224.41 between two
machines this way). Here the rows are rounded to a fixed grid (``GRID_BITS`` fractional bits) and scored as exact
int64 dot products: identical rows tie exactly and the scores do not depend on how the products are batched. The
grid also absorbs the last-bit differences of the normalised inputs made upstream (a norm, a mean), except for a value
that falls within ~1e-16 of a grid midpoint. Entries below 2^-28 of a query row's largest entry round to 0. Written by
hand: no library offers a reproducible cosine ranking.
"""

from __future__ import annotations

import numpy as np

GRID_BITS = 28
# |q . e| <= |q| |e| <= sqrt(D) 2^28 * 2^28 (candidates unit-norm, query entries below 2^28): below 2^62 for D <= 4096
_MAX_DIM = 2 ** (2 * (62 - 2 * GRID_BITS))


def candidate_rows(rows: np.ndarray) -> np.ndarray:
    """int64 [M, D]: each row normalised to unit length (float64), on the grid. Their dot product with a query row
    ranks the candidates by cosine."""
    x = np.asarray(rows, dtype=np.float64)
    _check(x)
    x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    return np.rint(np.ldexp(x, GRID_BITS)).astype(np.int64)


def unit_rows(rows: np.ndarray) -> np.ndarray:
    """int64 [M, D]: rows that are already unit-norm (e.g. stored float32 ones), on the grid without renormalising:
    the same stored values give the same integers on every machine."""
    x = np.asarray(rows, dtype=np.float64)
    _check(x)
    if np.abs(x).max(initial=0.0) > 1.0:
        raise ValueError("unit_rows: entries above 1 in magnitude (not unit-norm rows)")
    return np.rint(np.ldexp(x, GRID_BITS)).astype(np.int64)


def query_rows(rows: np.ndarray) -> np.ndarray:
    """int64 [N, D]: each query row scaled by a power of two (exact) so its largest entry lies in [0.5, 1), then on
    the grid. A positive scale does not change a query's ranking of the candidates, and no norm is taken."""
    x = np.asarray(rows, dtype=np.float64)
    _check(x)
    peak = np.abs(x).max(axis=-1, keepdims=True)
    _, exp = np.frexp(np.where(peak > 0, peak, 1.0))  # peak = m * 2^exp, m in [0.5, 1)
    return np.rint(np.ldexp(x, GRID_BITS - exp)).astype(np.int64)


def _check(x: np.ndarray) -> None:
    if x.shape[-1] > _MAX_DIM:
        raise ValueError(f"rows of {x.shape[-1]} dimensions (at most {_MAX_DIM}): int64 dot products could overflow")
    if not np.isfinite(x).all():
        raise ValueError("rows contain NaN or Inf")


__all__ = ["GRID_BITS", "candidate_rows", "query_rows", "unit_rows"]
