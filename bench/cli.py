"""The ``bench`` command line. Heavy libraries are imported inside the subcommands so ``--help`` stays fast.

Plugins add subcommands (``bench train`` comes from ``reference_models`` this way) with an entry point of the group
``bench.commands``: its name is the subcommand, its value a ``"module:attr"`` naming ``register(subparsers, name)``,
which adds the subcommand's parser and returns its handler ``(args) -> exit code``. Keep that module light: it is
imported by every ``bench`` invocation.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from bench import __version__
from bench.data.cli import add_data_parser, cmd_data
from bench.errors import BenchError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, non-zero exit, no usage dump
        raise BenchError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _metrics_arg(text: str) -> tuple[str, ...]:
    names = tuple(m.strip().lower() for m in text.split(",") if m.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names no metric (see `bench ls`)")
    return names


REPORT_OUT = "bench-report"  # `bench report`'s output folder when --out is not given


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="bench", description="cgan-bench: fingerprinted evaluation of conditional image synthesis.")
    p.add_argument("--version", action="version", version=f"cgan-bench {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    e = sub.add_parser("eval", help="evaluate a folder of generated images against a folder of real ones")
    e.add_argument("--real", required=True, help="folder of real images (RGB, one size unless --mixed-sizes)")
    e.add_argument("--fake", required=True,
                   help="folder of generated images: <name>.png, or <name>/<i>.png for several samples per condition")
    e.add_argument("--labels", help="folder of label maps <name>.png (for mIoU with --segmenter)")
    e.add_argument("--classes", help="JSON file {\"<name>\": class id} of the real images (per-class metrics)")
    e.add_argument("--classifier", help="fixed classifier of these classes for class_acc (see `bench ls`)")
    e.add_argument("--captions", help="JSON file {\"<name>\": caption} of the conditions (text metrics: r_precision, "
                   "clip_score)")
    e.add_argument("--matcher", help="fixed image-text matcher of these captions for r_precision (see `bench ls`)")
    e.add_argument("--cas-steps", type=int, help="training steps of CAS's classifier (default: the protocol's)")
    e.add_argument("--metrics", type=_metrics_arg,
                   help="comma-separated metric names (see `bench ls`; default: every registered metric that applies "
                        "to the inputs; unavailable ones are reported, not fatal)")
    e.add_argument("--segmenter", help="'package.module:callable' mapping uint8 [B,3,H,W] to label ids [B,H,W]")
    e.add_argument("--num-classes", type=int)
    e.add_argument("--ignore-index", type=int, default=255)
    e.add_argument("--batch-size", type=int, help="images per forward pass (default: 8 on CPU, 64 on CUDA)")
    e.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    e.add_argument("--kid-subsets", type=int, default=100)
    e.add_argument("--kid-subset-size", type=int, default=1000)
    e.add_argument("--seed", type=int, default=0, help="seed of KID subsets and diversity pairs")
    e.add_argument("--diversity-protocol", choices=("default", "munit"), default="default",
                   help="pairs of a condition's samples scored by the diversity metrics: default (10 random pairs) or "
                        "munit (samples 0-1, 2-3, ...: 19 pairs of independent outputs, as BicycleGAN / MUNIT)")
    e.add_argument("--no-cache", action="store_true", help="do not read or write cached real-image features")
    e.add_argument("--inception-weights", help="explicit path of the FID Inception file (default: resolver)")
    e.add_argument("--out", default="bench-eval.json", help="result JSON (written atomically; default %(default)s)")
    e.add_argument("--mixed-sizes", action="store_true",
                   help="evaluate each image at its own size (super-resolution test sets such as Set5): paired and "
                        "feature metrics apply, metrics that need one size are listed as unavailable")
    e.add_argument("--crop-border", type=int,
                   help="pixels cut at each border before psnr_y / ssim_y (SR outputs: the scale, e.g. 4, as SR papers; "
                        "default 0)")
    e.add_argument("--per-sample", help="also write the per-sample table (PSNR/SSIM/LPIPS/IoU of each image) to this "
                                        "parquet file")

    r = sub.add_parser("run", help="generate a dataset split with a method, evaluate it, write a result record")
    r.add_argument("--method", required=True, help="registered name, entry point, or package.module:Class")
    r.add_argument("--dataset", default="synthetic-streets")
    r.add_argument("--root", help="folder holding the dataset (see datasets/<name>/README.md)")
    r.add_argument("--split", help="default: the card's evaluation split")
    r.add_argument("--resolution", help="HxW (default: the card's evaluation resolution)")
    r.add_argument("--config", help="method config, e.g. mini or paper")
    src = r.add_mutually_exclusive_group()
    src.add_argument("--checkpoint", help="generator weights (a plain state dict, loaded with weights_only=True)")
    src.add_argument("--train", action="store_true", help="train the method on the train split first")
    r.add_argument("--train-steps", type=int, help="training steps (default: the config's)")
    r.add_argument("--samples-per-label", type=int, default=1, help="samples per label map (>= 2 gives diversity)")
    r.add_argument("--diversity-protocol", choices=("default", "munit"), default="default",
                   help="default: 10 random pairs of each label map's samples; munit: 38 samples per input, LPIPS / "
                        "MS-SSIM over the 19 pairs (0, 1), (2, 3), ... (BicycleGAN / MUNIT; sets --samples-per-label)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    r.add_argument("--batch-size", type=int, default=8)
    r.add_argument("--metrics", type=_metrics_arg, help="subset of metrics (default: all that apply)")
    r.add_argument("--segmenter", help="segmenter for mIoU (default: the dataset protocol's, when available)")
    r.add_argument("--limit", type=int, help="only the first N label maps (recorded; for quick looks)")
    r.add_argument("--partial", action="store_true",
                   help="evaluate a split that does not match its manifest (recorded in the protocol)")
    r.add_argument("--any-resolution", action="store_true",
                   help="run released weights at another resolution than they were trained at (recorded)")
    r.add_argument("--out", help="run directory (default: bench-runs/<method>-<config>-<dataset>-<split>-<run id>)")
    r.add_argument("--results", help="leaderboard folder to write the record into (default: the checkout's leaderboard/)")

    c = sub.add_parser("check-adapter", help="conformance report for a generator adapter")
    c.add_argument("method")
    c.add_argument("--dataset", default="synthetic-streets")
    c.add_argument("--root")
    c.add_argument("--config")
    c.add_argument("--checkpoint")
    c.add_argument("--device", default="auto")
    c.add_argument("--batch-size", type=int, default=4)

    lb = sub.add_parser("leaderboard", help="regenerate the markdown tables in leaderboard/ from the records")
    lb.add_argument("--check", action="store_true", help="exit 1 when the committed markdown is stale")
    lb.add_argument("--dir", help="leaderboard folder (default: the checkout's leaderboard/)")
    lb.add_argument("--export", metavar="FILE", help="also write the tables' rows (mean and std over seeds per method, "
                                                     "config and protocol) to FILE.csv or FILE.parquet")

    sw = sub.add_parser("sweep", help="run a matrix of methods x configs x datasets x seeds (local or Slurm)")
    sw.add_argument("matrix", help="TOML file: datasets, seeds, methods, [executor] (see bench/sweep.py)")
    sw.add_argument("--executor", help="override the matrix's executor: local, slurm, submitit-local or debug")
    sw.add_argument("--workers", type=int, help="processes of the local executor (default: the matrix's, else 1)")
    sw.add_argument("--dry-run", action="store_true", help="list the cells and what is finished; run nothing")

    rp = sub.add_parser("report", help="write static HTML pages of the leaderboard (tables, samples, charts)")
    rp.add_argument("--leaderboard", metavar="DIR", help="leaderboard folder holding results/ and reported.csv "
                                                         "(default: the checkout's leaderboard/)")
    rp.add_argument("--out", metavar="DIR", help=f"output folder (default: {REPORT_OUT})")
    rp.add_argument("--dataset", action="extend", nargs="+", metavar="NAME",
                    help="only these datasets (default: every dataset with records)")

    ls = sub.add_parser("ls", help="list methods, datasets, tasks, metrics and known weight files")
    ls.add_argument("--tasks", action="store_true", help="print each task kind's batch, baseline and metrics")
    wp = sub.add_parser("weights", help="show where each known weight file resolves (no download)")
    wp.add_argument("names", nargs="*", help="only these files (default: all; see `bench ls`)")
    wp.add_argument("--download", action="store_true", help="download missing files (sha256-checked)")
    add_data_parser(sub)
    _add_plugin_commands(sub)
    return p


COMMAND_GROUP = "bench.commands"
PLUGIN_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _add_plugin_commands(sub: Any) -> None:
    from bench.registry import import_string, plugin_entry_points

    for name, spec in plugin_entry_points(COMMAND_GROUP):
        try:  # a broken plugin costs its own subcommand, said on every run, never the core's
            if name in COMMANDS:
                raise BenchError(f"it would redefine the core command 'bench {name}'")
            PLUGIN_COMMANDS[name] = import_string(spec)(sub, name)
        except BenchError as exc:
            print(f"bench: plugin command '{name}' ({spec}, entry point group {COMMAND_GROUP}) is unavailable: "
                  f"{exc}", file=sys.stderr)


def _device(name: str) -> str:
    from bench.devices import resolve_device

    return resolve_device(name)


def _short(why: str) -> str:
    """The table shows the reason; the record keeps the full list of places searched."""
    return why.split("; looked in")[0] + (" (see the record for where it looked)" if "; looked in" in why else "")


def _print_metrics(rec: dict) -> None:
    width = max(map(len, [*rec["metrics"], *rec["unavailable"], "metric"]))
    for k, v in rec["metrics"].items():
        print(f"  {k:<{width}}  {_fmt(v)}")
    for k, why in rec["unavailable"].items():
        print(f"  {k:<{width}}  unavailable: {_short(why)}")


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def cmd_eval(args: argparse.Namespace) -> int:
    from bench import distributed
    from bench.evaluate import DIVERSITY_PROTOCOLS, EvalOptions, evaluate_folders, read_captions, read_classes
    from bench.fileio import check_writable_file
    from bench.results import write_eval_record

    check_writable_file(args.out, "--out")
    if args.per_sample:
        check_writable_file(args.per_sample, "--per-sample")
    device = distributed.init_from_env(_device(args.device))  # under torchrun: each rank evaluates its share
    opts = EvalOptions(
        metrics=args.metrics, batch_size=args.batch_size, device=device, per_sample_path=args.per_sample,
        kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size, kid_seed=args.seed,
        diversity_seed=args.seed, segmenter=args.segmenter, num_classes=args.num_classes,
        diversity_pairing=DIVERSITY_PROTOCOLS[args.diversity_protocol][0],
        diversity_pairs=DIVERSITY_PROTOCOLS[args.diversity_protocol][1],
        ignore_index=args.ignore_index, cache=not args.no_cache, inception_weights=args.inception_weights,
        classes=read_classes(args.classes) if args.classes else None, classifier=args.classifier,
        captions=read_captions(args.captions) if args.captions else None, matcher=args.matcher,
        cas_steps=args.cas_steps, mixed_sizes=args.mixed_sizes, crop_border=args.crop_border,
    )
    record = evaluate_folders(args.real, args.fake, args.labels, opts)
    if record is None:  # a rank other than 0 under torchrun: rank 0 writes and prints
        return 0
    write_eval_record(args.out, record)
    print(f"protocol {record['fingerprint']}  real={record['inputs']['real']['n']}  fake={record['inputs']['fake']['n']}")
    _print_metrics(record)
    print(f"wrote {args.out}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bench.runner import RunSpec, run

    rec = run(RunSpec(
        method=args.method, dataset=args.dataset, root=args.root, split=args.split, resolution=args.resolution,
        config=args.config, checkpoint=args.checkpoint, train=args.train, train_steps=args.train_steps,
        samples_per_label=args.samples_per_label, diversity_protocol=args.diversity_protocol,
        seed=args.seed, device=_device(args.device),
        batch_size=args.batch_size, out=args.out, results=args.results, segmenter=args.segmenter,
        metrics=args.metrics, limit=args.limit, partial=args.partial, any_resolution=args.any_resolution,
    ))
    if rec is None:  # a rank other than 0 under torchrun: rank 0 writes the record and prints
        return 0
    print(f"{rec['method']['name']} ({rec['method']['config'] or 'default'}) on {rec['dataset']['card']} "
          f"{rec['dataset']['split']}, protocol {rec['fingerprint']}")
    _print_metrics(rec)
    print(f"wrote {rec['_path']}")
    from bench.leaderboard import record_row

    try:
        row = record_row(rec, Path(rec["_path"]))
    except Exception as exc:  # the run and its record are complete; the row is only a convenience
        print(f"(no leaderboard row: {type(exc).__name__}: {exc}; `bench leaderboard` renders the tables)")
    else:
        print(f"\nleaderboard row ({Path(rec['_path']).parent}):")
        print(row)
    return 0


def cmd_check_adapter(args: argparse.Namespace) -> int:
    from bench.adapter import dataset_info, get_method, sample_seed
    from bench.conformance import run_checks
    from bench.data import get_dataset

    cls = get_method(args.method)
    ds = get_dataset(args.dataset, args.root)
    task = ds.task
    if not task.accepts(tuple(getattr(cls, "tasks", ("semantic",)))):
        print(f"FAIL  task: {args.method} generates for {', '.join(cls.tasks)}; {ds.card.name} is a {task.name} "
              f"dataset (batch keys: {', '.join(task.batch_keys)})")
        return 1
    gen = cls(dataset_info(ds), device=_device(args.device), checkpoint=args.checkpoint, config=args.config)
    keys = [ds.samples[i].key for i in range(min(args.batch_size, len(ds)))]
    batch = task.adapter_batch(next(iter(ds.loader(batch_size=args.batch_size))), ds.task_params, keys,
                               with_image=bool(getattr(cls, "needs_image", False)))
    print(f"task {task.name}: batch {', '.join(batch)}")
    checks = run_checks(gen, batch, [sample_seed(0, k, 0) for k in keys])
    for c in checks:
        print(f"{'PASS' if c.ok else 'FAIL'}  {c.name}: {c.message}")
    failed = [c for c in checks if not c.ok]
    print(f"{args.method}: {'conforms' if not failed else f'{len(failed)} check(s) failed'}")
    return 1 if failed else 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from bench.leaderboard import write
    from bench.results import leaderboard_dir

    folder = Path(args.dir) if args.dir else leaderboard_dir()
    if args.export:
        from bench.leaderboard import export

        rows = export(folder, Path(args.export))
        print(f"wrote {args.export} ({rows} rows)")
    changed = write(folder, check=args.check)
    if args.check:
        if changed:
            print(f"stale: {', '.join(changed)} (run 'bench leaderboard' and commit)", file=sys.stderr)
            return 1
        print("leaderboard is current")
        return 0
    print(f"wrote {', '.join(changed)}" if changed else "leaderboard already current")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from bench.leaderboard import write
    from bench.results import leaderboard_dir
    from bench.sweep import load_matrix, run_sweep, summary_table

    if args.workers is not None and args.workers < 1:
        raise BenchError(f"--workers must be >= 1, got {args.workers}")
    sweep = load_matrix(args.matrix)
    summary = run_sweep(sweep, kind=args.executor, workers=args.workers, dry_run=args.dry_run)
    print(summary_table(summary))
    if args.dry_run:
        return 0
    folder = sweep.results or leaderboard_dir()
    changed = write(folder, require_reported=False)
    print(f"leaderboard {folder}: " + (f"wrote {', '.join(changed)}" if changed else "already current"))
    print(f"summary: {sweep.folder / 'summary.json'}")
    return 1 if any(c["status"] == "failed" for c in summary["cells"]) else 0


def cmd_report(args: argparse.Namespace) -> int:
    from bench.report import command_text, write_report
    from bench.results import leaderboard_dir

    folder = Path(args.leaderboard) if args.leaderboard else leaderboard_dir()
    out = Path(args.out or REPORT_OUT)
    written = write_report(folder, out, args.dataset, command_text(args.leaderboard, args.out, args.dataset))
    pages = [p for p in written if p.suffix == ".html" and p.name != "index.html"]
    print(f"wrote {out / 'index.html'} ({len(pages)} dataset page(s), {len(written) - len(pages) - 1} asset(s))")
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from bench import weights
    from bench.adapter import method_names
    from bench.data import DATASETS
    from bench.metrics import registry
    from bench.classifiers import names as classifier_names
    from bench.segmenters import names as segmenter_names

    from bench.adapter import get_method
    from bench.data import load_card
    from bench.tasks import get_task, task_names

    if args.tasks:
        for name in task_names():
            t = get_task(name)
            print(f"{name}: {t.summary}")
            print(f"  baseline: {t.baseline}; metrics: {', '.join(t.metrics) if t.metrics else 'every one that applies'}")
            for key, what in t.batch_keys.items():
                print(f"  batch[{key!r}]: {what}")
            if t.params:
                print(f"  card task_params (defaults): {t.params}")
        return 0
    print("methods: " + ", ".join(f"{m} ({'/'.join(getattr(get_method(m), 'tasks', ('semantic',)))})"
                                  for m in method_names()))
    print("datasets: " + ", ".join(f"{d} ({load_card(d).task})" for d in DATASETS.names()))
    print("tasks: " + ", ".join(task_names()) + "  (bench ls --tasks: their batches)")
    print("segmenters: " + ", ".join(segmenter_names()))
    print("classifiers: " + ", ".join(classifier_names()))
    from bench.text.matchers import MATCHERS

    print("image-text matchers: " + ", ".join(MATCHERS.names()))
    print("metrics: " + ", ".join(registry.names()))
    print("weights:")
    for name, wf in sorted(weights.all_registered().items()):
        print(f"  {name}: {wf.filename} sha256 {wf.sha256 or 'unpublished'}")
    return 0


def cmd_weights(args: argparse.Namespace) -> int:
    from bench import weights
    from bench.errors import WeightsUnavailable

    known = weights.all_registered()
    for name in args.names:
        weights.get(name)  # unknown names raise with a did-you-mean
    status = 0
    for name in args.names or sorted(known):
        try:
            r = weights.resolve(name, download=args.download)
            print(f"{name}: {r.path} ({r.source})")
        except WeightsUnavailable as exc:
            print(f"{name}: missing - {exc}")
            status = 1
    return status


COMMANDS = {"eval": cmd_eval, "run": cmd_run, "check-adapter": cmd_check_adapter, "leaderboard": cmd_leaderboard,
            "report": cmd_report, "sweep": cmd_sweep, "ls": cmd_ls, "weights": cmd_weights, "data": cmd_data}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("BENCH_DEBUG") == "1"
    try:
        args = build_parser().parse_args(argv)
        code = (COMMANDS.get(args.command) or PLUGIN_COMMANDS[args.command])(args)
        _leave_process_group()
        return code
    except BenchError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `bench ls | head`: the reader left; say nothing more, as other Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _leave_process_group() -> None:
    """End torchrun's process group cleanly (only if a command joined one; torch is not imported otherwise)."""
    if "torch.distributed" in sys.modules:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
