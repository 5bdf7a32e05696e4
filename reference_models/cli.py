"""``bench train``: train a reference GAN with the shared trainer.

    bench train --method spade --config mini --dataset synthetic-streets --out runs/spade-mini [--steps N]

Wired into ``bench`` like any plugin's subcommand, by the entry point ``train = "reference_models.cli:register"``
of the group ``bench.commands`` (pyproject.toml). This module stays light: every ``bench`` invocation imports it.

Resumes when ``--out`` already holds a checkpoint of the same method/config/seed (``--steps`` may extend the run).
Under ``torchrun --nproc_per_node=K bench train ...`` every rank trains on 1/K of each batch (see ``trainer``).
"""

from __future__ import annotations

import argparse
import os
from typing import Any


def register(subparsers: Any, name: str = "train") -> Any:
    """The ``bench.commands`` hook: add the ``bench train`` parser, return its handler."""
    add_train_parser(subparsers, name)
    return cmd_train


def add_train_parser(subparsers: Any, name: str = "train") -> argparse.ArgumentParser:
    t = subparsers.add_parser(name, help="train a reference GAN (pix2pix, pix2pixhd, spade) with the shared trainer")
    t.add_argument("--method", required=True, help="pix2pix, pix2pixhd or spade (or another trainable method)")
    t.add_argument("--config", default=None, help="config name: mini (default on CPU), paper, paper-<dataset>, ...")
    t.add_argument("--dataset", default="synthetic-streets", help="dataset name (default %(default)s)")
    t.add_argument("--root", default=None, help="dataset folder (not needed for synthetic-streets)")
    t.add_argument("--split", default="train", help="training split (default %(default)s)")
    t.add_argument("--resolution", default=None, help="HxW or N (default: the card's eval resolution)")
    t.add_argument("--out", required=True, help="run folder: checkpoints, samples, train.json (resumed if present)")
    t.add_argument("--steps", type=int, default=None, help="total optimisation steps (default: the config's)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    return t


def cmd_train(args: argparse.Namespace) -> int:
    from bench.adapter import dataset_info, get_method
    from bench.data import get_dataset
    from bench.devices import resolve_device

    device = resolve_device(args.device)
    if "LOCAL_RANK" in os.environ and device.startswith("cuda"):
        device = f"cuda:{int(os.environ['LOCAL_RANK'])}"
    ds = get_dataset(args.dataset, root=args.root, split=args.split, resolution=args.resolution)
    info = dataset_info(ds)
    cls = get_method(args.method)
    gen = cls(info, device=device, config=args.config)
    path = gen.train(ds, out_dir=args.out, seed=args.seed, steps=args.steps)
    if int(os.environ.get("RANK", "0")) == 0:
        import json

        rec = json.loads(open(os.path.join(args.out, "train.json")).read())
        print(f"trained {args.method}/{gen.config} to step {rec['step']}/{rec['steps_total']} "
              f"({rec['images_per_second']} images/s; VGG loss {rec['vgg_loss'].split(':')[0]})")
        print(f"generator: {path}")
    return 0
