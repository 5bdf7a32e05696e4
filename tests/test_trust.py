"""Issue 10: numbers a run must refuse or get right on real-world inputs (each test failed before its fix)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.adapter import Generator, to_uint8
from bench.cli import main
from bench.errors import BenchError
from bench.protocol import Protocol


def _records(lb: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((lb / "results").glob("*/*.json"))]


def _run(tmp_path: Path, *args: str, lb: str = "lb") -> int:
    return main(["run", "--dataset", "synthetic-streets", "--results", str(tmp_path / lb), "--metrics", "psnr",
                 *args])


@pytest.fixture
def streets_copy(tmp_path):
    """A copy of the generated synthetic-streets folder (the real layout a user points --root at)."""
    from bench.data.synthetic import ensure

    dst = tmp_path / "streets"
    shutil.copytree(ensure(), dst)
    return dst


# --- 1. the real-image export follows the data, and a damaged export is never scored -----------------------

def test_a_different_copy_with_the_same_names_is_scored_against_its_own_images(tmp_path, streets_copy):
    other = tmp_path / "streets-swapped"
    shutil.copytree(streets_copy, other)
    a, b = other / "val_img" / "0000.png", other / "val_img" / "0001.png"
    a_bytes = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(a_bytes)
    for root, lb in ((streets_copy, "lb1"), (other, "lb2")):
        assert _run(tmp_path, "--method", "oracle", "--root", str(root), "--limit", "4",
                    "--out", str(tmp_path / f"run-{lb}"), lb=lb) == 0
    first, second = _records(tmp_path / "lb1")[0], _records(tmp_path / "lb2")[0]
    # the oracle returns the copy's own photos: PSNR is the cap (80) on both copies, never a stale export's
    assert first["metrics"]["psnr"] == pytest.approx(80.0)
    assert second["metrics"]["psnr"] == pytest.approx(80.0)


def test_a_tampered_cached_label_is_reexported_not_scored(tmp_path, capsys, monkeypatch):
    from bench.weights import user_cache_dir

    args = ("--method", "label-colouring", "--limit", "4", "--metrics", "miou")
    assert main(["run", "--dataset", "synthetic-streets", "--results", str(tmp_path / "lb1"),
                 "--out", str(tmp_path / "r1"), *args]) == 0
    clean = _records(tmp_path / "lb1")[0]["metrics"]["miou"]
    (label,) = list((user_cache_dir() / "real").glob("*/labels/0000.png"))
    arr = np.asarray(Image.open(label)).copy()
    arr[:] = 0
    Image.fromarray(arr).save(label)
    capsys.readouterr()
    assert main(["run", "--dataset", "synthetic-streets", "--results", str(tmp_path / "lb2"),
                 "--out", str(tmp_path / "r2"), *args]) == 0
    assert "re-exported from the source" in capsys.readouterr().err
    assert _records(tmp_path / "lb2")[0]["metrics"]["miou"] == clean


# --- 2. a partial split is refused unless asked, and N is part of the protocol ------------------------------

def test_a_partial_split_is_refused_with_one_line(tmp_path, streets_copy, capsys):
    for part in ("val_img", "val_label", "val_inst"):
        for p in sorted((streets_copy / part).glob("*.png"))[3:]:
            p.unlink()
    assert _run(tmp_path, "--method", "oracle", "--root", str(streets_copy)) == 2
    err = capsys.readouterr().err.strip()
    assert "3 pair(s) found" in err and "lists 100" in err and "--partial" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "lb" / "results").exists()
    assert _run(tmp_path, "--method", "oracle", "--root", str(streets_copy), "--partial",
                "--out", str(tmp_path / "run")) == 0
    rec = _records(tmp_path / "lb")[0]
    assert rec["protocol"]["partial"] is True and rec["protocol"]["n_conditions"] == 3
    assert rec["dataset"]["partial"] is True


def test_n_and_the_inputs_are_in_the_fingerprint(tmp_path):
    for n in ("3", "4"):
        assert _run(tmp_path, "--method", "label-colouring", "--limit", n, "--out", str(tmp_path / f"r{n}")) == 0
    recs = sorted(_records(tmp_path / "lb"), key=lambda r: r["protocol"]["n_conditions"])
    assert [r["protocol"]["n_conditions"] for r in recs] == [3, 4]
    assert recs[0]["fingerprint"] != recs[1]["fingerprint"]
    p = recs[0]["protocol"]
    assert p["has_instances"] is True and p["label_encoding"] == "index-png" and p["samples_per_condition"] == 1
    assert p["output_quantisation"] == "uint8-round-half-even" and p["partial"] is True  # 3 of 100


def test_every_segmenter_protocol_field_changes_the_fingerprint():
    import dataclasses

    from bench.segmenters import get_segmenter

    def _segmenter_protocol(seg):
        return Protocol.freeze(seg.protocol.as_dict())

    seg = get_segmenter("embedded-synthetic-streets")
    base = Protocol(segmenter=seg.name, segmenter_protocol=_segmenter_protocol(seg))
    assert base.segmenter_protocol is not None
    for change in ({"input_size": (128, 128)}, {"resize": "label-to-prediction"}, {"std": (0.5, 0.5, 0.5)}):
        seg.protocol = dataclasses.replace(seg.protocol, **change)
        other = Protocol(segmenter=seg.name, segmenter_protocol=_segmenter_protocol(seg))
        assert other.fingerprint != base.fingerprint, change


# --- 6. non-finite weights or outputs never become images ---------------------------------------------------

def test_to_uint8_refuses_nan():
    with pytest.raises(BenchError, match="NaN/Inf"):
        to_uint8(torch.tensor([0.0, float("nan")]))
    assert to_uint8(torch.tensor([-1.0, 0.0, 1.0])).tolist() == [0, 128, 255]


def test_a_checkpoint_of_nan_weights_is_refused(tmp_path, capsys):
    from bench.adapter import get_method
    from bench.data import get_dataset
    from bench.adapter import dataset_info

    gen = get_method("pix2pix")(dataset_info(get_dataset("synthetic-streets")), config="mini")
    state = {k: (torch.full_like(v, float("nan")) if v.is_floating_point() else v)
             for k, v in gen.generator_state().items()}
    torch.save(state, tmp_path / "nan.pth")
    code = _run(tmp_path, "--method", "pix2pix", "--config", "mini", "--checkpoint", str(tmp_path / "nan.pth"),
                "--limit", "2")
    err = capsys.readouterr().err
    assert code == 2 and "NaN or Inf" in err, err
    assert not (tmp_path / "lb" / "results").exists()


# --- 7. bench run runs the checks that correctness and resume rely on ----------------------------------------

class SeedIgnoringMultimodal(Generator):
    multimodal = True

    def generate(self, batch, *, seeds):
        return (batch["label"][:, :1].repeat(1, 3, 1, 1) * 20).clamp(0, 255).to(torch.uint8)


class BatchDependent(Generator):
    def generate(self, batch, *, seeds):
        g = torch.Generator().manual_seed(int(seeds[0]))  # one draw for the whole batch
        return torch.randint(0, 256, (len(seeds), 3, *self.info.resolution), dtype=torch.uint8, generator=g)


class ExitsZero(Generator):
    def generate(self, batch, *, seeds):
        raise SystemExit(0)


class BrokenInit(Generator):
    def __init__(self, info, **kw):
        raise RuntimeError("no GPU found")

    def generate(self, batch, *, seeds):  # pragma: no cover
        raise AssertionError


class OnMetaDevice(Generator):
    def generate(self, batch, *, seeds):
        return torch.empty((len(seeds), 3, *self.info.resolution), dtype=torch.uint8, device="meta")


@pytest.mark.parametrize("cls, needle", [
    ("SeedIgnoringMultimodal", "claims multimodal=True but other seeds gave the same images"),
    ("BatchDependent", "batch of 2 != batches of 1"),
    ("ExitsZero", "called sys.exit(0)"),
    ("BrokenInit", "failed to initialise: RuntimeError: no GPU found"),
    ("OnMetaDevice", "returned a tensor on meta, expected one on the CPU"),
])
def test_bench_run_refuses_what_check_adapter_fails(tmp_path, capsys, cls, needle):
    assert _run(tmp_path, "--method", f"test_trust:{cls}", "--limit", "4", "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "lb" / "results").exists()


class FailsLater(Generator):
    def generate(self, batch, *, seeds):
        if any(p.endswith("0003.png") for p in batch["path"]):  # past the two label maps the checks see
            raise ValueError("out of memory")
        return torch.zeros((len(seeds), 3, *self.info.resolution), dtype=torch.uint8)


def test_an_adapter_failing_mid_run_is_one_line(tmp_path, capsys):
    assert _run(tmp_path, "--method", "test_trust:FailsLater", "--limit", "6", "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: method 'test_trust:FailsLater' failed in generate: ValueError: out of memory", err


def test_check_adapter_survives_sys_exit(capsys):
    assert main(["check-adapter", "test_trust:ExitsZero"]) == 1
    assert "called sys.exit(0)" in capsys.readouterr().out


class BrokenSegmenter:
    num_classes = 3

    def __init__(self):
        raise ValueError("weights missing")


def test_a_segmenter_that_fails_to_initialise_is_one_line(folders, tmp_path, capsys):
    real, fake = folders
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--labels", str(real), "--metrics", "miou",
                 "--segmenter", "test_trust:BrokenSegmenter", "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert "segmenter 'test_trust:BrokenSegmenter' failed to initialise: ValueError" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "r.json").exists()


# --- 9. two writers of one record name take turns -------------------------------------------------------------

def test_record_writers_never_delete_each_others_temp_files(tmp_path):
    from bench.locks import folder_lock
    from bench.runner import write_record

    out = tmp_path / "results" / "synthetic-streets"
    rec = out / "oracle-default-seed0-abc-123.json"
    inflight = out / f".{rec.name}.other.tmp"
    started, errors = threading.Event(), []

    def other_writer():  # the same record written by the same run from another --out folder
        try:
            with folder_lock(out):
                inflight.write_text("{}")
                started.set()
                time.sleep(0.5)  # a slow fsync
                inflight.replace(rec)
        except OSError as exc:  # pragma: no cover - the failure this test guards against
            errors.append(exc)

    t = threading.Thread(target=other_writer)
    t.start()
    started.wait(5)
    write_record(rec, {"run": 1}, b"png")
    t.join()
    assert not errors and json.loads(rec.read_text()) == {"run": 1}


# --- 10. a release runs at its training resolution unless asked ---------------------------------------------

class NativeAt128(Generator):
    @classmethod
    def native_resolution(cls, dataset, config):
        return (128, 128)

    def generate(self, batch, *, seeds):
        return torch.zeros((len(seeds), 3, *self.info.resolution), dtype=torch.uint8)


def test_a_release_refuses_another_resolution_unless_asked(tmp_path, capsys):
    assert _run(tmp_path, "--method", "test_trust:NativeAt128", "--limit", "2", "--out", str(tmp_path / "r")) == 2
    err = capsys.readouterr().err
    assert "trained at 128x128" in err and "--any-resolution" in err
    assert _run(tmp_path, "--method", "test_trust:NativeAt128", "--limit", "2", "--any-resolution",
                "--out", str(tmp_path / "r")) == 0
    assert _records(tmp_path / "lb")[0]["method"]["native_resolution"] == [128, 128]


def test_pix2pixhd_release_declares_1024p():
    from bench.adapter import get_method

    assert get_method("pix2pixhd").native_resolution("cityscapes", "paper") == (1024, 2048)
    assert get_method("spade").native_resolution("cityscapes", "paper") == (256, 512)
    assert get_method("spade").native_resolution("synthetic-streets", "mini") is None


# --- run-folder files that are damaged ---------------------------------------------------------------------------

def test_damaged_run_files(tmp_path, capsys):
    args = ("--method", "label-colouring", "--limit", "3", "--out", str(tmp_path / "run"))
    assert _run(tmp_path, *args) == 0
    good = _records(tmp_path / "lb")[0]["metrics"]
    (tmp_path / "run" / "evaluation.json").write_text("{trunc")
    capsys.readouterr()
    assert _run(tmp_path, *args) == 0  # a damaged evaluation is redone, with a warning
    assert "is damaged; evaluating again" in capsys.readouterr().err
    assert _records(tmp_path / "lb")[0]["metrics"] == good
    (tmp_path / "run" / "run.json").write_bytes(b"\x00\xff")
    assert _run(tmp_path, *args) == 2
    err = capsys.readouterr().err.strip()
    assert "run.json: unreadable run description" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("args, needle", [
    (("--limit", "0"), "--limit must be a positive integer, got 0"),
    (("--limit", "-5"), "--limit must be a positive integer, got -5"),
    (("--batch-size", "0"), "--batch-size must be a positive integer, got 0"),
    (("--samples-per-label", "0"), "--samples-per-label must be a positive integer, got 0"),
])
def test_bad_run_numbers_are_one_line_before_any_work(tmp_path, capsys, args, needle):
    assert main(["run", "--method", "oracle", "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "run"),
                 *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "run").exists() and not (tmp_path / "lb").exists()


def test_bad_run_outputs_and_device_are_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    import bench.fileio as fileio

    (tmp_path / "a-file").write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = fileio.os.access
    monkeypatch.setattr(fileio.os, "access", lambda p, mode: Path(p) != locked and real_access(p, mode))
    for args, needle in (
        (("--results", str(tmp_path / "a-file"), "--out", str(tmp_path / "run")), "a-file is a file, not a folder"),
        (("--results", str(tmp_path / "lb"), "--out", str(tmp_path / "a-file" / "run")), "a-file is a file, not a folder"),
        (("--results", str(locked / "lb"), "--out", str(tmp_path / "run")), f"{locked} is not writable"),
        (("--results", str(tmp_path / "lb"), "--out", str(locked / "run")), f"{locked} is not writable"),
        (("--results", str(tmp_path / "lb"), "--out", str(tmp_path / "run"), "--device", "tpu"), "--device tpu: unknown device"),
    ):
        assert main(["run", "--method", "oracle", "--metrics", "psnr", "--limit", "2", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert needle in err and len(err.splitlines()) == 1, (args, err)
        assert not (tmp_path / "run").exists() and not (tmp_path / "lb").exists()


# --- the run folder describes the samples on disk ----------------------------------------------------------------

class DeviceDependent(Generator):
    """Deterministic within one process, but a regenerated sample differs by one grey level (as on another GPU)."""
    offset = 0

    def generate(self, batch, *, seeds):
        base = (batch["label"][:, :1].repeat(1, 3, 1, 1).to(torch.int64) * 20 + 40 + self.offset)
        return base.clamp(0, 255).to(torch.uint8)


def test_a_regenerated_sample_rewrites_the_manifest_and_the_evaluation(tmp_path, capsys, monkeypatch):
    from bench.fileio import sha256_file

    run_dir = tmp_path / "run"
    args = ("--method", "test_trust:DeviceDependent", "--limit", "4", "--out", str(run_dir))
    assert _run(tmp_path, *args) == 0
    first = _records(tmp_path / "lb")[0]["metrics"]["psnr"]
    sample = run_dir / "fake" / "0001.png"
    sample.unlink()
    monkeypatch.setattr(DeviceDependent, "offset", 1)
    capsys.readouterr()
    assert _run(tmp_path, *args) == 0
    err = capsys.readouterr().err
    assert "did not list the samples on disk (1 regenerated); rewritten" in err
    assert "evaluated other samples than those in" in err
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert {e["file"]: e["sha256"] for e in manifest["samples"]}["fake/0001.png"] == sha256_file(sample)
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert evaluation["metrics"]["psnr"] != first
    assert _records(tmp_path / "lb")[0]["metrics"]["psnr"] == evaluation["metrics"]["psnr"]


def test_an_edited_or_stray_sample_is_refused(tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = ("--method", "label-colouring", "--limit", "3", "--out", str(run_dir))
    assert _run(tmp_path, *args) == 0
    sample = run_dir / "fake" / "0001.png"
    original = sample.read_bytes()
    from PIL import Image

    Image.new("RGB", Image.open(sample).size, (1, 2, 3)).save(sample)
    capsys.readouterr()
    assert _run(tmp_path, *args) == 2
    err = capsys.readouterr().err.strip()
    assert "0001.png: differs from the sample this run generated" in err and len(err.splitlines()) == 1, err
    sample.write_bytes(original)
    (run_dir / "fake" / "extra.png").write_bytes(original)
    assert _run(tmp_path, *args) == 2
    err = capsys.readouterr().err.strip()
    assert "1 file(s) that are not samples of this run (first extra.png)" in err, err
