"""Test fixtures: no network, a private cache dir, and small deterministic image folders."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guard(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise ConnectionRefusedError(f"network access blocked in tests: {address}")
    return _real_connect(self, address, *args)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any test that opens an inet socket (AF_UNIX stays allowed for DataLoader workers)."""
    monkeypatch.setattr(socket.socket, "connect", _guard)
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, addr: _guard(self, addr) or 0)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: (_ for _ in ()).throw(OSError("DNS blocked in tests")))


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own cache dir so cached features never leak between tests."""
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    # torch hub's cache is a place the resolver searches (e.g. VGG19): a developer's copy must not change results
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch-home")))
    monkeypatch.delenv("BENCH_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("BENCH_OFFLINE", raising=False)


@pytest.fixture
def one_thread():
    """One intra-op torch thread (use with ``pytestmark = pytest.mark.usefixtures("one_thread")``): faster on a
    shared 2-core machine, and training runs stay bit-identical."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def train_ds():
    """synthetic-streets' training split at 64x64 (the reference models' tests train on it)."""
    from bench.data import get_dataset

    return get_dataset("synthetic-streets", split="train", resolution=64)


class Subset:
    """The first ``n`` items of a dataset (with the facts a trainer reads)."""

    def __init__(self, ds, n):
        self.ds, self.n = ds, n
        self.num_classes, self.has_instances, self.palette = ds.num_classes, ds.has_instances, ds.palette

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.ds[i]


def info_for(ds, resolution=(64, 64), num_classes=None):
    """The DatasetInfo of a synthetic-streets split, as `bench run` builds it."""
    from bench.adapter import DatasetInfo

    return DatasetInfo("synthetic-streets", num_classes or ds.num_classes, resolution, ds.has_instances, 255,
                       tuple(tuple(int(c) for c in rgb) for rgb in ds.palette))


def shared_samples() -> Path:
    """../shared/samples (real SPADE COCO-Stuff and ADE20K sample files; provenance in its MANIFEST.sha256 and
    READMEs): next to the checkout, or $BENCH_SHARED_DIR, or /work/shared where a CI clone lives elsewhere."""
    import os

    candidates = [Path(os.environ["BENCH_SHARED_DIR"])] if os.environ.get("BENCH_SHARED_DIR") else []
    candidates += [Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")]
    for c in candidates:
        if (c / "samples").is_dir():
            return c / "samples"
    return candidates[0] / "samples"


def smooth_images(n: int, size: int = 64, seed: int = 0) -> list[np.ndarray]:
    """Deterministic smooth random RGB images (upsampled 8x8 noise): varied but not pure noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        out.append(np.asarray(Image.fromarray(base).resize((size, size), Image.BILINEAR)))
    return out


def perturb(images: list[np.ndarray], seed: int = 1, amount: int = 40) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.clip(im.astype(np.int64) + rng.integers(-amount, amount + 1, im.shape), 0, 255).astype(np.uint8)
            for im in images]


def write_folder(folder: Path, images: list[np.ndarray], names: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(images):
        name = names[i] if names else f"{i:04d}.png"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(im).save(folder / name)
    return folder


@pytest.fixture
def folders(tmp_path):
    """real/ and fake/ with 12 paired 64x64 images each."""
    real = smooth_images(12, seed=0)
    fake = perturb(real, seed=1)
    return write_folder(tmp_path / "real", real), write_folder(tmp_path / "fake", fake)
