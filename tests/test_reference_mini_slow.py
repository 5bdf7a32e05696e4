"""The ``mini`` configs, trained on synthetic-streets for their step budget, beat the label-colouring baseline on
FID and on the mIoU of the embedded segmenter ``embedded-synthetic-streets`` (slow: up to about 5 minutes per
method on one free CPU core)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _bench_module():
    spec = importlib.util.spec_from_file_location("train_mini", ROOT / "benchmarks" / "train_mini.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("mini")
    assert _bench_module().main(["--out", str(out), "--threads", "1"]) == 0
    return {r["method"].split("/")[0]: r for r in json.loads((out / "summary.json").read_text())}


@pytest.mark.parametrize("method", ["spade", "pix2pix", "pix2pixhd"])
def test_mini_beats_label_colouring(summary, method):
    base, row = summary["label-colouring"], summary[method]
    assert row["fid"] < base["fid"], (row, base)
    assert row["miou"] is not None and base["miou"] is not None, (row, base)  # the embedded segmenter
    assert row["miou"] > base["miou"], (row, base)
