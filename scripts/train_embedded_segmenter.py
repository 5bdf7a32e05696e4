#!/usr/bin/env python
"""Train the embedded synthetic-streets segmenter and write its weights into the package.

    python scripts/train_embedded_segmenter.py                 # the committed weights: seed 0, defaults below
    python scripts/train_embedded_segmenter.py --out /tmp/w    # somewhere else (e.g. to check reproducibility)

Writes ``<out>/embedded-synthetic-streets.safetensors`` and ``<out>/embedded-synthetic-streets.json`` (sha256,
training options, val mIoU, torch version, CPU capability, the command). Deterministic: a fixed thread count (2),
``torch.use_deterministic_algorithms``; the same seed, options, torch version and CPU capability give the same
sha256 (see docs/segmenters.md for why other platforms may differ in the last bits).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    import torch

    from bench.segmenters import embedded as E

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=E.TRAIN_DEFAULTS["epochs"])
    ap.add_argument("--renders", type=int, default=E.TRAIN_DEFAULTS["renders"],
                    help="extra photos rendered per train label map")
    ap.add_argument("--batch-size", type=int, default=E.TRAIN_DEFAULTS["batch_size"])
    ap.add_argument("--lr", type=float, default=E.TRAIN_DEFAULTS["lr"])
    ap.add_argument("--threads", type=int, default=E.TRAIN_DEFAULTS["threads"],
                    help="torch threads (part of the recipe: another count may change the last bits)")
    ap.add_argument("--out", type=Path, default=E.WEIGHTS_DIR, help="output folder (default: the package's)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    state = E.train(seed=args.seed, epochs=args.epochs, renders=args.renders, batch_size=args.batch_size,
                    lr=args.lr, threads=args.threads, log=lambda m: print(m, flush=True))
    train_s = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    wpath = args.out / E.WEIGHTS_FILENAME
    sha = E.save_safetensors(state, wpath, {"format": "pt", "name": "embedded-synthetic-streets"})

    net = E.build_net()
    net.load_state_dict(E.load_safetensors(wpath))
    seg = E.Segmenter(net, E.PROTOCOL, weights_sha256=sha)
    val = E.evaluate_split(seg, "val")
    meta = {
        "name": "embedded-synthetic-streets",
        "file": E.WEIGHTS_FILENAME,
        "sha256": sha,
        "bytes": wpath.stat().st_size,
        "params": int(sum(v.numel() for k, v in state.items() if not k.endswith(("running_mean", "running_var",
                                                                                "num_batches_tracked")))),
        "train": {"seed": args.seed, "epochs": args.epochs, "renders": args.renders, "batch_size": args.batch_size,
                  "lr": args.lr, "threads": args.threads,
                  "dataset": "synthetic-streets@1 train 64x64"},
        "command": "python scripts/train_embedded_segmenter.py" + "".join(
            f" --{k.replace('_', '-')} {v}" for k, v in (("seed", args.seed), ("epochs", args.epochs),
                                                          ("renders", args.renders), ("batch_size", args.batch_size),
                                                          ("lr", args.lr), ("threads", args.threads))),
        "train_seconds": round(train_s, 1),
        "val": {"miou": round(val["miou"], 6), "pixel_acc": round(val["pixel_acc"], 6),
                "per_class_iou": [None if v is None else round(v, 6) for v in val["per_class_iou"]]},
        "platform": {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                     "machine": platform.machine(), "python": platform.python_version()},
    }
    (args.out / E.META_FILENAME).write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps({k: meta[k] for k in ("sha256", "bytes", "params", "train_seconds", "val")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
