"""Preprocessing exactly as the card says, done once and cached.

Images are resized with the card's filter (PIL), label and instance maps with nearest neighbour (exact integer
index arithmetic, so ids are never blended). The cache is keyed by everything that can change the result:
card version and file hash, manifest hash, split, resolution, filter, layout, and the source files' names,
sizes and mtimes, and what else a loader's decoding reads (its ``cache_identity()``, e.g. a bounding-box file), so
an edited card, manifest or file gives a new key instead of a silently stale result.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError
from bench.labels import resize_nearest

if TYPE_CHECKING:
    import numpy as np

    from bench.data.base import Decoded, PairedDataset, Sample

CACHE_FORMAT = 2  # 2: a sha256 of the arrays in every file


def resize_image(img: "np.ndarray", size: tuple[int, int], filt: str) -> "np.ndarray":
    """uint8 HxWx3 -> (H, W) with the named PIL filter; a no-op when the size already matches."""
    import numpy as np
    from PIL import Image

    h, w = size
    if img.shape[:2] == (h, w):
        return img
    resample = getattr(Image.Resampling, filt.upper())
    return np.asarray(Image.fromarray(img).resize((w, h), resample=resample), dtype=np.uint8)


def preprocess(decoded: "Decoded", size: tuple[int, int] | None, filt: str, multiple: int = 1) -> "Decoded":
    """Resize to ``size``; or, at native resolution (``size`` None), crop the top-left corner to a multiple of
    ``multiple`` (the super-resolution convention's "modcrop": the HR image the LR input is made from)."""
    image, label, inst = decoded
    if size is None:
        h, w = image.shape[0] - image.shape[0] % multiple, image.shape[1] - image.shape[1] % multiple
        if h == 0 or w == 0:
            raise BenchError(f"image of {image.shape[0]}x{image.shape[1]} is smaller than the scale {multiple}")
        return image[:h, :w], label[:h, :w], None if inst is None else inst[:h, :w]
    return (resize_image(image, size, filt), resize_nearest(label, size),
            None if inst is None else resize_nearest(inst, size))


def source_fingerprint(samples: list["Sample"]) -> str:
    """sha256 over (path, size, mtime_ns) of every source file: changes when any input file changes."""
    h = hashlib.sha256()
    for s in samples:
        for p in (s.image, s.label, s.instance):
            if p is None:
                h.update(b"-\n")
                continue
            st = p.stat()
            h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def cache_key(ds: "PairedDataset") -> dict[str, Any]:
    """What a cached sample depends on. A loader whose decoding reads more than the image files (e.g. a crop from
    a metadata file) names those inputs in an optional ``cache_identity()``; they join the key, so new metadata
    never reuses arrays made from the old."""
    key = {
        "format": CACHE_FORMAT, "card": ds.card.id, "card_sha256": ds.card.sha256,
        "manifest_sha256": ds.manifest.sha256, "split": ds.split,
        "resolution": list(ds.resolution) if ds.resolution is not None else f"native/{ds.native_multiple}",
        "image_resize": ds.card.image_resize, "label_resize": "nearest", "layout": ds.layout,
        "root": str(Path(ds.root).resolve()), "sources": source_fingerprint(ds.samples),
    }
    identity = getattr(ds, "cache_identity", None)
    if identity is not None:
        key["decode_inputs"] = identity()
    return key


def _arrays_sha256(arrays: dict[str, Any]) -> str:
    """sha256 of the cached arrays (name, dtype, shape, bytes): a damaged or edited cache file is a miss."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class PreprocessCache:
    """One compressed .npz per sample under ``<cache>/preprocessed/<dataset>/<key>/``, written atomically."""

    def __init__(self, ds: "PairedDataset") -> None:
        from bench.weights import user_cache_dir

        self.ds = ds
        self.key = cache_key(ds)
        digest = hashlib.sha256(json.dumps(self.key, sort_keys=True).encode()).hexdigest()[:20]
        self.dir = user_cache_dir() / "preprocessed" / ds.card.name / f"{ds.split}-{digest}"
        self._info_written = False

    def _path(self, index: int) -> Path:
        return self.dir / f"{index:06d}.npz"

    def get(self, index: int, sample: "Sample") -> "Decoded":
        import numpy as np

        path = self._path(index)
        if path.is_file():
            try:
                with np.load(path) as z:
                    arrays = {k: z[k] for k in ("image", "label", "instance") if k in z.files}
                    stored = str(z["sha256"]) if "sha256" in z.files else None
                if stored == _arrays_sha256(arrays) and (self.ds.resolution is None
                                                         or arrays["image"].shape[:2] == tuple(self.ds.resolution)):
                    inst = arrays["instance"].astype(np.int64) if "instance" in arrays else None
                    return arrays["image"], arrays["label"].astype(np.int64), inst
            except Exception:  # noqa: BLE001 - zip/zlib/format errors of a damaged file: recomputed below
                pass
        out = preprocess(self.ds._decode(sample), self.ds.resolution, self.ds.card.image_resize,
                         self.ds.native_multiple)
        self._write(path, out)
        return out

    def _write(self, path: Path, out: "Decoded") -> None:
        import numpy as np

        from bench.fileio import atomic_write_bytes

        image, label, inst = out
        arrays: dict[str, Any] = {"image": image, "label": label.astype(np.uint16)}
        if inst is not None:
            if inst.min() < 0 or inst.max() > np.iinfo(np.int32).max:
                raise BenchError(f"instance values outside int32 in {path}")
            arrays["instance"] = inst.astype(np.int32)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays, sha256=np.asarray(_arrays_sha256(arrays)))
        try:
            if not self._info_written:
                atomic_write_bytes(self.dir / "key.json", (json.dumps(self.key, indent=1) + "\n").encode())
                self._info_written = True
            atomic_write_bytes(path, buf.getvalue())
        except OSError as exc:  # a read-only cache must not stop evaluation: results are identical uncached
            if not getattr(self, "_warned", False):
                import warnings

                warnings.warn(f"cannot write preprocessing cache {self.dir}: {exc}", stacklevel=2)
                self._warned = True


def clear(dataset: str | None = None) -> None:
    """Remove preprocessed caches (all, or one dataset's)."""
    import shutil

    from bench.weights import user_cache_dir

    base = user_cache_dir() / "preprocessed"
    target = base / dataset if dataset else base
    if target.exists():
        shutil.rmtree(target)


__all__ = ["preprocess", "resize_image", "PreprocessCache", "clear",
           "cache_key", "source_fingerprint"]
