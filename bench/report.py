"""`bench report`: the leaderboard as static HTML, one page per dataset, no server and no JavaScript.

Every number in a page's leaderboard tables comes from bench.leaderboard (the same rows and cells as the markdown
tables); this module only renders them and adds pictures: a gallery of the same conditions across methods (cut
from each record's grid PNG), per-metric and per-class IoU bar charts (matplotlib, Agg) and, for records that have
them, per-sample summaries and worst-sample strips. Every image a page uses is copied or generated into
``<out>/assets/`` and linked relatively, so the folder can be moved or zipped. The output is deterministic: the
same records give the same bytes (no dates in the HTML, none in the PNGs).
"""

from __future__ import annotations

import html
import io
import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

from bench.errors import BenchError

GALLERY_ROWS = 4  # the grid PNG of a record shows the first 4 conditions ...
GALLERY_SAMPLES = 4  # ... and at most 4 samples of each (bench.runner.make_grid)
CELL_MIN_PX = 128  # gallery cells are enlarged by an integer factor to at least this width (pixels stay sharp)
GAP_PX = 4  # white space between gallery cells
PER_SAMPLE_METRICS = {"psnr": 2, "ssim": 3, "lpips": 3, "iou": 3}  # per-sample columns -> shown decimals
NO_PER_SAMPLE_HTML = ("no per-sample data (records written before per-sample tables existed; <code>bench run</code> "
                      "writes them now)")

Key = tuple[str, str]  # (method, config) of a leaderboard row


@dataclass
class Table:
    """One protocol table of a dataset page: the leaderboard's cells and the records behind each row."""

    dataset: str
    fingerprint: str
    protocol: dict[str, Any]
    group: Any  # polars frame (bench.leaderboard.records_frame) of the records of this protocol
    head: list[str]
    rows: dict[Key, list[str]]
    records: dict[Key, list[dict[str, Any]]]  # by seed, then file: the first is the row's representative

    @property
    def task(self) -> str:
        tasks = sorted(set(self.group["task"].to_list()))
        return tasks[0] if len(tasks) == 1 else "mixed"


# ----------------------------------------------------------------------------------------------------------- entry


def write_report(leaderboard: Path, out: Path, datasets: Sequence[str] | None = None,
                 command: str = "bench report") -> list[Path]:
    """Render the report of ``leaderboard`` and write it into ``out`` (every file atomically); the written paths.

    Everything is rendered before the first write, so a bad record leaves ``out`` as it was."""
    from bench.fileio import atomic_write_bytes, check_writable_dir

    check_writable_dir(out, "--out")
    files = render_report(leaderboard, datasets, command)
    written = []
    for rel, data in sorted(files.items()):
        path = out / rel
        atomic_write_bytes(path, data)
        written.append(path)
    return written


def render_report(leaderboard: Path, datasets: Sequence[str] | None = None,
                  command: str = "bench report") -> dict[str, bytes]:
    """{path relative to the output folder: bytes} of the whole report. Reads the leaderboard folder only."""
    import matplotlib.style
    import polars as pl

    from bench.leaderboard import load_records, records_frame, reported_or_empty

    results = leaderboard / "results"
    if not results.is_dir():
        raise BenchError(f"{results}: not a folder (the result records `bench run` writes; pass --leaderboard)")
    records = load_records(results)
    if not records:
        raise BenchError(f"{results}: no result records (results/<dataset>/*.json); `bench run` writes them")
    reported = reported_or_empty(leaderboard / "reported.csv")
    df = records_frame(records)
    names = _select_datasets(sorted(set(df["dataset"].to_list())), datasets, results)
    files: dict[str, bytes] = {}
    pages = []
    # matplotlib's defaults, not a matplotlibrc of this machine or user: the charts depend on the records only
    with matplotlib.style.context("default"):
        for ds in names:
            sub = df.filter(pl.col("dataset") == ds)
            rep = reported.filter(pl.col("dataset") == ds)
            tables = _tables(ds, sub, [r for r in records if _dataset_of(r) == ds], rep)
            files[f"{_safe(ds)}.html"] = _dataset_page(ds, tables, rep, leaderboard, files, command).encode()
            pages.append((ds, sub, len(tables), rep.height))
    only_reported = [] if datasets else sorted(set(reported["dataset"].to_list()) - set(names))
    files["index.html"] = _index_page(pages, only_reported, leaderboard, command).encode()
    return files


def _select_datasets(have: list[str], wanted: Sequence[str] | None, results: Path) -> list[str]:
    """The datasets to render: all with records, or the named ones (each must have records)."""
    if not wanted:
        return have
    unknown = [d for d in wanted if d not in have]
    if unknown:
        raise BenchError(f"--dataset {unknown[0]}: no records in {results} (datasets with records: "
                         f"{', '.join(have)})")
    return sorted(set(wanted))


def _dataset_of(record: dict[str, Any]) -> str:
    return record["dataset"]["card"].split("@")[0]


def _safe(name: str) -> str:
    """A name as a file name: whatever is not a plain character becomes '_' (names come from records)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".") or "_"


def _row_key(record: dict[str, Any]) -> Key:
    return record["method"]["name"], record["method"].get("config") or "-"


# ---------------------------------------------------------------------------------------------------------- tables


def _tables(ds: str, sub, records: list[dict[str, Any]], rep) -> list[Table]:
    """The protocol tables of one dataset, computed by bench.leaderboard exactly as its markdown is."""
    import polars as pl

    from bench.leaderboard import _protocol_table, method_key

    reported_by_method = {method_key(r["method"]): r for r in rep.iter_rows(named=True)}
    protocols = {r["fingerprint"]: r["protocol"] for r in records}
    tables = []
    for fp in sorted(set(sub["fingerprint"].to_list())):
        group = sub.filter(pl.col("fingerprint") == fp)
        head, rows = _protocol_table(group, reported_by_method)
        by_row: dict[Key, list[dict[str, Any]]] = {}
        for r in sorted((r for r in records if r["fingerprint"] == fp),
                        key=lambda r: (int(r["seeds"]["run"]), r["_file"])):
            by_row.setdefault(_row_key(r), []).append(r)
        tables.append(Table(ds, fp, protocols.get(fp, {}), group, head, rows, by_row))
    return tables


def _cell_html(text: str) -> str:
    """A leaderboard cell: the markdown table's bold (the best value) as <strong>, the rest escaped."""
    if len(text) > 4 and text.startswith("**") and text.endswith("**"):
        return f"<strong>{html.escape(text[2:-2])}</strong>"
    return html.escape(text)


def _leaderboard_html(table: Table, leaderboard: Path, files: dict[str, bytes]) -> str:
    """The protocol's leaderboard as an HTML table; its `samples` column links to a copy of each row's grid."""
    out = ['<table class="board"><thead><tr>'
           + "".join(f"<th>{html.escape(h)}</th>" for h in table.head) + "</tr></thead><tbody>"]
    for key, cells in table.rows.items():
        tds = [f"<td>{_cell_html(c)}</td>" for c in cells[:-1]]
        # the markdown cell "[grid](results/<dataset>/<file>.png)" names the grid the leaderboard links
        link = re.fullmatch(r"\[grid\]\((.+)\)", cells[-1])
        if link:
            grid = leaderboard / link.group(1)
            record = next((r for r in table.records[key] if _grid_path(r, leaderboard) == grid), table.records[key][0])
            rel = _add_asset(files, table.dataset, f"grids/{_safe(grid.name)}", _read_png(grid, record, leaderboard))
            tds.append(f'<td><a href="{_href(rel)}">grid</a></td>')
        else:
            tds.append("<td></td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _notes_html(table: Table) -> str:
    """The adapters' leaderboard notes of this protocol's rows (as the markdown lists them under a table)."""
    notes = sorted({(r["method"]["name"], r["method"]["note"]) for recs in table.records.values() for r in recs
                    if r["method"].get("note")})
    if not notes:
        return ""
    return "<ul class=\"notes\">" + "".join(f"<li><strong>{html.escape(m)}</strong>: {html.escape(n)}</li>"
                                             for m, n in notes) + "</ul>"



def _resolution_text(res: Any) -> str:
    """[H, W] -> "H×W"; "native" (each image at its own size) as is."""
    return res if isinstance(res, str) else "×".join(str(v) for v in res)

def _protocol_html(table: Table) -> str:
    """Fingerprint, dataset, split, resolution and N of a protocol, and the leaderboard's sentence about it."""
    from bench.leaderboard import _task_text

    p = table.protocol
    first = next(iter(table.records.values()))[0]
    n_values = sorted({cells[3] for cells in table.rows.values()})
    items = [("fingerprint", table.fingerprint), ("dataset", str(p.get("dataset", first["dataset"]["card"]))),
             ("split", str(p.get("split", first["dataset"]["split"]))),
             ("resolution", _resolution_text(p.get("eval_resolution", first["dataset"]["resolution"]))),
             ("N", ", ".join(n_values)), ("task", table.task)]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in items)
    text = (f"Images resized with {p.get('image_resize')}; FID/KID: {p.get('feature_extractor')} "
            f"({p.get('fid_resize')} resize); segmenter: {p.get('segmenter') or 'none'}." + _task_text(p))
    return f'<table class="protocol">{rows}</table>\n<p class="small">{html.escape(text)}</p>'


def _reported_html(rep) -> str:
    """The dataset's published numbers, with the columns bench.leaderboard shows for them."""
    from bench.leaderboard import REPORTED_OPTIONAL, _reported_cell

    numbers = [c for c in REPORTED_OPTIONAL if rep[c].drop_nulls().len()] + ["fid", "miou", "pixel_acc"]
    titles = {"is": "IS", "fid": "FID", "miou": "mIoU", "pixel_acc": "acc"}
    head = ["method"] + [titles[c] for c in numbers] + ["citation", "protocol", "notes"]
    out = ['<h2>Reported in papers (their protocols; not ranked)</h2>', '<table class="board"><thead><tr>'
           + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in rep.sort("method").iter_rows(named=True):
        cells = [r["method"]] + [_reported_cell(r[c], c) for c in numbers] + [r["citation"], r["protocol"],
                                                                              r["notes"] or ""]
        out.append("<tr>" + "".join(f"<td>{html.escape(c or '')}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------- assets


def _href(rel: str) -> str:
    """A relative link, percent-encoded and escaped for an attribute."""
    return html.escape(quote(rel), quote=True)


def _add_asset(files: dict[str, bytes], dataset: str, name: str, data: bytes) -> str:
    """Put ``data`` at ``assets/<dataset>/<name>``; returns its path relative to the pages."""
    rel = f"assets/{_safe(dataset)}/{name}"
    files[rel] = data
    return rel


def _record_path(record: dict[str, Any], leaderboard: Path) -> Path:
    return leaderboard / record["_file"]  # bench.leaderboard.load_records: relative to the leaderboard folder


def _grid_path(record: dict[str, Any], leaderboard: Path) -> Path | None:
    return _record_path(record, leaderboard).with_name(record["grid"]) if record.get("grid") else None


def _read_png(path: Path, record: dict[str, Any], leaderboard: Path, what: str = "grid PNG") -> bytes:
    """A PNG a record names, or one line naming the record and the missing file."""
    try:
        return path.read_bytes()
    except OSError as exc:
        reason = "is missing" if not path.exists() else f"cannot be read ({exc.strerror or exc})"
        raise BenchError(f"{_record_path(record, leaderboard)}: its {what} {path.name} {reason} ({path})") from None


def _open_image(data: bytes, path: Path, record: dict[str, Any], leaderboard: Path, what: str):
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise BenchError(f"{_record_path(record, leaderboard)}: its {what} {path.name} is not a readable image "
                         f"({exc})") from None
    return img.convert("RGB")


def _pil_png(img) -> bytes:
    """PNG bytes of a PIL image: no text chunks and no time stamp, so the same pixels give the same bytes."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def _figure_png(fig) -> bytes:
    """PNG bytes of a matplotlib figure, drawn by Agg, without the Software/date metadata (deterministic output)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # no pyplot: no global figure state, no GUI backend chosen from the environment
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


# --------------------------------------------------------------------------------------------------------- gallery


def _grid_cells(record: dict[str, Any], leaderboard: Path) -> list[list[Any]]:
    """A record's grid cut into cells: rows of [condition, sample 1..k, real] (PIL images of one size).

    The grid's layout is bench.runner.make_grid's: the first min(4, n) conditions, each a row of the condition
    picture, min(k, 4) samples and the real image, every cell at the dataset's resolution."""
    path = _grid_path(record, leaderboard)
    if path is None:
        raise BenchError(f"{_record_path(record, leaderboard)}: grid is empty (a record `bench run` did not write)")
    img = _open_image(_read_png(path, record, leaderboard), path, record, leaderboard, "grid PNG")
    rows = min(GALLERY_ROWS, int(record["dataset"]["n"]))
    cols = 2 + min(int(record["seeds"]["samples_per_label"]), GALLERY_SAMPLES)
    w, h = img.size
    if rows < 1 or w % cols or h % rows:
        raise BenchError(f"{_record_path(record, leaderboard)}: grid PNG {path.name} is {w}x{h} pixels, which does "
                         f"not divide into {rows} row(s) x {cols} column(s) (condition, "
                         f"{cols - 2} sample(s), real) of equal cells")
    cw, ch = w // cols, h // rows
    res = [int(v) for v in record["dataset"]["resolution"]]
    if [ch, cw] != res:
        raise BenchError(f"{_record_path(record, leaderboard)}: grid PNG {path.name} has {ch}x{cw} cells, but "
                         f"dataset.resolution is {res[0]}x{res[1]}")
    return [[img.crop((c * cw, r * ch, (c + 1) * cw, (r + 1) * ch)) for c in range(cols)] for r in range(rows)]


def _scale(cell_w: int) -> int:
    """Integer enlargement of small cells (nearest: the pixels stay as they were generated)."""
    return max(1, math.ceil(CELL_MIN_PX / cell_w))


def _compose(columns: list[list[Any]]) -> Any:
    """One PNG of equally sized cells, ``columns[c][r]``, enlarged by _scale, GAP_PX apart on white."""
    from PIL import Image

    cw, ch = columns[0][0].size
    s = _scale(cw)
    n_rows = len(columns[0])
    out = Image.new("RGB", (len(columns) * (cw * s + GAP_PX) - GAP_PX, n_rows * (ch * s + GAP_PX) - GAP_PX),
                    (255, 255, 255))
    for c, column in enumerate(columns):
        for r, cell in enumerate(column):
            big = cell.resize((cw * s, ch * s), Image.Resampling.NEAREST) if s > 1 else cell
            out.paste(big, (c * (cw * s + GAP_PX), r * (ch * s + GAP_PX)))
    return out


def _gallery_html(table: Table, leaderboard: Path, files: dict[str, bytes]) -> str:
    """condition | each row's first sample (its lowest seed) | real, for the first conditions of the split."""
    cut = {key: _grid_cells(recs[0], leaderboard) for key, recs in table.records.items()}
    first = next(iter(cut.values()))
    sizes = {cells[0][0].size for cells in cut.values()}
    if len(sizes) > 1:  # one fingerprint is one resolution; differing cells mean a grid was replaced by hand
        raise BenchError(f"protocol {table.fingerprint} of {table.dataset}: the records' grid cells differ in size "
                         f"({', '.join(f'{w}x{h}' for w, h in sorted(sizes))})")
    n_rows = min(len(cells) for cells in cut.values())
    columns = ([[first[r][0] for r in range(n_rows)]]
               + [[cells[r][1] for r in range(n_rows)] for cells in cut.values()]
               + [[first[r][-1] for r in range(n_rows)]])
    img = _compose(columns)
    rel = _add_asset(files, table.dataset, f"{table.fingerprint}-gallery.png", _pil_png(img))
    cw = first[0][0].size[0] * _scale(first[0][0].size[0])
    seeds = [f"seed {int(table.records[key][0]['seeds']['run'])}" for key in cut]
    captions = ([("condition", "")] + [(_row_label(key), seed) for key, seed in zip(cut, seeds)]
                + [("real", "")])
    caption_html = "".join(f"<div>{html.escape(title)}" + (f'<br><span class="small">{html.escape(sub)}</span>'
                                                            if sub else "") + "</div>" for title, sub in captions)
    # The captions are a CSS grid with the image's column widths and gaps, so each name sits over its column.
    return (f'<div class="scroll"><div class="gallery-head" style="grid-template-columns: repeat({len(columns)}, '
            f'{cw}px); column-gap: {GAP_PX}px; width: {img.size[0]}px">{caption_html}</div>'
            f'<img class="gallery" src="{_href(rel)}" width="{img.size[0]}" height="{img.size[1]}" '
            f'alt="{html.escape(table.dataset)}: condition, the first sample of each method, real"></div>')


# ---------------------------------------------------------------------------------------------------------- charts


def _metric_keys(table: Table) -> list[str]:
    """The record keys of the table's metric columns, in the table's order (read back from its header cells, so
    the charts show exactly the columns bench.leaderboard chose)."""
    from bench.leaderboard import _columns

    by_title = {f"{c.title} {'↑' if c.higher_is_better else '↓'}": k for k, c in _columns().items()}
    return [by_title[h] for h in table.head if h in by_title]


def _seed_stats(table: Table, keys: list[str]) -> dict[Key, dict[str, tuple[float | None, float | None]]]:
    """(mean, std over distinct seeds) per row and metric for the charts, from bench.leaderboard.aggregate (the
    aggregation behind the tables), in the frame's units (percent columns in percent)."""
    from bench.leaderboard import aggregate

    agg = aggregate(table.group, keys)
    return {(row["method"], row["config"]): {k: (row[k], row[f"{k}_std"]) for k in keys}
            for row in agg.iter_rows(named=True)}


def _row_label(key: Key) -> str:
    return key[0] if key[1] == "-" else f"{key[0]} ({key[1]})"


def _metric_chart(table: Table, key: str, stats: dict[Key, dict[str, tuple[float | None, float | None]]]) -> bytes:
    """One small bar chart: the rows of the table on x, mean with std error bars (where there are seeds to have
    a std), titled with the column's title and arrow."""
    from matplotlib.figure import Figure

    from bench.leaderboard import _columns

    col = _columns()[key]
    keys = list(table.rows)
    means = [stats[k][key][0] for k in keys]
    stds = [stats[k][key][1] for k in keys]
    fig = Figure(figsize=(max(2.8, 0.5 * len(keys) + 1.2), 2.6), layout="constrained")
    ax = fig.subplots()
    x = list(range(len(keys)))
    # a mean that prints as 0 is drawn as 0: a -1e-13 FID would put its label below the axis, over the names
    heights = [math.nan if m is None else 0.0 if round(m, col.decimals) == 0 else m for m in means]
    errs = [s if s is not None and math.isfinite(s) else 0.0 for s in stds]
    bars = ax.bar(x, heights, yerr=errs if any(errs) else None, capsize=3, color="#4c72b0", edgecolor="#2a4470")
    ax.bar_label(bars, labels=[_number(m, col.decimals) for m in means], fontsize=7, padding=2)
    rotate = len(keys) > 2
    ax.set_xticks(x, [_row_label(k) for k in keys], fontsize=7, rotation=35 if rotate else 0,
                  ha="right" if rotate else "center", rotation_mode="anchor")
    ax.set_title(f"{col.title} {'↑' if col.higher_is_better else '↓'}", fontsize=10)
    ax.tick_params(axis="y", labelsize=7)
    ax.axhline(0, color="#888888", linewidth=0.6)
    ax.margins(y=0.18)  # room for the value labels above the tallest bar
    ax.spines[["top", "right"]].set_visible(False)
    return _figure_png(fig)


def _number(value: float | None, decimals: int) -> str:
    """A mean as the tables print it (bench.leaderboard._fmt: no "-0.00"); "n/a" for no value or NaN."""
    from bench.leaderboard import _fmt

    return "n/a" if value is None or not math.isfinite(value) else _fmt(value, None, 1, decimals, False)


def _charts_html(table: Table, files: dict[str, bytes]) -> str:
    keys = _metric_keys(table)
    if not keys:
        return "<p>No metric columns.</p>"
    stats = _seed_stats(table, keys)
    imgs = []
    for key in keys:
        rel = _add_asset(files, table.dataset, f"{table.fingerprint}-metric-{_safe(key)}.png",
                         _metric_chart(table, key, stats))
        imgs.append(f'<img src="{_href(rel)}" alt="{html.escape(key)} per method">')
    return '<div class="charts">' + "".join(imgs) + "</div>"


def class_names(dataset: str, n: int) -> list[str]:
    """Names of the ``n`` classes a per_class_iou list holds: the segmenter's ids (the space mIoU is measured in) or
    the generator's when the counts match; else the indices (a dataset without a card here, a changed card)."""
    try:
        from bench.data import load_card

        card = load_card(dataset)
    except BenchError:
        return [str(i) for i in range(n)]
    if n == card.segmenter_num_classes:
        names = [str(i) for i in range(n)]
        for c in reversed(card.classes):  # first class listed wins, as for the generator's names
            if 0 <= c.segmenter_id < n:
                names[c.segmenter_id] = c.name
        return names
    if n == card.num_classes:
        return card.class_names()
    return [str(i) for i in range(n)]


def _mean_iou_per_class(records: list[dict[str, Any]]) -> list[float] | None:
    """Per-class IoU of one row: records of one seed averaged first, then the mean over seeds (absent -> NaN)."""
    import warnings

    import numpy as np

    per_seed: dict[int, list[Any]] = {}
    for r in records:
        iou = r.get("details", {}).get("per_class_iou")
        if isinstance(iou, list) and iou:
            per_seed.setdefault(int(r["seeds"]["run"]), []).append(
                [math.nan if v is None else float(v) for v in iou])
    if not per_seed or len({len(v) for vs in per_seed.values() for v in vs}) != 1:
        return None
    # nanmean of an all-NaN column (a class absent in every seed) is NaN by design, not a warning to print
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        seeds = np.stack([np.nanmean(np.asarray(vs), axis=0) for _, vs in sorted(per_seed.items())])
        return [float(v) for v in np.nanmean(seeds, axis=0)]


def _iou_html(table: Table, files: dict[str, bytes]) -> str:
    """Horizontal bars of per-class IoU (%), one group per class and one bar per row of the table."""
    from matplotlib.figure import Figure

    ious = {k: _mean_iou_per_class(recs) for k, recs in table.records.items()}
    ious = {k: v for k, v in ious.items() if v is not None}
    if not ious:
        return "<p>No per-class IoU in these records (details.per_class_iou).</p>"
    n = len(next(iter(ious.values())))
    if any(len(v) != n for v in ious.values()):
        return "<p>The records' per-class IoU lists differ in length; not plotted.</p>"
    names = class_names(table.dataset, n)
    m = len(ious)
    bar = 0.8 / m
    fig = Figure(figsize=(8.0, 1.2 + n * (0.12 + 0.16 * m)), layout="constrained")
    ax = fig.subplots()
    colours = [f"C{i % 10}" for i in range(m)]
    for i, (key, vals) in enumerate(ious.items()):
        ys = [c + (i - (m - 1) / 2) * bar for c in range(n)]
        ax.barh(ys, [v * 100 for v in vals], height=bar, color=colours[i], label=_row_label(key))
    ax.set_yticks(range(n), names, fontsize=8)
    ax.invert_yaxis()  # class 0 on top, as the card lists them
    ax.set_xlim(0, 100)
    ax.set_xlabel("IoU % (segmenter on the generated images; mean over seeds)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title("per-class IoU ↑", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    rel = _add_asset(files, table.dataset, f"{table.fingerprint}-per-class-iou.png", _figure_png(fig))
    absent = [names[c] for c in range(n) if all(math.isnan(v[c]) for v in ious.values())]
    note = (f"<p class=\"small\">No bar: absent from the labels ({html.escape(', '.join(absent))}).</p>"
            if absent else "")
    return f'<img class="iou" src="{_href(rel)}" alt="per-class IoU of each method">{note}'


# ------------------------------------------------------------------------------------------------------ per-sample


def _per_sample_frame(record: dict[str, Any], leaderboard: Path):
    """The record's per-sample parquet (``per_sample``, relative to the record), checked, or None without one."""
    import polars as pl

    name = record.get("per_sample")
    if not name:
        return None
    where = _record_path(record, leaderboard)
    path = where.parent / str(name)
    if not path.is_file():
        raise BenchError(f"{where}: its per_sample table {name} is missing ({path})")
    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - polars raises several types for a damaged file
        raise BenchError(f"{where}: per_sample {name} is not a readable parquet file "
                         f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    missing = [c for c in ("file", "condition", "sample") if c not in df.columns]
    if missing:
        raise BenchError(f"{where}: per_sample {name} has no column {missing[0]} (columns: "
                         f"{', '.join(df.columns)})")
    for c in PER_SAMPLE_METRICS:
        if c in df.columns and not df[c].dtype.is_numeric():
            raise BenchError(f"{where}: per_sample {name}: column {c} is {df[c].dtype}, not a number")
    return df


def _summary_html(df, name: str) -> str:
    """mean / median / min / max (and count) of each per-sample metric."""
    import polars as pl

    metrics = [c for c in PER_SAMPLE_METRICS if c in df.columns]
    if not metrics:
        return f"<p>{html.escape(name)} has no metric column ({', '.join(PER_SAMPLE_METRICS)}).</p>"
    out = ['<table class="board"><thead><tr><th>metric</th><th>samples</th><th>mean</th><th>median</th>'
           "<th>min</th><th>max</th></tr></thead><tbody>"]
    for m in metrics:
        s = df[m].cast(pl.Float64).fill_nan(None).drop_nulls()  # NaN (an undefined score) is not a 0
        d = PER_SAMPLE_METRICS[m]
        vals = [s.mean(), s.median(), s.min(), s.max()] if s.len() else [None] * 4
        out.append(f"<tr><td>{m}</td><td>{s.len()}</td>"
                   + "".join(f"<td>{'n/a' if v is None else f'{v:.{d}f}'}</td>" for v in vals) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _worst_spec(record: dict[str, Any], leaderboard: Path) -> dict[str, Any] | None:
    """``record["worst"]`` checked: image, metric, higher_is_better, conditions (one line naming a bad field)."""
    worst = record.get("worst")
    if worst is None:
        return None
    where = _record_path(record, leaderboard)
    types = {"image": str, "metric": str, "higher_is_better": bool, "conditions": list}
    if not isinstance(worst, dict):
        raise BenchError(f"{where}: worst must be an object, got {type(worst).__name__}")
    for key, tp in types.items():
        if not isinstance(worst.get(key), tp):
            raise BenchError(f"{where}: worst.{key} must be {tp.__name__}, got {worst.get(key)!r}")
    if not worst["conditions"] or not all(isinstance(c, str) for c in worst["conditions"]):
        raise BenchError(f"{where}: worst.conditions must be a non-empty list of condition keys")
    return worst


def _worst_value(df, worst: dict[str, Any], condition: str) -> str:
    """The worst sample's value of the metric for one condition (several samples: the worst of them)."""
    import polars as pl

    metric = worst["metric"]
    if df is None or metric not in df.columns:
        return "n/a"
    s = df.filter(pl.col("condition") == condition)[metric].cast(pl.Float64).fill_nan(None).drop_nulls()
    if not s.len():
        return "n/a"
    v = s.min() if worst["higher_is_better"] else s.max()
    return f"{v:.{PER_SAMPLE_METRICS.get(metric, 3)}f}"


def _worst_html(record: dict[str, Any], worst: dict[str, Any], df, leaderboard: Path,
                table: Table, files: dict[str, bytes]) -> str:
    """The worst-samples strip (condition | fake | real per row) beside each row's key and metric value."""
    where = _record_path(record, leaderboard)
    path = where.parent / worst["image"]
    data = _read_png(path, record, leaderboard, "worst-samples PNG")
    img = _open_image(data, path, record, leaderboard, "worst-samples PNG")
    n = len(worst["conditions"])
    if img.size[1] % n:
        raise BenchError(f"{where}: worst-samples PNG {path.name} is {img.size[1]} pixels high, which does not "
                         f"divide into its {n} condition row(s)")
    rel = _add_asset(files, table.dataset, f"worst/{_safe(where.stem)}.png", data)  # one strip per record
    s = _scale(img.size[0] // 3)  # the strip's rows are condition | fake | real: enlarge as the gallery does
    w, row_h = img.size[0] * s, img.size[1] // n * s
    arrow = "↑" if worst["higher_is_better"] else "↓"
    # A CSS grid with one track per strip row (exact pixel heights), so each key sits beside its row of the image.
    labels = "".join(
        f'<div class="worst-key" style="grid-row: {i + 1}"><div><code>{html.escape(key)}</code></div>'
        f"<div>{html.escape(worst['metric'])} {arrow} {_worst_value(df, worst, key)}</div></div>"
        for i, key in enumerate(worst["conditions"]))
    return (f'<div class="scroll"><div class="worst" style="grid-template-rows: repeat({n}, {row_h}px)">{labels}'
            f'<img class="pixel" style="grid-row: 1 / span {n}" src="{_href(rel)}" width="{w}" '
            f'height="{row_h * n}" alt="worst samples by {html.escape(worst["metric"])}: condition, fake, real">'
            "</div></div>")


def _per_sample_html(table: Table, leaderboard: Path, files: dict[str, bytes]) -> str:
    """Per row (its lowest-seed record): the per-sample summary and the worst strip, or why there are none."""
    parts = []
    for key, recs in table.records.items():
        rec = recs[0]
        label = html.escape(_row_label(key))
        where = (f"<span class=\"small\">seed {int(rec['seeds']['run'])}, "
                 f"{html.escape(Path(rec['_file']).name)}</span>")
        df = _per_sample_frame(rec, leaderboard)
        worst = _worst_spec(rec, leaderboard)
        if df is None and worst is None:  # one line: most committed records predate per-sample tables
            parts.append(f"<p class=\"missing\"><strong>{label}</strong> {where}: {NO_PER_SAMPLE_HTML}.</p>")
            continue
        parts.append(f"<h4>{label} {where}</h4>")
        if df is not None:
            parts.append(_summary_html(df, str(rec["per_sample"])))
        if worst is not None:
            parts.append(f"<p>Worst samples by {html.escape(worst['metric'])} (condition | fake | real):</p>"
                         + _worst_html(rec, worst, df, leaderboard, table, files))
    return "\n".join(parts)


# ----------------------------------------------------------------------------------------------------------- pages


CSS = """
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; margin: 1.5em 2em; color: #222; max-width: 1600px; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
h3 { margin-top: 1.5em; } h4 { margin: 1.2em 0 0.4em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
table.board th { background: #f0f0f0; } table.board td { white-space: nowrap; }
table.board tbody tr:nth-child(even) { background: #fafafa; }
table.protocol th { background: #f0f0f0; font-weight: normal; width: 8em; }
.worst { display: grid; grid-template-columns: max-content max-content; column-gap: 12px; }
.worst-key { grid-column: 1; display: flex; flex-direction: column; justify-content: center; font-size: 14px; }
.worst img { grid-column: 2; }
.small { font-size: 12px; color: #555; } .missing { color: #666; font-size: 14px; }
.scroll { overflow-x: auto; padding-bottom: 0.5em; }
.gallery-head { display: grid; font-size: 13px; text-align: center; margin-bottom: 4px; }
.gallery-head div { overflow-wrap: anywhere; }
img.gallery, img.pixel { image-rendering: pixelated; display: block; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.charts img { border: 1px solid #eee; }
img.iou { max-width: 100%; height: auto; }
.warning { background: #fff4e0; border-left: 4px solid #e0a030; padding: 0.5em 1em; }
footer { margin-top: 3em; border-top: 1px solid #ccc; padding-top: 0.5em; font-size: 12px; color: #555; }
code { background: #f4f4f4; padding: 0 3px; }
"""


def _page(title: str, body: str, footer: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n"
            f"<footer>{footer}</footer>\n</body>\n</html>\n")


def _footer(leaderboard: Path, command: str) -> str:
    from bench import __version__

    return (f"Generated by <code>{html.escape(command)}</code> (cgan-bench {html.escape(__version__)}) from "
            f"<code>{html.escape(leaderboard.name)}/results</code> and <code>{html.escape(leaderboard.name)}/"
            "reported.csv</code>. Reproduced numbers are mean ± std over distinct seeds; rows are ranked only "
            "within a protocol fingerprint.")


def _dataset_page(ds: str, tables: list[Table], rep, leaderboard: Path, files: dict[str, bytes],
                  command: str) -> str:
    """One dataset: per protocol its summary, leaderboard, gallery, charts and per-sample data; then the papers."""
    body = ['<p><a href="index.html">← all datasets</a></p>', f"<h1>{html.escape(ds)}</h1>"]
    if len(tables) > 1:
        body.append(f'<p class="warning">These results were measured under {len(tables)} different protocols '
                    f"({', '.join(html.escape(t.fingerprint) for t in tables)}). Numbers are comparable only "
                    "within one table.</p>")
    for t in tables:
        body += [f"<h2>Protocol <code>{html.escape(t.fingerprint)}</code></h2>", _protocol_html(t),
                 "<h3>Leaderboard</h3>", _leaderboard_html(t, leaderboard, files), _notes_html(t),
                 "<h3>Samples</h3>", '<p class="small">The first conditions of the split: the condition, the first '
                 "sample of each method (its lowest seed) and the real image.</p>",
                 _gallery_html(t, leaderboard, files), "<h3>Metrics</h3>", _charts_html(t, files)]
        if t.task == "semantic":
            body += ["<h3>Per-class IoU</h3>", _iou_html(t, files)]
        body += ["<h3>Per-sample results</h3>", _per_sample_html(t, leaderboard, files)]
    if rep.height:
        body.append(_reported_html(rep))
    return _page(f"{ds} — cgan-bench report", "\n".join(b for b in body if b), _footer(leaderboard, command))


def _index_page(pages: list[tuple[str, Any, int, int]], only_reported: list[str], leaderboard: Path,
                command: str) -> str:
    """Links to the dataset pages; datasets with published numbers only are named (their markdown tables show
    them), not given a page: a report page is about reproduced results."""
    rows = "".join(
        f'<tr><td><a href="{_href(_safe(ds) + ".html")}">{html.escape(ds)}</a></td>'
        f"<td>{html.escape(', '.join(sorted(set(sub['task'].to_list()))))}</td><td>{sub.height}</td>"
        f"<td>{n_tables}</td><td>{n_rep}</td></tr>" for ds, sub, n_tables, n_rep in pages)
    body = ("<h1>cgan-bench report</h1>\n<p>Reproduced numbers come from <code>bench run</code> records; reported "
            "numbers are the papers' own, measured under the papers' protocols, and are never ranked against "
            "ours.</p>\n<table class=\"board\"><thead><tr><th>dataset</th><th>task</th><th>records</th>"
            f"<th>protocols</th><th>reported rows</th></tr></thead><tbody>{rows}</tbody></table>")
    if only_reported:
        body += (f"\n<p>Published numbers only, no reproduced records yet: {html.escape(', '.join(only_reported))} "
                 f"(see <code>{html.escape(leaderboard.name)}/&lt;dataset&gt;.md</code>).</p>")
    return _page("cgan-bench report", body, _footer(leaderboard, command))


def command_text(leaderboard: str | None, out: str | None, datasets: Sequence[str] | None) -> str:
    """The footer's command: the options as given, folders by their name only (no absolute paths in a page)."""
    parts = ["bench", "report"]
    if leaderboard:
        parts += ["--leaderboard", Path(leaderboard).name or leaderboard]
    if out:
        parts += ["--out", Path(out).name or out]
    for d in datasets or ():
        parts += ["--dataset", d]
    return shlex.join(parts)
