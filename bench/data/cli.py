"""``bench data {list,verify,show}``. Wired into ``bench/cli.py`` with ``add_data_parser(sub)`` and
``COMMANDS["data"] = cmd_data``. Importing this module is cheap: the work is imported inside the commands."""

from __future__ import annotations

import argparse
from typing import Any


def add_data_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``data`` with its own sub-commands to the main parser's subparsers."""
    d = subparsers.add_parser("data", help="dataset cards: list, verify a local copy, show samples")
    dsub = d.add_subparsers(dest="data_command", required=True)

    dsub.add_parser("list", help="list registered datasets with their card version, splits and eval resolution")

    v = dsub.add_parser("verify", help="check a local copy against the card and the frozen split manifests")
    v.add_argument("--dataset", required=True, help="dataset name (see 'bench data list')")
    v.add_argument("--root", help="folder holding the data (see datasets/<name>/README.md); "
                                  "synthetic-streets: default is its generated cache copy")
    v.add_argument("--split", help="one split (default: every split present under --root)")
    v.add_argument("--resolution", help="HxW of a generated dataset (default: the card's eval resolution)")
    v.add_argument("--quick", action="store_true", help="skip decoding labels (names, counts, sizes only)")
    v.add_argument("--json", action="store_true", help="print the report as JSON")

    s = dsub.add_parser("show", help="write a PNG grid: label (card colours), instance edges, photo")
    s.add_argument("--dataset", required=True)
    s.add_argument("--root")
    s.add_argument("--split", help="default: the card's eval split")
    s.add_argument("--resolution", help="HxW (default: the card's eval resolution)")
    s.add_argument("-n", "--num", type=int, default=4, help="samples (rows); default %(default)s")
    s.add_argument("--start", type=int, default=0, help="index of the first sample")
    s.add_argument("--seed", type=int, help="synthetic-streets generation seed (default: the card's)")
    s.add_argument("--out", help="PNG path (default: <dataset>-<split>.png)")
    return d


def cmd_data(args: argparse.Namespace) -> int:
    if args.data_command == "list":
        from bench.data import DATASETS, load_card

        for name in DATASETS.names():
            c = load_card(name)
            res = "native size" if c.eval_resolution is None else "{}x{}".format(*c.eval_resolution)
            splits = ", ".join(f"{k} {v:,}" for k, v in c.splits.items())
            print(f"{c.id:<22} eval {c.eval_split} at {res}  classes: generator {c.num_classes}, "
                  f"segmenter {c.segmenter_num_classes}  splits: {splits}")
        return 0
    if args.data_command == "verify":
        from bench.data.verify import report_json, verify

        rep = verify(args.dataset, args.root, args.split, resolution=args.resolution, quick=args.quick)
        print(report_json(rep) if args.json else "\n".join(rep.lines()))
        return 0 if rep.ok else 1
    if args.data_command == "show":
        from bench.data.show import show

        opts = {"seed": args.seed} if args.seed is not None else {}
        path = show(args.dataset, args.root, args.split, n=args.num, out=args.out, resolution=args.resolution,
                    start=args.start, **opts)
        print(f"wrote {path}")
        return 0
    raise AssertionError(args.data_command)
