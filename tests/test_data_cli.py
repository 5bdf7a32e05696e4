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


def test_verify_full_ade20k_gives_the_loaders_hint(tmp_path):
    # the full ADE20K release: images and RGB *_seg.png side by side, no annotations/ folder
    root = tmp_path / "ADE20K_2021_17_01"
    leaf = root / "images" / "ADE" / "validation" / "urban" / "street"
    leaf.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(leaf / "ADE_val_00000001.jpg")
    Image.fromarray(np.full((8, 8, 3), 40, np.uint8)).save(leaf / "ADE_val_00000001_seg.png")
    with pytest.raises(BenchError) as shown:
        run(["data", "show", "--dataset", "ade20k", "--root", str(root), "--out", str(tmp_path / "g.png")])
    for split in ([], ["--split", "val"]):
        with pytest.raises(BenchError) as verified:
            run(["data", "verify", "--dataset", "ade20k", "--root", str(root), *split])
        msg = str(verified.value)
        assert msg == str(shown.value) and "\n" not in msg
        assert "ADE_val_00000001_seg.png is the full ADE20K format" in msg and "ADEChallengeData2016.zip" in msg


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


def test_verify_names_a_half_present_split(capsys, tmp_path):
    """gtFine/val without leftImg8bit/val: a FAIL line naming both folders, never a bare header or a train error."""
    import shutil

    root = make_cityscapes(tmp_path / "cs", "official")
    shutil.rmtree(root / "leftImg8bit")
    assert run(["data", "verify", "--dataset", "cityscapes", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "val: FAIL  0/500" in out and "gtFine/val/ present, leftImg8bit/val/ absent (official layout)" in out
    assert "train" not in out  # no folder of train: skipped, not failed


def test_verify_accepts_pix2pixhd_test_folders_as_val(capsys, tmp_path):
    """pix2pixHD's repository keeps Cityscapes val as test_label/ + test_inst/ (no photos)."""
    import shutil

    root = make_cityscapes(tmp_path / "cs", "pix2pixhd")
    assert sorted(p.name for p in root.iterdir()) == ["test_img", "test_inst", "test_label"]
    assert run(["data", "verify", "--dataset", "cityscapes", "--root", str(root), "--quick"]) == 1  # 3 of 500
    out = capsys.readouterr().out
    assert "val: FAIL  3/500 pairs (pix2pixhd layout)" in out
    shutil.rmtree(root / "test_img")  # as the repository ships it
    assert run(["data", "verify", "--dataset", "cityscapes", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "test_label/, test_inst/ present, test_img/ absent (pix2pixhd layout)" in out
    assert "put the val photos" in out
