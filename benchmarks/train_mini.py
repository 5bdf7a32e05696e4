"""Train every reference method's ``mini`` config on synthetic-streets and compare with the label-colouring baseline.

    python benchmarks/train_mini.py [--methods spade,pix2pix,pix2pixhd] [--steps N] [--out runs/mini] [--threads 1]

For each method: train (``reference_models.trainer``; resumed if ``--out`` holds a run), generate the 100 val
images (seeds from ``bench.adapter.sample_seed``), then FID (clean mode) against the val photos and mIoU of the
embedded synthetic-streets segmenter (``embedded-synthetic-streets``, committed, offline) against the val label
maps, with ``bench.evaluate.evaluate_folders``; the same
for ``label-colouring``. Prints a table with training speed (images/s) and writes ``<out>/summary.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def write_pngs(images, names, folder: Path) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for im, name in zip(images, names):
        Image.fromarray(im.permute(1, 2, 0).numpy()).save(folder / f"{name}.png")


def export_val(ds, out: Path) -> tuple[Path, Path, list[str]]:
    from PIL import Image

    real, labels = out / "val_real", out / "val_labels"
    names = [f"{i:04d}" for i in range(len(ds))]
    if not (real.is_dir() and len(list(real.glob("*.png"))) == len(ds)):
        real.mkdir(parents=True, exist_ok=True)
        labels.mkdir(parents=True, exist_ok=True)
        for i in range(len(ds)):
            it = ds[i]
            Image.fromarray(it["image"].permute(1, 2, 0).numpy()).save(real / f"{names[i]}.png")
            Image.fromarray(it["label"][0].numpy().astype("uint8")).save(labels / f"{names[i]}.png")
    return real, labels, names


def generate(gen, ds, names, folder: Path, run_seed: int = 0) -> float:
    from bench.adapter import sample_seed
    from bench.data import collate

    t = time.perf_counter()
    imgs = []
    for s in range(0, len(ds), 16):
        items = [ds[i] for i in range(s, min(len(ds), s + 16))]
        seeds = [sample_seed(run_seed, names[i], 0) for i in range(s, s + len(items))]
        imgs.extend(gen.generate(collate(items), seeds=seeds))
    write_pngs(imgs, names, folder)
    return len(ds) / (time.perf_counter() - t)


def evaluate(real: Path, fake: Path, labels: Path) -> dict:
    from bench.evaluate import EvalOptions, evaluate_folders

    out = {}
    rec = evaluate_folders(real, fake, None, EvalOptions(metrics=("fid",), progress=False))
    out["fid"] = rec["metrics"]["fid"]
    # the committed embedded segmenter of synthetic-streets (bench/segmenters/weights), offline
    rec = evaluate_folders(real, fake, labels, EvalOptions(
        metrics=("miou",), segmenter="embedded-synthetic-streets", num_classes=8, progress=False))
    out["miou"] = rec["metrics"]["miou"]
    out["pixel_acc"] = rec["metrics"]["pixel_acc"]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default="spade,pix2pix,pix2pixhd")
    p.add_argument("--config", default="mini")
    p.add_argument("--steps", type=int, default=None, help="override the configs' step budget")
    p.add_argument("--out", default="runs/mini")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (1 is fastest on a busy 2-core machine)")
    args = p.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from bench.adapter import get_method
    from bench.data import get_dataset
    from bench.adapter import dataset_info

    out = Path(args.out)
    train_ds = get_dataset("synthetic-streets", split="train", resolution=64)
    val_ds = get_dataset("synthetic-streets", split="val", resolution=64)
    info = dataset_info(val_ds)
    real, labels, names = export_val(val_ds, out)
    rows = []
    base = get_method("label-colouring")(info)
    generate(base, val_ds, names, out / "fake-label-colouring")
    rows.append({"method": "label-colouring", **evaluate(real, out / "fake-label-colouring", labels)})
    for m in [s.strip() for s in args.methods.split(",") if s.strip()]:
        gen = get_method(m)(info, config=args.config)
        t = time.perf_counter()
        gen.train(train_ds, out_dir=str(out / f"{m}-{args.config}"), seed=args.seed, steps=args.steps)
        rec = json.loads((out / f"{m}-{args.config}" / "train.json").read_text())
        gen_speed = generate(gen, val_ds, names, out / f"fake-{m}")
        # a run resumed after completion trains no images: the speed then comes from the record's totals
        speed = rec["images_per_second"] or (round(rec["step"] * rec["batch_size"] / rec["train_seconds"], 2)
                                             if rec.get("train_seconds") else None)
        rows.append({"method": f"{m}/{args.config}", "steps": rec["step"], "train_images_per_s": speed,
                     "train_seconds": rec["train_seconds"], "wall_seconds": round(time.perf_counter() - t, 1),
                     "generate_images_per_s": round(gen_speed, 1), "vgg_loss": rec["vgg_loss"].split(":")[0],
                     **evaluate(real, out / f"fake-{m}", labels)})
        print(json.dumps(rows[-1]), file=sys.stderr)
    (out / "summary.json").write_text(json.dumps(rows, indent=1))
    print(f"{'method':<20} {'FID':>8} {'mIoU':>7} {'pix acc':>8} {'train s':>8} {'train img/s':>12}")
    for r in rows:
        print(f"{r['method']:<20} {r['fid']:8.2f} {r['miou']:7.4f} {r['pixel_acc']:8.4f} "
              f"{str(r.get('train_seconds', '')):>8} {str(r.get('train_images_per_s', '')):>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
