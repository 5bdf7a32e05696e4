"""Wall time of `bench run` in one process vs under `torchrun --nproc-per-node K` (gloo on the CPU), same run.

    python benchmarks/torchrun_wall.py                                  # label-colouring, synthetic-streets val
    python benchmarks/torchrun_wall.py --ranks 2 -- --method spade --config mini --checkpoint G.pth

Each variant runs in fresh folders and a fresh cache (nothing reused between them), with one thread per process
(torchrun's default for several ranks; also set for the one-process run, so the records are comparable), plus a
one-process run with every core's threads. Prints each wall time, the ratio to the one-process run, and whether the
records' metrics agree (FID within 1e-10 relative, the rest too).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(launcher: list[str], args: list[str], tmp: Path, name: str, threads: int | None) -> tuple[float, dict]:
    env = {**os.environ, "BENCH_CACHE_DIR": str(tmp / f"cache-{name}"), "BENCH_PROGRESS_EVERY": "1000000"}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    else:
        env.pop("OMP_NUM_THREADS", None)
    cmd = launcher + ["-m", "bench", "run", *args, "--results", str(tmp / name), "--out", str(tmp / f"run-{name}")]
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"{name} failed:\n{proc.stderr[-2000:]}")
    record = next((tmp / name / "results").glob("*/*.json"))
    return wall, json.loads(record.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("run_args", nargs="*", help="bench run arguments (after --)")
    a = p.parse_args()
    args = a.run_args or ["--method", "label-colouring", "--dataset", "synthetic-streets"]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        one, rec1 = _run([sys.executable], args, tmp, "one-1thread", 1)
        many, _ = _run([sys.executable], args, tmp, f"one-{cores}threads", None)
        dist, recd = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
                           str(a.ranks)], args, tmp, f"{a.ranks}ranks", 1)
    print(f"bench run {' '.join(args)}  ({cores} cores)")
    print(f"  1 process, 1 thread      {one:7.1f} s   1.00")
    print(f"  1 process, {cores} threads     {many:7.1f} s   {many / one:.2f}")
    print(f"  {a.ranks} ranks x 1 thread       {dist:7.1f} s   {dist / one:.2f}")
    worst = max((abs(recd["metrics"][k] - v) / max(abs(v), 1e-300) for k, v in rec1["metrics"].items()
                 if isinstance(v, float) and v == v), default=0.0)
    print(f"  largest relative metric difference, {a.ranks} ranks vs 1 process (1 thread each): {worst:.1e}")
    print("  phases (1 process, 1 thread): " + ", ".join(f"{k} {v:.1f} s" for k, v in rec1["timings"].items()))
    print(f"  phases ({a.ranks} ranks, rank 0): " + ", ".join(f"{k} {v:.1f} s" for k, v in recd["timings"].items()))


if __name__ == "__main__":
    main()
