"""`bench sweep`: a matrix of 2 methods x 2 seeds through the local executor (2 processes) and through submitit's
debug executor leaves 4 records and a leaderboard with mean ± std over the seeds; a rerun does nothing."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import BenchError
from bench.sweep import Cell, load_matrix, slurm_parameters

MATRIX = """
datasets = ["synthetic-streets"]
seeds = [0, 1]
limit = 8
metrics = ["psnr", "ssim"]  # no network: the sweep is tested here, not FID
results = "lb"
methods = ["label-colouring", "sweep_methods:NoisyColouring"]

[executor]
kind = "{kind}"
workers = 2
"""


def _records(root: Path) -> list[Path]:
    return sorted((root / "lb" / "results" / "synthetic-streets").glob("*.json"))


@pytest.mark.parametrize("kind", ["local", "debug", pytest.param("submitit-local", marks=pytest.mark.slow)])
def test_sweep_two_methods_two_seeds(tmp_path, capsys, monkeypatch, kind):
    # submitit's local jobs are fresh interpreters: they find the test plug-in through PYTHONPATH
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    matrix = tmp_path / "m.toml"
    matrix.write_text(MATRIX.format(kind=kind))
    assert main(["sweep", str(matrix)]) == 0
    out = capsys.readouterr().out
    records = _records(tmp_path)
    assert len(records) == 4, out
    summary = json.loads((tmp_path / "m-sweep" / "summary.json").read_text())
    assert [c["status"] for c in summary["cells"]] == ["done"] * 4
    table = (tmp_path / "lb" / "synthetic-streets.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| sweep_methods:NoisyColouring"))
    cells = [c.strip() for c in row.split("|")]
    assert cells[3] == "2"  # two distinct seeds
    assert "±" in cells[5]  # PSNR: mean ± std over the seeds (they differ for this method)
    psnrs = [json.loads(r.read_text())["metrics"]["psnr"] for r in records if "Noisy" in r.name]
    assert len(set(psnrs)) == 2
    # and the std is the sample std over those two seeds
    std = abs(psnrs[0] - psnrs[1]) / 2 ** 0.5
    assert f"± {std:.2f}" in cells[5]

    # the rerun does nothing: every cell is skipped, no record is added or rewritten
    mtimes = [r.stat().st_mtime_ns for r in records]
    assert main(["sweep", str(matrix)]) == 0
    again = json.loads((tmp_path / "m-sweep" / "summary.json").read_text())
    assert [c["status"] for c in again["cells"]] == ["skipped (done)"] * 4
    assert [r.stat().st_mtime_ns for r in _records(tmp_path)] == mtimes


def test_a_failed_cell_is_reported_and_the_others_run(tmp_path, capsys):
    matrix = tmp_path / "m.toml"
    matrix.write_text(MATRIX.format(kind="debug").replace('"sweep_methods:NoisyColouring"', '"no-such-method"')
                      .replace("seeds = [0, 1]", "seeds = [0]"))
    assert main(["sweep", str(matrix)]) == 1
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "m-sweep" / "summary.json").read_text())
    status = {c["method"]: c for c in summary["cells"]}
    assert status["label-colouring"]["status"] == "done"
    assert status["no-such-method"]["status"] == "failed" and "no-such-method" in status["no-such-method"]["error"]
    assert "failed" in out and "log.txt" in out
    assert "no-such-method" in Path(status["no-such-method"]["log"]).read_text()


@pytest.mark.parametrize("text,why", [
    ("seeds = [0]\nmethods = ['oracle']", "datasets: missing"),
    ("datasets = ['synthetic-streets']\nseeds = [0, 0]\nmethods = ['oracle']", "seeds: repeats a value (0)"),
    ("datasets = ['synthetic-streets']\nseeds = ['a']\nmethods = ['oracle']", "seeds: 'a' is not an integer"),
    ("datasets = ['synthetic-streets']\nseeds = [0]\nmethods = ['oracle']\nlimt = 3", "limt: unknown key"),
    ("datasets = ['synthetic-streets']\nseeds = [0]\nmethods = [{name = 'spade', trian = true}]",
     "methods[0].trian: unknown key"),
    ("datasets = ['synthetic-streets']\nseeds = [0]\nmethods = ['oracle']\n[executor]\nkind = 'pbs'",
     "executor.kind: 'pbs'"),
    ("datasets = [", "not valid TOML"),
    ("datasets = ['synthetic-streets']\nseeds = [0]\nmethods = ['oracle']\n[executor]\nthreads = 0",
     "executor.threads: 0 is not an integer >= 1"),
    ("datasets = ['synthetic-streets']\nseeds = [0]\nmethods = ['oracle']\n[executor]\ngpus_per_job = -1",
     "executor.gpus_per_job: -1 is not an integer >= 0"),
    ("datasets = ['synthetic-streets']\nseeds = [0]\nmethods = [{name = 'oracle', seeds = [1, 1]}]",
     "seeds: repeats a value (1)"),
])
def test_matrix_errors_name_the_file_and_key(tmp_path, text, why):
    matrix = tmp_path / "bad.toml"
    matrix.write_text(text)
    with pytest.raises(BenchError) as err:
        load_matrix(matrix)
    assert str(matrix) in str(err.value) and why in str(err.value)


def test_cells_and_ids(tmp_path):
    matrix = tmp_path / "m.toml"
    matrix.write_text("datasets = ['synthetic-streets']\nseeds = [0, 1]\nsamples_per_label = [1, 2]\n"
                      "methods = [{name = 'spade', configs = ['mini', 'paper'], train = true}, 'oracle']\n")
    sweep = load_matrix(matrix)
    assert len(sweep.cells) == 2 * 2 * 2 + 2 * 2
    assert len({c.id for c in sweep.cells}) == len(sweep.cells)
    assert load_matrix(matrix).cells[0].id == sweep.cells[0].id  # stable across reads (and processes)
    assert sweep.folder == tmp_path / "m-sweep"
    assert Cell("a", None, "d", 0).id != Cell("a", None, "d", 1).id
    # a method's own seeds (a deterministic baseline once, the trained methods with every seed)
    matrix.write_text("datasets = ['synthetic-streets']\nseeds = [0, 1, 2]\n"
                      "methods = [{name = 'oracle', seeds = [0]}, {name = 'spade', configs = ['mini'], train = true}]\n")
    cells = load_matrix(matrix).cells
    assert [(c.method, c.seed) for c in cells] == [("oracle", 0), ("spade", 0), ("spade", 1), ("spade", 2)]


def test_the_committed_leaderboard_sweep_reads():
    """leaderboard/sweeps/synthetic-streets.toml (what made the synthetic-streets records) is a valid matrix."""
    sweep = load_matrix(Path(__file__).resolve().parents[1] / "leaderboard" / "sweeps" / "synthetic-streets.toml")
    assert len(sweep.cells) == 14 and sweep.executor["threads"] == 1  # 2 baselines, 3 minis x 3 seeds, 3 x 1 seed
    assert sweep.results == Path(__file__).resolve().parents[1] / "leaderboard"


def test_slurm_job_array_parameters(tmp_path, monkeypatch):
    """The [executor] table becomes submitit's Slurm parameters; checked in the sbatch script submitit writes
    (a stand-in `srun` on PATH: submitit looks for it; no job is submitted)."""
    submitit = pytest.importorskip("submitit")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("srun", "sbatch"):
        f = bin_dir / tool
        f.write_text("#!/bin/sh\nexit 1\n")
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    params = slurm_parameters({"kind": "slurm", "gpus_per_job": 4, "time_min": 90, "partition": "gpu",
                               "array_parallelism": 8, "cpus_per_task": 6, "mem_gb": 64})
    ex = submitit.AutoExecutor(folder=tmp_path / "s", cluster="slurm")
    ex.update_parameters(**params)
    text = ex._executor._make_submission_file_text("python -m x", "uid")
    for line in ("#SBATCH --gpus-per-node=4", "#SBATCH --ntasks-per-node=4", "#SBATCH --time=90",
                 "#SBATCH --partition=gpu", "#SBATCH --cpus-per-task=6", "#SBATCH --mem=64GB"):
        assert line in text, text
    cpu = slurm_parameters({"kind": "slurm", "gpus_per_job": 0})  # a CPU partition: no GPU line, one task
    assert "gpus_per_node" not in cpu and cpu["tasks_per_node"] == 1
