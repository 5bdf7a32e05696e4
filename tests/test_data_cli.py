"""``bench data verify`` / ``bench data show`` through their argparse wiring."""

from __future__ import annotations


import numpy as np
import pytest
from PIL import Image

from bench.data.cli import add_data_parser, cmd_data
from bench.errors import BenchError
from test_data_loaders import COCO, make_cityscapes, make_facades, need


def run(argv: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="bench")
    add_data_parser(p.add_subparsers(dest="command", required=True))
    return cmd_data(p.parse_args(argv))


def test_list(capsys):
    assert run(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "cityscapes@1" in out and "synthetic-streets@1" in out


def test_verify_synthetic_ok_then_tampered(capsys, tmp_path):
    assert run(["data", "verify", "--dataset", "synthetic-streets"]) == 0
    out = capsys.readouterr().out
    assert "val: OK  100/100" in out and "train: OK  400/400" in out
    from bench.data.synthetic import cache_dir

    root = cache_dir(0, (64, 64))
    p = root / "val_img" / "0007.png"
    a = np.asarray(Image.open(p)).copy()
    a[0, 0] ^= 1
    Image.fromarray(a).save(p)
    (root / "val_label" / "0009.png").unlink()
    import shutil

    for sub in ("img", "label", "inst"):  # a complete extra pair the manifest does not list
        shutil.copy(root / f"val_{sub}" / "0000.png", root / f"val_{sub}" / "0100.png")
    assert run(["data", "verify", "--dataset", "synthetic-streets", "--root", str(root), "--split", "val"]) == 1
    out = capsys.readouterr().out
    assert "wrong hash: " in out and "0007.png" in out
    assert "missing partner: " in out and "0009.png: no label partner" in out
    assert "extra: " in out and "0100.png: not in val-64x64.manifest.json" in out


def test_verify_cityscapes_counts_and_ids(capsys, tmp_path):
    root = make_cityscapes(tmp_path / "cs", "official")
    lab = np.zeros((64, 128), np.uint8)
    lab[3, 3] = 77
    Image.fromarray(lab).save(root / "gtFine" / "val" / "lindau" / "lindau_000000_000019_gtFine_labelIds.png")
    assert run(["data", "verify", "--dataset", "cityscapes", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "val: FAIL  3/500 pairs (official layout)" in out
    assert "497 of the 500 published val pairs" in out
    assert "city frankfurt: 2 pairs, published 267" in out
    assert "wrong size" in out and "manifest says 2048x1024" in out
    assert "label id 77 is not in the cityscapes card" in out
    assert "  train:" not in out  # absent splits are skipped


def test_verify_facades_file_list(capsys, tmp_path):
    root = make_facades(tmp_path / "facades", split="test", n=106)
    assert run(["data", "verify", "--dataset", "facades", "--root", str(root), "--quick"]) == 0
    assert "test: OK  106/106" in capsys.readouterr().out


def test_verify_missing_root_is_one_line(tmp_path):
    with pytest.raises(BenchError) as e:
        run(["data", "verify", "--dataset", "cityscapes", "--root", str(tmp_path / "none")])
    assert "does not exist" in str(e.value) and "\n" not in str(e.value)


def test_show_writes_grid(tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert run(["data", "show", "--dataset", "coco-stuff", "--root", str(need(COCO)), "-n", "2",
                "--out", str(out)]) == 0
    im = np.asarray(Image.open(out))
    assert im.shape == (2 * 256 + 2, 3 * 256 + 4, 3)
    out2 = tmp_path / "syn.png"
    assert run(["data", "show", "--dataset", "synthetic-streets", "--out", str(out2)]) == 0
    assert np.asarray(Image.open(out2)).shape == (4 * 64 + 6, 3 * 64 + 4, 3)
    assert "wrote" in capsys.readouterr().out
