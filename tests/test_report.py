"""`bench report`: static HTML pages of the leaderboard (tables, gallery, charts, per-sample data)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from PIL import Image

from bench.cli import main
from bench.errors import BenchError
from bench.leaderboard import reported_or_empty

ROOT = Path(__file__).resolve().parents[1]
LEADERBOARD = ROOT / "leaderboard"
WITH_RECORDS = ("digits", "photos-inpainting", "photos-sr", "synthetic-streets", "synthetic-streets-attributes",
                "synthetic-streets-captions",
                "synthetic-streets-dusk2day", "synthetic-streets-edges2photo", "synthetic-streets-inpainting",
                "synthetic-streets-sr")


def _committed(prefix: str) -> str:
    """The committed synthetic-streets record of this method/config/seed (its name holds fingerprint and run id)."""
    (path,) = sorted((LEADERBOARD / "results" / "synthetic-streets").glob(f"{prefix}-*.json"))
    return path.stem


SPADE = _committed("spade-mini-seed0")
ORACLE = _committed("oracle-default-seed0")
FINGERPRINT = json.loads((LEADERBOARD / "results" / "synthetic-streets" / f"{SPADE}.json").read_text())["fingerprint"]


def _table_row(method: str, config: str) -> list[str]:
    """The cells of a committed synthetic-streets row as bench.leaderboard computes them (the markdown's)."""
    from bench.leaderboard import _protocol_table, load_records, records_frame

    records = [r for r in load_records(LEADERBOARD / "results") if r["dataset"]["card"].startswith("synthetic-streets@")
               and r["fingerprint"] == FINGERPRINT]
    return _protocol_table(records_frame(records), {})[1][(method, config)]


@pytest.fixture(scope="module")
def committed_report(tmp_path_factory) -> Path:
    """The report of the committed leaderboard, rendered once for the tests that only read it."""
    out = tmp_path_factory.mktemp("committed") / "bench-report"
    assert main(["report", "--leaderboard", str(LEADERBOARD), "--out", str(out)]) == 0
    return out


class _Links(HTMLParser):
    """Every href / src of a page and every id, so links can be checked."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.imgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "img":
            self.imgs += 1
        for name in ("href", "src"):
            if a.get(name) is not None:
                self.links.append(a[name])


def _parse(page: Path) -> _Links:
    p = _Links()
    p.feed(page.read_text(encoding="utf-8"))
    return p


def test_report_of_the_committed_leaderboard(committed_report, capsys):
    out = committed_report
    assert (out / "index.html").is_file()
    pages = sorted(p.stem for p in out.glob("*.html") if p.name != "index.html")
    assert pages == sorted(WITH_RECORDS)  # cityscapes etc. have only reported rows: no page
    index = (out / "index.html").read_text()
    for ds in WITH_RECORDS:
        assert f'href="{ds}.html"' in index
    assert ("Published numbers only, no reproduced records yet: ade20k, bsd100, cifar10, cityscapes, coco-stuff, set14, "
            "set5, urban100") in index
    page = (out / "synthetic-streets.html").read_text()
    # the leaderboard's own cells (bench.leaderboard computes them), best values in bold
    spade = _table_row("spade", "mini")
    assert f"<td>spade</td><td>mini</td><td>{spade[2]}</td><td>100</td><td>{spade[4]}</td>" in page
    oracle_miou = _table_row("oracle", "-")[6]  # the best mIoU: bold in the markdown, <strong> in the page
    assert oracle_miou.startswith("**") and f"<strong>{oracle_miou.strip('*')}</strong>" in page
    assert "FID ↓" in page and "mIoU % ↑" in page
    assert f"Protocol <code>{FINGERPRINT}</code>" in page and "<th>resolution</th><td>64×64</td>" in page
    assert "per-class-iou.png" in page and "metric-fid.png" in page and "gallery.png" in page
    # every committed synthetic-streets record has its per-sample table and worst strip (bench sweep wrote them);
    # the digits records were made before per-sample tables existed
    assert "no per-sample data" not in page and "Per-sample results" in page and "worst/" in page
    assert "no per-sample data" in (out / "digits.html").read_text()
    gallery = Image.open(out / f"assets/synthetic-streets/{FINGERPRINT}-gallery.png")
    # 10 columns (condition, 8 methods, real) x 4 rows of 64px cells enlarged to 128px, 4px apart
    assert gallery.size == (10 * 128 + 9 * 4, 4 * 128 + 3 * 4)
    digits = (out / "digits.html").read_text()
    assert "per-class-iou" not in digits and "intra-FID ↓" in digits  # the class track's columns, no IoU
    assert "Reported in papers" not in page  # reported.csv has no synthetic-streets rows


def test_gallery_cells_are_the_grids_cells(committed_report):
    """The gallery's spade column, row 0, is the first sample cell of spade's grid, enlarged 2x."""
    grid = np.asarray(Image.open(LEADERBOARD / "results/synthetic-streets" / f"{SPADE}.png").convert("RGB"))
    gallery = np.asarray(Image.open(committed_report / f"assets/synthetic-streets/{FINGERPRINT}-gallery.png"))
    col = 8  # condition, ecgan, label-colouring, oasis, oracle, pix2pix, pix2pix-seg-clip, pix2pixhd, spade
    cell = gallery[:128, col * 132: col * 132 + 128]
    assert np.array_equal(cell[::2, ::2], grid[:64, 64:128])
    assert np.array_equal(gallery[:128, :128][::2, ::2], grid[:64, :64])  # condition column
    assert np.array_equal(gallery[:128, 9 * 132:][::2, ::2], grid[:64, 128:192])  # real column


def test_every_link_is_relative_and_exists(committed_report):
    pages = sorted(committed_report.glob("*.html"))
    assert len(pages) == 1 + len(WITH_RECORDS)
    for page in pages:
        parsed = _parse(page)
        assert parsed.links, page
        for link in parsed.links:
            parts = urlsplit(link)
            assert not parts.scheme and not parts.netloc, (page.name, link)  # no http://, file://, //cdn
            if not parts.path:  # an in-page anchor
                assert parts.fragment in parsed.ids, (page.name, link)
                continue
            assert not parts.path.startswith("/"), (page.name, link)
            target = (page.parent / unquote(parts.path)).resolve()
            assert target.is_file(), (page.name, link)
            assert committed_report.resolve() in target.parents, (page.name, link)  # stays inside the folder
        text = page.read_text()
        assert "<script" not in text and str(ROOT) not in text and "/tmp/" not in text


def test_chart_values_match_the_table(committed_report):
    """The charts' numbers follow the leaderboard's rule; a table cell and the mean agree at the shown decimals."""
    from bench import report
    from bench.leaderboard import load_records, records_frame

    records = [r for r in load_records(LEADERBOARD / "results") if r["dataset"]["card"].startswith("synthetic-streets@")]
    sub = records_frame(records)
    no_reported = reported_or_empty(LEADERBOARD / "no-such.csv")  # an empty frame of reported.csv's columns
    tables = report._tables("synthetic-streets", sub, records, no_reported)
    # the single-sample protocol of the main rows (a second table holds the 3-samples-per-label diversity rows)
    (table,) = [t for t in tables if t.fingerprint == FINGERPRINT]
    keys = report._metric_keys(table)
    assert keys == ["fid", "kid", "miou", "pixel_acc", "psnr", "ssim", "precision", "recall", "density", "coverage"]
    stats = report._seed_stats(table, keys)
    cells = table.rows[("spade", "mini")]
    assert report._number(stats[("spade", "mini")]["fid"][0], 2) == cells[4].split(" ± ")[0]
    assert report._number(stats[("spade", "mini")]["miou"][0], 1) == cells[6].split(" ± ")[0]
    assert report._number(stats[("oracle", "-")]["fid"][0], 2) == "0.00"  # never "-0.00"


def test_class_names_follow_the_card():
    from bench.report import class_names

    assert class_names("synthetic-streets", 8)[:3] == ["sky", "road", "sidewalk"]
    assert class_names("synthetic-streets", 5) == ["0", "1", "2", "3", "4"]  # not the card's space: indices
    assert class_names("no-such-dataset", 2) == ["0", "1"]


# ------------------------------------------------------------------------------------------- synthetic records


def _results_copy(tmp_path: Path, names: tuple[str, ...] = (SPADE, ORACLE)) -> Path:
    """A leaderboard folder with some committed synthetic-streets records (and the published numbers)."""
    lb = tmp_path / "leaderboard"
    dst = lb / "results" / "synthetic-streets"
    dst.mkdir(parents=True)
    for name in names:  # the record and its files: grid, per-sample table, worst strip
        for f in (LEADERBOARD / "results/synthetic-streets").glob(f"{name}.*"):
            shutil.copy(f, dst / f.name)
    shutil.copy(LEADERBOARD / "reported.csv", lb / "reported.csv")
    return lb


def _add_per_sample(lb: Path, name: str) -> None:
    """What `bench run` now writes next to a record: the per-sample parquet and the worst-samples strip."""
    import polars as pl

    folder = lb / "results" / "synthetic-streets"
    keys = [f"val_{i:04d}" for i in range(6)]
    pl.DataFrame({
        "file": [f"{k}/0.png" for k in keys], "condition": keys, "sample": [0] * 6,
        "psnr": [10.0, 12.0, 14.0, 16.0, 18.0, 20.0], "lpips": [0.7, 0.6, 0.5, 0.4, 0.3, 0.2],
        "iou": [0.5, float("nan"), 0.7, 0.8, 0.9, 1.0],
    }).write_parquet(folder / f"{name}.samples.parquet")
    # rows condition | fake | real: the first two rows of the record's grid have that layout (one sample)
    Image.open(folder / f"{name}.png").crop((0, 0, 3 * 64, 2 * 64)).save(folder / f"{name}.worst.png")
    rec = json.loads((folder / f"{name}.json").read_text())
    rec["per_sample"] = f"{name}.samples.parquet"
    rec["worst"] = {"image": f"{name}.worst.png", "metric": "lpips", "higher_is_better": False,
                    "conditions": ["val_0000", "val_0001"]}
    (folder / f"{name}.json").write_text(json.dumps(rec, indent=2, sort_keys=True) + "\n")


def test_per_sample_table_and_worst_strip(tmp_path):
    lb = _results_copy(tmp_path)
    _add_per_sample(lb, SPADE)
    oracle = lb / "results/synthetic-streets" / f"{ORACLE}.json"  # as a record written before per-sample tables
    rec = json.loads(oracle.read_text())
    del rec["per_sample"], rec["worst"]
    oracle.write_text(json.dumps(rec, indent=2, sort_keys=True) + "\n")
    with (lb / "reported.csv").open("a") as f:  # a published row of this dataset, with markup to escape
        f.write('SPADE,synthetic-streets,50.0,60.0,,"Someone <2099>",their protocol,a <note> & more,,,\n')
    out = tmp_path / "report"
    assert main(["report", "--leaderboard", str(lb), "--out", str(out)]) == 0
    page = (out / "synthetic-streets.html").read_text()
    # summary: mean / median / min / max per metric of the parquet (NaN IoU skipped, not counted as 0)
    assert "<tr><td>psnr</td><td>6</td><td>15.00</td><td>15.00</td><td>10.00</td><td>20.00</td></tr>" in page
    assert "<tr><td>lpips</td><td>6</td><td>0.450</td><td>0.450</td><td>0.200</td><td>0.700</td></tr>" in page
    assert "<tr><td>iou</td><td>5</td><td>0.780</td><td>0.800</td><td>0.500</td><td>1.000</td></tr>" in page
    # the worst strip: each condition key with its value, the PNG copied into the assets
    assert "<code>val_0000</code></div><div>lpips ↓ 0.700" in page
    assert "<code>val_0001</code></div><div>lpips ↓ 0.600" in page
    worst = out / "assets/synthetic-streets/worst" / f"{SPADE}.png"
    assert worst.read_bytes() == (lb / "results/synthetic-streets" / f"{SPADE}.worst.png").read_bytes()
    assert f'src="assets/synthetic-streets/worst/{SPADE}.png"' in page
    # the published numbers: their own table, escaped
    assert "Reported in papers" in page and "<td>Someone &lt;2099&gt;</td>" in page
    assert "<td>a &lt;note&gt; &amp; more</td>" in page and "<td>50.0</td><td>60.0</td><td>–</td>" in page
    # the record without them says so in one line
    assert page.count("no per-sample data") == 1 and "oracle</strong>" in page


def _add_seed(lb: Path, name: str, seed: int, **metrics: float) -> str:
    """Another seed of a committed record (same grid picture, other metrics), as a second `bench run` writes it."""
    folder = lb / "results" / "synthetic-streets"
    rec = json.loads((folder / f"{name}.json").read_text())
    new = name.replace("seed0", f"seed{seed}")
    rec["seeds"]["run"] = seed
    rec["metrics"].update(metrics)
    rec["grid"] = f"{new}.png"
    (folder / f"{new}.json").write_text(json.dumps(rec, indent=2, sort_keys=True) + "\n")
    shutil.copy(folder / f"{name}.png", folder / f"{new}.png")
    return new


def test_seeds_average_as_in_the_leaderboard(tmp_path):
    """Two seeds: mean ± std in the table (bench.leaderboard's cell), error bars in the chart, and the gallery
    and per-sample section use the lowest seed; a NaN metric is drawn as no bar, not an error."""
    from bench.leaderboard import load_records, render

    lb = _results_copy(tmp_path)
    _add_seed(lb, SPADE, 7, fid=220.0, miou=float("nan"))
    out = tmp_path / "report"
    assert main(["report", "--leaderboard", str(lb), "--out", str(out)]) == 0
    page = (out / "synthetic-streets.html").read_text()
    markdown = render(load_records(lb / "results"), reported_or_empty(lb / "reported.csv"))["synthetic-streets.md"]
    fid0 = json.loads((lb / "results/synthetic-streets" / f"{SPADE}.json").read_text())["metrics"]["fid"]
    cell = f"{(fid0 + 220.0) / 2:.2f} ± {abs(fid0 - 220.0) / 2 ** 0.5:.2f}"  # mean ± sample std of two seeds
    assert f"| spade | mini | 2 | 100 | {cell} |" in markdown  # the same cell in both renderings
    assert f"<td>spade</td><td>mini</td><td>2</td><td>100</td><td>{cell}</td>" in page
    assert "spade (mini)<br><span class=\"small\">seed 0</span>" in page
    assert f"seed 0, {SPADE}.json" in page and "seed7" not in page.split("Per-sample results")[1]


def test_missing_grid_png_names_the_record_and_the_file(tmp_path, capsys):
    from bench.report import render_report

    lb = _results_copy(tmp_path)
    (lb / "results/synthetic-streets" / f"{SPADE}.png").unlink()
    with pytest.raises(BenchError, match=rf"{SPADE}\.json: its grid PNG {SPADE}\.png is missing"):
        render_report(lb)
    out = tmp_path / "report"
    assert main(["report", "--leaderboard", str(lb), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"{SPADE}.json" in err and f"{SPADE}.png is missing" in err
    assert not out.exists()  # nothing is written before everything rendered


def test_bad_inputs_are_one_line(tmp_path):
    from bench.report import render_report

    lb = _results_copy(tmp_path, (SPADE,))
    grid = lb / "results/synthetic-streets" / f"{SPADE}.png"
    Image.new("RGB", (190, 256)).save(grid)  # not 3 columns of equal cells
    with pytest.raises(BenchError, match=r"190x256 pixels, which does not divide into 4 row\(s\) x 3 column"):
        render_report(lb)
    shutil.copy(LEADERBOARD / "results/synthetic-streets" / f"{SPADE}.png", grid)
    _add_per_sample(lb, SPADE)
    (lb / "results/synthetic-streets" / f"{SPADE}.samples.parquet").write_bytes(b"not parquet")
    with pytest.raises(BenchError, match=rf"{SPADE}\.json: per_sample {SPADE}\.samples\.parquet is not a readable"):
        render_report(lb)
    with pytest.raises(BenchError, match=r"--dataset cityscapes: no records in .* \(datasets with records: "
                                         r"synthetic-streets\)"):
        render_report(lb, ["cityscapes"])
    (tmp_path / "empty/results").mkdir(parents=True)
    with pytest.raises(BenchError, match=r"empty/results: no result records"):
        render_report(tmp_path / "empty")


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_runs_give_the_same_bytes(committed_report, tmp_path):
    """Same records -> same pages and the same PNG bytes (no dates in the HTML nor in the charts). The second run
    writes into a folder of the same name elsewhere: the footer's command names the folder, never its path."""
    again = tmp_path / "elsewhere" / committed_report.name
    assert main(["report", "--leaderboard", str(LEADERBOARD), "--out", str(again)]) == 0
    first, second = _tree(committed_report), _tree(again)
    assert first.keys() == second.keys() and len(first) > 20
    assert [k for k in first if first[k] != second[k]] == []


def test_dataset_option_renders_only_those(tmp_path):
    out = tmp_path / "r"
    assert main(["report", "--leaderboard", str(LEADERBOARD), "--out", str(out), "--dataset", "digits"]) == 0
    assert sorted(p.name for p in out.glob("*.html")) == ["digits.html", "index.html"]
    assert sorted(p.name for p in (out / "assets").iterdir()) == ["digits"]
    assert "--dataset digits" in (out / "digits.html").read_text()  # the footer's command


# --------------------------------------------------------------------------------------------------------- slow


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def screenshot(page: Path, png: Path, size: str = "1400,2000") -> None:
    """Render ``page`` with headless Chromium into ``png`` (no network: the page needs none)."""
    exe = _chromium()
    assert exe is not None
    cmd = [exe, "--headless", "--disable-gpu", "--hide-scrollbars", f"--screenshot={png}", f"--window-size={size}",
           page.resolve().as_uri()]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    subprocess.run(cmd, check=True, capture_output=True, timeout=180)


@pytest.mark.slow
def test_page_renders_in_headless_chromium(committed_report, tmp_path):
    if _chromium() is None:
        pytest.skip("no chromium / chromium-browser on PATH (apt-get install chromium)")
    png = tmp_path / "shot.png"
    screenshot(committed_report / "synthetic-streets.html", png)
    img = Image.open(png).convert("RGB")
    assert img.size == (1400, 2000)
    pixels = np.asarray(img)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 1000, len(colours)  # tables, a gallery of generated images and charts, not a blank page
    assert (pixels < 250).any(axis=2).mean() > 0.05  # more than a few pixels of non-white
