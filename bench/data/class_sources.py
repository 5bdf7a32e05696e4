"""Class-conditional datasets as distributed: MNIST / Fashion-MNIST (idx files) and CIFAR-10 (python pickle
batches), read from ``--root`` and prepared once into the cache in the benchmark's file layout.

The card's ``source`` names the files of each split and their published md5 (the lists torchvision checks its
downloads against). A file whose md5 differs while it holds the published number of images is not the published
file and is refused; a file with another count is a partial copy, which ``bench run`` refuses unless
``--limit`` / ``--partial`` says so (as for every dataset). CIFAR-10's batches are pickles: they are read with a
restricted unpickler that builds only numpy arrays and plain containers, never arbitrary objects.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError

PREPARE_VERSION = 1
SOURCE_FORMATS = ("idx", "cifar10-python")


# ----------------------------------------------------------------------------- readers

def read_idx(path: Path) -> np.ndarray:
    """An idx file (LeCun's MNIST format; ``.gz`` or raw): uint8 data, big-endian int32 dimensions."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise BenchError(f"{path}: not a readable gzip file ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise BenchError(f"{path}: not an idx file (magic {raw[:4].hex() or 'empty'}, expected 0000 08 0N)")
    if raw[2] != 0x08:
        raise BenchError(f"{path}: idx data type 0x{raw[2]:02x} is not unsigned byte (0x08)")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    start, size = 4 + 4 * ndim, int(np.prod(dims))
    if len(raw) != start + size:
        raise BenchError(f"{path}: {len(raw) - start} data bytes, its header {dims} says {size} (truncated?)")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(dims)


class _ArraysOnly(pickle.Unpickler):
    """Builds numpy arrays and plain containers only: any other global in the pickle is refused."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed (only numpy arrays and containers)")


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch -> (uint8 [N,32,32,3] images, int64 [N] labels)."""
    try:
        obj = _ArraysOnly(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise BenchError(f"{path}: not a CIFAR-10 python batch ({exc})") from exc
    if not isinstance(obj, dict) or b"data" not in obj or b"labels" not in obj:
        raise BenchError(f"{path}: not a CIFAR-10 python batch (no data/labels entries)")
    data, labels = np.asarray(obj[b"data"]), np.asarray(obj[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise BenchError(f"{path}: data {data.dtype} {list(data.shape)} with {len(labels)} labels, expected uint8 "
                         "[N, 3072] and N labels")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def check_source(where: str, src: Any, splits: dict[str, int]) -> None:
    """Validate a card's ``source`` (called by the card validator)."""
    if not isinstance(src, dict) or set(src) - {"format", "files", "md5", "md5_source", "note"} or \
            not {"format", "files", "md5"} <= set(src):
        raise BenchError(f"{where}: source must be an object with format, files, md5 (and md5_source, note)")
    if src["format"] not in SOURCE_FORMATS:
        raise BenchError(f"{where}: source.format '{src['format']}' is not one of {', '.join(SOURCE_FORMATS)}")
    for split in splits:
        spec = src["files"].get(split) if isinstance(src["files"], dict) else None
        ok = (isinstance(spec, list) and spec and all(isinstance(f, str) for f in spec)) if src["format"] != "idx" \
            else (isinstance(spec, dict) and set(spec) == {"images", "labels"})
        if not ok:
            want = "{images, labels} file names" if src["format"] == "idx" else "a list of batch file names"
            raise BenchError(f"{where}: source.files.{split} must be {want}, got {spec!r}")


def read_split(card: Any, root: Path, split: str) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """(uint8 [N,H,W,3] images, int64 [N] labels, source files) of one split, md5-checked where published."""
    src = card.raw["source"]
    spec = src["files"][split]
    files = [root / f for f in (spec if isinstance(spec, list) else [spec["images"], spec["labels"]])]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise BenchError(f"{card.name}: {missing[0]} not found ({len(missing)} of the {split} split's files missing; "
                         f"see {card.path.parent}/README.md)")
    if src["format"] == "idx":
        images, labels = read_idx(files[0]), read_idx(files[1]).astype(np.int64)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise BenchError(f"{files[0]}: {list(images.shape)} images for {list(labels.shape)} labels")
        images = np.repeat(images[:, :, :, None], 3, axis=3)  # grey replicated into RGB, as for every dataset
    else:
        parts = [read_cifar_batch(f) for f in files]
        images, labels = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    if len(images) == card.splits[split]:  # the published count: it must be the published file
        for f in files:
            want = src["md5"].get(f.name)
            if want and hashlib.md5(f.read_bytes()).hexdigest() != want:
                raise BenchError(f"{f}: md5 differs from the published file's {want} although it holds the "
                                 f"published {len(images)} images: a modified copy is not the benchmark's data")
    bad = np.flatnonzero((labels < 0) | (labels >= card.num_classes))
    if len(bad):
        raise BenchError(f"{files[-1]}: label {labels[bad[0]]} of image {bad[0]} outside 0..{card.num_classes - 1}")
    return images, labels, files


# ----------------------------------------------------------------------------- prepared folders

def write_class_folders(out: Path, splits: dict[str, tuple[np.ndarray, np.ndarray, list[str]]]) -> dict[str, list]:
    """Write ``{split}_img/KEY.png`` (RGB) and ``{split}_label/KEY.png`` (constant: the class) for every split;
    returns, per split, (key, image pixel sha256, label pixel sha256) rows."""
    from bench.data.synthetic import _png_bytes, pixels_sha256

    rows: dict[str, list] = {}
    for split, (images, labels, keys) in splits.items():
        (out / f"{split}_img").mkdir(parents=True, exist_ok=True)
        (out / f"{split}_label").mkdir(parents=True, exist_ok=True)
        rows[split] = []
        for image, label, key in zip(images, labels, keys):
            lmap = np.full(image.shape[:2], label, dtype=np.uint8)
            (out / f"{split}_img" / f"{key}.png").write_bytes(_png_bytes(np.ascontiguousarray(image), "RGB"))
            (out / f"{split}_label" / f"{key}.png").write_bytes(_png_bytes(lmap, "L"))
            rows[split].append((key, pixels_sha256(image), pixels_sha256(lmap)))
    return rows


def prepared(final: Path, write: Any) -> Path:
    """``final``, filled by ``write(tmp_dir)`` on first use (temp dir + rename: never half-written)."""
    if (final / "done.json").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        write(tmp)
        (tmp / "done.json").write_text(json.dumps({"prepare_version": PREPARE_VERSION}) + "\n")
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "done.json").is_file():
                shutil.rmtree(final, ignore_errors=True)
                os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def load(card: Any, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int],
         *, cache: bool = True) -> Any:
    """The loader of a card with a ``source``: read the distributed files, prepare them once per content."""
    from bench.data.base import PairedDataset, decode_pair, find_samples
    from bench.data.cards import load_manifest
    from bench.fileio import sha256_file
    from bench.weights import user_cache_dir

    if tuple(resolution) != tuple(card.eval_resolution):
        raise BenchError(f"{card.name}: resolution {resolution[0]}x{resolution[1]}: only the native "
                         f"{card.eval_resolution[0]}x{card.eval_resolution[1]} is prepared")
    if root is None:
        raise BenchError(f"{card.name}: --root is required (the folder holding the distributed files; see "
                         f"{card.path.parent}/README.md)")
    root_p = Path(root).expanduser()
    if not root_p.is_dir():
        raise BenchError(f"{card.name}: data root {root_p} does not exist or is not a directory")
    spec = card.raw["source"]["files"][split]
    names = spec if isinstance(spec, list) else [spec["images"], spec["labels"]]
    present = [root_p / n for n in names if (root_p / n).is_file()]
    ident = hashlib.sha256(json.dumps([card.id, split, PREPARE_VERSION, [sha256_file(p) for p in present]])
                           .encode()).hexdigest()[:16]
    final = user_cache_dir() / "datasets" / card.name / f"{split}-{ident}"

    def write(tmp: Path) -> None:
        images, labels, _ = read_split(card, root_p, split)
        keys = [f"{i:05d}" for i in range(len(images))]  # position in the distributed files
        write_class_folders(tmp, {split: (images, labels, keys)})

    folder = prepared(final, write)
    manifest = load_manifest(card, split)
    layout, samples, _ = find_samples(card, folder, split)
    lut = card.raw_to_generator_lut()
    return PairedDataset(card, split, samples, tuple(resolution), lambda s: decode_pair(card, s, lut), root=folder,
                         layout=layout.name, manifest=manifest, cache=False)
