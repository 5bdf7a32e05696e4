"""float32 / int64 tensors in the safetensors layout, written and read without pickle (the embedded networks'
weights: the synthetic-streets segmenter, the digits classifier). Hand-written because the format is a JSON header
and raw little-endian bytes, and the ``safetensors`` package is not a dependency; writing with sorted keys makes the
file byte-deterministic, so its sha256 pins the weights."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from bench.errors import BenchError


def save_safetensors(state: dict[str, Any], path: str | Path, metadata: dict[str, str] | None = None) -> str:
    """Write tensors in the safetensors layout with sorted keys (byte-deterministic); return the sha256."""
    import hashlib

    header: dict[str, Any] = {"__metadata__": dict(metadata or {})}
    blobs, offset = [], 0
    for k in sorted(state):
        t = state[k]
        a = t.detach().cpu().contiguous().numpy()  # (np.ascontiguousarray would make 0-d tensors 1-d)
        dtype = {"float32": "F32", "int64": "I64"}.get(a.dtype.name)
        if dtype is None:
            raise BenchError(f"save_safetensors: unsupported dtype {a.dtype} for {k}")
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    hb = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    data = struct.pack("<Q", len(hb)) + hb + b"".join(blobs)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()


def load_safetensors(path: str | Path) -> dict[str, Any]:
    import numpy as np
    import torch

    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        dt = {"F32": "<f4", "I64": "<i8"}[v["dtype"]]
        s, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(raw[base + s:base + e], dtype=dt).reshape(v["shape"]).copy())
    return out
