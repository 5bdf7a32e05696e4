"""Reproducible cosine rankings (bench/text/exact.py) and the caption-nearest neighbours built on them, against a
ranking computed independently with correctly rounded sums (math.fsum), on random rows and on the embedded captions
set's real training and val captions."""

from __future__ import annotations

import math

import numpy as np
import torch

from bench.text.exact import GRID_BITS, candidate_rows, query_rows, unit_rows


def _fsum_cosines(query: np.ndarray, rows: np.ndarray) -> list[float]:
    """Cosine of ``query`` to each row with math.fsum (correctly rounded, order-free): equal rows score equal."""
    out = []
    for r in rows:
        nz = np.flatnonzero((query != 0) & (r != 0))  # zero products add nothing: the sparse rows stay fast
        dot = math.fsum(float(query[i]) * float(r[i]) for i in nz)
        out.append(dot / math.sqrt(math.fsum(float(v) * float(v) for v in r[r != 0])))
    return out


def _reference_order(query: np.ndarray, rows: np.ndarray) -> list[int]:
    cos = _fsum_cosines(query, rows)
    return sorted(range(len(rows)), key=lambda j: (-cos[j], j))  # nearest first, ties by index


def test_rankings_equal_fsum_cosines_and_identical_rows_tie_exactly():
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((60, 257))
    rows[[7, 30, 59]] = rows[3]  # identical candidates: must tie exactly, whatever their position
    queries = rng.standard_normal((12, 257)) * rng.uniform(0.01, 100, (12, 1))
    sims = query_rows(queries) @ candidate_rows(rows).T
    assert sims.dtype == np.int64
    for q, s in zip(queries, sims):
        assert s[3] == s[7] == s[30] == s[59]
        assert sorted(range(len(rows)), key=lambda j: (-s[j], j)) == _reference_order(q, rows)


def test_query_scale_is_exact_and_changes_no_ranking():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((5, 64))
    for k in (-30, -3, 0, 7, 40):  # a power of two: the same integers
        assert np.array_equal(query_rows(np.ldexp(q, k)), query_rows(q))
    peak = np.abs(query_rows(q)).max(1)
    assert ((peak >= 2 ** (GRID_BITS - 1)) & (peak <= 2 ** GRID_BITS)).all()
    rows = candidate_rows(rng.standard_normal((40, 64)))
    a, b = query_rows(q) @ rows.T, query_rows(q * 3.7) @ rows.T
    assert all(np.array_equal(np.argsort(-x, kind="stable"), np.argsort(-y, kind="stable")) for x, y in zip(a, b))


def test_unit_rows_are_the_stored_values_on_the_grid():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    got = unit_rows(x)
    assert np.array_equal(got, np.rint(x.astype(np.float64) * 2.0 ** GRID_BITS).astype(np.int64))
    for bad in (np.full((1, 4), 1.5), np.array([[np.nan, 0.0]])):
        try:
            unit_rows(bad)
        except ValueError:
            continue
        raise AssertionError(f"unit_rows accepted {bad}")


def test_caption_nearest_neighbours_on_the_real_captions(tmp_path):
    """All 100 val captions of the embedded set against its 400 training scenes (317 distinct caption sets, so many
    exact ties): the neighbours equal the fsum ranking's first five, ties by training index, at batch sizes 1 and
    100."""
    from bench.adapter import dataset_info, get_method
    from bench.data import get_dataset

    train = get_dataset("synthetic-streets-captions", split="train")
    val = get_dataset("synthetic-streets-captions")
    cls = get_method("caption-nearest")
    gen = cls(dataset_info(val), checkpoint=cls(dataset_info(train)).train(train, out_dir=str(tmp_path), seed=0))
    stored = gen.embeddings.numpy()
    queries = torch.stack([val[i]["embedding"] for i in range(len(val))])
    together = gen.neighbours(queries)
    one_by_one = torch.cat([gen.neighbours(queries[i : i + 1]) for i in range(len(val))])
    assert torch.equal(together, one_by_one)
    ties_met = 0
    for i, q in enumerate(queries.numpy()):
        ref = _reference_order(q, stored)
        assert together[i].tolist() == ref[:5], f"val caption {i}"
        cos = _fsum_cosines(q, stored[ref[:6]])
        ties_met += cos[4] == cos[5]  # the fifth neighbour chosen among equals by index
    assert ties_met > 10


def test_zero_rows_tie_and_the_int64_bound_holds_at_the_largest_dimension():
    from bench.text import exact

    rows = candidate_rows(np.eye(3))
    assert (query_rows(np.zeros((1, 3))) @ rows.T == 0).all()  # no information: every candidate ties
    d = exact._MAX_DIM  # the worst case: a query at its peak everywhere, against the parallel unit row
    q = query_rows(np.full((1, d), 0.999))
    e = candidate_rows(np.ones((1, d)))
    exact_dot = sum(int(a) * int(b) for a, b in zip(q[0], e[0]))  # Python ints: no overflow possible
    assert int((q @ e.T)[0, 0]) == exact_dot < 2 ** 63
    try:
        query_rows(np.ones((1, d + 1)))
    except ValueError as err:
        assert "could overflow" in str(err)
    else:
        raise AssertionError("a row past the bound was accepted")
