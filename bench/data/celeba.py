"""CelebA as distributed (Liu, Luo, Wang, Tang, ICCV 2015) for the ``attribute`` task: StarGAN's face attributes.

The files (from the authors' page; not redistributed here), under one root::

    img_align_celeba/000001.jpg ... 202599.jpg   # 178x218 aligned and cropped faces
    list_eval_partition.txt                      # "000001.jpg 0" per line: 0 train, 1 val, 2 test
    list_attr_celeba.txt                         # count line, 40 attribute names, "000001.jpg -1  1 ..." per image

The splits are the partition file's (train 162,770 / val 19,867 / test 19,962: ids 1-162770, 162771-182637,
182638-202599), so ``bench data verify`` and the loader both select a split's images through ``select_split``.
StarGAN's own test set is instead 1,999 images drawn after a seeded shuffle of the attribute file (its
``data_loader.py``); this card keeps the dataset's published partition, which every copy has and every method can
share.

Preprocessing as StarGAN's (``data_loader.py``): a centre crop of 178x178 (``torchvision``'s ``CenterCrop`` offsets:
``round((218 - 178) / 2)`` = 20 rows from the top), then the card's resize (bilinear) to the evaluation size.

An item holds ``source`` (the face), ``source_attributes`` (its own attributes from ``list_attr_celeba.txt``,
``-1`` -> 0, in the card's ``task_params.attributes`` order), ``attributes`` (the target) and ``image`` (the face
itself: the real set is the split's faces). The target follows StarGAN's ``create_labels`` for CelebA, one target
per face so that N stays the split's size: face NNNNNN takes target ``k = NNNNNN mod A`` (by id, so a partial copy
keeps every face's target); a hair colour (``Black_Hair``,
``Blond_Hair``, ``Brown_Hair``, ``Gray_Hair``) sets that colour and clears the other hair colours of the card, any
other attribute is flipped.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Sequence

from bench.data.base import Decoded, PairedDataset, Sample, build_dataset, read_rgb
from bench.errors import BenchError

PARTITION_FILE = "list_eval_partition.txt"
ATTR_FILE = "list_attr_celeba.txt"
SPLIT_IDS = {"train": "0", "val": "1", "test": "2"}
CROP = 178  # StarGAN's CenterCrop(178) of the 178x218 aligned faces
HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")  # StarGAN's create_labels: one-hot


def _key(name: str, path: Path, lineno: int) -> str:
    if not name.endswith(".jpg"):
        raise BenchError(f"{path}:{lineno}: '{name}' is not an image file name (NNNNNN.jpg)")
    return name[: -len(".jpg")]


def read_partition(root: Path) -> dict[str, str]:
    """key (file name without .jpg) -> partition ("0" train, "1" val, "2" test) of ``list_eval_partition.txt``."""
    path = Path(root) / PARTITION_FILE
    if not path.is_file():
        raise BenchError(f"celeba: {path} is missing (the dataset's split file; see datasets/celeba/README.md)")
    out: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise BenchError(f"{path}:{lineno}: expected '<file>.jpg <0|1|2>', got {line.strip()!r}")
        out[_key(parts[0], path, lineno)] = parts[1]
    return out


def read_attributes(root: Path, names: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """key -> the 0/1 values of ``names`` (in that order) from ``list_attr_celeba.txt`` (1 -> 1, -1 -> 0)."""
    path = Path(root) / ATTR_FILE
    if not path.is_file():
        raise BenchError(f"celeba: {path} is missing (the dataset's attribute file; see datasets/celeba/README.md)")
    lines = path.read_text().splitlines()
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise BenchError(f"{path}:1: expected the image count, got {lines[0].strip()[:40] if lines else ''!r}")
    header = lines[1].split()
    missing = [n for n in names if n not in header]
    if missing:
        raise BenchError(f"{path}:2: no attribute '{missing[0]}' (the file names {len(header)}: "
                         f"{', '.join(header[:6])}, ...)")
    cols = [header.index(n) for n in names]
    out: dict[str, tuple[int, ...]] = {}
    for lineno, line in enumerate(lines[2:], 3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(header) + 1 or any(v not in ("1", "-1") for v in parts[1:]):
            raise BenchError(f"{path}:{lineno}: expected a file name and {len(header)} values of 1 / -1, got "
                             f"{line.strip()[:60]!r}")
        out[_key(parts[0], path, lineno)] = tuple(int(parts[1 + c] == "1") for c in cols)
    if len(out) != int(lines[0]):
        raise BenchError(f"{path}: {len(out)} image rows, the first line says {int(lines[0])} (a damaged copy)")
    return out


def _first(items: list[str], what: str) -> list[str]:
    """One problem line for a list of like problems: the first, and how many more."""
    if not items:
        return []
    return [f"{items[0]}: {what}" + (f" (and {len(items) - 1} more)" if len(items) > 1 else "")]


def select_split(card: Any, root: Path, split: str, samples: list[Sample], *,
                 check_attributes: bool = True) -> tuple[list[Sample], list[str]]:
    """The samples of ``split`` by the partition file (every image of the root lies in one folder), and problems:
    images of the folder the partition file does not list, images of the split it lists that are absent, and a
    damaged attribute file. Used by the loader and ``bench data verify``."""
    if split not in SPLIT_IDS:
        raise BenchError(f"celeba: no split '{split}' (splits: {', '.join(SPLIT_IDS)})")
    root = Path(root)
    part = read_partition(root)
    keys = {s.key for s in samples}
    problems = _first([str(s.image) for s in samples if s.key not in part], f"not in {root / PARTITION_FILE}")
    if samples and all("/" in s.key for s in samples[:50]):
        problems.append(f"{samples[0].image}: the images are one folder deeper than img_align_celeba/ (an archive "
                        "unpacked into a folder of its own name?); move them up")
    absent = [k for k, p in sorted(part.items()) if p == SPLIT_IDS[split] and k not in keys]
    layout_dir = root / "img_align_celeba"
    problems += _first([str(layout_dir / f"{k}.jpg") for k in absent],
                       f"listed as {split} in {root / PARTITION_FILE}, not found")
    if check_attributes:
        try:
            read_attributes(root, tuple(card.task_params["attributes"]))
        except BenchError as exc:
            problems.append(str(exc))
    return [s for s in samples if part.get(s.key) == SPLIT_IDS[split]], problems


def target_attributes(names: Sequence[str], own: Sequence[int], k: int) -> tuple[int, ...]:
    """StarGAN's ``create_labels`` for target ``k``: a hair colour set one-hot among the card's hair colours, any
    other attribute flipped."""
    out = [int(a) for a in own]
    if names[k] in HAIR_COLOURS:
        for i, n in enumerate(names):
            if n in HAIR_COLOURS:
                out[i] = int(i == k)
    else:
        out[k] = 1 - out[k]
    return tuple(out)


ALIGNED_SIZE = (218, 178)  # (H, W) of every "Align&Cropped" image


def center_crop(image: Any, size: int, path: Path) -> Any:
    """``torchvision``'s ``CenterCrop(size)`` of an HxWx3 array (offsets rounded half to even, as its ``round``)."""
    h, w = image.shape[:2]
    if (h, w) != ALIGNED_SIZE:
        raise BenchError(f"{path}: {w}x{h}, CelebA's aligned faces are {ALIGNED_SIZE[1]}x{ALIGNED_SIZE[0]} "
                         "(img_align_celeba/ holds another copy, e.g. the in-the-wild img_celeba?)")
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return image[top : top + size, left : left + size]


class CelebA(PairedDataset):
    """One CelebA split with its attributes (see the module)."""

    names: tuple[str, ...] = ()
    table: dict[str, tuple[int, ...]] = {}
    attr_sha256: str = ""
    partition_sha256: str = ""

    def source_attributes(self, index: int) -> tuple[int, ...]:
        return self.table[self.samples[index % len(self)].key]

    def target_attributes(self, index: int) -> tuple[int, ...]:
        """StarGAN's target ``image id mod A`` (by id, not position: a face keeps its target in a partial copy)."""
        key = self.samples[index % len(self)].key
        k = int(key) % len(self.names) if key.isdigit() else (index % len(self)) % len(self.names)
        return target_attributes(self.names, self.source_attributes(index), k)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        index = self.position(index)
        item = super().__getitem__(index)
        item["source"] = item["image"].clone()
        item["source_attributes"] = torch.tensor(self.source_attributes(index), dtype=torch.float32)
        item["attributes"] = torch.tensor(self.target_attributes(index), dtype=torch.float32)
        return item

    def fingerprint(self) -> dict[str, Any]:
        # the attribute and partition files decide every target and the split: another copy is another evaluation
        return {**super().fingerprint(), "crop": CROP, "attributes_sha256": self.attr_sha256,
                "partition_sha256": self.partition_sha256}


def load(card: Any, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int] | None, *,
         cache: bool = True) -> CelebA:
    """``split`` of CelebA (by the partition file), centre-cropped as StarGAN, with the card's attributes."""
    import numpy as np

    def decode(sample: Sample) -> Decoded:
        image = center_crop(read_rgb(sample.image), CROP, sample.image)
        return np.ascontiguousarray(image), np.zeros(image.shape[:2], dtype=np.int64), None

    ds = build_dataset(card, root, split, resolution, decode=decode, cache=False)  # the cache: after selection
    samples, problems = select_split(card, ds.root, split, ds.samples, check_attributes=False)
    # absent images of the split are the count check's (bench run refuses a partial split unless --partial)
    problems = [p for p in problems if f"listed as {split}" not in p]
    if problems:
        raise BenchError(problems[0])
    if not samples:
        raise BenchError(f"celeba: no {split} images under {ds.root} (the partition file lists them as "
                         f"'{SPLIT_IDS[split]}')")
    names = tuple(card.task_params["attributes"])
    table = read_attributes(ds.root, names)
    absent = [s for s in samples if s.key not in table]
    if absent:
        raise BenchError(f"{absent[0].image}: no row in {ds.root / ATTR_FILE}")
    ds.samples = samples
    if cache:  # indexed by position: built over the selected samples
        from bench.data.preprocess import PreprocessCache

        ds._cache = PreprocessCache(ds)
    digest = {f: hashlib.sha256((ds.root / f).read_bytes()).hexdigest() for f in (ATTR_FILE, PARTITION_FILE)}
    return CelebA.wrap(ds, names=names, table=table, attr_sha256=digest[ATTR_FILE],
                       partition_sha256=digest[PARTITION_FILE])
