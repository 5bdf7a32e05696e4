"""``bench data show``: a PNG grid, one row per sample: label (card colours), instance edges, photo (restoration:
the task's condition, photo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.labels import instance_edges


def grid(ds: Any, n: int = 4, start: int = 0) -> "Any":
    """uint8 image: n rows of [coloured label | instance edges over the dimmed label | photo]; for a task without
    label maps (restoration), [the task's picture of the condition (upsampled LR input, image with its hole) |
    photo]; for translation with hidden pairs, [coloured label | source | photo]. Rows of a dataset at native
    size are padded to the widest."""
    import numpy as np

    if len(ds) == 0:
        raise BenchError(f"{ds.card.name}: the {ds.split} split is empty")
    pal = ds.palette
    rows = []
    for i in range(start, min(start + n, len(ds))):
        image, label, inst = ds.arrays(i)
        if not ds.task.uses_labels and ds.task.name != "class":
            from bench.data.base import collate

            cond = ds.task.show(collate([ds[i]]), 0, ds.task_params, pal, [ds.samples[i].key])
            sep = np.full((image.shape[0], 2, 3), 255, dtype=np.uint8)
            rows.append(np.concatenate([cond, sep, image], axis=1))
            rows.append(np.full((2, rows[-1].shape[1], 3), 255, dtype=np.uint8))
            continue
        col = pal[np.clip(label, 0, len(pal) - 1)]
        if "source" in ds.task.batch_keys:  # translation with hidden pairs: label | source | photo (the target)
            from bench.data.base import collate

            cond = ds.task.show(collate([ds[i]]), 0, ds.task_params, pal, [ds.samples[i].key])
            sep = np.full((label.shape[0], 2, 3), 255, dtype=np.uint8)
            rows.append(np.concatenate([col, sep, cond, sep, image], axis=1))
            rows.append(np.full((2, rows[-1].shape[1], 3), 255, dtype=np.uint8))
            continue
        if inst is None:
            edges = np.zeros(label.shape, dtype=bool)
        else:
            edges = instance_edges(inst)
        ed = (col // 3).astype(np.uint8)
        ed[edges] = 255
        sep = np.full((label.shape[0], 2, 3), 255, dtype=np.uint8)
        rows.append(np.concatenate([col, sep, ed, sep, image], axis=1))
        rows.append(np.full((2, rows[-1].shape[1], 3), 255, dtype=np.uint8))
    width = max(r.shape[1] for r in rows)
    return np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255)
                           for r in rows[:-1]], axis=0)


def show(name: str, root: str | Path | None = None, split: str | None = None, *, n: int = 4,
         out: str | Path | None = None, resolution: Any = None, start: int = 0, **options: Any) -> Path:
    """Write the grid PNG (atomically) and return its path."""
    import io

    from PIL import Image

    from bench.data import get_dataset
    from bench.fileio import atomic_write_bytes

    ds = get_dataset(name, root=root, split=split, resolution=resolution, **options)
    img = grid(ds, n=n, start=start)
    path = Path(out) if out else Path(f"{name}-{ds.split}.png")
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return path
