"""`bench run` under torchrun (2 gloo ranks on the CPU) equals the one-process run, and progress lines on logs.

Both runs use one thread per process (torchrun's default for several ranks): the thread count changes Inception's
float sums at the 1e-7 level, which is not what is tested here."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import progress
from bench.distributed import shard

RUN = ["run", "--method", "label-colouring", "--dataset", "synthetic-streets", "--limit", "20", "--batch-size", "8"]


def _bench(args: list[str], tmp: Path, name: str, ranks: int) -> tuple[dict, Path]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "BENCH_CACHE_DIR": str(tmp / f"cache-{name}"),
           "BENCH_PROGRESS_EVERY": "8"}
    results = tmp / name
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(ranks)]
                if ranks > 1 else [sys.executable])
    cmd = launcher + ["-m", "bench", *args, "--results", str(results), "--out", str(tmp / f"run-{name}")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    # rank 0's own message or traceback first: torchrun's output ends with the other ranks' reactions to its end
    first = [line for line in proc.stderr.splitlines() if line.startswith(("error:", "[rank0]"))]
    assert proc.returncode == 0, "\n".join(first[:60]) + "\n...\n" + proc.stderr[-2000:]
    records = sorted((results / "results" / "synthetic-streets").glob("*.json"))
    assert len(records) == 1, records  # one record, written by rank 0
    return json.loads(records[0].read_text()), records[0]


def test_two_ranks_under_torchrun_equal_one_process(tmp_path):
    one, one_path = _bench(RUN, tmp_path, "one", 1)
    two, two_path = _bench(RUN, tmp_path, "two", 2)
    assert two["world_size"] == 2 and "world_size" not in one
    assert two["fingerprint"] == one["fingerprint"]
    assert two["n_fake"] == one["n_fake"] == 20
    assert set(two["metrics"]) == set(one["metrics"]) and "fid" in one["metrics"] and "miou" in one["metrics"]
    # sums in float64 over other partitions: FID within 1e-10 relative (the bound); the confusion matrix
    # is integer, so mIoU and pixel accuracy are exact
    assert two["metrics"]["fid"] == pytest.approx(one["metrics"]["fid"], rel=1e-10)
    assert two["metrics"]["miou"] == one["metrics"]["miou"]
    assert two["metrics"]["pixel_acc"] == one["metrics"]["pixel_acc"]
    for name, value in one["metrics"].items():
        assert two["metrics"][name] == pytest.approx(value, rel=1e-10, abs=1e-12), name
    assert two["details"]["per_class_iou"] == one["details"]["per_class_iou"]
    # the per-sample table gathered in rank order is the one process's, row for row
    import polars as pl

    a = pl.read_parquet(one_path.with_name(one["per_sample"]))
    b = pl.read_parquet(two_path.with_name(two["per_sample"]))
    assert a.height == 20 and a.equals(b)
    assert one["worst"] == two["worst"]
    # the samples on disk are the same files (rank 1 generated its share)
    m1 = json.loads((tmp_path / "run-one" / "manifest.json").read_text())["samples"]
    m2 = json.loads((tmp_path / "run-two" / "manifest.json").read_text())["samples"]
    assert [e["sha256"] for e in m1] == [e["sha256"] for e in m2]

    # resumable as in one process: samples of both ranks' shares and the evaluation gone, the same command again
    for key in ("0003", "0015", "0016"):
        (tmp_path / "run-two" / "fake" / f"{key}.png").unlink()
    (tmp_path / "run-two" / "evaluation.json").unlink()
    two_path.unlink()
    again, _ = _bench(RUN, tmp_path, "two", 2)
    assert again["metrics"] == two["metrics"] and again["run_id"] == two["run_id"]
    m3 = json.loads((tmp_path / "run-two" / "manifest.json").read_text())["samples"]
    assert m3 == m2


@pytest.mark.parametrize("n,world", [(0, 2), (1, 2), (7, 2), (8, 3), (20, 4), (3, 5)])
def test_shards_are_contiguous_and_cover_everything_once(n, world):
    items = list(range(n))
    shares = [shard(items, r, world) for r in range(world)]
    assert [x for s in shares for x in s] == items  # rank order = the single process's order
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


class _Log(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_progress_prints_a_line_per_tenth_on_a_log(monkeypatch):
    monkeypatch.setattr(progress, "QUIET_S", 0.0)
    monkeypatch.delenv("BENCH_PROGRESS_EVERY", raising=False)
    log = _Log()
    with progress.Progress(95, "generate spade", "img", None, stream=log) as bar:
        for _ in range(95):
            bar.update(1)
    lines = log.getvalue().splitlines()
    assert len(lines) == 10, lines  # 10, 20, ..., 90 and the end (95)
    assert lines[0].startswith("generate spade: 10/95 img (11%)") and lines[-1].startswith("generate spade: 95/95 img (100%)")


def test_progress_every_n_and_silence(monkeypatch):
    monkeypatch.setattr(progress, "QUIET_S", 0.0)
    log = _Log()
    bar = progress.Progress(10, "evaluate", "img", None, stream=log, every=4)
    bar.update(3)
    bar.update(3)  # crosses 4
    bar.update(1)
    bar.close()  # stopped at 7 of 10: says how far it got
    assert [line.split(":")[1].split()[0] for line in log.getvalue().splitlines()] == ["6/10", "7/10"]
    quiet = _Log()
    with progress.Progress(10, "x", enabled=False, stream=quiet) as bar:
        bar.update(10)
    assert quiet.getvalue() == ""
    monkeypatch.setattr(progress, "QUIET_S", 3600.0)  # work done within the quiet time prints nothing
    fast = _Log()
    with progress.Progress(10, "x", stream=fast) as bar:
        bar.update(10)
    assert fast.getvalue() == ""


def test_bench_eval_under_torchrun_writes_the_one_process_record(tmp_path):
    """`bench eval` under torchrun: rank 0 writes --out and --per-sample; the values are the one process's."""
    import numpy as np
    from PIL import Image

    from conftest import smooth_images

    real, fake = tmp_path / "real", tmp_path / "fake"
    real.mkdir()
    fake.mkdir()
    for i, (r, f) in enumerate(zip(smooth_images(11, 32, seed=5), smooth_images(11, 32, seed=6))):
        Image.fromarray(r).save(real / f"{i:04d}.png")
        Image.fromarray(np.ascontiguousarray(f)).save(fake / f"{i:04d}.png")
    outs = {}
    for name, ranks in (("one", 1), ("two", 2)):
        launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(ranks)]
                    if ranks > 1 else [sys.executable])
        cmd = launcher + ["-m", "bench", "eval", "--real", str(real), "--fake", str(fake), "--metrics", "psnr,ssim",
                          "--batch-size", "4", "--out", str(tmp_path / f"{name}.json"),
                          "--per-sample", str(tmp_path / f"{name}.parquet")]
        proc = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert outs["two"]["world_size"] == 2
    for m in ("psnr", "ssim"):
        assert outs["two"]["metrics"][m] == pytest.approx(outs["one"]["metrics"][m], rel=1e-12)
    import polars as pl

    assert pl.read_parquet(tmp_path / "one.parquet").equals(pl.read_parquet(tmp_path / "two.parquet"))
