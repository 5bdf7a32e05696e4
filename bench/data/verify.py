"""``bench data verify``: check a user's copy of a dataset against its card and frozen manifests.

Reports, per split: pairs found vs the manifest, files missing or without a partner, extra files, wrong image
size, label ids outside the card, and (for data that is ours, e.g. synthetic-streets) pixel hashes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bench.data.base import detect_layout, find_samples, present_folders, read_index_map, read_rgb
from bench.data.cards import Card, Manifest, load_card, load_manifest, parse_resolution
from bench.errors import BenchError

MAX_LINES = 8  # problems printed per category: the report stays short, the counts are complete


@dataclass
class SplitReport:
    split: str
    layout: str = "-"
    expected: int = 0
    found: int = 0
    problems: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, category: str, line: str) -> None:
        self.problems.setdefault(category, []).append(line)

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())


@dataclass
class Report:
    dataset: str
    root: Path
    splits: list[SplitReport]

    @property
    def ok(self) -> bool:
        return bool(self.splits) and all(s.ok for s in self.splits)

    def lines(self) -> list[str]:
        out = [f"{self.dataset} at {self.root}"]
        for s in self.splits:
            counts = ", ".join(f"{k} {len(v)}" for k, v in s.problems.items() if v) or "no problems"
            status = "OK" if s.ok else "FAIL"
            out.append(f"  {s.split}: {status}  {s.found}/{s.expected} pairs ({s.layout} layout); {counts}")
            for note in s.notes:
                out.append(f"    note: {note}")
            for cat, items in s.problems.items():
                for line in items[:MAX_LINES]:
                    out.append(f"    {cat}: {line}")
                if len(items) > MAX_LINES:
                    out.append(f"    {cat}: ... {len(items) - MAX_LINES} more")
        return out


def _header_size(path: Path) -> tuple[int, int] | None:
    """(height, width) from the header, None if unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size[1], im.size[0]
    except OSError:
        return None


def _synthetic_hashes(card: Card, sample: Any, want: dict[str, str], rep: SplitReport) -> None:
    from bench.data.synthetic import pixels_sha256, read_instance_png

    checks = [("image", sample.image, lambda p: read_rgb(p)),
              ("label", sample.label, lambda p: read_index_map(p).astype("uint8")),
              ("instance", sample.instance, read_instance_png)]
    for part, path, reader in checks:
        if path is None:
            continue
        try:
            got = pixels_sha256(reader(path))
        except BenchError as exc:
            rep.add("unreadable", str(exc))
            continue
        if got != want.get(part):
            rep.add("wrong hash", f"{path}: pixel sha256 {got[:16]}..., manifest {str(want.get(part))[:16]}...")


def _format_checks(card: Card) -> tuple[Callable[[Path], None] | None, Callable[[Path], None] | None]:
    """(root check, label check) that the dataset's loader runs before reading, so verify refuses the same wrong
    formats with the same one line as ``show`` / ``run`` (ADE20K: the full ADE20K release, RGB annotations)."""
    if card.name == "ade20k":
        from bench.data.ade20k import check_label, check_not_full_ade

        return check_not_full_ade, check_label
    return None, None


def _split_selector(card: Card) -> Callable[..., Any] | None:
    """The loader module's ``select_split(card, root, split, samples) -> (samples, problems)``, for datasets whose
    splits share one folder and a list file assigns the images (CelebA's partition file); None for the others."""
    import importlib

    from bench.data.cards import load_loader_spec

    module = importlib.import_module(load_loader_spec(card.name).loader.split(":")[0])
    return getattr(module, "select_split", None)


def verify_split(card: Card, root: Path, split: str, manifest: Manifest, *, quick: bool = False) -> SplitReport:
    rep = SplitReport(split, expected=manifest.count)
    try:
        layout = detect_layout(card, root, split)
    except BenchError as exc:
        rep.add("missing", str(exc))
        return rep
    rep.layout = layout.name
    _, samples, problems = find_samples(card, root, split, layout, strict=False)
    select = _split_selector(card)
    if select is not None:  # one folder for every split, a list file says which image is in which (CelebA)
        try:
            samples, more = select(card, root, split, samples)
        except BenchError as exc:
            rep.add("missing", str(exc))
            return rep
        problems = [*problems, *more]
    for p in problems:
        rep.add("missing partner", p)
    rep.found = len(samples)
    by_key = {Path(s.key).name: s for s in samples}

    # which files the split should hold
    if manifest.kind in ("file-list", "files"):
        listed = {f["key"]: f for f in manifest.files}
        for k in sorted(set(listed) - set(by_key)):
            rep.add("missing", f"{split}/{k}: listed in {manifest.path.name}, not found under {root}")
        for k in sorted(set(by_key) - set(listed)):
            rep.add("extra", f"{by_key[k].image}: not in {manifest.path.name}")
    else:
        import re

        pat = re.compile(manifest.raw["key_pattern"]) if manifest.raw.get("key_pattern") else None
        for k, s in sorted(by_key.items()):
            if pat and not pat.match(k):
                rep.add("extra", f"{s.image}: name '{k}' does not match {manifest.raw['key_pattern']}")
        if len(samples) < manifest.count:
            rep.add("missing", f"{manifest.count - len(samples)} of the {manifest.count} published {split} pairs "
                               f"are not under {root} ({manifest.raw.get('source', manifest.path.name)})")
        elif len(samples) > manifest.count:
            rep.add("extra", f"{len(samples) - manifest.count} pairs more than the {manifest.count} published")
        groups = manifest.raw.get("groups")
        if groups:
            found: dict[str, int] = {}
            for k in by_key:
                g = k.split("_")[0]
                found[g] = found.get(g, 0) + 1
            for g, n in sorted(groups.items()):
                if found.get(g, 0) != n:
                    rep.add("missing" if found.get(g, 0) < n else "extra",
                            f"{manifest.raw.get('group_by', 'group')} {g}: {found.get(g, 0)} pairs, published {n}")
            for g in sorted(set(found) - set(groups)):
                rep.add("extra", f"{manifest.raw.get('group_by', 'group')} {g}: {found[g]} pairs, not in the {split} split")

    # per-file checks: header sizes always, ids (decode) unless quick, pixel hashes for our own data
    want_size = manifest.raw.get("image_size") or manifest.raw.get("resolution")
    lut = card.raw_to_generator_lut()
    label_check = _format_checks(card)[1]
    listed_files = {f["key"]: f for f in manifest.files} if manifest.kind == "files" else {}
    for k, s in sorted(by_key.items()):
        size = _header_size(s.image)
        if size is None:
            rep.add("unreadable", f"{s.image}: not a readable image")
            continue
        if want_size and list(size) != list(want_size):
            rep.add("wrong size", f"{s.image}: {size[1]}x{size[0]}, manifest says {want_size[1]}x{want_size[0]} (WxH)")
        for what, p in (("label", s.label), ("instance map", s.instance)):
            if p is None:
                continue
            psize = _header_size(p)
            if psize is None:
                rep.add("unreadable", f"{p}: not a readable {what}")
            elif psize != size:
                rep.add("wrong size", f"{p}: {what} {psize[1]}x{psize[0]} differs from image {size[1]}x{size[0]}")
        if quick:
            continue
        if s.label is not None:
            try:
                if label_check is not None:
                    label_check(s.label)
                raw = read_index_map(s.label)
                bad = lut[raw.clip(0, len(lut) - 1)] < 0
                bad |= (raw < 0) | (raw >= len(lut))
                if bad.any():
                    v = int(raw[bad][0])
                    rep.add("bad ids", f"{s.label}: label id {v} is not in the {card.name} card "
                                       f"({int(bad.sum())} pixel(s))")
            except BenchError as exc:
                rep.add("unreadable", str(exc))
        elif layout.combined == "image-left-label-right":
            from bench.data.facades import colors_to_ids, split_ab

            try:
                _, b = split_ab(read_rgb(s.image), s.image)
                colors_to_ids(b, card, s.image)
            except BenchError as exc:
                rep.add("bad ids", str(exc))
        elif layout.combined:  # source | target: two halves of equal size
            from bench.data.facades import split_ab

            try:
                split_ab(read_rgb(s.image), s.image)
            except BenchError as exc:
                rep.add("unreadable", str(exc))
        if k in listed_files:
            _synthetic_hashes(card, s, listed_files[k], rep)
    if layout.lr is not None and not quick:  # SR sets shipped with LR files: are they our degradation?
        from bench.data.sr_sets import verify_lr

        verify_lr(card, layout, root, split, samples, rep)
    if quick:
        rep.notes.append("--quick: label ids and hashes not checked")
    return rep


def verify(name: str, root: str | Path | None = None, split: str | None = None, *, resolution: Any = None,
           quick: bool = False, seed: int | None = None) -> Report:
    """Check every split present under ``root`` (or just ``split``) against the card and its manifests."""
    card = load_card(name)
    if "source" in card.raw:
        return _verify_source(card, root, split)
    res = None
    if card.resolutions:  # a generated dataset: manifests are per resolution; default root is the cache copy
        res = parse_resolution(resolution) or card.eval_resolution
        if root is None:  # the loader prepares (or generates) its cached copy: verify that copy
            from bench.data import get_dataset

            root = get_dataset(name, None, None, res, **({"seed": seed} if seed is not None else {})).root
    if root is None:
        raise BenchError(f"{name}: --root is required (the folder holding the data; see {card.path.parent}/README.md)")
    root_p = Path(root).expanduser()
    if not root_p.is_dir():
        raise BenchError(f"{name}: data root {root_p} does not exist or is not a directory")
    root_check = _format_checks(card)[0]
    if root_check is not None:  # before the layout search, whose "missing folder" would hide the real cause
        root_check(root_p)
    splits = [split] if split else list(card.splits)
    reports = []
    for sp in splits:
        manifest = load_manifest(card, sp, res)
        # default: every split with any of its folders under root (half-present ones fail with what is missing);
        # splits with none of their folders are skipped, not failed
        if split is None and not present_folders(card, root_p, sp):
            continue
        reports.append(verify_split(card, root_p, sp, manifest, quick=quick))
    if not reports:
        detect_layout(card, root_p, splits[0])  # raises the one-line "missing folder" error
    return Report(name, root_p, reports)


def _verify_source(card: Card, root: str | Path | None, split: str | None) -> Report:
    """A dataset distributed as files the loader prepares (MNIST idx, CIFAR-10 batches): per split present, the
    files read, their md5 (when the count is the published one) and the count against the card."""
    from bench.data.class_sources import read_split

    if root is None:
        raise BenchError(f"{card.name}: --root is required (the folder holding the data; see {card.path.parent}/README.md)")
    root_p = Path(root).expanduser()
    if not root_p.is_dir():
        raise BenchError(f"{card.name}: data root {root_p} does not exist or is not a directory")
    reports = []
    for sp in [split] if split else list(card.splits):
        spec = card.raw["source"]["files"][sp]
        names = spec if isinstance(spec, list) else [spec["images"], spec["labels"]]
        if split is None and not any((root_p / n).is_file() for n in names):
            continue
        rep = SplitReport(sp, "source", card.splits[sp])
        try:
            images, _, _ = read_split(card, root_p, sp)
            rep.found = len(images)
            if rep.found != rep.expected:
                rep.add("count", f"{rep.found} images, the published split has {rep.expected} (md5 not checked)")
            else:
                rep.notes.append("md5 of every file matches the published one")
        except BenchError as exc:
            rep.add("files", str(exc))
        reports.append(rep)
    if not reports:
        raise BenchError(f"{card.name}: none of its files under {root_p} (see {card.path.parent}/README.md)")
    return Report(card.name, root_p, reports)


def report_json(rep: Report) -> str:
    return json.dumps({"dataset": rep.dataset, "root": str(rep.root), "ok": rep.ok,
                       "splits": [{"split": s.split, "layout": s.layout, "expected": s.expected, "found": s.found,
                                   "problems": s.problems} for s in rep.splits]}, indent=1)
