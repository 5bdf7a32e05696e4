"""Bad input: one clear line naming the file or value, a non-zero exit, nothing written."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.cli import main
from conftest import smooth_images, write_folder


def run(capsys, tmp_path, real, fake, *extra):
    out = tmp_path / "result.json"
    code = main(["eval", "--real", str(real), "--fake", str(fake), "--metrics", "fid", "--out", str(out), *extra])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert not out.exists(), "a failed evaluation must not write a result"
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


@pytest.fixture
def good(tmp_path):
    return write_folder(tmp_path / "real", smooth_images(4)), write_folder(tmp_path / "fake", smooth_images(4, seed=9))


def test_zero_byte_file(capsys, tmp_path, good):
    real, fake = good
    (fake / "0002.png").write_bytes(b"")
    assert "0002.png: empty file" in run(capsys, tmp_path, real, fake)


def test_unreadable_file(capsys, tmp_path, good):
    real, fake = good
    (fake / "0001.png").write_bytes(b"this is not a png at all")
    assert "0001.png: not a readable image" in run(capsys, tmp_path, real, fake)


def test_truncated_file(capsys, tmp_path, good):
    real, fake = good
    data = (fake / "0003.png").read_bytes()
    (fake / "0003.png").write_bytes(data[: len(data) // 2])
    assert "0003.png: cannot decode image" in run(capsys, tmp_path, real, fake)


def test_fewer_than_two_images(capsys, tmp_path, good):
    real, _ = good
    fake = write_folder(tmp_path / "one", smooth_images(1))
    assert "holds 1 image(s); at least 2" in run(capsys, tmp_path, real, fake)


def test_missing_folder(capsys, tmp_path, good):
    real, _ = good
    assert "does not exist" in run(capsys, tmp_path, real, tmp_path / "nope")


def test_mixed_sizes(capsys, tmp_path, good):
    real, fake = good
    Image.fromarray(smooth_images(1, size=32)[0]).save(fake / "0004.png")
    assert "0004.png: size 32x32 differs from 64x64" in run(capsys, tmp_path, real, fake)


@pytest.mark.parametrize("mode", ["RGBA", "L"])
def test_rgba_and_grayscale_files_are_refused(capsys, tmp_path, good, mode):
    real, fake = good
    Image.fromarray(smooth_images(1)[0]).convert(mode).save(fake / "0000.png")
    assert f"0000.png: image mode {mode}, expected 8-bit RGB" in run(capsys, tmp_path, real, fake)


def test_nan_features_name_the_file(capsys, tmp_path, good, monkeypatch):
    from bench import features

    real, fake = good
    original = features.InceptionFeatures.__call__

    def poisoned(self, x):
        out = original(self, x)
        out[-1, 5] = float("inf")
        return out

    monkeypatch.setattr(features.InceptionFeatures, "__call__", poisoned)
    err = run(capsys, tmp_path, real, fake, "--batch-size", "2")
    assert "0001.png: Inception features contain NaN or Inf" in err


class FourClassSegmenter:
    """A fixed fake segmenter: class = which quarter of 0..255 the red channel falls in."""

    num_classes = 4

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return images[:, 0].long() // 64


def test_label_id_outside_the_range(capsys, tmp_path, good):
    real, fake = good
    labels = tmp_path / "labels"
    labels.mkdir()
    for i in range(4):
        lab = np.zeros((64, 64), np.uint8)
        lab[0, i] = 9 if i == 2 else 1
        Image.fromarray(lab).save(labels / f"{i:04d}.png")
    out = tmp_path / "result.json"
    code = main(["eval", "--real", str(real), "--fake", str(fake), "--labels", str(labels), "--metrics", "miou",
                 "--segmenter", "test_bad_input:FourClassSegmenter", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and not out.exists()
    assert "0002.png: label id 9 is outside 0..3" in err and len(err.splitlines()) == 1


def test_miou_with_a_fixed_fake_segmenter(tmp_path, good):
    """End to end: segmenter(fake) against label maps equals the confusion computed by hand."""
    from bench.evaluate import EvalOptions, evaluate_folders

    real, fake = good
    labels = tmp_path / "labels"
    labels.mkdir()
    rng = np.random.default_rng(0)
    preds, targets = [], []
    for i, f in enumerate(sorted(fake.glob("*.png"))):
        img = np.asarray(Image.open(f))
        pred = img[:, :, 0].astype(np.int64) // 64
        lab = np.where(rng.random(pred.shape) < 0.7, pred, rng.integers(0, 4, pred.shape)).astype(np.uint8)
        lab[:3] = 255
        Image.fromarray(lab).save(labels / f"{i:04d}.png")
        preds.append(pred)
        targets.append(lab)
    rec = evaluate_folders(real, fake, labels, EvalOptions(metrics=("miou",), segmenter="test_bad_input:FourClassSegmenter",
                                                          progress=False))
    p, t = np.concatenate([x.ravel() for x in preds]), np.concatenate([x.ravel() for x in targets])
    keep = t != 255
    ious = [((p == c) & (t == c) & keep).sum() / (((p == c) | (t == c)) & keep).sum() for c in range(4)]
    assert rec["metrics"]["miou"] == pytest.approx(np.mean(ious), rel=1e-12)
    assert rec["metrics"]["pixel_acc"] == pytest.approx((p == t)[keep].mean(), rel=1e-12)


# --- files that would be silently misread, and options that would give NaN or a traceback after the work -------

def _png(path, width, height, bit_depth, payload=b"\0"):
    """A minimal RGB PNG with any header (to declare sizes or depths PIL's writer will not produce)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(payload))
                     + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_refused_from_its_header(capsys, tmp_path, good):
    real, fake = good
    _png(fake / "0001.png", 30000, 30000, 8)
    assert "0001.png: refused, its header declares more pixels than PIL's safety limit" in run(capsys, tmp_path, real, fake)


def test_a_16_bit_rgb_png_is_refused_not_cut_to_8_bits(capsys, tmp_path, good):
    real, fake = good
    rows = np.random.default_rng(0).integers(0, 65536, (64, 64, 3)).astype(">u2")
    _png(fake / "0001.png", 64, 64, 16, b"".join(b"\0" + rows[y].tobytes() for y in range(64)))
    assert Image.open(fake / "0001.png").mode == "RGB"  # what PIL reports: the reason the check reads the raw mode
    assert "0001.png: 16 bits per channel, expected 8-bit RGB" in run(capsys, tmp_path, real, fake)


def test_a_dangling_symlink_is_refused_not_skipped(capsys, tmp_path, good):
    real, fake = good
    (fake / "0001.png").unlink()
    (fake / "0001.png").symlink_to(tmp_path / "gone.png")
    assert "0001.png: broken symbolic link" in run(capsys, tmp_path, real, fake)


def test_two_files_of_one_name_are_refused(capsys, tmp_path, good):
    real, fake = good
    Image.open(fake / "0001.png").save(fake / "0001.jpg")
    assert "0001.jpg and 0001.png share the name '0001'" in run(capsys, tmp_path, real, fake)


def test_a_file_name_that_is_not_utf8_is_refused(capsys, tmp_path, good):
    import os

    real, fake = good
    os.rename(fake / "0001.png", os.fsencode(fake) + b"/caf\xe9.png")  # Latin-1, as old archives carry them
    assert "the file name b'caf\\xe9.png' is not valid UTF-8" in run(capsys, tmp_path, real, fake)


@pytest.mark.parametrize("extra, needle", [
    (("--metrics", ","), "argument --metrics: ',' names no metric"),
    (("--metrics", "kid", "--kid-subsets", "0"), "--kid-subsets must be a positive integer, got 0"),
    (("--metrics", "kid", "--kid-subset-size", "-3"), "--kid-subset-size must be a positive integer, got -3"),
    (("--batch-size", "0"), "batch size must be >= 1, got 0"),
    (("--device", "tpu"), "--device tpu: unknown device; use cpu, cuda, cuda:N, mps or auto"),
    (("--seed", "-1"), "--seed must be an integer from 0 to 4294967295, got -1"),
])
def test_bad_options_are_one_line(capsys, tmp_path, good, extra, needle):
    real, fake = good
    assert needle in run(capsys, tmp_path, real, fake, *extra)


def _eval_to(out, real, fake):
    return main(["eval", "--real", str(real), "--fake", str(fake), "--metrics", "psnr", "--out", str(out)])


def test_an_out_that_is_a_folder_or_under_a_file_is_refused_before_the_work(capsys, tmp_path, good, monkeypatch):
    import bench.evaluate as ev

    def never(*a, **k):
        raise AssertionError("the evaluation ran before the output path was checked")

    monkeypatch.setattr(ev, "evaluate_folders", never)
    real, fake = good
    (tmp_path / "a-file").write_text("x")
    for out, needle in ((tmp_path, "is a folder; give a file name"),
                        (tmp_path / "a-file" / "r.json", "a-file is a file, not a folder")):
        assert _eval_to(out, real, fake) == 2
        err = capsys.readouterr().err.strip()
        assert needle in err and len(err.splitlines()) == 1, err


def test_a_read_only_out_folder_is_refused_before_the_work(capsys, tmp_path, good, monkeypatch):
    import bench.fileio as fileio

    real, fake = good
    locked = tmp_path / "locked"
    locked.mkdir()
    # tests may run as root, for whom every folder is writable: the check asks os.access, so ask it to say no
    real_access = fileio.os.access
    monkeypatch.setattr(fileio.os, "access", lambda p, mode: Path(p) != locked and real_access(p, mode))
    assert _eval_to(locked / "r.json", real, fake) == 2
    err = capsys.readouterr().err.strip()
    assert f"--out {locked / 'r.json'}: {locked} is not writable" in err and len(err.splitlines()) == 1
