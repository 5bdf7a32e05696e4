"""Dataset cards and split manifests: load, validate (unknown keys raise), hash.

A card (``datasets/<name>/card.json``) is the single source of every dataset fact that can change a number:
classes and their ids, label format, eval resolution, resize filters, the generator's and the segmenter's
label spaces. A manifest (``datasets/<name>/<split>[-<H>x<W>].manifest.json``) freezes one split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.registry import did_you_mean
from bench.fileio import sha256_file

# Filters a card may name; values are PIL's resampling names (resolved lazily, PIL is only needed to resize).
RESIZE_FILTERS = ("nearest", "bilinear", "bicubic", "lanczos", "box")

_CARD_KEYS = {
    "name", "version", "title", "homepage", "license", "citation", "provenance", "label_format",
    "instance_format", "image_format", "eval_split", "splits", "eval_resolution", "resolutions", "image_resize",
    "label_resize", "resize_mode", "generator", "segmenter", "has_instances", "classes", "layouts", "synthetic",
    "task", "task_params", "derived_from", "source",
}
_CARD_REQUIRED = _CARD_KEYS - {"resolutions", "synthetic", "homepage", "citation", "provenance", "instance_format",
                               "image_format", "task_params", "derived_from", "source"}
# a derived card (``"derived_from": "<base>"``) poses another task on the base card's files: it states these
# keys itself and takes every other key (classes, splits, layouts, manifests, loader data) from the base
_DERIVED_OWN = {"name", "version", "title", "task", "derived_from"}
_CLASS_KEYS = {"id", "name", "color", "generator_id", "segmenter_id", "category", "has_instances", "synonyms"}
_CLASS_REQUIRED = {"id", "name", "color", "generator_id", "segmenter_id"}
_SPACE_KEYS = {"num_classes", "ignore_index", "note"}
_LAYOUT_KEYS = {"image", "label", "instance", "lr", "split_names", "combined", "note"}
_DIRSPEC_KEYS = {"dir", "suffix", "prefix"}
_SYNTH_KEYS = {"default_seed", "generator_version"}
_LOADER_KEYS = {"loader", "default_segmenter", "default_classifier", "default_matcher", "note"}
_MANIFEST_KEYS = {"manifest_version", "dataset", "split", "kind", "count", "image_size", "key_pattern", "group_by",
                  "groups", "files", "source", "resolution", "seed", "hash"}
MANIFEST_KINDS = ("published-counts", "file-list", "files")
NATIVE = "native"  # eval_resolution of a card whose images keep their own sizes
NATIVE_TASKS = ("super-resolution",)
# pix2pix A|B files: photo left + label colours right (facades), or source left + target right (edges2shoes)
COMBINED_LAYOUTS = ("image-left-label-right", "source-left-target-right")
IMAGE_ONLY_TASKS = ("super-resolution", "inpainting", "unpaired", "attribute", "text")  # layouts without label maps


def datasets_dir() -> Path:
    """The repository's ``datasets/`` folder (data only, found relative to this file).

    The package is used from an editable install; a non-editable wheel has no ``datasets/`` next to it, so say so.
    """
    d = Path(__file__).resolve().parents[2] / "datasets"
    if not d.is_dir():
        raise BenchError(f"dataset cards folder {d} not found: cgan-bench must run from a source checkout "
                         "(pip install -e .), the cards are data files of the repository")
    return d


def _check_keys(where: str, obj: Any, allowed: set[str], required: set[str]) -> None:
    if not isinstance(obj, dict):
        raise BenchError(f"{where}: expected an object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise BenchError(f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(obj))
    if missing:
        raise BenchError(f"{where}: missing key '{missing[0]}'")


def _hw(where: str, value: Any) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise BenchError(f"{where}: expected [height, width] of positive ints, got {value!r}")
    return int(value[0]), int(value[1])


@dataclass(frozen=True)
class ClassInfo:
    """One label value of the dataset's files and where it goes in the generator's and segmenter's spaces."""

    id: int
    name: str
    color: tuple[int, int, int]
    generator_id: int
    segmenter_id: int
    has_instances: bool = False


@dataclass(frozen=True)
class LayoutDir:
    dir: str  # relative to the root; "{split}" is replaced by the layout's name for the split
    suffix: str  # file name ending, extension included; the key is the relative path without it
    prefix: str = ""  # optional file name prefix ("{split}" replaced too)


@dataclass(frozen=True)
class Layout:
    """One on-disk arrangement of a dataset (e.g. Cityscapes official vs pix2pixHD's flat folders)."""

    name: str
    image: LayoutDir
    label: LayoutDir | None
    instance: LayoutDir | None
    split_names: dict[str, str]
    combined: str | None  # pix2pix A|B files: "image-left-label-right" or "source-left-target-right"
    note: str = ""  # printed when only some of the layout's folders are present (e.g. a release without photos)
    # super-resolution sets distributed with their low-resolution inputs: checked against our degradation, never fed
    lr: LayoutDir | None = None

    def split_name(self, split: str) -> str:
        return self.split_names.get(split, split)


@dataclass(frozen=True)
class Card:
    """A validated dataset card. ``raw`` keeps the JSON; ``sha256`` is the file's hash (part of cache keys)."""

    name: str
    version: int
    path: Path
    sha256: str
    raw: dict[str, Any] = field(repr=False, compare=False)
    classes: tuple[ClassInfo, ...] = field(repr=False)
    layouts: tuple[Layout, ...] = field(repr=False)

    @property
    def id(self) -> str:
        """``name@version``: how a protocol names the card."""
        return f"{self.name}@{self.version}"

    @property
    def eval_split(self) -> str:
        return self.raw["eval_split"]

    @property
    def splits(self) -> dict[str, int]:
        return dict(self.raw["splits"])

    @property
    def eval_resolution(self) -> tuple[int, int] | None:
        """(H, W), or None for "native": each image at its own size (super-resolution test sets)."""
        r = self.raw["eval_resolution"]
        return None if r == NATIVE else tuple(r)  # type: ignore[return-value]

    @property
    def resolutions(self) -> list[tuple[int, int]] | None:
        """Native resolutions of a generated dataset (None: any resolution, by resizing)."""
        r = self.raw.get("resolutions")
        return [tuple(x) for x in r] if r else None  # type: ignore[misc]

    @property
    def image_resize(self) -> str:
        return self.raw["image_resize"]

    @property
    def num_classes(self) -> int:
        """Channels of the generator's one-hot label input."""
        return int(self.raw["generator"]["num_classes"])

    @property
    def segmenter_num_classes(self) -> int:
        return int(self.raw["segmenter"]["num_classes"])

    @property
    def ignore_index(self) -> int:
        return int(self.raw["segmenter"]["ignore_index"])

    @property
    def has_instances(self) -> bool:
        return bool(self.raw["has_instances"])

    @property
    def task(self) -> str:
        """The task kind (``bench.tasks``): what a condition is and what the track measures."""
        return self.raw["task"]

    @property
    def task_params(self) -> dict[str, Any]:
        """The card's ``task_params`` with the task's defaults filled in (validated when the card is loaded)."""
        from bench.tasks import get_task

        return get_task(self.task).resolve_params(self.raw.get("task_params"), str(self.path), self.eval_resolution)

    @property
    def data_name(self) -> str:
        """The dataset whose files and manifests this card reads: its own, or the base card's when derived."""
        return self.raw.get("derived_from") or self.name

    def layout(self, name: str) -> Layout:
        for lay in self.layouts:
            if lay.name == name:
                return lay
        raise BenchError(f"{self.path}: no layout '{name}' (known: {', '.join(l.name for l in self.layouts)})")

    def raw_ids(self) -> list[int]:
        return [c.id for c in self.classes]

    def raw_to_generator_lut(self) -> "Any":
        """int64 lookup table file value -> generator id, -1 where the card has no class (checked on read)."""
        import numpy as np

        size = 65536 if max(self.raw_ids()) > 255 else 256
        lut = np.full(size, -1, dtype=np.int64)
        for c in self.classes:
            lut[c.id] = c.generator_id
        return lut

    def segmenter_lut(self) -> "Any":
        """int64 lookup table generator id -> segmenter id (ignore_index where not evaluated)."""
        import numpy as np

        lut = np.full(self.num_classes, self.ignore_index, dtype=np.int64)
        for c in self.classes:
            lut[c.generator_id] = c.segmenter_id
        return lut

    def palette(self) -> "Any":
        """uint8 [num_classes, 3]: the display colour of each generator id (first class listed wins)."""
        import numpy as np

        pal = np.zeros((self.num_classes, 3), dtype=np.uint8)
        seen: set[int] = set()
        for c in self.classes:
            if c.generator_id not in seen:
                pal[c.generator_id] = c.color
                seen.add(c.generator_id)
        return pal

    def class_names(self) -> list[str]:
        """Name of each generator id."""
        names = [f"unused-{i}" for i in range(self.num_classes)]
        for c in reversed(self.classes):
            names[c.generator_id] = c.name
        return names


def _parse_dirspec(where: str, obj: Any) -> LayoutDir:
    _check_keys(where, obj, _DIRSPEC_KEYS, {"dir", "suffix"})
    return LayoutDir(str(obj["dir"]), str(obj["suffix"]), str(obj.get("prefix", "")))


def validate_card(raw: dict[str, Any], path: Path) -> Card:
    """Check every key and cross-reference of a card; raise BenchError naming the file and the field."""
    where = str(path)
    _check_keys(where, raw, _CARD_KEYS, _CARD_REQUIRED)
    if not isinstance(raw["version"], int) or raw["version"] < 1:
        raise BenchError(f"{where}: 'version' must be a positive int, got {raw['version']!r}")
    if raw["eval_resolution"] == NATIVE:
        from bench.tasks import get_task

        if raw.get("task") not in NATIVE_TASKS or get_task(raw["task"]).native_multiple is None:
            raise BenchError(f"{where}: eval_resolution 'native' is for the tasks {', '.join(NATIVE_TASKS)}, not "
                             f"{raw.get('task', 'semantic')!r}")
        if raw.get("resolutions"):
            raise BenchError(f"{where}: a card at native resolution has no generated 'resolutions'")
    else:
        _hw(f"{where}: eval_resolution", raw["eval_resolution"])
    for r in raw.get("resolutions") or []:
        _hw(f"{where}: resolutions", r)
    for key in ("image_resize", "label_resize"):
        if raw[key] not in RESIZE_FILTERS:
            raise BenchError(f"{where}: {key} '{raw[key]}' is not one of {', '.join(RESIZE_FILTERS)}")
    if raw["label_resize"] != "nearest":
        raise BenchError(f"{where}: label_resize '{raw['label_resize']}': label ids can only be resized with nearest")
    if "task" in raw:
        from bench.tasks import TASKS, get_task

        if raw["task"] not in TASKS:
            raise BenchError(f"{where}: task {raw['task']!r} is not a task kind{did_you_mean(str(raw['task']), TASKS)}")
        res = raw["eval_resolution"]
        get_task(raw["task"]).resolve_params(raw.get("task_params"), where, None if res == NATIVE else tuple(res))
    if "source" in raw:  # distributed files the loader prepares (bench/data/class_sources.py)
        from bench.data.class_sources import check_source

        check_source(where, raw["source"], raw["splits"])
    if raw["resize_mode"] != "stretch":
        raise BenchError(f"{where}: resize_mode '{raw['resize_mode']}' is not supported (only 'stretch')")
    if not isinstance(raw["splits"], dict) or raw["eval_split"] not in raw["splits"]:
        raise BenchError(f"{where}: eval_split '{raw['eval_split']}' is not one of the card's splits")
    for space in ("generator", "segmenter"):
        _check_keys(f"{where}: {space}", raw[space], _SPACE_KEYS, {"num_classes"})
    if "synthetic" in raw:
        _check_keys(f"{where}: synthetic", raw["synthetic"], _SYNTH_KEYS, _SYNTH_KEYS)
    n_gen = raw["generator"]["num_classes"]
    n_seg = raw["segmenter"]["num_classes"]
    ignore = raw["segmenter"].get("ignore_index", 255)
    raw["segmenter"].setdefault("ignore_index", ignore)

    classes: list[ClassInfo] = []
    seen_ids: set[int] = set()
    gen_to_seg: dict[int, int] = {}
    for i, c in enumerate(raw["classes"]):
        cw = f"{where}: classes[{i}]"
        _check_keys(cw, c, _CLASS_KEYS, _CLASS_REQUIRED)
        if not (isinstance(c["id"], int) and 0 <= c["id"] < 65536):
            raise BenchError(f"{cw}: id {c['id']!r} is not a label value 0-65535")
        if c["id"] in seen_ids:
            raise BenchError(f"{cw}: id {c['id']} is listed twice")
        seen_ids.add(c["id"])
        if not (isinstance(c["generator_id"], int) and 0 <= c["generator_id"] < n_gen):
            raise BenchError(f"{cw}: generator_id {c['generator_id']!r} outside 0..{n_gen - 1}")
        sid = c["segmenter_id"]
        if not (isinstance(sid, int) and (0 <= sid < n_seg or sid == ignore)):
            raise BenchError(f"{cw}: segmenter_id {sid!r} outside 0..{n_seg - 1} and not the ignore index {ignore}")
        if gen_to_seg.setdefault(c["generator_id"], sid) != sid:
            raise BenchError(f"{cw}: generator_id {c['generator_id']} maps to two segmenter ids")
        col = c["color"]
        if not (isinstance(col, list) and len(col) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in col)):
            raise BenchError(f"{cw}: color {col!r} is not [r, g, b] in 0..255")
        classes.append(ClassInfo(c["id"], c["name"], tuple(col), c["generator_id"], sid,  # type: ignore[arg-type]
                                 bool(c.get("has_instances", False))))

    layouts: list[Layout] = []
    if not isinstance(raw["layouts"], dict) or not raw["layouts"]:
        raise BenchError(f"{where}: 'layouts' must name at least one on-disk layout")
    for lname, lay in raw["layouts"].items():
        lw = f"{where}: layouts.{lname}"
        _check_keys(lw, lay, _LAYOUT_KEYS, {"image"})
        combined = lay.get("combined")
        if combined not in (None, *COMBINED_LAYOUTS):
            raise BenchError(f"{lw}: combined '{combined}' is not one of {', '.join(COMBINED_LAYOUTS)}")
        if combined is None and "label" not in lay and raw.get("task") not in IMAGE_ONLY_TASKS:
            raise BenchError(f"{lw}: missing key 'label'")
        if "lr" in lay and raw.get("task") != "super-resolution":
            raise BenchError(f"{lw}: 'lr' (low-resolution inputs as distributed) is for super-resolution cards")
        layouts.append(Layout(
            lname, _parse_dirspec(f"{lw}.image", lay["image"]),
            _parse_dirspec(f"{lw}.label", lay["label"]) if "label" in lay else None,
            _parse_dirspec(f"{lw}.instance", lay["instance"]) if "instance" in lay else None,
            dict(lay.get("split_names", {})), combined, str(lay.get("note", "")),
            _parse_dirspec(f"{lw}.lr", lay["lr"]) if "lr" in lay else None,
        ))
    return Card(raw["name"], raw["version"], path, "", raw, tuple(classes), tuple(layouts))


def card_names() -> list[str]:
    """Every dataset of the checkout: the folders of ``datasets/`` holding a ``card.json``."""
    return sorted(p.parent.name for p in datasets_dir().glob("*/card.json"))


@dataclass(frozen=True)
class LoaderSpec:
    """``datasets/<name>/loader.json``: the code side of a dataset, kept out of the card so that wiring code to data
    never changes the card's sha256 (part of every dataset fingerprint, run id and preprocessing cache key)."""

    loader: str  # "package.module:function" called as loader(card, root, split, resolution, **options)
    default_segmenter: str | None  # the segmenter the card's published numbers were measured with, or None
    # class datasets: the fixed classifier of their classes (class_acc), a bench.classifiers name, or None
    default_classifier: str | None = None
    # text datasets: the fixed image-text matcher of their captions (r_precision), a bench.text.matchers name, or None
    default_matcher: str | None = None


def load_loader_spec(name: str) -> LoaderSpec:
    path = datasets_dir() / name / "loader.json"
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"{path}: not a readable JSON loader file ({exc}); every datasets/<name>/card.json needs "
                         "one naming its loader") from exc
    _check_keys(str(path), raw, _LOADER_KEYS, {"loader", "default_segmenter"})
    loader, segmenter = raw["loader"], raw["default_segmenter"]
    if not (isinstance(loader, str) and loader.count(":") == 1 and all(loader.split(":"))):
        raise BenchError(f"{path}: loader {loader!r} is not a 'package.module:function' string")
    if segmenter is not None and not (isinstance(segmenter, str) and segmenter):
        raise BenchError(f"{path}: default_segmenter {segmenter!r} is not a segmenter name or null")
    classifier = raw.get("default_classifier")
    if classifier is not None and not (isinstance(classifier, str) and classifier):
        raise BenchError(f"{path}: default_classifier {classifier!r} is not a classifier name or null")
    matcher = raw.get("default_matcher")
    if matcher is not None and not (isinstance(matcher, str) and matcher):
        raise BenchError(f"{path}: default_matcher {matcher!r} is not an image-text matcher name or null")
    return LoaderSpec(loader, segmenter, classifier, matcher)


_CARDS: dict[str, Card] = {}


def load_card(name: str) -> Card:
    """The validated card of a dataset (cached per process)."""
    if name in _CARDS:
        return _CARDS[name]
    path = datasets_dir() / name / "card.json"
    if not path.is_file():
        known = ", ".join(card_names())
        raise BenchError(f"no dataset card {path} (known cards: {known})")
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"{path}: not a readable JSON card ({exc})") from exc
    sha = sha256_file(path)
    if isinstance(raw, dict) and "derived_from" in raw:
        raw, sha = _derive(raw, path, sha)
    card = validate_card(raw, path)
    if card.name != name:
        raise BenchError(f"{path}: card name '{card.name}' differs from its folder '{name}'")
    card = Card(card.name, card.version, path, sha, raw, card.classes, card.layouts)
    _CARDS[name] = card
    return card


def _derive(raw: dict[str, Any], path: Path, sha: str) -> tuple[dict[str, Any], str]:
    """The full card of a derived card: the base card's keys, then its own; its sha256 covers both files."""
    import hashlib

    base_name = raw["derived_from"]
    if not isinstance(base_name, str) or base_name not in card_names():
        raise BenchError(f"{path}: derived_from {base_name!r} is not a dataset card (known: {', '.join(card_names())})")
    base = load_card(base_name)
    if "derived_from" in base.raw:
        raise BenchError(f"{path}: derived_from '{base_name}' is itself derived; derive from its base")
    missing = sorted({"name", "version", "title", "task"} - set(raw))
    if missing:
        raise BenchError(f"{path}: missing key '{missing[0]}' (a derived card states its name, version, title, task)")
    merged = {k: v for k, v in base.raw.items() if k not in _DERIVED_OWN | {"task_params"}}
    merged.update(raw)
    return merged, hashlib.sha256(f"{base.sha256}/{sha}".encode()).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """A frozen split: published counts and name pattern, or the exact file list (with hashes when ours)."""

    path: Path
    sha256: str  # of the manifest file: the identity of the split in cache keys and protocols
    raw: dict[str, Any] = field(repr=False)

    @property
    def kind(self) -> str:
        return self.raw["kind"]

    @property
    def count(self) -> int:
        return int(self.raw["count"])

    @property
    def files(self) -> list[dict[str, str]]:
        return list(self.raw.get("files", []))


def manifest_path(card: Card, split: str, resolution: tuple[int, int] | None = None) -> Path:
    base = datasets_dir() / card.data_name
    if resolution is not None and card.resolutions:
        return base / f"{split}-{resolution[0]}x{resolution[1]}.manifest.json"
    return base / f"{split}.manifest.json"


def load_manifest(card: Card, split: str, resolution: tuple[int, int] | None = None) -> Manifest:
    """The manifest of one split; unknown keys raise."""
    if split not in card.splits:
        raise BenchError(f"{card.name}: unknown split '{split}' (card {card.path} lists: {', '.join(card.splits)})")
    path = manifest_path(card, split, resolution)
    if not path.is_file():
        raise BenchError(f"{card.name}: manifest {path} is missing")
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"{path}: not a readable JSON manifest ({exc})") from exc
    _check_keys(str(path), raw, _MANIFEST_KEYS, {"manifest_version", "dataset", "split", "kind", "count"})
    if raw["kind"] not in MANIFEST_KINDS:
        raise BenchError(f"{path}: kind '{raw['kind']}' is not one of {', '.join(MANIFEST_KINDS)}")
    if raw["dataset"] != card.data_name or raw["split"] != split:
        raise BenchError(f"{path}: manifest is for {raw['dataset']}/{raw['split']}, expected {card.data_name}/{split}")
    if raw["kind"] != "published-counts" and len(raw.get("files", [])) != raw["count"]:
        raise BenchError(f"{path}: lists {len(raw.get('files', []))} files but count is {raw['count']}")
    if card.splits[split] != raw["count"]:
        raise BenchError(f"{path}: count {raw['count']} differs from the card's {split} count {card.splits[split]}")
    return Manifest(path, sha256_file(path), raw)


def parse_resolution(value: Any) -> tuple[int, int] | None:
    """``None``, ``256``, ``"256"``, ``"256x512"`` (height x width) or ``(256, 512)`` -> (H, W)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, str):
        parts = value.lower().split("x")
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise BenchError(f"resolution '{value}' is not HxW (e.g. 256x512) or a single size") from None
        if len(nums) == 1:
            nums = nums * 2
        value = nums
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value):
        return (int(value[0]), int(value[1]))
    raise BenchError(f"resolution {value!r} is not HxW (e.g. 256x512) or a single size")
