"""The result record: one JSON file per run under ``leaderboard/results/<dataset>/``, every key documented here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, TypedDict

SCHEMA = "cgan-bench/result/1"


class MethodInfo(TypedDict):
    name: str  # registry name, entry point or package.module:Class as given to --method
    adapter: str  # the Generator subclass, module:qualname
    config: str | None  # config name (e.g. "mini", "paper"); None for methods without configs
    checkpoint: str | None  # path of the weights used (None for weight-free methods)
    checkpoint_sha256: str | None
    trained: bool  # True when this run trained the weights (bench run --train)


class DatasetRecord(TypedDict):
    card: str  # card id@version
    card_sha256: str  # sha256 of the card file
    manifest_sha256: str  # sha256 of the frozen split manifest
    split: str
    n: int  # conditions (label maps) evaluated
    resolution: list[int]  # [H, W]
    image_resize: str  # filter used to bring photos to the eval resolution


class ResultRecord(TypedDict):
    schema: str  # SCHEMA
    run_id: str  # sha256-derived id of everything that defines the run (method, weights, data, protocol, seed)
    method: MethodInfo
    dataset: DatasetRecord
    protocol: dict[str, Any]  # bench.protocol.Protocol fields
    fingerprint: str  # Protocol.fingerprint: rows are ranked only against rows with the same fingerprint
    metrics: dict[str, float]  # fid, kid, kid_std, is, psnr, ssim, lpips, msssim_diversity, lpips_diversity, miou, pixel_acc
    unavailable: dict[str, str]  # metric -> why it could not be computed
    details: dict[str, Any]  # per_class_iou, ...
    seeds: dict[str, int]  # run seed and samples per label map
    weights: dict[str, dict[str, str]]  # feature extractor / segmenter / LPIPS: file, sha256, source
    versions: dict[str, str]  # python and package versions
    git_commit: str | None  # commit of the benchmark code (with "-dirty" when the tree had changes)
    device: str
    timings: dict[str, float]  # seconds: train, generate, evaluate, total
    n_real: int
    n_fake: int
    grid: str  # PNG grid (label | samples | real), relative to the record


def git_commit() -> str | None:
    """The commit of the checkout this package runs from, or None outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def results_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """``leaderboard/results`` of the checkout, or ``$BENCH_RESULTS_DIR``, or ``<root>/results``."""
    if root is not None:
        return Path(root) / "results"
    env = os.environ.get("BENCH_RESULTS_DIR")
    if env:
        return Path(env)
    return leaderboard_dir() / "results"


def leaderboard_dir() -> Path:
    env = os.environ.get("BENCH_LEADERBOARD_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "leaderboard"


def record_name(rec: dict[str, Any]) -> str:
    cfg = rec["method"].get("config") or "default"
    safe = rec["method"]["name"].replace(":", "_").replace("/", "_")
    return f"{safe}-{cfg}-seed{rec['seeds']['run']}-{rec['fingerprint']}-{rec['run_id'][:8]}.json"
