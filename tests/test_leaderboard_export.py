"""`bench leaderboard --export`: the rows of the tables (mean and std over distinct seeds per method, config and
protocol) as CSV or parquet, checked against numpy on the records; two protocols are never averaged together."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bench.cli import main
from bench.errors import BenchError

LEADERBOARD = Path(__file__).resolve().parents[1] / "leaderboard"


@pytest.fixture
def board(tmp_path):
    """The committed digits records, plus two more seeds of cgan (one of them twice: a rerun)."""
    root = tmp_path / "lb"
    (root / "results").mkdir(parents=True)
    shutil.copytree(LEADERBOARD / "results" / "digits", root / "results" / "digits")
    shutil.copy(LEADERBOARD / "reported.csv", root / "reported.csv")
    src = next((root / "results" / "digits").glob("cgan-mini-seed0-*.json"))
    rec = json.loads(src.read_text())
    fids = {0: rec["metrics"]["fid"]}
    for seed, fid, copy in ((1, 61.0, "a"), (1, 63.0, "b"), (2, 70.0, "a")):
        new = {**rec, "seeds": {**rec["seeds"], "run": seed}, "metrics": {**rec["metrics"], "fid": fid},
               "run_id": f"{seed:02d}{copy}".ljust(16, "0")}  # a valid 16-hex id of its own
        (src.parent / f"cgan-mini-seed{seed}-{copy}.json").write_text(json.dumps(new))
    fids[1] = (61.0 + 63.0) / 2  # the same seed twice is one measurement: averaged first
    fids[2] = 70.0
    return root, fids


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_rows_are_mean_and_std_over_distinct_seeds(board, tmp_path, suffix, capsys):
    root, fids = board
    out = tmp_path / f"rows{suffix}"
    assert main(["leaderboard", "--dir", str(root), "--export", str(out)]) == 0
    df = pl.read_csv(out) if suffix == ".csv" else pl.read_parquet(out)
    row = df.filter((pl.col("method") == "cgan") & (pl.col("config") == "mini")).row(0, named=True)
    values = np.array(list(fids.values()))
    assert row["seeds"] == 3 and str(row["seed_list"]) == "0 1 2"
    assert row["fid"] == pytest.approx(values.mean(), rel=1e-12)
    assert row["fid_seed_std"] == pytest.approx(values.std(ddof=1), rel=1e-12)
    assert row["dataset"] == "digits" and row["task"] == "class" and len(row["fingerprint"]) == 12
    one = df.filter(pl.col("method") == "acgan").row(0, named=True)
    assert one["seeds"] == 1 and one["fid_seed_std"] is None  # no std from one seed
    # the markdown table shows the same row
    table = (root / "digits.md").read_text()
    assert f"{values.mean():.2f} ± {values.std(ddof=1):.2f}" in table


def test_export_refuses_other_suffixes(board, tmp_path):
    root, _ = board
    assert main(["leaderboard", "--dir", str(root), "--export", str(tmp_path / "rows.xlsx")]) == 2


def test_two_protocols_are_never_one_row(board):
    from bench.leaderboard import aggregate, load_records, records_frame

    root, _ = board
    df = records_frame(load_records(root / "results"))
    mixed = df.with_columns(pl.when(pl.col("seed") == 2).then(pl.lit("000000000000")).otherwise(pl.col("fingerprint"))
                            .alias("fingerprint"))
    with pytest.raises(BenchError, match="cannot aggregate records of 2 protocols"):
        aggregate(mixed, ["fid"])
