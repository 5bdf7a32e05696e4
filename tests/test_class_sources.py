"""MNIST / Fashion-MNIST idx files and CIFAR-10 pickle batches as distributed: readers against numpy on files
written here in the published formats, the restricted unpickler, md5 and count checks, and a run end to end."""

from __future__ import annotations

import gzip
import hashlib
import json
import pickle

import numpy as np
import pytest

from bench.cli import main
from bench.data import cards
from bench.data.class_sources import read_cifar_batch, read_idx, read_split
from bench.errors import BenchError


def write_idx(path, array: np.ndarray) -> None:
    """The idx format as LeCun's page specifies it: 0x0000, type 0x08 (ubyte), ndim, big-endian int32 dims."""
    head = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    gzip.GzipFile(path, "wb", mtime=0).write(head + array.astype(np.uint8).tobytes())


def mnist_root(tmp_path, n_train=20, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    root = tmp_path / "mnist"
    root.mkdir()
    data = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = np.arange(n) % 10
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels)
        data[split] = (images, labels)
    return root, data


def small_card(name: str, counts: dict[str, int], md5: dict[str, str] | None = None):
    card = cards.load_card(name)
    raw = json.loads(json.dumps(card.raw))
    raw["splits"] = counts
    if md5 is not None:
        raw["source"]["md5"] = md5
    return cards.validate_card(raw, card.path)


def test_idx_files_read_as_numpy_wrote_them(tmp_path):
    root, data = mnist_root(tmp_path)
    assert np.array_equal(read_idx(root / "t10k-images-idx3-ubyte.gz"), data["test"][0])
    images, labels, _ = read_split(cards.load_card("mnist"), root, "test")
    assert images.shape == (10, 28, 28, 3) and np.array_equal(images[..., 1], data["test"][0])
    assert labels.tolist() == data["test"][1].tolist()
    bad = root / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(gzip.decompress(bad.read_bytes())[:-5]))
    with pytest.raises(BenchError, match="data bytes, its header .* says .* \\(truncated\\?\\)"):
        read_idx(bad)


def test_a_file_with_the_published_count_but_another_md5_is_refused(tmp_path):
    root, _ = mnist_root(tmp_path, n_test=10)
    card = small_card("mnist", {"train": 20, "test": 10})  # as if 10 were the published count
    with pytest.raises(BenchError, match="t10k-images-idx3-ubyte.gz: md5 differs from the published file's"):
        read_split(card, root, "test")
    md5 = {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in root.iterdir()}
    assert len(read_split(small_card("mnist", {"train": 20, "test": 10}, md5), root, "test")[0]) == 10


def test_cifar_batches_read_through_the_restricted_unpickler(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, (6, 3072), dtype=np.uint8)
    batch = {b"batch_label": b"testing batch 1 of 1", b"labels": [3, 1, 4, 1, 5, 9], b"data": data,
             b"filenames": [b"a.png"] * 6}
    (tmp_path / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    images, labels = read_cifar_batch(tmp_path / "test_batch")
    assert labels.tolist() == [3, 1, 4, 1, 5, 9]
    assert np.array_equal(images[2, :, :, 0].reshape(-1), data[2, :1024])  # R plane first, row-major

    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    (tmp_path / "evil").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2))
    with pytest.raises(BenchError, match="global 'io.open' is not allowed"):
        read_cifar_batch(tmp_path / "evil")
    assert not (tmp_path / "pwned").exists()


def test_a_partial_copy_is_refused_by_bench_run_and_runs_with_partial(tmp_path, capsys):
    root, _ = mnist_root(tmp_path)
    args = ["run", "--method", "class-mean", "--train", "--dataset", "mnist", "--root", str(root),
            "--results", str(tmp_path / "lb"), "--metrics", "kid", "--out", str(tmp_path / "run")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "10 pair(s) found, its manifest" in err and "lists 10000" in err
    assert main([*args, "--partial"]) == 0
    rec = json.loads(next((tmp_path / "lb" / "results" / "mnist").glob("*.json")).read_text())
    assert rec["dataset"]["task"] == "class" and rec["protocol"]["partial"] is True and rec["n_fake"] == 10


def test_bench_data_verify_reads_the_distributed_files(tmp_path, capsys):
    root, _ = mnist_root(tmp_path)
    assert main(["data", "verify", "--dataset", "mnist", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "test: FAIL  10/10000" in out and "count: 10 images, the published split has 10000" in out
