"""Label and instance maps: the one nearest-neighbour resize (ids are never blended) and the one instance-edge map.

Used by the data pipeline (``bench.data``), the segmentation score (``bench.segmenters``) and the generators'
instance channel (``reference_models``). Nothing is imported at module import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import numpy as np


def nearest_indices(n_in: int, n_out: int) -> "np.ndarray":
    """Source index of each output pixel centre: floor((i + 0.5) * n_in / n_out), in integers (PIL's NEAREST)."""
    import numpy as np

    i = np.arange(n_out, dtype=np.int64)
    return ((2 * i + 1) * n_in) // (2 * n_out)


def resize_nearest(a: Any, size: Sequence[int]) -> "np.ndarray":
    """Nearest-neighbour resize of an integer map [h, w, ...] to ``size`` = (H, W); the input itself when the size
    already matches."""
    import numpy as np

    a = np.asarray(a)
    h, w = int(size[0]), int(size[1])
    if a.shape[:2] == (h, w):
        return a
    return a[nearest_indices(a.shape[0], h)][:, nearest_indices(a.shape[1], w)]


def instance_edges(inst: Any) -> Any:
    """Boolean boundary map of an instance-id map (numpy array or torch tensor, any leading dims, the last two are
    H, W), of the same kind, shape and device: True where a 4-neighbour has another id (SPADE's ``get_edges``)."""
    edge = inst != inst  # all False, the input's kind and device (ids are integers, never NaN)
    dh = inst[..., :, 1:] != inst[..., :, :-1]
    dv = inst[..., 1:, :] != inst[..., :-1, :]
    edge[..., :, 1:] |= dh
    edge[..., :, :-1] |= dh
    edge[..., 1:, :] |= dv
    edge[..., :-1, :] |= dv
    return edge


__all__ = ["instance_edges", "nearest_indices", "resize_nearest"]
