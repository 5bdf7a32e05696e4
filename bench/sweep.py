"""`bench sweep MATRIX.toml`: methods x configs x datasets x seeds x samples-per-label, each cell one `bench run`.

A sweep is idempotent and resumable: every cell has an id (a hash of what defines it) and its own folder
``<sweep dir>/cells/<id>/`` holding its run folder (resumable like any `bench run`), its log and, once its record
is written, ``done.json``. Running the sweep again skips the finished cells and resumes the others. The executors:

- ``local``: N worker processes on this machine (``workers``, default 1), one cell at a time each;
- ``slurm``: one Slurm job array through submitit (``gpus_per_job``: default 1, 0 on a CPU partition;
  ``time_min``, ``partition``, ``array_parallelism``, ``cpus_per_task``, ``mem_gb``, ``account``, ``qos``); a job
  with several GPUs runs one task per GPU and the cell runs under torch.distributed (submitit exports the rank
  variables);
- ``submitit-local`` and ``debug``: submitit's local and in-process executors (tests, debugging a matrix).

Failures do not stop the other cells; they are collected with their log into one summary (``summary.json`` and
the printed table), and the command exits non-zero when a cell failed. The leaderboard of the results folder is
re-rendered at the end (mean ± std over the seeds of each method and config).

Matrix file (TOML)::

    datasets = ["synthetic-streets"]
    seeds = [0, 1]
    samples_per_label = [1]          # optional, default [1]
    limit = 50                       # optional: bench run's --limit (recorded; rows marked partial)
    metrics = ["fid", "kid", "miou"] # optional
    results = "sweep-results"        # optional: a leaderboard folder (default: the checkout's leaderboard)
    out = "sweep-runs"               # optional: the sweep folder (default: <matrix name>-sweep next to the file)

    [[methods]]
    name = "spade"
    configs = ["mini"]
    train = true                     # train each seed's weights first (optional: train_steps)

    [[methods]]
    name = "label-colouring"         # or methods = ["oracle", "label-colouring"]

    [[methods]]
    name = "oracle"
    seeds = [0]                      # a method's own seeds (a deterministic baseline needs one)

    [executor]
    kind = "local"
    workers = 2
    threads = 1                      # OMP_NUM_THREADS of each worker (default: inherited)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError

EXECUTORS = ("local", "slurm", "submitit-local", "debug")
TOP_KEYS = {"datasets", "seeds", "samples_per_label", "limit", "partial", "metrics", "results", "out", "methods",
            "executor", "device", "batch_size", "root"}
METHOD_KEYS = {"name", "configs", "train", "train_steps", "checkpoint", "seeds"}
EXECUTOR_KEYS = {"kind", "workers", "threads", "gpus_per_job", "time_min", "partition", "array_parallelism",
                 "cpus_per_task", "mem_gb", "account", "qos", "name"}


@dataclass(frozen=True)
class Cell:
    """One `bench run` of a sweep."""

    method: str
    config: str | None
    dataset: str
    seed: int
    samples_per_label: int = 1
    train: bool = False
    train_steps: int | None = None
    checkpoint: str | None = None
    limit: int | None = None
    partial: bool = False
    metrics: tuple[str, ...] | None = None
    root: str | None = None
    device: str = "auto"
    batch_size: int = 8

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Cell":
        """The cell of ``asdict(cell)`` (as sent to a worker process or job): its metrics back to a tuple."""
        return cls(**{**d, "metrics": tuple(d["metrics"]) if d.get("metrics") else None})

    @property
    def id(self) -> str:
        """What defines the cell, hashed: the same matrix line gives the same id in every rerun."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        k = f" x{self.samples_per_label}" if self.samples_per_label > 1 else ""
        return f"{self.method}/{self.config or 'default'} on {self.dataset} seed {self.seed}{k}"


@dataclass
class Sweep:
    path: Path
    cells: list[Cell]
    folder: Path  # the sweep's own folder: cells/<id>/, summary.json, submitit/
    results: Path | None  # the leaderboard folder given by the matrix (None: the checkout's)
    executor: dict[str, Any] = field(default_factory=dict)


def _fail(path: Path, key: str, why: str) -> BenchError:
    return BenchError(f"{path}: {key}: {why}")


def _list(raw: dict[str, Any], key: str, path: Path, kind: type, default: list | None = None) -> list:
    value = raw.get(key, default)
    if value is None:
        raise _fail(path, key, "missing (a list)")
    if not isinstance(value, list):
        value = [value]
    if not value:
        raise _fail(path, key, "empty list")
    for v in value:
        if kind is int and (isinstance(v, bool) or not isinstance(v, int)):
            raise _fail(path, key, f"{v!r} is not an integer")
        if kind is str and not isinstance(v, str):
            raise _fail(path, key, f"{v!r} is not a string")
    if kind is int and any(v < 0 for v in value):
        raise _fail(path, key, f"{min(value)} is negative")
    if len(set(value)) != len(value):  # the same seed twice would be one measurement counted twice
        raise _fail(path, key, f"repeats a value ({[v for v in value if value.count(v) > 1][0]!r})")
    return value


def load_matrix(path: str | os.PathLike[str]) -> Sweep:
    """Read and check a matrix file; every problem is one line naming the file and the key."""
    import tomllib

    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise BenchError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise _fail(path, unknown[0], f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    datasets = _list(raw, "datasets", path, str)
    seeds = _list(raw, "seeds", path, int)
    spl = _list(raw, "samples_per_label", path, int, [1])
    if min(spl) < 1:
        raise _fail(path, "samples_per_label", "must be >= 1")
    limit = raw.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise _fail(path, "limit", f"{limit!r} is not a positive integer")
    metrics = tuple(_list(raw, "metrics", path, str)) if "metrics" in raw else None
    batch_size = raw.get("batch_size", 8)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise _fail(path, "batch_size", f"{batch_size!r} is not a positive integer")
    methods = raw.get("methods")
    if not isinstance(methods, list) or not methods:
        raise _fail(path, "methods", "missing: a list of method names or [[methods]] tables")
    cells: list[Cell] = []
    for i, m in enumerate(methods):
        where = f"methods[{i}]"
        if isinstance(m, str):
            m = {"name": m}
        if not isinstance(m, dict) or not isinstance(m.get("name"), str):
            raise _fail(path, where, "a method name or a table with a string 'name'")
        bad = sorted(set(m) - METHOD_KEYS)
        if bad:
            raise _fail(path, f"{where}.{bad[0]}", f"unknown key (known: {', '.join(sorted(METHOD_KEYS))})")
        configs = _list(m, "configs", path, str, [None]) if "configs" in m else [None]
        train = m.get("train", False)
        if not isinstance(train, bool):
            raise _fail(path, f"{where}.train", f"{train!r} is not true or false")
        steps = m.get("train_steps")
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
            raise _fail(path, f"{where}.train_steps", f"{steps!r} is not a positive integer")
        if train and m.get("checkpoint"):
            raise _fail(path, where, "give either checkpoint or train, not both")
        method_seeds = _list(m, "seeds", path, int) if "seeds" in m else seeds  # e.g. one seed for a baseline
        for config in configs:
            for ds in datasets:
                for seed in method_seeds:
                    for k in spl:
                        cells.append(Cell(m["name"], config, ds, seed, k, train, steps, m.get("checkpoint"), limit,
                                          bool(raw.get("partial", False)), metrics, raw.get("root"),
                                          str(raw.get("device", "auto")), batch_size))
    if len({c.id for c in cells}) != len(cells):
        raise _fail(path, "methods", "lists one method and config twice")
    executor = raw.get("executor", {"kind": "local"})
    if not isinstance(executor, dict):
        raise _fail(path, "executor", "a table ([executor] kind = \"local\" ...)")
    bad = sorted(set(executor) - EXECUTOR_KEYS)
    if bad:
        raise _fail(path, f"executor.{bad[0]}", f"unknown key (known: {', '.join(sorted(EXECUTOR_KEYS))})")
    if executor.get("kind", "local") not in EXECUTORS:
        raise _fail(path, "executor.kind", f"{executor.get('kind')!r}; one of {', '.join(EXECUTORS)}")
    for key in ("workers", "threads", "gpus_per_job", "time_min", "array_parallelism", "cpus_per_task", "mem_gb"):
        value = executor.get(key)
        least = 0 if key == "gpus_per_job" else 1  # 0 GPUs: a CPU partition
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise _fail(path, f"executor.{key}", f"{value!r} is not an integer >= {least}")
    base = path.resolve().parent
    folder = (base / raw["out"]).resolve() if raw.get("out") else base / f"{path.stem}-sweep"
    results = (base / raw["results"]).resolve() if raw.get("results") else None
    return Sweep(path, cells, folder, results, {"kind": "local", **executor})


def cell_dir(folder: Path, cell: Cell) -> Path:
    return folder / "cells" / cell.id


def finished(folder: Path, cell: Cell) -> dict[str, Any] | None:
    """The done marker of a cell whose record still exists, or None."""
    marker = cell_dir(folder, cell) / "done.json"
    try:
        done = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return done if isinstance(done, dict) and Path(done.get("record", "")).is_file() else None


def run_cell(cell: dict[str, Any], folder: str, results: str | None) -> dict[str, Any]:
    """Run one cell (in whatever process the executor gives it) and return its outcome; never raises for a failed
    run, so one bad cell is a line in the summary, not a lost sweep. Under a Slurm job with several tasks the
    ranks come from submitit's environment."""
    from bench import distributed
    from bench.runner import RunSpec, run

    c = Cell.from_dict(cell)
    here = cell_dir(Path(folder), c)
    t0 = time.perf_counter()
    try:
        if os.environ.get("SUBMITIT_EXECUTOR") == "slurm" and int(os.environ.get("SLURM_NTASKS", "1")) > 1:
            import submitit

            submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
        from bench.devices import resolve_device

        rec = run(RunSpec(method=c.method, dataset=c.dataset, root=c.root, config=c.config, checkpoint=c.checkpoint,
                          train=c.train, train_steps=c.train_steps, samples_per_label=c.samples_per_label, seed=c.seed,
                          device=resolve_device(c.device), batch_size=c.batch_size, out=str(here / "run"),
                          results=results, metrics=c.metrics, limit=c.limit, partial=c.partial, progress=None))
    except Exception as exc:  # noqa: BLE001 - every failure becomes the cell's summary line
        text = str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, BenchError):
            traceback.print_exc()
        print(f"error: {text}", file=sys.stderr, flush=True)
        return {"cell": c.id, "status": "failed", "error": text, "seconds": round(time.perf_counter() - t0, 1)}
    if rec is None or not distributed.is_main():
        return {"cell": c.id, "status": "rank"}
    from bench.fileio import atomic_write_bytes, json_bytes

    done = {"cell": asdict(c), "record": rec["_path"], "run_id": rec["run_id"], "fingerprint": rec["fingerprint"],
            "metrics": {k: rec["metrics"][k] for k in ("fid", "kid", "miou", "psnr") if k in rec["metrics"]}}
    atomic_write_bytes(here / "done.json", json_bytes(done))
    return {"cell": c.id, "status": "done", "record": rec["_path"], "seconds": round(time.perf_counter() - t0, 1)}


def _logged_cell(cell: dict[str, Any], folder: str, results: str | None) -> dict[str, Any]:
    """run_cell with this process's stdout and stderr (also of C code) going to the cell's log file."""
    log = cell_dir(Path(folder), Cell.from_dict(cell))
    log.mkdir(parents=True, exist_ok=True)
    import contextlib

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log / "log.txt", "a", buffering=1) as f:
        # the file descriptors for C code and child processes, the Python streams for print() (which a caller such
        # as an in-process executor may have replaced)
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            with contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
                return run_cell(cell, folder, results)
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def slurm_parameters(executor: dict[str, Any]) -> dict[str, Any]:
    """submitit AutoExecutor parameters of the matrix's [executor] table (a job per cell, one task per GPU)."""
    gpus = int(executor.get("gpus_per_job", 1))
    params: dict[str, Any] = {"timeout_min": int(executor.get("time_min", 240)), "tasks_per_node": max(1, gpus),
                              "nodes": 1,
                              "slurm_array_parallelism": int(executor.get("array_parallelism", 16)),
                              "name": str(executor.get("name", "bench-sweep"))}
    if gpus:  # none on a CPU partition (gpus_per_job = 0): one CPU task
        params["gpus_per_node"] = gpus
    if "cpus_per_task" in executor:
        params["cpus_per_task"] = int(executor["cpus_per_task"])
    if "mem_gb" in executor:
        params["mem_gb"] = int(executor["mem_gb"])
    for key in ("partition", "account", "qos"):
        if key in executor:
            params[f"slurm_{key}"] = str(executor[key])
    return params


def _submitit_executor(kind: str, folder: Path, executor: dict[str, Any]) -> Any:
    import submitit

    logs = folder / "submitit"
    if kind == "debug":
        return submitit.DebugExecutor(folder=logs)
    if kind == "submitit-local":
        ex = submitit.LocalExecutor(folder=logs)
        ex.update_parameters(timeout_min=int(executor.get("time_min", 240)))
        return ex
    try:
        ex = submitit.AutoExecutor(folder=logs, cluster="slurm")
    except RuntimeError as exc:  # no srun/sbatch here
        raise BenchError(f"executor slurm: {exc} (use kind = \"local\" on a single machine)") from None
    ex.update_parameters(**slurm_parameters(executor))
    return ex


def run_sweep(sweep: Sweep, *, kind: str | None = None, workers: int | None = None, dry_run: bool = False,
              out=print) -> dict[str, Any]:
    """Run the cells that are not finished; return (and write) the summary."""
    kind = kind or sweep.executor.get("kind", "local")
    if kind not in EXECUTORS:
        raise BenchError(f"--executor {kind}: one of {', '.join(EXECUTORS)}")
    sweep.folder.mkdir(parents=True, exist_ok=True)
    results = str(sweep.results) if sweep.results else None
    rows: dict[str, dict[str, Any]] = {}
    todo: list[Cell] = []
    for c in sweep.cells:
        done = finished(sweep.folder, c)
        if done is not None:
            rows[c.id] = {"cell": c.id, "status": "skipped (done)", "record": done["record"]}
        else:
            todo.append(c)
    out(f"sweep {sweep.path}: {len(sweep.cells)} cell(s), {len(sweep.cells) - len(todo)} finished, "
        f"{len(todo)} to run ({kind} executor); folder {sweep.folder}")
    t0 = time.perf_counter()
    if todo and not dry_run:
        payload = [asdict(c) for c in todo]
        if kind == "local":
            rows.update(_run_local(payload, sweep.folder, results, workers or int(sweep.executor.get("workers", 1)),
                                   sweep.executor.get("threads"), out))
        else:
            rows.update(_run_submitit(kind, payload, sweep, results, out))
    summary = {"matrix": str(sweep.path), "executor": kind, "seconds": round(time.perf_counter() - t0, 1),
               "cells": [{**asdict(c), "id": c.id, "label": c.label, "log": str(cell_dir(sweep.folder, c) / "log.txt"),
                          **rows.get(c.id, {"status": "not run (dry run)"})} for c in sweep.cells]}
    if not dry_run:
        from bench.fileio import atomic_write_bytes, json_bytes

        atomic_write_bytes(sweep.folder / "summary.json", json_bytes(summary))
    return summary


def _worker_threads(threads: int | None) -> None:
    """Runs in each fresh worker before torch is imported: its CPU thread count (the thread count changes float
    sums, and GAN training amplifies that, so a leaderboard trained with one thread is reproduced with one)."""
    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(threads)


def _run_local(payload: list[dict[str, Any]], folder: Path, results: str | None, workers: int, threads: int | None,
               out) -> dict[str, dict[str, Any]]:
    """N worker processes (spawned: no torch state shared with this one), one cell at a time each."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    rows: dict[str, dict[str, Any]] = {}
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_threads, initargs=(threads,)) as pool:
        futures = {pool.submit(_logged_cell, c, str(folder), results): c for c in payload}
        for n, fut in enumerate(as_completed(futures), start=1):
            c = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker killed (OOM, signal): the cell failed
                row = {"cell": Cell.from_dict(c).id, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            rows[row["cell"]] = row
            out(f"[{n}/{len(payload)}] {Cell.from_dict(c).label}: {row['status']}"
                + (f" ({row['error']})" if row.get("error") else ""))
    return rows


def _run_submitit(kind: str, payload: list[dict[str, Any]], sweep: Sweep, results: str | None,
                  out) -> dict[str, dict[str, Any]]:
    """One submitit job per cell (a Slurm job array for ``slurm``); each job's own log is kept by submitit."""
    executor = _submitit_executor(kind, sweep.folder, sweep.executor)
    n = len(payload)
    fn = run_cell if kind != "debug" else _logged_cell  # the debug executor runs in this process: keep its log apart
    jobs = executor.map_array(fn, payload, [str(sweep.folder)] * n, [results] * n)
    rows: dict[str, dict[str, Any]] = {}
    for i, (job, c) in enumerate(zip(jobs, payload), start=1):
        cell = Cell.from_dict(c)
        try:
            row = job.result()
        except Exception as exc:  # noqa: BLE001 - timeouts, preemption, a killed job: submitit's error has the log
            row = {"cell": cell.id, "status": "failed", "error": f"{type(exc).__name__}: {str(exc)[-500:]}"}
        if kind != "debug":
            row["job_log"] = str(job.paths.stderr)
        rows[cell.id] = row
        out(f"[{i}/{n}] {cell.label}: {row['status']}" + (f" ({row['error']})" if row.get("error") else ""))
    return rows


def summary_table(summary: dict[str, Any]) -> str:
    """The summary as aligned text lines: one per cell, with where to look when it failed."""
    lines = []
    for c in summary["cells"]:
        what = c.get("record") or c.get("error") or ""
        if c["status"] == "failed":
            what += f"; log {c.get('job_log') or c['log']}"
        lines.append(f"  {c['status']:<15} {c['label']:<55} {what}")
    counts: dict[str, int] = {}
    for c in summary["cells"]:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    return "\n".join(lines + ["  " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))])
