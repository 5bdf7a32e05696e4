"""The record schema (bench.results, checked by bench.schema): committed records and fresh `bench eval` / `bench run`
records validate; a damaged record is one line naming the file and the field; result/1 records are read as task
"semantic"; ids this version does not know are refused."""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import BenchError
from bench.leaderboard import load_records
from bench.results import (EVAL_SCHEMA, SCHEMA, EvalRecord, Evaluation, ResultRecord, eval_record_problem,
                           make_run_record, read_result, write_eval_record)
from bench.schema import fields, problem

REPO = Path(__file__).resolve().parents[1]
# the result/1 records (semantic, synthetic-streets; real records of an older version, see the fixture's
# PROVENANCE.md): the mutation tests below start from the first of them
V1_RECORDS = sorted((REPO / "tests" / "fixtures" / "records-v1").glob("*/*.json"))
COMMITTED = sorted((REPO / "leaderboard" / "results").glob("*/*.json")) + V1_RECORDS


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_every_committed_record_validates(path):
    obj = json.loads(path.read_text())
    rec = read_result(path, obj)
    assert problem(rec, ResultRecord) is None
    if obj["schema"] == "cgan-bench/result/1":
        assert rec["dataset"]["task"] == "semantic" and rec["dataset"]["task_params"] == {}
        assert "task" not in obj["dataset"], "read_result upgrades in memory, never the caller's dict"
    else:
        from bench.data import load_card

        assert obj["schema"] == SCHEMA and rec == obj
        assert rec["dataset"]["task"] == load_card(rec["dataset"]["card"].split("@")[0]).task


def test_committed_records_exist():
    assert len(COMMITTED) >= 9 and len(V1_RECORDS) >= 5  # the tests above must not pass by checking nothing


@pytest.fixture
def eval_record(folders, tmp_path, capsys):
    real, fake = folders
    out = tmp_path / "eval.json"
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--metrics", "psnr", "--out", str(out)]) == 0
    capsys.readouterr()
    return out, json.loads(out.read_text())


def test_a_fresh_eval_record_validates(eval_record):
    _, rec = eval_record
    assert rec["schema"] == EVAL_SCHEMA
    assert eval_record_problem(rec) is None and problem(rec, EvalRecord) is None
    assert isinstance(rec["metrics"]["psnr"], float)


def _run_fields(**over):
    run = {"run_id": "0123456789abcdef",
           "method": {"name": "oracle", "adapter": "bench.methods:RealImageOracle", "config": None,
                      "checkpoint": None, "checkpoint_sha256": None, "trained": False, "native_resolution": None,
                      "uses_instances": False},
           "dataset": {"card": "synthetic-streets@1", "card_sha256": "a" * 64, "manifest_sha256": "b" * 64,
                       "split": "val", "task": "semantic", "task_params": {}, "n": 12, "partial": True, "resolution": [64, 64],
                       "image_resize": "bicubic", "layout": "default", "has_instances": False},
           "seeds": {"run": 0, "samples_per_label": 1}, "git_commit": None, "device": "cpu",
           "timings": {"total_s": 1.0}, "n_real": 12, "n_fake": 12}
    run.update(over)
    return run


def test_the_run_record_is_the_evaluation_part_plus_the_run(eval_record):
    _, evaluation = eval_record
    evaluation = {**evaluation, "metric_protocols": {"mine": {"version": "1"}}}
    rec = make_run_record(evaluation, **_run_fields())
    assert rec["schema"] == SCHEMA == "cgan-bench/result/2"
    for key in fields(Evaluation):  # one shared type: every evaluation key is carried over unchanged
        if key in evaluation:
            assert rec[key] == evaluation[key], key
        else:  # an optional key the evaluation does not have (world_size of a one-process run)
            assert key not in rec, key
    assert "inputs" not in rec and "real_feature_cache" not in rec  # the eval record's own keys stay there
    assert rec["grid"].endswith(".png") and rec["grid"].startswith("oracle-default-seed0-")
    assert problem(rec, ResultRecord) is None


@pytest.mark.parametrize("over, needle", [
    ({"seeds": {"run": "0", "samples_per_label": 1}}, "seeds.run must be an integer, got '0'"),
    ({"n_real": True}, "n_real must be an integer, got True"),
    ({"dataset": {**_run_fields()["dataset"], "task": None}}, "dataset.task must be a string, got None"),
])
def test_a_bad_run_record_is_refused_before_it_is_written(eval_record, over, needle):
    _, evaluation = eval_record
    with pytest.raises(BenchError) as exc:
        make_run_record(evaluation, **_run_fields(**over))
    assert str(exc.value).startswith("bench run's result record (not written): " + needle), str(exc.value)


def test_a_bad_eval_record_is_not_written(eval_record, tmp_path):
    _, rec = eval_record
    bad = {**rec, "metrics": {"psnr": None}}
    with pytest.raises(BenchError, match=r"metrics\.psnr must be a number, got None"):
        write_eval_record(tmp_path / "x.json", bad)
    assert not (tmp_path / "x.json").exists()
    nan = {**rec, "metrics": {"psnr": float("nan")}}  # NaN is what a metric undefined for its inputs gives
    write_eval_record(tmp_path / "y.json", nan)
    assert math.isnan(json.loads((tmp_path / "y.json").read_text())["metrics"]["psnr"])


# --- result records read back: one line naming the file and the field ----------------------------------------

def _set(rec, dotted, value):
    *parents, last = dotted.split(".")
    for p in parents:
        rec = rec[p]
    if value is KeyError:
        rec.pop(last, None)
    else:
        rec[last] = value


V2 = {"dataset.task": "semantic", "dataset.task_params": {}, "schema": SCHEMA}  # a committed record as `bench run` writes it now


@pytest.mark.parametrize("edits, needle", [
    ({"method.checkpoint_sha256": KeyError}, "method.checkpoint_sha256 is missing"),
    ({"method.checkpoint_sha256": "abc"}, "method.checkpoint_sha256 must be 64 lowercase hex digits, got 'abc'"),
    ({"seeds.run": "0"}, "seeds.run must be an integer, got '0'"),
    ({"metrics.fid": "12"}, "metrics.fid must be a number, got '12'"),
    ({"metrics.fid": None}, "metrics.fid must be a number, got None"),
    ({"fingerprint": "DC06336824B8"}, "fingerprint must be 12 lowercase hex digits, got 'DC06336824B8'"),
    ({"unavailable.is": 3}, "unavailable.is must be a string, got 3"),
    ({"dataset.resolution": [64, "64"]}, "dataset.resolution[1] must be an integer, got '64'"),
    ({"weights": []}, "weights must be an object, got a list"),
    ({"fid": 12.0}, "fid is not a field of this record"),
    ({"dataset.tasks": "semantic"}, "dataset.tasks is not a field of this record"),
    ({**V2, "dataset.task": KeyError}, "dataset.task is missing"),
    ({**V2, "dataset.task": 1}, "dataset.task must be a string, got 1"),
])
def test_a_damaged_record_is_one_line_naming_the_file_and_the_field(tmp_path, edits, needle):
    lb = tmp_path / "results" / "synthetic-streets"
    lb.mkdir(parents=True)
    path = lb / V1_RECORDS[0].name
    rec = json.loads(V1_RECORDS[0].read_text())
    for dotted, value in edits.items():
        _set(rec, dotted, value)
    path.write_text(json.dumps(rec))
    with pytest.raises(BenchError) as exc:
        load_records(tmp_path / "results")
    msg = str(exc.value)
    assert msg.startswith(f"{path}: {needle}") and "\n" not in msg, msg


def test_a_v2_record_reads_as_written(tmp_path):
    rec = json.loads(V1_RECORDS[0].read_text())
    for dotted, value in {**V2, "dataset.task": "instance-sketch"}.items():
        _set(rec, dotted, value)
    assert read_result(tmp_path / "r.json", copy.deepcopy(rec)) == rec  # no upgrade: task is the record's own


@pytest.mark.parametrize("schema", ["cgan-bench/result/3", "cgan-bench/eval-record/1", 2, KeyError])
def test_a_schema_this_version_does_not_read_is_refused(tmp_path, capsys, schema):
    lb = tmp_path / "lb"
    (lb / "results" / "synthetic-streets").mkdir(parents=True)
    shutil.copy(REPO / "leaderboard" / "reported.csv", lb / "reported.csv")
    path = lb / "results" / "synthetic-streets" / V1_RECORDS[0].name
    rec = json.loads(V1_RECORDS[0].read_text())
    _set(rec, "schema", schema)
    path.write_text(json.dumps(rec))
    assert main(["leaderboard", "--dir", str(lb)]) == 2
    err = capsys.readouterr().err.strip()
    shown = None if schema is KeyError else schema
    assert err.startswith(f"error: {path}: result schema {shown!r} is not one this version of cgan-bench reads (it "
                          "reads cgan-bench/result/1, cgan-bench/result/2); "), err
    assert len(err.splitlines()) == 1


def test_a_json_file_that_is_no_record_says_so(tmp_path):
    (tmp_path / "results" / "x").mkdir(parents=True)
    (tmp_path / "results" / "x" / "notes.json").write_text('{"comment": "mine"}')
    with pytest.raises(BenchError, match=r"notes\.json: not a result record \(missing dataset, details, "):
        load_records(tmp_path / "results")
    (tmp_path / "results" / "x" / "notes.json").write_text("[1, 2]")
    with pytest.raises(BenchError, match=r"notes\.json: not a result record \(missing dataset"):
        load_records(tmp_path / "results")


# --- a run folder's evaluation.json -----------------------------------------------------------------------------

@pytest.mark.parametrize("edit, needle", [
    (lambda r: r["metrics"].update(psnr="12"), "metrics.psnr must be a number, got '12'"),
    (lambda r: r["inputs"]["fake"].pop("content_sha256"), "inputs.fake.content_sha256 is missing"),
    (lambda r: r.update(schema="cgan-bench/eval-record/9"), "evaluation schema 'cgan-bench/eval-record/9' is not"),
    (lambda r: r.pop("fingerprint"), "fingerprint is missing"),
])
def test_an_invalid_evaluation_is_redone_with_a_warning(eval_record, tmp_path, capsys, edit, needle):
    from bench.runner import _read_evaluation

    path, rec = eval_record
    assert _read_evaluation(path) == rec  # the valid one is reused
    edit(rec)
    path.write_text(json.dumps(rec))
    assert _read_evaluation(path) is None
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"warning: {path} is damaged; evaluating again ({needle}") and "\n" not in err, err


# --- a real `bench run` -----------------------------------------------------------------------------------------

def test_bench_run_writes_a_valid_v2_record(tmp_path, capsys):
    assert main(["run", "--method", "oracle", "--metrics", "psnr", "--limit", "2", "--results", str(tmp_path / "lb"),
                 "--out", str(tmp_path / "run")]) == 0
    (path,) = (tmp_path / "lb" / "results").glob("*/*.json")
    rec = json.loads(path.read_text())
    assert rec["schema"] == SCHEMA and rec["dataset"]["task"] == "semantic"
    assert read_result(path, rec) == rec
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert eval_record_problem(evaluation) is None
    assert {k: rec[k] for k in fields(Evaluation) if k in rec} == {k: evaluation[k] for k in fields(Evaluation)
                                                                  if k in evaluation}
    assert rec["grid"] == path.with_suffix(".png").name and (path.with_suffix(".png")).is_file()
    (row,) = load_records(tmp_path / "lb" / "results")  # and the leaderboard reads what `bench run` wrote
    assert row["_file"] == f"results/synthetic-streets/{path.name}"
