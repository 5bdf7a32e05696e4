#!/usr/bin/env python
"""Train the embedded digits classifier (``class_acc`` on the ``digits`` track) and write its weights into the package.

    python scripts/train_embedded_classifier.py                 # the committed weights: seed 0, defaults below
    python scripts/train_embedded_classifier.py --out /tmp/w    # somewhere else (e.g. to check reproducibility)

Writes ``<out>/embedded-digits.safetensors`` and ``<out>/embedded-digits.json`` (sha256, the recipe, accuracy on the
real digits val split per class and overall, torch version, the command). The recipe is
``bench.classifiers.cnn.train`` on the 1,442 digits train images, the same loop the Classification Accuracy Score runs
on generated images. Deterministic for a seed, thread count (2) and torch version.
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

    from bench.classifiers import WEIGHTS_DIR, class_arrays
    from bench.classifiers import cnn
    from bench.safetensors_io import save_safetensors

    defaults = cnn.TrainOptions()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=defaults.steps)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (another count may change the last bits)")
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="output folder (default: the package's)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    opts = cnn.TrainOptions(steps=args.steps)
    x, y = class_arrays("digits", "train")
    xv, yv = class_arrays("digits", "val")
    t0 = time.perf_counter()
    net = cnn.train(x, y, 10, opts, args.seed, log=lambda m: print(m, flush=True))
    train_s = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    wpath = args.out / "embedded-digits.safetensors"
    state = {k: v for k, v in net.state_dict().items() if v.dtype == torch.float32 or k.endswith("num_batches_tracked")}
    sha = save_safetensors(state, wpath, {"format": "pt", "name": "embedded-digits"})

    pred = cnn.predict(net, xv)
    per_class = {str(c): float((pred[yv == c] == c).double().mean()) for c in range(10)}
    meta = {
        "name": "embedded-digits",
        "file": wpath.name,
        "sha256": sha,
        "bytes": wpath.stat().st_size,
        "params": int(sum(p.numel() for p in net.parameters())),
        "train": {"dataset": "digits@1", "split": "train", "n": int(len(y)), "seed": args.seed,
                  "threads": args.threads, **opts.as_dict()},
        "val_accuracy": float((pred == yv).double().mean()),
        "val_accuracy_per_class": per_class,
        "val_n": int(len(yv)),
        "train_seconds": round(train_s, 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "command": "python scripts/train_embedded_classifier.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    (args.out / "embedded-digits.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {wpath} (sha256 {sha[:12]}..., {meta['bytes']} bytes); val accuracy {meta['val_accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
