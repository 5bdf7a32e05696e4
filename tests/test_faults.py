"""Fault injection: damaged caches, unwritable folders, concurrent writers, file modes (issue 10, items 8 and 11).

Runs as root on CI, where permission bits do not stop writes, so unwritable folders are simulated by making the
write itself fail (monkeypatch), which is what a read-only mount or a full disk does.
"""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

from bench.cli import main
from bench.evaluate import features_cache_dir
from bench.fileio import atomic_write_bytes


def _eval(real, fake, out, *extra):
    return main(["eval", "--real", str(real), "--fake", str(fake), "--metrics", "fid", "--out", str(out), *extra])


def _fid(path):
    return json.loads(path.read_text())["metrics"]["fid"]


def _damage_truncate(p):
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _damage_empty(p):
    p.write_bytes(b"")


def _damage_flip(p):
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the stored float32 features (np.savez does not compress)
    p.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_empty, _damage_flip])
def test_a_damaged_feature_cache_is_a_miss(folders, tmp_path, damage):
    real, fake = folders
    assert _eval(real, fake, tmp_path / "a.json") == 0
    (cached,) = list(features_cache_dir().glob("*.npz"))
    damage(cached)
    for name in ("b.json", "c.json"):  # the damaged entry is replaced, and the next run hits the cache again
        assert _eval(real, fake, tmp_path / name) == 0
        assert _fid(tmp_path / name) == _fid(tmp_path / "a.json")
    assert json.loads((tmp_path / "b.json").read_text())["real_feature_cache"].startswith("miss")
    assert json.loads((tmp_path / "c.json").read_text())["real_feature_cache"] == "hit"


def test_an_unwritable_cache_costs_only_the_speed_up(folders, tmp_path, monkeypatch, capsys):
    import bench.evaluate as ev

    def read_only(*args, **kwargs):
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(ev, "save_npz_atomic", read_only)
    real, fake = folders
    assert _eval(real, fake, tmp_path / "a.json") == 0
    assert "cannot write the feature cache" in capsys.readouterr().err
    assert _eval(real, fake, tmp_path / "b.json", "--no-cache") == 0
    assert _fid(tmp_path / "a.json") == _fid(tmp_path / "b.json")


def test_only_old_temp_files_are_cleaned_from_the_cache(folders, tmp_path):
    real, fake = folders
    folder = features_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    old, fresh = folder / ".x.npz.old.tmp", folder / ".y.npz.fresh.tmp"
    for p in (old, fresh):
        p.write_bytes(b"partial")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert _eval(real, fake, tmp_path / "a.json") == 0
    assert not old.exists()
    assert fresh.exists()  # may be another process's write in flight


def test_written_files_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "record.json", b"{}")
        os.umask(0o002)
        atomic_write_bytes(tmp_path / "group.json", b"{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "record.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "group.json").stat().st_mode) == 0o664


def test_a_run_writes_world_readable_records_and_samples(tmp_path):
    previous = os.umask(0o022)
    try:
        assert main(["run", "--method", "label-colouring", "--dataset", "synthetic-streets", "--limit", "2",
                     "--metrics", "psnr", "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "run")]) == 0
    finally:
        os.umask(previous)
    written = list((tmp_path / "lb").rglob("*.*")) + list((tmp_path / "run" / "fake").glob("*.png"))
    assert written and all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in written), written
