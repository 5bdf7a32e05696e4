"""The committed baseline rows of the super-resolution and inpainting tracks reproduce: the same command on a
fresh cache gives the committed record's metrics and fingerprint (slow: the 256x256 photos are generated and
each run's images go through Inception; about 4 minutes on 2 cores)."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.results import leaderboard_dir

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("method, dataset", [
    ("bicubic", "synthetic-streets-sr"), ("oracle", "synthetic-streets-sr"),
    ("mean-fill", "synthetic-streets-inpainting"), ("oracle", "synthetic-streets-inpainting"),
    ("bicubic", "photos-sr"), ("blur-fill", "photos-inpainting"),
])
def test_committed_baseline_row_reproduces(tmp_path, method, dataset):
    committed = [json.loads(p.read_text()) for p in (leaderboard_dir() / "results" / dataset).glob(f"{method}-*.json")]
    assert len(committed) == 1, f"expected one committed {method} record for {dataset}"
    assert main(["run", "--method", method, "--dataset", dataset, "--results", str(tmp_path / "lb"),
                 "--out", str(tmp_path / "run")]) == 0
    (fresh,) = [json.loads(p.read_text()) for p in (tmp_path / "lb" / "results" / dataset).glob("*.json")]
    assert fresh["fingerprint"] == committed[0]["fingerprint"]
    assert fresh["metrics"].keys() == committed[0]["metrics"].keys()
    for name, value in committed[0]["metrics"].items():
        # Inception on another thread count sums in another order: 1e-6 relative covers that, nothing more
        assert fresh["metrics"][name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
