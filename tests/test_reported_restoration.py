"""The restoration tracks' published numbers in leaderboard/reported.csv (issue 12): the rows parse, cite a table and
say their protocol, each number sits in its own column (Y-channel PSNR/SSIM of super-resolution papers under psnr_y /
ssim_y, never the RGB psnr), and the leaderboard renders them in the "reported" columns."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.leaderboard import (REPORTED_RESTORATION, load_records, load_reported, render, reported_numbers,
                               reported_or_empty)

REPO = Path(__file__).resolve().parents[1]
REPORTED = REPO / "leaderboard" / "reported.csv"
FIXTURE = REPO / "tests" / "fixtures" / "leaderboard" / "results" / "cityscapes" / "spade-paper-seed0-cccccccccccc.json"
SR_SETS = ("set5", "set14", "bsd100", "urban100")

# Transcribed from the papers (the source the CSV must agree with), as (PSNR-Y dB, SSIM-Y):
# Ledig et al., arXiv 1609.04802v5, Table 2 (x4; bicubic, SRResNet, SRGAN columns)
SRGAN_TABLE_2 = {
    ("bicubic", "set5"): (28.43, 0.8211), ("bicubic", "set14"): (25.99, 0.7486), ("bicubic", "bsd100"): (25.94, 0.6935),
    ("SRResNet", "set5"): (32.05, 0.9019), ("SRResNet", "set14"): (28.49, 0.8184),
    ("SRResNet", "bsd100"): (27.58, 0.7620),
    ("SRGAN", "set5"): (29.40, 0.8472), ("SRGAN", "set14"): (26.02, 0.7397), ("SRGAN", "bsd100"): (25.16, 0.6688),
}
# Wang et al., arXiv 1809.00219v2, supplementary file, Table 2, row "RRDB(ours)" trained on DF2K
ESRGAN_SUPP_TABLE_2 = {
    ("RRDB_PSNR", "set5"): (32.73, 0.9011), ("RRDB_PSNR", "set14"): (28.99, 0.7917),
    ("RRDB_PSNR", "bsd100"): (27.85, 0.7455), ("RRDB_PSNR", "urban100"): (27.03, 0.8153),
}  # (its Manga109 column is left out: the benchmark has no Manga109 card)


@pytest.fixture(scope="module")
def reported():
    return load_reported(REPORTED)


def _sr_rows(reported) -> dict[tuple[str, str], dict]:
    return {(r["method"], r["dataset"]): r for r in reported.iter_rows(named=True) if r["dataset"] in SR_SETS}


def test_every_committed_row_cites_a_table_and_states_its_protocol(reported):
    assert reported.height > 0
    for r in reported.iter_rows(named=True):
        where = f"{r['method']} on {r['dataset']}"
        # a table number, or (AC-GAN's Inception Score) an explicit statement that the number is in the text
        assert re.search(r"\bTable \d+\b", r["citation"] or "") or "no table" in r["citation"], where
        assert r["protocol"], where


def test_the_super_resolution_rows_are_the_papers_tables(reported):
    rows = _sr_rows(reported)
    assert set(rows) == set(SRGAN_TABLE_2) | set(ESRGAN_SUPP_TABLE_2)
    for key, (psnr_y, ssim_y) in {**SRGAN_TABLE_2, **ESRGAN_SUPP_TABLE_2}.items():
        r = rows[key]
        assert (r["psnr_y"], r["ssim_y"]) == (psnr_y, ssim_y), key
        # Y-channel numbers only: nothing in the RGB PSNR, the inpainting or the semantic/class columns
        assert all(r[c] is None for c in ("psnr", "l1", "l2", "fid", "miou", "pixel_acc", "is")), key
    for (method, ds), r in rows.items():
        srgan = (method, ds) in SRGAN_TABLE_2
        assert ("Ledig et al., CVPR 2017 (arXiv 1609.04802v5), Table 2" in r["citation"]) == srgan
        assert ("arXiv 1809.00219v2), supplementary file" in r["citation"] and "Table 2" in r["citation"]) != srgan
        # the protocol notes: scale, Y channel, border handling and the image count
        assert "x4" in r["protocol"] and re.search(r"[yY][- ]channel", r["protocol"]), (method, ds)
        assert ("4-pixel wide strip removed from each border" if srgan else "no border crop") in r["protocol"]
        assert re.search(r"\b(5|14|100|109) images\b", r["protocol"]), (method, ds)


def test_restoration_numbers_are_in_range_for_their_column(reported):
    """A swapped column (SSIM under PSNR) or a percent SSIM fails here, for rows added later too."""
    for r in reported.iter_rows(named=True):
        if r["psnr_y"] is not None or r["psnr"] is not None:
            assert 5.0 < (r["psnr_y"] or r["psnr"]) < 60.0, r["method"]
        if r["ssim_y"] is not None:
            assert 0.0 < r["ssim_y"] <= 1.0, r["method"]


def test_the_dataset_pages_show_the_numbers_in_their_reported_columns(reported):
    pages = render(load_records(REPO / "leaderboard" / "results"), reported)
    set5 = pages["set5.md"].splitlines()
    head = set5.index("## Reported in papers (their protocols; not ranked)") + 2
    # restoration numbers only: no empty FID / mIoU / acc columns
    assert set5[head] == "| method | PSNR-Y | SSIM-Y | citation | protocol | notes |"
    assert any(line.startswith("| SRGAN | 29.40 | 0.8472 | Ledig et al.") for line in set5)
    assert any(line.startswith("| bicubic | 28.43 | 0.8211 | bicubic interpolation; as reported in") for line in set5)
    assert any(line.startswith("| RRDB_PSNR | 27.03 | 0.8153 |") for line in pages["urban100.md"].splitlines())
    # SSIM with the paper's four decimals (0.7620, not 0.762)
    assert any(line.startswith("| SRResNet | 27.58 | 0.7620 |") for line in pages["bsd100.md"].splitlines())
    # the semantic and class tables are as before
    assert "| method | FID | mIoU | acc | citation | protocol | notes |" in pages["cityscapes.md"]
    assert "| method | IS | FID | mIoU | acc | citation | protocol | notes |" in pages["cifar10.md"]
    # a dataset with reported rows and no records yet gets a page and an index row
    assert "| [set5](set5.md) | 0 | 0 | 4 |" in pages["README.md"]


def _record(lb: Path, method: str, config: str, ds: str = "set5") -> None:
    """A committed fixture record moved to ``ds`` under another method/config (only what the table reads)."""
    rec = json.loads(FIXTURE.read_text())
    rec["dataset"]["card"] = rec["protocol"]["dataset"] = f"{ds}@1"
    rec["method"]["name"], rec["method"]["config"] = method, config
    (lb / "results" / ds).mkdir(parents=True, exist_ok=True)
    (lb / "results" / ds / f"{method}-{config}-seed0-cccccccccccc.json").write_text(json.dumps(rec))


def test_a_paper_number_sits_beside_the_row_of_its_method_and_paper_config(tmp_path, reported):
    lb = tmp_path / "lb"
    _record(lb, "srgan", "paper")
    _record(lb, "srgan", "mini")
    md = render(load_records(lb / "results"), reported)["set5.md"].splitlines()
    head = next(line for line in md if line.startswith("| method | config |")).split(" | ")
    psnr_col = next(i for i, c in enumerate(head) if c.startswith("PSNR") and c.endswith("(reported)"))
    ssim_col = next(i for i, c in enumerate(head) if c.startswith("SSIM") and c.endswith("(reported)"))
    paper = next(line for line in md if line.startswith("| srgan | paper |")).split(" | ")
    mini = next(line for line in md if line.startswith("| srgan | mini |")).split(" | ")
    assert (paper[psnr_col], paper[ssim_col]) == ("29.40", "0.8472")  # SRGAN's, not SRResNet's 32.05 / 0.9019
    assert (mini[psnr_col], mini[ssim_col]) == ("–", "–")  # never beside a mini


INPAINTING_CSV = (  # invented numbers: the columns' parsing and rendering, not a paper's result
    "method,dataset,fid,miou,pixel_acc,citation,protocol,notes,psnr,l1,l2\n"
    "some-inpainter,paris-streetview,,,,\"Someone, 2099, Table 1\",centre hole; units as printed,,18.5,9.5,2.25\n"
)


def test_inpainting_columns_parse_and_render(tmp_path):
    (tmp_path / "reported.csv").write_text(INPAINTING_CSV)
    rep = load_reported(tmp_path / "reported.csv")
    (r,) = rep.iter_rows(named=True)
    assert (r["psnr"], r["l1"], r["l2"], r["psnr_y"], r["is"]) == (18.5, 9.5, 2.25, None, None)
    assert reported_numbers(rep) == [("psnr", "PSNR"), ("l1", "L1"), ("l2", "L2")]
    md = render([], rep)["paris-streetview.md"]
    assert "| method | PSNR | L1 | L2 | citation | protocol | notes |" in md
    assert "| some-inpainter | 18.50 | 9.50 | 2.25 | Someone, 2099, Table 1 |" in md
    # a table mixing a restoration number with a semantic one keeps the FID / mIoU / acc columns
    mixed = load_reported(_write(tmp_path / "mixed.csv", INPAINTING_CSV.replace(",,,,\"Someone", ",40.0,,,\"Someone")))
    assert [c for c, _ in reported_numbers(mixed)] == ["psnr", "l1", "l2", "fid", "miou", "pixel_acc"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("edit, needle", [
    (lambda t: t.replace(",psnr,", ",psnr_rgb,"), "unknown psnr_rgb"),
    (lambda t: t.replace(",9.5,", ",9.5%,"), "row 2, column l1: '9.5%' is not a number"),
])
def test_a_bad_restoration_column_is_one_line(tmp_path, edit, needle):
    with pytest.raises(BenchError) as exc:
        load_reported(_write(tmp_path / "reported.csv", edit(INPAINTING_CSV)))
    assert needle in str(exc.value) and len(str(exc.value).splitlines()) == 1
    if "unknown" in needle:  # the message names every optional column, the restoration ones included
        assert all(c in str(exc.value) for c in REPORTED_RESTORATION)


def test_a_folder_without_reported_csv_has_the_restoration_columns_empty(tmp_path):
    empty = reported_or_empty(tmp_path / "missing.csv")
    assert empty.height == 0 and all(c in empty.columns for c in REPORTED_RESTORATION)
    shutil.copy(REPORTED, tmp_path / "reported.csv")  # and the committed file reads the same through it
    assert reported_or_empty(tmp_path / "reported.csv").height == load_reported(REPORTED).height
