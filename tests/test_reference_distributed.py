"""The trainer under torch.distributed (gloo, two CPU processes; torchrun sets the same RANK / WORLD_SIZE
variables): ranks stay identical and two ranks of batch 2 train the same weights as one process of batch 4 (the
minis use instance norm, so per-sample statistics do not depend on how the batch is split).

The optimisers are swapped for plain SGD here: Adam divides by the gradient's magnitude, so parameters whose true
gradient is zero (conv biases right before an instance norm, as in the authors' networks) move by +-lr driven by
1e-10 rounding noise, which would make any comparison of trained weights meaningless. With SGD the update is the
averaged gradient itself, which is what the distributed path has to get right."""

from __future__ import annotations

import os

import pytest
import torch
import torch.multiprocessing as mp

STEPS = 3


def _make(method: str):
    from bench.adapter import DatasetInfo, get_method
    from bench.data import get_dataset

    ds = get_dataset("synthetic-streets", split="train", resolution=64)
    info = DatasetInfo("synthetic-streets", ds.num_classes, (64, 64), ds.has_instances, 255,
                       tuple(tuple(int(c) for c in rgb) for rgb in ds.palette))
    g = get_method(method)(info, config="mini")
    # no random draws inside a step (dropout, flips): their streams are per rank by design
    over = {"sample_every": 0, "save_every": 100, "flip": False}
    if "vgg" in g.cfg.values:  # the same losses in every process whatever the machine's weight caches hold
        over["vgg"] = False
    if "dropout" in g.cfg.values:
        over["dropout"] = False
    g.cfg = g.cfg.replace(**over)
    g.model = g.build(g.cfg, g.info)
    adam = g.model.optimizers

    def sgd():
        return {k: torch.optim.SGD([p for grp in o.param_groups for p in grp["params"]], lr=o.param_groups[0]["lr"])
                for k, o in adam().items()}

    g.model.optimizers = sgd
    return g, ds


def _worker(rank: int, method: str, store: str, out: str) -> None:
    import torch.distributed as dist

    from reference_models.trainer import Trainer

    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), BENCH_OFFLINE="1")
    dist.init_process_group("gloo", store=dist.FileStore(store, 2), rank=rank, world_size=2)
    g, ds = _make(method)
    g.cfg = g.cfg.replace(batch_size=2)  # per rank: a global batch of 4
    Trainer(g, ds, out_dir=out, seed=3, steps=STEPS, progress=False).run()
    torch.save(g.model.state_dict(), os.path.join(out, f"rank{rank}.pt"))
    dist.barrier()
    dist.destroy_process_group()


def _train_two_ranks(tmp_path, method):
    ctx = mp.get_context("spawn")
    # daemons, terminated on failure: a rank left waiting in a collective must not keep pytest alive
    procs = [ctx.Process(target=_worker, args=(r, method, str(tmp_path / "store"), str(tmp_path / "ddp")), daemon=True)
             for r in range(2)]
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=300)
            assert p.exitcode == 0, p.exitcode
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
    r0 = torch.load(tmp_path / "ddp" / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "ddp" / "rank1.pt", weights_only=True)
    stats = ("running_mean", "running_var", "num_batches_tracked")  # BatchNorm buffers: per rank on CPU
    drift = [k for k in r0 if not torch.equal(r0[k], r1[k]) and not k.endswith(stats)]
    assert not drift, drift[:5]  # the ranks never drift apart
    return r0


def test_spade_ranks_stay_identical(tmp_path):
    """SPADE normalises with BatchNorm, whose statistics are per rank on CPU (SyncBatchNorm is GPU-only), so only
    the ranks' agreement on every weight is checked (its running statistics are rank 0's, as saved)."""
    _train_two_ranks(tmp_path, "spade")


@pytest.mark.parametrize("method", ["pix2pix", "pix2pixhd"])
def test_two_ranks_train_like_one_process(tmp_path, method):
    r0 = _train_two_ranks(tmp_path, method)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _compare_with_one_process(tmp_path, method, r0)
    finally:
        torch.set_num_threads(threads)


def _compare_with_one_process(tmp_path, method, r0):
    from reference_models.trainer import Trainer

    g, ds = _make(method)
    g.cfg = g.cfg.replace(batch_size=4)
    Trainer(g, ds, out_dir=tmp_path / "single", seed=3, steps=STEPS, progress=False).run()
    single = g.model.state_dict()
    init, _ = _make(method)
    init.reinitialize(3)
    start = init.model.state_dict()
    moved = 0
    for k, v in single.items():
        if v.is_floating_point() and not k.endswith(("running_mean", "running_var")):
            want, got = v - start[k], r0[k] - start[k]  # what training changed
            # 0.1% of the update, plus float32 rounding of the weights themselves (a few ulps), plus 1e-8 for
            # gradients that are zero in exact arithmetic (biases before an instance norm: ~1e-10 of rounding noise;
            # real updates here are ~1e-4)
            tol = (1e-3 * want.abs().max() + 4 * torch.finfo(torch.float32).eps * start[k].abs().max() + 1e-8)
            assert (got - want).abs().max() <= tol, (k, (got - want).abs().max(), want.abs().max())
            moved += bool(want.abs().max() > 1e-6)
    assert moved > 10  # training changed the weights, so the comparison means something
