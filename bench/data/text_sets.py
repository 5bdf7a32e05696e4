"""Text-to-image datasets as distributed, for the ``text`` task (``bench/tasks/text.py``): CUB-200-2011 birds,
Oxford-102 flowers and MS-COCO 2014, each with the char-CNN-RNN sentence embeddings StackGAN's authors released.

One root per dataset, in the layout StackGAN's code reads (``Data/birds``, ``Data/flowers``, ``data/coco``)::

    cub-200-2011:  CUB_200_2011/images/<NNN.Class>/<name>.jpg, CUB_200_2011/images.txt, CUB_200_2011/bounding_boxes.txt
                   text_c10/<NNN.Class>/<name>.txt                   # Reed et al.'s 10 captions, one per line
                   {train,test}/filenames.pickle                     # '<NNN.Class>/<name>' per image, in order
                   {train,test}/char-CNN-RNN-embeddings.pickle       # float32 [N, 10, 1024], same order
    oxford-102:    jpg/image_NNNNN.jpg
                   text_c10/class_XXXXX/image_NNNNN.txt
                   {train,test}/filenames.pickle ('jpg/image_NNNNN'), class_info.pickle (class id per image, 1-102),
                   char-CNN-RNN-embeddings.pickle                    # [N, 10, 1024]
    coco-captions: train2014/COCO_train2014_<id12>.jpg, val2014/COCO_val2014_<id12>.jpg
                   annotations/captions_train2014.json, annotations/captions_val2014.json
                   train/filenames.pickle, train/char-CNN-RNN-embeddings.pickle   # [N, 5, 1024]
                   test/filenames.pickle, test/char-CNN-RNN-embeddings.pickle     # the val2014 images ('test' is
                                                                                  # the folder name StackGAN uses)
                   (or every image in images/, StackGAN-Pytorch's folder: the card's second layout)

The metadata pickles were written by Python 2; they are read with ``bench.data.safe_pickle`` (numpy arrays and
lists only, nothing callable). ``filenames.pickle`` decides the split and its order; the item at position i has
the image of entry i, its captions (caption files or, for COCO, the annotation file) and ``embeddings[i]``
(caption line j <-> embedding j, as StackGAN's ``sample_embeddings`` pairs ``captions[randix]`` with
``embeddings[i, randix]``). A mismatch (embeddings count or shape, an entry without its image, caption file or
bounding box, a caption file with another number of lines) is refused in one line naming the file, the field and
the value.

Preprocessing: CUB birds are cropped as StackGAN's ``get_img`` (``R = int(max(w, h) * 0.75)`` around the box
centre, clipped to the image), then every image is resized (the card's filter, stretched) to the evaluation size.

An item is the image-only item (``image``, all-zero ``label`` / ``instance`` maps, ``path``) plus ``captions``
(list[str], C of them), ``embeddings`` (float32 [C, D]) and the caption the evaluation uses, ``caption`` /
``embedding``: caption ``i mod C`` of item i with the cards' ``eval_caption`` "rotate" (caption 0 with "first",
``bench.tasks.text.eval_caption_index``). ``ds.eval_caption(i)`` is that caption without decoding the image (the
caption files are read at load time).

The embeddings are checked before they are copied into one array (an array [N, C, D], or a list of N [C, D]
arrays, numbers of at most 8 bytes): a list may name one array many times (pickle's memo), and 81 KB of file would
otherwise become 781 MB.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data.base import Decoded, PairedDataset, Sample, _expand, detect_layout, read_rgb
from bench.data.cards import Card, load_manifest
from bench.errors import BenchError
from bench.fileio import sha256_file

FILENAMES = "filenames.pickle"
EMBEDDINGS = "char-CNN-RNN-embeddings.pickle"
CLASS_INFO = "class_info.pickle"
CUB_DIR = "CUB_200_2011"
CAPTION_DIR = "text_c10"  # StackGAN's readCaptions (AttnGAN's birds.zip renames it text/)
CROP_RULE = "stackgan-bbox-0.75"  # recorded in the fingerprint: another crop is another evaluation


@dataclass(frozen=True)
class TextSource:
    """What differs between the three releases."""

    captions_per_image: int  # C: the embeddings' second dimension and the caption lines per image
    meta_dirs: dict[str, str]  # split -> folder of its metadata pickles
    classes: dict[str, int] = field(default_factory=dict)  # published class count per split (checked when complete)
    entry_pattern: str = ""  # a filenames.pickle entry (refused otherwise: it becomes a path under the root)


SOURCES: dict[str, TextSource] = {
    "cub-200-2011": TextSource(10, {"train": "train", "test": "test"}, {"train": 150, "test": 50},
                               r"^[0-9]{3}\.[A-Za-z0-9_\-]+/[A-Za-z0-9_\-]+$"),
    "oxford-102": TextSource(10, {"train": "train", "test": "test"}, {"train": 82, "test": 20},
                             r"^jpg/image_[0-9]{5}$"),
    "coco-captions": TextSource(5, {"train": "train", "val": "test"}, {},
                                r"^COCO_(train|val)2014_[0-9]{12}$"),
}


def source_of(card: Card) -> TextSource:
    name = card.data_name
    if name not in SOURCES:
        raise BenchError(f"{card.path}: {name} is not one of the text datasets ({', '.join(SOURCES)})")
    return SOURCES[name]


# ----------------------------------------------------------------------------- the released metadata

def _shown(value: Any) -> str:
    """A loaded value in a one-line message: a string's repr (cut), else its type."""
    if isinstance(value, (str, bytes)):
        text = repr(value)
        return text if len(text) <= 120 else text[:117] + "..."
    return f"a {type(value).__name__}"


def read_filenames(path: Path, pattern: str) -> list[str]:
    """The entries of a ``filenames.pickle`` (a list of str, or a 1-D array of strings), each checked against the
    release's pattern."""
    import numpy as np

    from bench.data import safe_pickle

    if not path.is_file():
        raise BenchError(f"{path}: not found (StackGAN's metadata of the split; see the dataset's README.md)")
    obj = safe_pickle.load(path, what="filenames list")
    if isinstance(obj, np.ndarray):  # a numpy array of names; of numbers, tolist() would be 30x the file's size
        if obj.ndim != 1 or obj.dtype.kind not in "SU":
            raise BenchError(f"{path}: expected a list of file names, got an array {obj.dtype} {list(obj.shape)}")
        obj = obj.tolist()
    if not isinstance(obj, (list, tuple)) or not obj:
        raise BenchError(f"{path}: expected a non-empty list of file names, got {type(obj).__name__}")
    rx = re.compile(pattern)
    seen: dict[str, int] = {}
    for i, name in enumerate(obj):
        if isinstance(name, bytes):
            name = name.decode("latin1")
        if not isinstance(name, str) or not rx.match(name):
            raise BenchError(f"{path}: entry {i} is {_shown(name)}, expected a name matching {pattern}")
        if name in seen:
            raise BenchError(f"{path}: entry {i} '{name}' repeats entry {seen[name]}")
        seen[name] = i
    return list(seen)  # insertion order: the file's


def read_embeddings(path: Path, n: int, captions: int, dim: int, filenames: Path) -> Any:
    """float32 [n, captions, dim] from a ``char-CNN-RNN-embeddings.pickle`` (an array, or a list of [C, D] arrays).

    Checked before any copy: one array of shape [n, C, D], or a list of n arrays of shape [C, D]; numbers of at most
    8 bytes (n * C * D * 8 bytes in all). A list may reference one array many times (pickle's memo): 81 KB of file
    can name one [10, 1024] array 20,000 times, 781 MB once stacked."""
    import numpy as np

    from bench.data import safe_pickle

    if not path.is_file():
        raise BenchError(f"{path}: not found (StackGAN's char-CNN-RNN embeddings of the split)")
    obj = safe_pickle.load(path, what="embeddings")
    expect = f"({captions} captions per image, task_params.embedding_dim {dim})"
    cap = n * captions * dim * 8  # float64 at most
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "fiu":
            raise BenchError(f"{path}: embeddings of dtype {obj.dtype}, expected float32")
        if obj.ndim != 3 or obj.shape[1:] != (captions, dim):
            raise BenchError(f"{path}: embeddings shape {list(obj.shape)}, expected [N, {captions}, {dim}] {expect}")
        if obj.shape[0] != n:
            raise BenchError(f"{path}: {obj.shape[0]} embeddings rows, {filenames} lists {n} images")
        if obj.nbytes > cap:
            raise BenchError(f"{path}: embeddings of dtype {obj.dtype} ({obj.nbytes} bytes), expected float32 "
                             f"(at most {cap} bytes for {n} images)")
        emb = np.ascontiguousarray(obj, dtype=np.float32)
    elif isinstance(obj, (list, tuple)):  # one [C, D] array per image
        if len(obj) != n:
            raise BenchError(f"{path}: {len(obj)} embeddings rows, {filenames} lists {n} images")
        for i, row in enumerate(obj):
            if not isinstance(row, np.ndarray):
                raise BenchError(f"{path}: embeddings[{i}] is {_shown(row)}, expected a float32 [{captions}, {dim}] "
                                 "array")
            if row.dtype.kind not in "fiu" or row.dtype.itemsize > 8:
                raise BenchError(f"{path}: embeddings[{i}] of dtype {row.dtype}, expected float32")
            if row.shape != (captions, dim):
                raise BenchError(f"{path}: embeddings[{i}] shape {list(row.shape)}, expected [{captions}, {dim}] "
                                 f"{expect}")
        total = sum(row.nbytes for row in obj)
        if total > cap:  # cannot happen after the checks above; the bound the stacked array stays within
            raise BenchError(f"{path}: embeddings of {total} bytes, expected at most {cap} for {n} images")
        emb = np.empty((n, captions, dim), dtype=np.float32)
        for i, row in enumerate(obj):
            emb[i] = row
    else:
        raise BenchError(f"{path}: embeddings are {_shown(obj)}, expected an array [N, {captions}, {dim}] or a list "
                         f"of [{captions}, {dim}] arrays")
    for start in range(0, len(emb), 4096):  # in blocks: COCO's train embeddings alone are 1.7 GB
        finite = np.isfinite(emb[start : start + 4096]).all(axis=(1, 2))
        if not finite.all():
            raise BenchError(f"{path}: row {start + int(np.argmin(finite))} holds a non-finite value")
    return emb


def read_class_info(path: Path, n: int, filenames: Path) -> list[int]:
    """Oxford-102's ``class_info.pickle``: the class id (1-102) of every image, in the filenames' order (a list of
    ints, or a 1-D integer array)."""
    import numpy as np

    from bench.data import safe_pickle

    if not path.is_file():
        raise BenchError(f"{path}: not found (the class of each image: its caption folder text_c10/class_XXXXX)")
    obj = safe_pickle.load(path, what="class list")
    want = f"{path}: expected {n} integer class ids ({filenames} lists {n} images), got"
    if isinstance(obj, np.ndarray):
        if obj.ndim != 1 or obj.dtype.kind not in "iu" or len(obj) != n:
            raise BenchError(f"{want} {obj.dtype} {list(obj.shape)}")
        ids = [int(v) for v in obj.tolist()]
    elif isinstance(obj, (list, tuple)):
        if len(obj) != n:
            raise BenchError(f"{want} {len(obj)}")
        bad = [i for i, v in enumerate(obj) if type(v) is not int and not isinstance(v, np.integer)]
        if bad:
            raise BenchError(f"{want} {_shown(obj[bad[0]])} at entry {bad[0]}")
        ids = [int(v) for v in obj]
    else:
        raise BenchError(f"{want} {_shown(obj)}")
    out = [v for v in ids if not 1 <= v <= 102]
    if out:
        raise BenchError(f"{path}: class id {out[0]} outside 1-102")
    return ids


def read_caption_file(path: Path, captions: int) -> list[str]:
    """The caption lines of one ``text_c10`` file (empty lines dropped, as StackGAN's readCaptions); exactly C."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise BenchError(f"{path}: cannot read the caption file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise BenchError(f"{path}: caption file is not UTF-8 (byte {exc.start})") from exc
    lines = [line for line in text.split("\n") if len(line) > 0]
    if len(lines) != captions:
        raise BenchError(f"{path}: {len(lines)} caption lines, expected {captions} (one per embedding)")
    return lines


def read_coco_captions(path: Path) -> dict[str, list[str]]:
    """``captions_<split>2014.json`` -> {file name without .jpg: captions in the file's annotation order}."""
    if not path.is_file():
        raise BenchError(f"{path}: not found (COCO 2014's caption annotations)")
    try:
        raw = json.loads(path.read_bytes())
        names = {int(im["id"]): str(im["file_name"]) for im in raw["images"]}
        out: dict[str, list[str]] = {n[: -len(".jpg")] if n.endswith(".jpg") else n: [] for n in names.values()}
        for i, ann in enumerate(raw["annotations"]):
            image_id = int(ann["image_id"])
            if image_id not in names:
                raise BenchError(f"{path}: annotations[{i}] names image_id {image_id}, not in 'images'")
            name = names[image_id]
            # COCO captions carry stray spaces / newlines at their ends; the sentence is what is in between
            out[name[: -len(".jpg")] if name.endswith(".jpg") else name].append(str(ann["caption"]).strip())
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"{path}: not a COCO caption annotation file ({type(exc).__name__}: {exc})") from exc
    return out


# ----------------------------------------------------------------------------- CUB bounding boxes

def read_cub_boxes(root: Path) -> dict[str, tuple[int, int, int, int]]:
    """'<NNN.Class>/<name>' -> (x, y, w, h) from ``images.txt`` + ``bounding_boxes.txt`` (joined by image id; the
    floats truncated to int, as StackGAN's ``pd.read_csv(...).astype(int)``)."""
    paths = [root / CUB_DIR / "images.txt", root / CUB_DIR / "bounding_boxes.txt"]
    for p in paths:
        if not p.is_file():
            raise BenchError(f"{p}: not found (CUB-200-2011's file; StackGAN crops each bird to its box)")
    names: dict[str, str] = {}
    for lineno, line in enumerate(paths[0].read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].endswith(".jpg"):
            raise BenchError(f"{paths[0]}:{lineno}: expected '<id> <class>/<name>.jpg', got {line.strip()!r}")
        names[parts[0]] = parts[1][: -len(".jpg")]
    boxes: dict[str, tuple[int, int, int, int]] = {}
    for lineno, line in enumerate(paths[1].read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            x, y, w, h = (int(float(v)) for v in parts[1:])
        except ValueError:
            raise BenchError(f"{paths[1]}:{lineno}: expected '<id> <x> <y> <width> <height>', got "
                             f"{line.strip()!r}") from None
        if parts[0] not in names:
            raise BenchError(f"{paths[1]}:{lineno}: image id {parts[0]} is not in {paths[0].name}")
        if w <= 0 or h <= 0:
            raise BenchError(f"{paths[1]}:{lineno}: box {w}x{h} of image {parts[0]} is empty")
        boxes[names[parts[0]]] = (x, y, w, h)
    return boxes


def stackgan_crop(image: Any, bbox: tuple[int, int, int, int], path: Path) -> Any:
    """StackGAN's ``get_img`` crop of an HxWx3 array: a square of side 2R, ``R = int(max(w, h) * 0.75)``, centred on
    the box, clipped to the image (PIL's ``crop([x1, y1, x2, y2])``: x2, y2 exclusive)."""
    height, width = image.shape[:2]
    x, y, w, h = bbox
    r = int(max(w, h) * 0.75)
    cx, cy = int((2 * x + w) / 2), int((2 * y + h) / 2)
    y1, y2 = max(0, cy - r), min(height, cy + r)
    x1, x2 = max(0, cx - r), min(width, cx + r)
    if y2 <= y1 or x2 <= x1:
        raise BenchError(f"{path}: its box {list(bbox)} lies outside the {width}x{height} image "
                         f"({CUB_DIR}/bounding_boxes.txt of another copy?)")
    return image[y1:y2, x1:x2]


# ----------------------------------------------------------------------------- one split, read and checked

@dataclass
class SplitFiles:
    """A split's metadata and per-image files; ``problems`` lists the per-image mismatches."""

    samples: list[Sample]
    captions: list[list[str]]
    embeddings: Any  # float32 [N, C, D]
    boxes: list[tuple[int, int, int, int] | None]
    digests: dict[str, str]  # file (relative to the root) -> sha256 of every metadata file read
    problems: list[str]
    layout: str  # the card layout the images were found in


def _safe_rel(entry: str) -> bool:
    parts = Path(entry).parts
    return not Path(entry).is_absolute() and ".." not in parts


@dataclass
class _Entries:
    """Where each entry's files are, per dataset."""

    keys: list[str]  # sample keys (relative image path under the image folder, without .jpg)
    images: list[Path]
    captions: list[Path]  # the caption file (COCO: the annotation file, ``coco`` holding its captions)
    boxes: list[tuple[int, int, int, int] | None]
    classes: list[int] | None = None  # Oxford-102's class ids (the class count check)
    coco: dict[str, list[str]] | None = None


def _cub_entries(root: Path, images: Path, names: list[str], digests: dict[str, str]) -> _Entries:
    table = read_cub_boxes(root)
    for f in ("images.txt", "bounding_boxes.txt"):
        digests[f"{CUB_DIR}/{f}"] = sha256_file(root / CUB_DIR / f)
    return _Entries(list(names), [images / f"{n}.jpg" for n in names],
                    [root / CAPTION_DIR / f"{n}.txt" for n in names], [table.get(n) for n in names])


def _flowers_entries(meta: Path, root: Path, images: Path, names: list[str], digests: dict[str, str]) -> _Entries:
    ci_path = meta / CLASS_INFO
    classes = read_class_info(ci_path, len(names), meta / FILENAMES)
    digests[f"{meta.name}/{CLASS_INFO}"] = sha256_file(ci_path)
    keys = [n.split("/", 1)[1] for n in names]
    # StackGAN's readCaptions: 'jpg/' of the entry replaced by 'class_%05d/' % class_id
    caps = [root / CAPTION_DIR / f"class_{c:05d}" / f"{k}.txt" for k, c in zip(keys, classes)]
    return _Entries(keys, [images / f"{k}.jpg" for k in keys], caps, [None] * len(names), classes)


def _coco_entries(meta: Path, root: Path, images: Path, split: str, names: list[str],
                  digests: dict[str, str]) -> _Entries:
    prefix = f"COCO_{split}2014_"
    wrong = [i for i, n in enumerate(names) if not n.startswith(prefix)]
    if wrong:
        raise BenchError(f"{meta / FILENAMES}: entry {wrong[0]} '{names[wrong[0]]}' is not a {split}2014 image "
                         f"(the {split} split's metadata is {meta.name}/)")
    ann = root / "annotations" / f"captions_{split}2014.json"
    table = read_coco_captions(ann)
    digests[f"annotations/{ann.name}"] = sha256_file(ann)
    return _Entries(list(names), [images / f"{n}.jpg" for n in names], [ann] * len(names),
                    [None] * len(names), coco=table)


def read_split(card: Card, root: Path, split: str) -> SplitFiles:
    """Read and check one split's metadata; entries whose image, caption file or box is absent are left out and
    named in ``problems`` (the loader refuses the first, ``bench data verify`` lists them)."""
    src = source_of(card)
    if split not in src.meta_dirs:
        raise BenchError(f"{card.name}: no split '{split}' (splits: {', '.join(src.meta_dirs)})")
    root = Path(root)
    meta = root / src.meta_dirs[split]
    fn_path, emb_path = meta / FILENAMES, meta / EMBEDDINGS
    names = read_filenames(fn_path, src.entry_pattern)
    bad = [n for n in names if not _safe_rel(n)]
    if bad:  # the patterns already refuse these; kept so that a looser pattern never reaches outside the root
        raise BenchError(f"{fn_path}: entry '{bad[0]}' is not a path inside the root")
    C = src.captions_per_image
    emb = read_embeddings(emb_path, len(names), C, int(card.task_params["embedding_dim"]), fn_path)
    digests = {f"{meta.name}/{FILENAMES}": sha256_file(fn_path), f"{meta.name}/{EMBEDDINGS}": sha256_file(emb_path)}
    name = card.data_name
    # the card's first layout whose image folder exists (COCO: its own {split}2014/, or StackGAN-Pytorch's images/)
    layout = detect_layout(card, root, split)
    images = root / _expand(layout.image, layout, split)[0]
    if name == "cub-200-2011":
        ent = _cub_entries(root, images, names, digests)
    elif name == "oxford-102":
        ent = _flowers_entries(meta, root, images, names, digests)
    else:
        ent = _coco_entries(meta, root, images, split, names, digests)

    problems: list[str] = []
    samples: list[Sample] = []
    captions: list[list[str]] = []
    boxes: list[tuple[int, int, int, int] | None] = []
    keep: list[int] = []
    for i, (key, img, cap, box) in enumerate(zip(ent.keys, ent.images, ent.captions, ent.boxes)):
        where = f"{fn_path}: entry {i} '{names[i]}'"
        if not img.is_file():
            problems.append(f"{where}: image {img} not found")
            continue
        if name == "cub-200-2011" and box is None:
            problems.append(f"{where}: no box in {root / CUB_DIR / 'bounding_boxes.txt'}")
            continue
        if ent.coco is not None:
            lines = ent.coco.get(key)
            if lines is None:
                problems.append(f"{where}: no image '{key}.jpg' in {cap}")
                continue
            if len(lines) < C:
                problems.append(f"{where}: {len(lines)} captions in {cap}, expected at least {C}")
                continue
            lines = lines[:C]  # some COCO images have 6 or 7 captions; the embeddings hold C per image
        elif not cap.is_file():
            problems.append(f"{where}: caption file {cap} not found")
            continue
        else:
            try:
                lines = read_caption_file(cap, C)
            except BenchError as exc:
                problems.append(f"{where}: {exc}")
                continue
        samples.append(Sample(key, img, None, None))
        captions.append(lines)
        boxes.append(box)
        keep.append(i)

    want = src.classes.get(split)
    if want and len(keep) == len(names) == card.splits.get(split):
        # the complete published split: its class count is published too (CUB 150 / 50, Oxford-102 82 / 20)
        found = len(set(ent.classes)) if ent.classes is not None else len({k.split("/")[0] for k in ent.keys})
        if found != want:
            problems.append(f"{fn_path}: {found} classes in the {split} split, the release has {want}")
    h = hashlib.sha256()
    for lines in captions:
        h.update(("\n".join(lines) + "\0").encode("utf-8"))
    digests["captions (text read)"] = h.hexdigest()
    kept = emb if len(keep) == len(emb) else emb[keep]  # no copy of the (large) array when every entry is kept
    return SplitFiles(samples, captions, kept, boxes, digests, problems, layout.name)


def select_split(card: Card, root: Path, split: str, samples: list[Sample]) -> tuple[list[Sample], list[str]]:
    """``bench data verify``'s hook: the split's images are the ones its ``filenames.pickle`` lists (the image
    folder holds every split); returns them (without a label partner: this task has no label maps) and the
    per-image problems. Damaged metadata raises."""
    files = read_split(card, Path(root), split)
    return files.samples, files.problems


# ----------------------------------------------------------------------------- the dataset

class TextDataset(PairedDataset):
    """One split of a text-to-image dataset (see the module)."""

    captions: list[list[str]] = []
    embeddings: Any = None
    digests: dict[str, str] = {}
    crop: str | None = None

    @property
    def captions_per_image(self) -> int:
        return int(self.embeddings.shape[1])

    def caption_index(self, index: int) -> int:
        """The caption the evaluation uses for item ``index``, as the card's ``task_params.eval_caption`` says
        (``rotate``: ``index mod C``; ``first``: 0, StackGAN's evaluation)."""
        from bench.tasks.text import eval_caption_index

        return eval_caption_index(self.task_params, index, self.captions_per_image)

    def eval_caption(self, index: int) -> str:
        """The caption the evaluation conditions item ``index`` on (``self[index]["caption"]``), from the caption
        files read at load time: no image is decoded (``self[index]`` decodes one)."""
        index = self.position(index)
        return self.captions[index][self.caption_index(index)]

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        index = self.position(index)
        item = super().__getitem__(index)
        j = self.caption_index(index)
        emb = torch.from_numpy(self.embeddings[index].copy())
        item["captions"] = list(self.captions[index])
        item["embeddings"] = emb
        item["caption"] = self.captions[index][j]
        item["embedding"] = emb[j].clone()
        return item

    def fingerprint(self) -> dict[str, Any]:
        # the metadata decides the split, its order, the conditions and (CUB) the crop: other files, other numbers
        return {**super().fingerprint(), "metadata_sha256": dict(sorted(self.digests.items())),
                "captions_per_image": self.captions_per_image, "crop": self.crop}

    def cache_identity(self) -> dict[str, Any]:
        """The preprocessing cache's extra key: the crop and the metadata (a new ``bounding_boxes.txt`` must not
        reuse crops made from the old one)."""
        return {"crop": self.crop, "metadata_sha256": dict(sorted(self.digests.items()))}


def load(card: Card, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int] | None, *,
         cache: bool = True) -> TextDataset:
    """``split`` of a text dataset, in its ``filenames.pickle`` order (see the module)."""
    import numpy as np

    if root is None:
        raise BenchError(f"{card.name}: --root is required (the folder holding the data; see "
                         f"{card.path.parent}/README.md)")
    root_p = Path(root).expanduser()
    if not root_p.is_dir():
        raise BenchError(f"{card.name}: data root {root_p} does not exist or is not a directory")
    manifest = load_manifest(card, split)
    files = read_split(card, root_p, split)
    if files.problems:
        more = f" (and {len(files.problems) - 1} more)" if len(files.problems) > 1 else ""
        raise BenchError(files.problems[0] + more)
    boxes = {s.key: b for s, b in zip(files.samples, files.boxes)}

    def decode(sample: Sample) -> Decoded:
        image = read_rgb(sample.image)
        box = boxes.get(sample.key)
        if box is not None:
            image = np.ascontiguousarray(stackgan_crop(image, box, sample.image))
        return image, np.zeros(image.shape[:2], dtype=np.int64), None

    ds = PairedDataset(card, split, files.samples, resolution, decode, root=root_p, layout=files.layout,
                       manifest=manifest, cache=cache)
    crop = CROP_RULE if card.data_name == "cub-200-2011" else None
    # wrap re-keys the cache with cache_identity (the crop and the metadata)
    return TextDataset.wrap(ds, captions=files.captions, embeddings=files.embeddings, digests=files.digests,
                            crop=crop)
