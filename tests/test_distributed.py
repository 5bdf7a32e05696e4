"""States reduce by sum (or gather) across torch.distributed processes: two ranks == one process."""

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from bench.metrics.fid import FID
from bench.metrics.kid import KID
from bench.metrics.miou import SegmentationScore


def _data():
    rng = np.random.default_rng(0)
    return (torch.from_numpy(rng.random((40, 6))), torch.from_numpy(rng.random((40, 6)) + 0.2),
            rng.integers(0, 3, (40, 5)), rng.integers(0, 3, (40, 5)))


def _metrics(real, fake, pred, target):
    fid, kid, seg = FID(dim=6), KID(subsets=5, subset_size=10), SegmentationScore(3)
    fid.update(real, real=True)
    fid.update(fake, real=False)
    kid.update(real, real=True)
    kid.update(fake, real=False)
    seg.update(pred, target)
    return fid, kid, seg


def _worker(rank, store_path, queue):
    store = dist.FileStore(store_path, 2)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=2)
    real, fake, pred, target = _data()
    sl = slice(0, 20) if rank == 0 else slice(20, 40)
    fid, kid, seg = _metrics(real[sl], fake[sl], pred[sl], target[sl])
    for m in (fid, kid, seg):
        m.sync()
    if rank == 0:
        queue.put((fid.compute()["fid"], kid.compute()["kid"], seg.compute()["miou"]))
    dist.barrier()
    dist.destroy_process_group()


def test_two_ranks_give_the_single_process_values(tmp_path):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(r, str(tmp_path / "store"), queue)) for r in range(2)]
    for p in procs:
        p.start()
    got = queue.get(timeout=120)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    fid, kid, seg = _metrics(*_data())
    assert got[0] == pytest.approx(fid.compute()["fid"], rel=1e-12)
    assert got[1] == pytest.approx(kid.compute()["kid"], rel=1e-6)
    assert got[2] == pytest.approx(seg.compute()["miou"], rel=1e-12)
