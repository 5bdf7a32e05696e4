"""The harness: adapters, `bench run`, resume after kills, records, concurrent runs, the leaderboard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from bench.adapter import Generator
from bench.cli import main

LIMIT = "24"  # label maps per run: enough for stable FID ordering, small enough for CI


def run_cli(tmp_path, *args):
    return main(["run", "--dataset", "synthetic-streets", "--limit", LIMIT, "--results", str(tmp_path / "lb"), *args])


def records(tmp_path):
    return {p.name: json.loads(p.read_text()) for p in sorted((tmp_path / "lb" / "results").glob("*/*.json"))}


# --- adapters that break the contract, used by name as test_harness:Class ---------------------------------

class WrongShape(Generator):
    def generate(self, batch, *, seeds):
        return torch.zeros((len(seeds), 3, 32, 32), dtype=torch.uint8)


class FloatOutput(Generator):
    def generate(self, batch, *, seeds):
        return torch.rand((len(seeds), 3, *self.info.resolution))


class NaNOutput(Generator):
    def generate(self, batch, *, seeds):
        return torch.full((len(seeds), 3, *self.info.resolution), float("nan"))


class OutOfRange(Generator):
    def generate(self, batch, *, seeds):
        return torch.full((len(seeds), 3, *self.info.resolution), 300.0)


class Unseeded(Generator):
    def generate(self, batch, *, seeds):
        return torch.randint(0, 256, (len(seeds), 3, *self.info.resolution), dtype=torch.uint8)


class BatchDependent(Generator):
    multimodal = True

    def generate(self, batch, *, seeds):
        g = torch.Generator().manual_seed(int(seeds[0]))  # one draw for the whole batch: depends on batching
        return torch.randint(0, 256, (len(seeds), 3, *self.info.resolution), dtype=torch.uint8, generator=g)


@pytest.mark.parametrize("cls, needle", [
    ("WrongShape", "returned shape [4, 3, 32, 32], expected [4, 3, 64, 64]"),
    ("FloatOutput", "returned torch.float32, expected uint8"),
    ("NaNOutput", "with NaN values"),
    ("OutOfRange", "values in [300, 300]"),
    ("Unseeded", "two calls with the same seeds returned different images"),
    ("BatchDependent", "batch of 4 != batches of 1"),
])
def test_check_adapter_reports_each_failure(capsys, cls, needle):
    assert main(["check-adapter", f"test_harness:{cls}"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and needle in out, out


@pytest.mark.parametrize("cls, needle", [
    ("WrongShape", "returned shape [2, 3, 32, 32], expected [2, 3, 64, 64]"),
    ("FloatOutput", "expected uint8"),
    ("NaNOutput", "NaN"),
    ("OutOfRange", "values in [300, 300]"),
    ("Unseeded", "same seeds give the same images"),
])
def test_bench_run_refuses_a_nonconforming_adapter(capsys, tmp_path, cls, needle):
    assert run_cli(tmp_path, "--method", f"test_harness:{cls}", "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "lb" / "results").exists()


@pytest.mark.parametrize("argv, needle", [
    (["run", "--method", "oracel"], "unknown method 'oracel'; did you mean 'oracle'?"),
    (["run", "--method", "oracle", "--dataset", "cityscape"], "unknown dataset 'cityscape'; did you mean 'cityscapes'?"),
    (["run", "--method", "oracle", "--sampels-per-label", "2"], "unrecognized arguments: --sampels-per-label"),
    (["check-adapter", "nope.module:Gen"], "cannot import module 'nope.module'"),
])
def test_unknown_names_and_options_give_one_line(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err


class ArbitraryObject:
    """Unpickling this would run arbitrary code paths: weights_only=True must refuse it."""


def test_a_checkpoint_that_is_not_a_plain_state_dict_is_refused(capsys, tmp_path):
    from bench.adapter import load_state_dict
    from bench.errors import BenchError

    pickled = tmp_path / "pickled.pt"
    torch.save({"w": torch.zeros(2), "cfg": ArbitraryObject()}, pickled)
    truncated = tmp_path / "truncated.pt"
    torch.save({"w": torch.zeros(1000)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:300])
    with pytest.raises(BenchError, match="not a plain state dict"):
        load_state_dict(pickled)
    with pytest.raises(BenchError, match="truncated or not a torch file"):
        load_state_dict(truncated)
    nested = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], nested)
    with pytest.raises(BenchError, match="does not hold a state dict of tensors"):
        load_state_dict(nested)


# --- runs ---------------------------------------------------------------------------------------------------

def test_oracle_and_baseline_rows(tmp_path, capsys):
    assert run_cli(tmp_path, "--method", "oracle", "--out", str(tmp_path / "oracle")) == 0
    capsys.readouterr()
    assert run_cli(tmp_path, "--method", "label-colouring", "--out", str(tmp_path / "base")) == 0
    recs = {r["method"]["name"]: r for r in records(tmp_path).values()}
    oracle, base = recs["oracle"]["metrics"], recs["label-colouring"]["metrics"]
    # `bench run` ends with its leaderboard row: the table header and this method's row, with its FID
    out = capsys.readouterr().out.splitlines()
    head = out.index(next(ln for ln in out if ln.startswith("| method | config | seeds | N | FID")))
    assert out[head + 1].startswith("|---|")
    cells = [c.strip() for c in out[head + 2].split("|")]
    assert cells[1:5] == ["label-colouring", "-", "1", f"{LIMIT} (partial)"]  # 24 of the 100 val maps
    assert float(cells[5]) == pytest.approx(base["fid"], abs=0.006)
    assert abs(oracle["fid"]) < 1e-6
    lower_better, higher_better = ["fid", "kid"], ["psnr", "ssim", "miou", "pixel_acc"]
    for m in lower_better:
        assert base[m] > oracle[m] + 1e-3, m
    for m in higher_better:
        if m in oracle:
            assert base[m] < oracle[m] - 1e-3, m
    # the oracle's mIoU is the segmenter's own score on the real images, computed here without the harness
    from bench.data import collate, get_dataset
    from bench.metrics.miou import SegmentationScore
    from bench.segmenters import get_segmenter

    ds = get_dataset("synthetic-streets")
    seg = get_segmenter("embedded-synthetic-streets")
    batch = collate([ds[i] for i in range(int(LIMIT))])
    own = SegmentationScore(seg.num_classes, ds.ignore_index)
    own.update(seg(batch["image"]).numpy(), ds.to_segmenter(batch["label"][:, 0]).numpy())
    assert oracle["miou"] == pytest.approx(own.compute()["miou"], rel=1e-12)
    rec = recs["oracle"]
    assert rec["fingerprint"] == recs["label-colouring"]["fingerprint"]
    assert rec["dataset"]["card"] == "synthetic-streets@1" and rec["n_real"] == int(LIMIT)
    assert rec["protocol"]["dataset"] == "synthetic-streets@1" and rec["versions"]["torch"]
    assert (tmp_path / "lb" / "results" / "synthetic-streets" / rec["grid"]).is_file()
    # both rows in the regenerated leaderboard, and --check is then clean
    (tmp_path / "lb" / "reported.csv").write_text(Path("leaderboard/reported.csv").read_text()
                                                  if Path("leaderboard/reported.csv").exists() else
                                                  (Path(__file__).parents[1] / "leaderboard/reported.csv").read_text())
    assert main(["leaderboard", "--dir", str(tmp_path / "lb")]) == 0
    table = (tmp_path / "lb" / "synthetic-streets.md").read_text()
    assert "| oracle |" in table and "| label-colouring |" in table
    assert main(["leaderboard", "--dir", str(tmp_path / "lb"), "--check"]) == 0
    (tmp_path / "lb" / "synthetic-streets.md").write_text(table + "edited\n")
    assert main(["leaderboard", "--dir", str(tmp_path / "lb"), "--check"]) == 1


def test_a_reference_model_without_weights_is_refused(tmp_path, capsys):
    """Untrained weights never reach a record: one line asking for --checkpoint or --train, nothing written."""
    assert run_cli(tmp_path, "--method", "spade", "--config", "mini", "--out", str(tmp_path / "r")) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: spade (config 'mini') has no trained weights: pass --checkpoint FILE or --train"
    assert not (tmp_path / "lb").exists() and not (tmp_path / "r").exists()


def test_the_registered_release_is_the_default_checkpoint(tmp_path, monkeypatch):
    """pix2pix `paper` on facades defaults to the authors' release through the weight resolver; SPADE's (no direct
    link) asks for --checkpoint and names the release."""
    from bench.errors import BenchError, WeightsUnavailable
    from reference_models.pix2pix import Pix2Pix
    from reference_models.spade import SPADEMethod

    monkeypatch.setenv("BENCH_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable, match="facades_label2photo.pth"):
        Pix2Pix.default_checkpoint("facades", "paper")
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "facades_label2photo.pth").write_bytes(b"stand-in")  # unpinned: any file of that name
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(tmp_path / "w"))
    assert Pix2Pix.default_checkpoint("facades", "paper") == str(tmp_path / "w" / "facades_label2photo.pth")
    with pytest.raises(BenchError, match=r"has no trained weights: .*release for cityscapes: https://drive\.google"):
        SPADEMethod.default_checkpoint("cityscapes", "paper")
    # a release belongs to its own config and dataset: never offered for another pairing
    with pytest.raises(BenchError) as exc:
        Pix2Pix.default_checkpoint("cityscapes", "paper-facades")
    assert str(exc.value) == "pix2pix (config 'paper-facades') has no trained weights: pass --checkpoint FILE or --train"
    with pytest.raises(BenchError) as exc:
        SPADEMethod.default_checkpoint("ade20k", "paper-cityscapes")
    assert "release" not in str(exc.value)


def test_run_with_train_records_the_training(tmp_path, capsys):
    """`bench run --train`: trains into <out>/train-..., evaluates those weights, and the record carries the training
    record (steps, VGG status, speed); the same command again reuses the finished training and run."""
    args = ("--method", "spade", "--config", "mini", "--train", "--train-steps", "2", "--out", str(tmp_path / "r"))
    assert run_cli(tmp_path, *args) == 0
    (rec,) = records(tmp_path).values()
    train_dir = tmp_path / "r" / "train-spade-mini-synthetic-streets-seed0"
    assert rec["method"]["trained"] and rec["method"]["checkpoint"] == str(train_dir / "generator.pth")
    t = rec["method"]["training"]
    assert t["step"] == t["steps_total"] == 2 and t["complete"] and t["seed"] == 0
    assert t["vgg_loss"].startswith("disabled: VGG19 weights unavailable")  # offline: the record says so
    assert rec["timings"]["train_s"] > 0 and 0 < rec["metrics"]["fid"]
    stamp = (train_dir / "generator.pth").stat().st_mtime_ns
    capsys.readouterr()
    assert run_cli(tmp_path, *args) == 0
    assert (train_dir / "generator.pth").stat().st_mtime_ns == stamp  # not retrained
    (again,) = records(tmp_path).values()
    assert again["metrics"] == rec["metrics"]
    assert again["method"]["training"] == t and t["images_per_second"] > 0  # the record of the real training


def test_a_foreign_file_in_results_is_named(tmp_path, capsys):
    """A JSON file that is not a record: `bench leaderboard` names it in one line; `bench run` still finishes its
    record and says why it prints no row."""
    results = tmp_path / "lb" / "results" / "synthetic-streets"
    results.mkdir(parents=True)
    (results / "notes.json").write_text('{"comment": "mine"}')
    (tmp_path / "lb" / "reported.csv").write_text((Path(__file__).parents[1] / "leaderboard/reported.csv").read_text())
    assert main(["leaderboard", "--dir", str(tmp_path / "lb")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {results / 'notes.json'}: not a result record (missing dataset") and "\n" not in err
    assert run_cli(tmp_path, "--method", "label-colouring", "--limit", "4", "--out", str(tmp_path / "r")) == 0
    out = capsys.readouterr().out
    assert "(no leaderboard row: BenchError: " in out and "notes.json" in out
    assert len(list(results.glob("label-colouring-*.json"))) == 1  # the record itself was written


def _bench(tmp_path, out, *extra, env_extra=None, preamble=""):
    """A `bench run` in a fresh process; ``preamble`` is Python run before the CLI (fault injection)."""
    code = preamble + "\nimport sys\nfrom bench.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.Popen(
        [sys.executable, "-c", code, "run", "--method", "label-colouring", "--dataset", "synthetic-streets",
         "--limit", "12", "--samples-per-label", "2", "--metrics", "fid,psnr,msssim_diversity",
         "--results", str(tmp_path / "lb"), "--out", str(out), *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent)


CRASH_AFTER_PNGS = """
import os, bench.runner as r
_orig, _n = r._atomic_png, [0]
def crash(path, array):
    _n[0] += 1
    if _n[0] == 7:  # die half-way through writing a sample, like kill -9 would
        path.parent.mkdir(parents=True, exist_ok=True)
        open(path.parent / ('.' + path.name + '.x.tmp'), 'wb').write(b'partial')
        os._exit(137)
    _orig(path, array)
r._atomic_png = crash
"""
CRASH_IN_EVALUATION = """
import os, bench.features as f
_orig, _n = f.InceptionFeatures.__call__, [0]
def crash(self, x):
    _n[0] += 1
    if _n[0] == 3:
        os._exit(137)
    return _orig(self, x)
f.InceptionFeatures.__call__ = crash
"""
CRASH_WRITING_RECORD = """
import os, bench.fileio as e
_orig = e.atomic_write_bytes
def crash(path, data):
    if path.suffix == '.json' and 'results' in path.parts:
        tmp = path.parent / ('.' + path.name + '.x.tmp')
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data[: len(data) // 2])
        os._exit(137)
    _orig(path, data)
e.atomic_write_bytes = crash
"""


def _partials(root: Path):
    return sorted(p for p in root.rglob("*") if p.name.endswith(".tmp"))


def test_resume_after_kills_gives_the_uninterrupted_result(tmp_path):
    ref = _bench(tmp_path, tmp_path / "reference")
    assert ref.wait(timeout=600) == 0, ref.stderr.read()
    expected = {n: r for n, r in records(tmp_path).items()}
    (rec_name, reference), = expected.items()

    for i, preamble in enumerate([CRASH_AFTER_PNGS, CRASH_IN_EVALUATION, CRASH_WRITING_RECORD]):
        lb = tmp_path / "lb" / "results" / "synthetic-streets"
        for f in lb.glob("*"):
            f.unlink()
        out = tmp_path / f"run{i}"
        p = _bench(tmp_path, out, preamble=preamble)
        assert p.wait(timeout=600) == 137, p.stderr.read()
        assert not (lb / rec_name).exists()
        q = _bench(tmp_path, out)
        assert q.wait(timeout=600) == 0, q.stderr.read()
        got = json.loads((lb / rec_name).read_text())
        assert got["metrics"] == reference["metrics"], (i, got["metrics"], reference["metrics"])
        assert got["run_id"] == reference["run_id"]
        assert _partials(out) == [] and _partials(tmp_path / "lb") == []

    # A real SIGKILL in the middle of generation.
    out = tmp_path / "sigkill"
    p = _bench(tmp_path, out, "--batch-size", "2")
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "fake").rglob("*.png"))) < 6:
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    done_before = {f: f.stat().st_mtime_ns for f in (out / "fake").rglob("*.png")}
    q = _bench(tmp_path, out)
    assert q.wait(timeout=600) == 0, q.stderr.read()
    assert json.loads((tmp_path / "lb" / "results" / "synthetic-streets" / rec_name).read_text())["metrics"] == reference["metrics"]
    assert all(f.stat().st_mtime_ns == t for f, t in done_before.items()), "finished samples were regenerated"
    assert _partials(out) == []


def test_two_runs_into_one_results_folder_at_once_both_end_intact(tmp_path):
    a = _bench(tmp_path, tmp_path / "a")
    b = _bench(tmp_path, tmp_path / "b", "--seed", "1")
    assert a.wait(timeout=600) == 0, a.stderr.read()
    assert b.wait(timeout=600) == 0, b.stderr.read()
    recs = records(tmp_path)
    assert sorted(r["seeds"]["run"] for r in recs.values()) == [0, 1]
    assert all(r["metrics"]["fid"] > 0 for r in recs.values())


def test_a_run_directory_in_use_is_refused(tmp_path):
    from bench.errors import BenchError
    from bench.locks import DirLock

    lock = DirLock(tmp_path / "run")
    try:
        with pytest.raises(BenchError, match=r"run directory .*run is in use by another process"):
            DirLock(tmp_path / "run")
    finally:
        lock.release()
    DirLock(tmp_path / "run").release()  # free again once released


# --- leaderboard golden files ---------------------------------------------------------------------------------

GOLDEN = Path(__file__).parent / "fixtures" / "leaderboard"


def _render_fixture(shuffle: bool = False):
    import random

    from bench.leaderboard import load_records, load_reported, render

    recs = load_records(GOLDEN / "results")
    if shuffle:
        random.Random(0).shuffle(recs)
    return render(recs, load_reported(GOLDEN / "reported.csv"))


def test_leaderboard_is_regenerated_byte_identically_from_the_same_records():
    files = _render_fixture()
    assert files == _render_fixture(shuffle=True)
    if os.environ.get("BENCH_UPDATE_GOLDEN") == "1":  # after an intended format change; review the diff
        for name, text in files.items():
            (GOLDEN / "expected" / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / "expected" / name).write_text(text)
    expected = {p.name: p.read_text() for p in (GOLDEN / "expected").glob("*.md")}
    assert files == expected


def test_leaderboard_groups_by_fingerprint_marks_best_and_keeps_reported_apart():
    md = _render_fixture()["synthetic-streets.md"]
    assert "measured under 2 different protocols" in md
    assert md.index("## Protocol `aaaaaaaaaaaa`") < md.index("## Protocol `bbbbbbbbbbbb`")
    # seed 1 has two records (a rerun): one seed, so 2 seeds and the std over seeds 0 and 1 only
    spade = next(line for line in md.splitlines() if line.startswith("| spade | mini | 2 | 100 |"))
    assert "125.50 ± 7.07" in spade  # mean +- sample std over the two seeds
    assert "| spade | mini | 1 | 24 (partial) |" in md  # N is shown, and a partial split says so
    oracle = next(line for line in md.splitlines() if line.startswith("| oracle |"))
    assert oracle.startswith("| oracle | - | 1 | 100 | **0.00** |")  # FID -1e-9 is shown as 0.00, never -0.00
    city = _render_fixture()["cityscapes.md"]
    # the record says "spade" (what `bench run` writes), reported.csv "SPADE": they meet on the canonical key
    assert "| spade | paper | 1 | 500 | 60.10 | 60.0 | 80.0 | 71.8 | 62.3 | 81.9 |" in city
    assert "## Reported in papers (their protocols; not ranked)" in city


@pytest.mark.parametrize("edit, needle", [
    (lambda b: b.replace(b"Koltun", b"Kolt\xfcn"), "reported.csv: line 2 is not valid UTF-8 (byte 0xfc)"),
    (lambda b: b.replace(b",104.7,", b",104.7x,"), "reported.csv: row 2, column fid: '104.7x' is not a number"),
    (lambda b: b.replace(b",52.4,", b",nan,"), "reported.csv: row 2, column miou: 'nan' is not a number"),
])
def test_a_bad_reported_csv_is_one_line(tmp_path, capsys, edit, needle):
    import shutil

    lb = tmp_path / "lb"
    shutil.copytree(GOLDEN / "results", lb / "results")
    csv_bytes = (Path(__file__).parents[1] / "leaderboard" / "reported.csv").read_bytes()
    assert b"Koltun" in csv_bytes and b",104.7," in csv_bytes and b",52.4," in csv_bytes  # the edits apply to row 2
    (lb / "reported.csv").write_bytes(edit(csv_bytes))
    assert main(["leaderboard", "--dir", str(lb)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err
    assert not list(lb.glob("*.md")), "nothing is written from a bad input"


@pytest.mark.parametrize("seed", ["1", 1.5, None, True])
def test_a_record_with_a_non_integer_seed_is_one_line(tmp_path, capsys, seed):
    import shutil

    lb = tmp_path / "lb"
    shutil.copytree(GOLDEN / "results", lb / "results")
    shutil.copy(GOLDEN / "reported.csv", lb / "reported.csv")
    path = sorted((lb / "results").glob("*/*.json"))[0]
    rec = json.loads(path.read_text())
    rec["seeds"]["run"] = seed
    path.write_text(json.dumps(rec))
    assert main(["leaderboard", "--dir", str(lb)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path.name}: seeds.run must be an integer, got {seed!r}" in err and len(err.splitlines()) == 1, err


def test_the_readme_adapter_example_conforms(tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    code = readme.split("# mypkg/gen.py\n")[1].split("```")[0]
    (tmp_path / "readme_example_pkg.py").write_text(code.replace('"my-gan"', '"readme-example-gan"'))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["check-adapter", "readme_example_pkg:MyGAN"]) == 0
    assert "conforms" in capsys.readouterr().out


def test_munit_diversity_protocol_generates_38_samples_and_scores_19_pairs(tmp_path, capsys):
    assert main(["run", "--method", "label-colouring", "--limit", "2", "--diversity-protocol", "munit",
                 "--metrics", "msssim_diversity", "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "r")]) == 0
    (rec,) = records(tmp_path).values()
    p = rec["protocol"]
    assert (p["samples_per_condition"], p["diversity_pairing"], p["diversity_pairs"]) == (38, "disjoint", 19)
    assert rec["seeds"]["samples_per_label"] == 38
    assert sorted(int(f.stem) for f in (tmp_path / "r" / "fake").glob("*/*.png"))[-1] == 37
    assert rec["metrics"]["msssim_diversity"] == pytest.approx(1.0)  # a deterministic method: identical samples
    capsys.readouterr()
    assert main(["run", "--method", "label-colouring", "--limit", "2", "--diversity-protocol", "munit",
                 "--samples-per-label", "5", "--results", str(tmp_path / "lb2"), "--out", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err
    assert "--diversity-protocol munit generates 38 samples per label map; drop --samples-per-label 5" in err
    assert not (tmp_path / "r2").exists()
    # the same 38 samples under the default protocol, in the same run folder: the samples are reused, the munit
    # evaluation is not (it was made with other options), so the record is the default protocol's
    assert main(["run", "--method", "label-colouring", "--limit", "2", "--samples-per-label", "38",
                 "--metrics", "msssim_diversity", "--results", str(tmp_path / "lb3"), "--out", str(tmp_path / "r")]) == 0
    assert "made with other evaluation options" in capsys.readouterr().err
    (rec3,) = [json.loads(f.read_text()) for f in (tmp_path / "lb3" / "results").glob("*/*.json")]
    assert "diversity_pairing" not in rec3["protocol"] and rec3["protocol"]["diversity_pairs"] == 10
    assert rec3["fingerprint"] != rec["fingerprint"]
