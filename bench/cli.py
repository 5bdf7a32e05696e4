"""The ``bench`` command line. Heavy libraries are imported inside the subcommands so ``--help`` stays fast."""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Sequence

from bench import __version__
from bench.data.cli import add_data_parser, cmd_data
from bench.errors import BenchError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, non-zero exit, no usage dump
        raise BenchError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _metrics_arg(text: str) -> tuple[str, ...]:
    return tuple(m.strip().lower() for m in text.split(",") if m.strip())


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="bench", description="cgan-bench: fingerprinted evaluation of conditional image synthesis.")
    p.add_argument("--version", action="version", version=f"cgan-bench {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    e = sub.add_parser("eval", help="evaluate a folder of generated images against a folder of real ones")
    e.add_argument("--real", required=True, help="folder of real images (RGB, one size)")
    e.add_argument("--fake", required=True,
                   help="folder of generated images: <name>.png, or <name>/<i>.png for several samples per condition")
    e.add_argument("--labels", help="folder of label maps <name>.png (for mIoU with --segmenter)")
    e.add_argument("--metrics", type=_metrics_arg,
                   help="comma-separated subset of: fid,kid,is,psnr,ssim,lpips,msssim_diversity,lpips_diversity,miou "
                        "(default: every metric that applies; unavailable ones are reported, not fatal)")
    e.add_argument("--segmenter", help="'package.module:callable' mapping uint8 [B,3,H,W] to label ids [B,H,W]")
    e.add_argument("--num-classes", type=int)
    e.add_argument("--ignore-index", type=int, default=255)
    e.add_argument("--batch-size", type=int, help="images per forward pass (default: 8 on CPU, 64 on CUDA)")
    e.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    e.add_argument("--kid-subsets", type=int, default=100)
    e.add_argument("--kid-subset-size", type=int, default=1000)
    e.add_argument("--seed", type=int, default=0, help="seed of KID subsets and diversity pairs")
    e.add_argument("--no-cache", action="store_true", help="do not read or write cached real-image features")
    e.add_argument("--inception-weights", help="explicit path of the FID Inception file (default: resolver)")
    e.add_argument("--out", default="bench-eval.json", help="result JSON (written atomically; default %(default)s)")

    sub.add_parser("ls", help="list metrics and known weight files")
    wp = sub.add_parser("weights", help="show where each known weight file resolves (no download)")
    wp.add_argument("--download", action="store_true", help="download missing files (sha256-checked)")
    add_data_parser(sub)
    return p


def _device(name: str) -> str:
    if name != "auto":
        if name.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise BenchError(f"--device {name}: CUDA is not available on this machine")
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def cmd_eval(args: argparse.Namespace) -> int:
    from bench.evaluate import EvalOptions, evaluate_folders, write_json

    opts = EvalOptions(
        metrics=args.metrics, batch_size=args.batch_size, device=_device(args.device),
        kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size, kid_seed=args.seed,
        diversity_seed=args.seed, segmenter=args.segmenter, num_classes=args.num_classes,
        ignore_index=args.ignore_index, cache=not args.no_cache, inception_weights=args.inception_weights,
    )
    record = evaluate_folders(args.real, args.fake, args.labels, opts)
    write_json(args.out, record)
    width = max(map(len, [*record["metrics"], *record["unavailable"], "metric"]))
    print(f"protocol {record['fingerprint']}  real={record['inputs']['real']['n']}  fake={record['inputs']['fake']['n']}")
    for k, v in record["metrics"].items():
        print(f"  {k:<{width}}  {_fmt(v)}")
    for k, why in record["unavailable"].items():
        print(f"  {k:<{width}}  unavailable: {why}")
    print(f"wrote {args.out}")
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from bench import weights
    from bench.evaluate import ALL_METRICS

    print("metrics: " + ", ".join(ALL_METRICS))
    print("weights:")
    for name, wf in sorted(weights.REGISTRY.items()):
        print(f"  {name}: {wf.filename} sha256 {wf.sha256}")
    return 0


def cmd_weights(args: argparse.Namespace) -> int:
    from bench import weights
    from bench.errors import WeightsUnavailable

    status = 0
    for name in sorted(weights.REGISTRY):
        try:
            r = weights.resolve(name, download=args.download)
            print(f"{name}: {r.path} ({r.source})")
        except WeightsUnavailable as exc:
            print(f"{name}: missing - {exc}")
            status = 1
    return status


COMMANDS = {"eval": cmd_eval, "ls": cmd_ls, "weights": cmd_weights, "data": cmd_data}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("BENCH_DEBUG") == "1"
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except BenchError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
