"""Shared loader machinery: finding pairs on disk by a card layout, decoding with checks, the Dataset object.

A loader module only says how its files look (its card's layouts plus, where needed, a decode hook); pairing,
the checks that produce one clear line per problem, resizing and caching live here once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from bench.data.cards import Card, Layout, LayoutDir, Manifest, load_manifest
from bench.errors import BenchError

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Sample:
    """One pair on disk. ``label`` is None for combined A|B files (the label is the image file's right half)."""

    key: str  # relative path inside the split folder, without the layout suffix: how partners are paired
    image: Path
    label: Path | None
    instance: Path | None


def _expand(spec: LayoutDir, layout: Layout, split: str) -> tuple[str, str]:
    name = layout.split_name(split)
    return spec.dir.replace("{split}", name), spec.prefix.replace("{split}", name)


def _list(folder: Path, spec: LayoutDir, prefix: str) -> dict[str, Path]:
    """key -> file for every file under ``folder`` (recursive) ending in the spec's suffix."""
    out: dict[str, Path] = {}
    for dirpath, _dirs, files in os.walk(folder):
        for f in files:
            if f.endswith(spec.suffix) and f.startswith(prefix) and not f.startswith("."):
                p = Path(dirpath) / f
                rel = p.relative_to(folder).as_posix()
                out[rel[: -len(spec.suffix)]] = p
    return out


def layout_folders(layout: Layout, split: str) -> list[str]:
    """The folders (relative to the root) a layout needs for a split: image, label, instance (where it has them)."""
    specs = [layout.image, layout.label, layout.instance]
    return list(dict.fromkeys(_expand(s, layout, split)[0] for s in specs if s is not None))


def present_folders(card: Card, root: Path, split: str) -> list[tuple[Layout, list[str], list[str]]]:
    """(layout, present folders, absent folders) for every card layout with at least one folder of ``split``."""
    out = []
    for lay in card.layouts:
        dirs = layout_folders(lay, split)
        have = [d for d in dirs if (root / d).is_dir()]
        if have:
            out.append((lay, have, [d for d in dirs if d not in have]))
    return out


def detect_layout(card: Card, root: Path, split: str) -> Layout:
    """The first card layout whose folders exist under ``root`` for this split; else one line naming them
    (and, when a layout is half present, which of its folders are there and which are not)."""
    if not root.is_dir():
        raise BenchError(f"{card.name}: data root {root} does not exist or is not a directory")
    for lay in card.layouts:
        d_img, _ = _expand(lay.image, lay, split)
        d_lab = _expand(lay.label, lay, split)[0] if lay.label else d_img
        if (root / d_img).is_dir() and (root / d_lab).is_dir():
            return lay
    for lay, have, absent in present_folders(card, root, split):
        needed = [d for d in absent if lay.instance is None or d != _expand(lay.instance, lay, split)[0]]
        if needed:
            note = f"; {lay.note}" if lay.note else ""
            raise BenchError(f"{card.name}: split '{split}' is half present under {root}: "
                             f"{', '.join(d + '/' for d in have)} present, {', '.join(d + '/' for d in needed)} "
                             f"absent ({lay.name} layout){note}")
    expected = " or ".join(
        f"{_expand(l.image, l, split)[0]}/" + (f" + {_expand(l.label, l, split)[0]}/" if l.label else "")
        + f" ({l.name})" for l in card.layouts)
    raise BenchError(f"{card.name}: missing folder under {root} for split '{split}': expected {expected}")


def find_samples(card: Card, root: Path, split: str, layout: Layout | None = None,
                 *, strict: bool = True) -> tuple[Layout, list[Sample], list[str]]:
    """Pair image/label/instance files of one split by key.

    Returns (layout, samples sorted by key, problems). With ``strict`` the first problem (a file without its
    partner, a missing instance folder) raises; ``verify`` collects them instead.
    """
    layout = layout or detect_layout(card, root, split)
    problems: list[str] = []
    d_img, p_img = _expand(layout.image, layout, split)
    images = _list(root / d_img, layout.image, p_img)
    labels: dict[str, Path] | None = None
    if layout.label is not None:
        d_lab, p_lab = _expand(layout.label, layout, split)
        labels = _list(root / d_lab, layout.label, p_lab)
    insts: dict[str, Path] | None = None
    if layout.instance is not None:
        d_inst, p_inst = _expand(layout.instance, layout, split)
        if (root / d_inst).is_dir():
            insts = _list(root / d_inst, layout.instance, p_inst)
        else:
            problems.append(f"{root / d_inst}: missing instance folder ({layout.name} layout of {card.name})")
    if labels is not None:
        for k in sorted(set(images) - set(labels)):
            problems.append(f"{images[k]}: no label partner (expected {root / d_lab / (k + layout.label.suffix)})")
        for k in sorted(set(labels) - set(images)):
            problems.append(f"{labels[k]}: no image partner (expected {root / d_img / (k + layout.image.suffix)})")
    if insts is not None:
        for k in sorted(set(images) - set(insts)):
            problems.append(f"{images[k]}: no instance partner "
                            f"(expected {root / d_inst / (k + layout.instance.suffix)})")  # type: ignore[union-attr]
    keys = sorted(set(images) & set(labels) if labels is not None else set(images))
    if insts is not None:
        keys = [k for k in keys if k in insts]
    if strict and problems:
        raise BenchError(problems[0] + (f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""))
    samples = [Sample(k, images[k], labels[k] if labels is not None else None,
                      insts[k] if insts is not None else None) for k in keys]
    if strict and not samples:
        raise BenchError(f"{card.name}: no {split} pairs under {root / d_img} (files ending in {layout.image.suffix})")
    return layout, samples, problems


# ----------------------------------------------------------------------------- decoding with checks

def read_rgb(path: Path) -> "np.ndarray":
    """uint8 HxWx3. Grayscale files (a few COCO images) are replicated to RGB; other modes are refused."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode == "L":
                im = im.convert("RGB")
            if im.mode != "RGB":
                raise BenchError(f"{path}: image mode {im.mode}, expected RGB (or L)")
            return np.asarray(im, dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BenchError(f"{path}: unreadable image ({exc})") from exc


def read_index_map(path: Path, what: str = "label map") -> "np.ndarray":
    """A label / instance map as int64 HxW (``bench.images.decode_label``, imported here lazily)."""
    from bench.images import decode_label

    return decode_label(path, what)


def map_labels(raw: "np.ndarray", lut: "np.ndarray", card: Card, path: Path) -> "np.ndarray":
    """File values -> generator ids; a value the card does not list raises naming the file and the value."""
    import numpy as np

    if raw.size and (raw.min() < 0 or raw.max() >= lut.shape[0]):
        bad_val = int(raw.min() if raw.min() < 0 else raw.max())
    else:
        mapped = lut[raw]
        if not (mapped < 0).any():
            return mapped
        bad_val = int(raw[mapped < 0][0])
    n_bad = int(np.count_nonzero(raw == bad_val))
    ids = card.raw_ids()
    raise BenchError(f"{path}: label id {bad_val} is not in the {card.name} card ({n_bad} pixel(s); "
                     f"valid ids {_ranges(ids)})")


def _ranges(ids: Sequence[int]) -> str:
    ids = sorted(ids)
    out, start, prev = [], ids[0], ids[0]
    for v in ids[1:] + [None]:  # type: ignore[list-item]
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(f"{start}-{prev}" if prev != start else f"{start}")
        if v is not None:
            start = prev = v
    return ", ".join(out)


def check_same_size(a: "np.ndarray", a_path: Path, b: "np.ndarray", b_path: Path, what: str) -> None:
    if a.shape[:2] != b.shape[:2]:
        raise BenchError(f"{b_path}: {what} size {b.shape[1]}x{b.shape[0]} differs from image {a_path} "
                         f"{a.shape[1]}x{a.shape[0]} (width x height)")


Decoded = tuple["np.ndarray", "np.ndarray", "np.ndarray | None"]  # image HxWx3, generator ids HxW, instance HxW


def decode_pair(card: Card, sample: Sample, lut: "np.ndarray",
                check_label: Callable[[Path], None] | None = None) -> Decoded:
    """Read one pair at its native size with every check; labels become generator ids."""
    image = read_rgb(sample.image)
    assert sample.label is not None
    if check_label is not None:
        check_label(sample.label)
    raw = read_index_map(sample.label)
    check_same_size(image, sample.image, raw, sample.label, "label")
    label = map_labels(raw, lut, card, sample.label)
    inst = None
    if sample.instance is not None:
        inst = read_index_map(sample.instance, "instance map")
        check_same_size(image, sample.image, inst, sample.instance, "instance map")
    return image, label, inst


# ----------------------------------------------------------------------------- the Dataset

class PairedDataset:
    """A map-style dataset of SPADE-style items; a ``torch.utils.data.DataLoader`` accepts it as is.

    ``ds[i]`` -> ``{"label": int64 [1,H,W], "instance": int64 [1,H,W], "image": uint8 [3,H,W], "path": str}``;
    ``collate`` stacks items into a batch. Every item is at ``resolution`` (H, W), preprocessed as the card says;
    at native resolution (``resolution`` None: super-resolution test sets) each keeps its own size, cropped to a
    multiple of the task's ``native_multiple`` (the scale), and only items of one size stack.
    (Not a torch Dataset subclass so that ``import bench.data`` does not import torch.)
    """

    def __init__(self, card: Card, split: str, samples: list[Sample], resolution: tuple[int, int] | None,
                 decode: Callable[[Sample], Decoded], *, root: Path, layout: str,
                 manifest: Manifest | None = None, cache: bool = True) -> None:
        self.card = card
        self.split = split
        self.samples = samples
        self.resolution = resolution
        self.root = root
        self.layout = layout
        self.manifest = manifest if manifest is not None else load_manifest(card, split)
        self._decode = decode
        self._cache = None
        if cache:
            from bench.data.preprocess import PreprocessCache

            self._cache = PreprocessCache(self)

    # facts a protocol / metric needs
    @property
    def num_classes(self) -> int:
        """Channels of the generator's one-hot label input."""
        return self.card.num_classes

    @property
    def segmenter_num_classes(self) -> int:
        return self.card.segmenter_num_classes

    @property
    def ignore_index(self) -> int:
        return self.card.ignore_index

    @property
    def segmenter_lut(self) -> "np.ndarray":
        """int64 [num_classes]: generator id -> segmenter id (e.g. Cityscapes labelIds -> trainIds)."""
        return self.card.segmenter_lut()

    def to_segmenter(self, label: Any) -> Any:
        """Map generator ids (numpy array or torch tensor) to the segmenter's ids, ignore_index where ignored."""
        lut = self.segmenter_lut
        if hasattr(label, "new_tensor"):  # torch tensor: index a tensor LUT on the same device
            return label.new_tensor(lut)[label]
        return lut[label]

    @property
    def palette(self) -> "np.ndarray":
        return self.card.palette()

    @property
    def task(self) -> Any:
        """The card's task kind (a ``bench.tasks.Task``) as its task_params pose it."""
        from bench.tasks import get_task

        return get_task(self.card.task).refined(self.task_params)

    @property
    def task_params(self) -> dict[str, Any]:
        """The card's task_params with defaults, checked at this dataset's resolution (e.g. a multiple of the scale)."""
        from bench.tasks import get_task

        res = tuple(self.resolution) if self.resolution is not None else None
        return get_task(self.card.task).resolve_params(self.card.raw.get("task_params"), str(self.card.path), res)

    @property
    def native_multiple(self) -> int:
        """At native resolution, the multiple each image is cropped to (1 otherwise)."""
        if self.resolution is not None or self.task.native_multiple is None:
            return 1
        return int(self.task.native_multiple(self.task_params))

    def fingerprint(self) -> dict[str, Any]:
        """Everything about this data that can change a number (for the protocol / result record)."""
        return {"card": self.card.id, "card_sha256": self.card.sha256, "split": self.split,
                "manifest_sha256": self.manifest.sha256, "n": len(self), "layout": self.layout,
                "resolution": list(self.resolution) if self.resolution is not None else "native",
                "image_resize": self.card.image_resize,
                "label_resize": "nearest", "has_instances": self.has_instances,
                "task": self.card.task, "task_params": self.task_params}

    @property
    def has_instances(self) -> bool:
        return bool(self.samples) and self.samples[0].instance is not None

    def __len__(self) -> int:
        return len(self.samples)

    @classmethod
    def wrap(cls, ds: "PairedDataset", **attrs: Any) -> Any:
        """``ds`` as an instance of this subclass (a loader's items with more keys, e.g. ``source``), with ``attrs``
        (the subclass's own state) set on it."""
        out = cls.__new__(cls)
        out.__dict__.update(ds.__dict__)
        out.__dict__.update(attrs)
        if out._cache is not None and hasattr(out, "cache_identity"):
            # the cache was keyed on ``ds``: re-key it with what this subclass's decoding also reads
            from bench.data.preprocess import PreprocessCache

            out._cache = PreprocessCache(out)
        return out

    def at_resolution(self, resolution: tuple[int, int]) -> "PairedDataset":
        """The same samples preprocessed to another size (the random-crop augmentation's larger training set); a
        subclass made by ``wrap`` stays that subclass, with its own state."""
        out = PairedDataset(self.card, self.split, self.samples, tuple(resolution), self._decode,  # type: ignore
                            root=self.root, layout=self.layout, manifest=self.manifest, cache=self._cache is not None)
        if type(self) is PairedDataset:
            return out
        return type(self).wrap(out, **{k: v for k, v in self.__dict__.items() if k not in out.__dict__})

    def position(self, index: int) -> int:
        """``index`` as a position in 0..len-1 (negative ones from the end, as a list), IndexError outside."""
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return index % len(self)

    def arrays(self, index: int, *, cached: bool = True) -> Decoded:
        """(image HxWx3 uint8, label HxW int64, instance HxW int64 or None) at ``resolution``; ``cached=False``
        decodes the source files even when a preprocessing cache exists."""
        if index < 0:
            index += len(self)
        sample = self.samples[index]
        if self._cache is not None and cached:
            return self._cache.get(index, sample)
        from bench.data.preprocess import preprocess

        return preprocess(self._decode(sample), self.resolution, self.card.image_resize, self.native_multiple)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import numpy as np
        import torch

        index = self.position(index)
        image, label, inst = self.arrays(index)
        if inst is None:
            inst = np.zeros_like(label)  # no instance maps: zeros, as the batch contract says
        return {
            "label": torch.from_numpy(np.ascontiguousarray(label, dtype=np.int64))[None],
            "instance": torch.from_numpy(np.ascontiguousarray(inst, dtype=np.int64))[None],
            "image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
            "path": str(self.samples[index].image),
        }

    def loader(self, batch_size: int = 16, *, shuffle: bool = False, num_workers: int = 0, **kwargs: Any) -> Any:
        """A DataLoader with ``collate``; not shuffled by default (evaluation order is the manifest order)."""
        from torch.utils.data import DataLoader

        return DataLoader(self, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,  # type: ignore
                          collate_fn=collate, **kwargs)

    def __repr__(self) -> str:
        size = "native" if self.resolution is None else "{}x{}".format(*self.resolution)
        return f"<{self.card.id} {self.split} n={len(self)} {size} layout={self.layout} root={self.root}>"


def collate(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack items into a SPADE-style batch: label/instance int64 [B,1,H,W], image uint8 [B,3,H,W], path list."""
    import torch

    if not items:
        raise BenchError("cannot collate an empty list of items")
    out = {
        "label": torch.stack([it["label"] for it in items]),
        "instance": torch.stack([it["instance"] for it in items]),
        "image": torch.stack([it["image"] for it in items]),
        "path": [it["path"] for it in items],
    }
    for key in items[0]:  # a task's own tensors (e.g. ``source`` of translation sets) stack the same way
        if key not in out and isinstance(items[0][key], torch.Tensor):
            out[key] = torch.stack([it[key] for it in items])
        elif key not in out and isinstance(items[0][key], (str, list)):  # the text task's caption(s) per item
            out[key] = [it[key] for it in items]
    return out


def build_dataset(card: Card, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int] | None, *,
                  cache: bool = True, check_label: Callable[[Path], None] | None = None,
                  decode: Callable[[Sample], Decoded] | None = None) -> PairedDataset:
    """The common loader: find pairs by the card's layouts, decode with checks, resize as the card says."""
    if root is None:
        raise BenchError(f"{card.name}: --root is required (the folder holding the data; see {card.path.parent}/README.md)")
    root_p = Path(root).expanduser()
    manifest = load_manifest(card, split)
    layout, samples, _ = find_samples(card, root_p, split)
    lut = card.raw_to_generator_lut()
    dec = decode or (lambda s: decode_pair(card, s, lut, check_label))
    return PairedDataset(card, split, samples, resolution, dec, root=root_p, layout=layout.name,
                         manifest=manifest, cache=cache)
