"""The records bench writes, every key documented here once: the result record of `bench run` (one JSON file per
run under ``leaderboard/results/<dataset>/``) and the evaluation record of `bench eval` (also a run folder's
``evaluation.json``). These TypedDicts are also what validation reads (``bench.schema`` walks them): a record is
checked before it is written and when it is read, and an error is one line naming the file and the field.

No ``from __future__ import annotations`` here: the annotations are evaluated where they are written, so
``__required_keys__`` is right for anyone who reads it (bench.schema reads NotRequired itself).
"""

import os
import subprocess
from pathlib import Path
from typing import Annotated, Any, NotRequired, TypedDict

from bench.errors import BenchError
from bench.schema import Hex, check, extensible, fields, problem

# Two schema ids, no `kind` field: the id already says which record a file is and which version (readers dispatch
# on it), the committed result/1 records carry no kind, and a second field could only disagree with the first.
SCHEMA = "cgan-bench/result/2"  # 2: dataset.task (the task kind of the dataset card); 1: read as task "semantic"
EVAL_SCHEMA = "cgan-bench/eval-record/1"  # its keys have not changed since 1 (now checked on write and on read)
RESULT_SCHEMAS = ("cgan-bench/result/1", SCHEMA)  # what this version reads
EVAL_SCHEMAS = (EVAL_SCHEMA,)

Sha256 = Annotated[str, Hex(64)]
Fingerprint = Annotated[str, Hex(12)]  # bench.protocol.Protocol.fingerprint


class Evaluation(TypedDict):
    """What the metric engine measured: one type in both records; `bench run` copies these keys from its evaluation."""

    metrics: dict[str, float]  # fid, kid, kid_std, kid_subset_size, is, is_std, psnr, ssim, lpips, msssim_diversity,
    #   lpips_diversity, miou, pixel_acc, the class track's fid_intra, kid_intra, class_acc, cas, cas_std, msssim_class,
    #   msssim_class_real, msssim_class_less_diverse, plug-ins' names: a JSON number (NaN when undefined for these inputs, e.g.
    #   mIoU with no labelled pixel); null is not a value: a metric that cannot be computed is in `unavailable`
    unavailable: dict[str, str]  # metric -> why it could not be computed
    details: dict[str, Any]  # per_class_iou (null for a class absent from the labels), segmenter_protocol,
    #   fid_intra_per_class, kid_intra_per_class, class_acc_per_class, cas_per_seed, msssim_class_per_class ({class: {fake, real}}), ...
    protocol: dict[str, Any]  # bench.protocol.Protocol fields (those of the protocol version the record was made under)
    fingerprint: Fingerprint  # rows are ranked only against rows with the same fingerprint
    weights: dict[str, dict[str, str]]  # feature extractor / segmenter / LPIPS: file, sha256, source
    versions: dict[str, str]  # python and package versions
    metric_protocols: NotRequired[dict[str, dict[str, Any]]]  # plug-in metric -> its version and protocol fields
    world_size: NotRequired[int]  # processes that shared the work under torchrun (absent: one)


class FolderInput(TypedDict):
    dir: str
    n: int  # image files
    content_sha256: Sha256  # bench.images.content_hash: (relative path, file sha256) of every file
    size: list[int]  # [W, H] of the first image


class FakeInput(FolderInput):
    conditions: int  # label maps the samples belong to (fake/<key>/<i>.png: several samples of one)


class LabelsInput(TypedDict):
    dir: str


class EvalInputs(TypedDict):
    real: FolderInput
    fake: FakeInput
    labels: LabelsInput | None  # None without --labels
    distinct_sizes: NotRequired[int]  # --mixed-sizes: how many image sizes the fake folder holds


class EvalRecord(Evaluation):
    schema: str  # EVAL_SCHEMA
    inputs: EvalInputs
    real_feature_cache: str  # off, hit, miss, "miss (damaged cache file replaced)", "... (not written)"
    device: str
    batch_size: int
    timings: dict[str, float]  # seconds: setup_s, fake_pass_s, real_pass_s, compute_s, total_s


@extensible  # the adapter's provenance() may add its own keys (reference models: method, config_values, training)
class MethodInfo(TypedDict):
    name: str  # registry name, entry point or package.module:Class as given to --method
    adapter: str  # the Generator subclass, module:qualname
    config: str | None  # config name (e.g. "mini", "paper"); None for methods without configs
    checkpoint: str | None  # path of the weights used (None for weight-free methods)
    checkpoint_sha256: Sha256 | None
    trained: bool  # True when this run trained the weights (bench run --train)
    native_resolution: NotRequired[list[int] | None]  # [H, W] a release was trained at; absent in older result/1
    uses_instances: NotRequired[bool]  # the method reads instance maps; absent in older result/1 records
    note: NotRequired[str]  # what a reader of its leaderboard row must know (the adapter's `leaderboard_note`)


class DatasetRecord(TypedDict):
    card: str  # card id@version
    card_sha256: Sha256  # sha256 of the card file
    manifest_sha256: Sha256  # sha256 of the frozen split manifest
    split: str
    task: str  # the card's task kind ("semantic": label map -> photo); result/1 records are read as "semantic"
    task_params: dict[str, Any]  # the card's task_params with defaults (e.g. scale 4); {} for semantic and result/1
    n: int  # conditions (label maps) evaluated
    resolution: list[int] | str  # [H, W], or "native": each image at its own size (super-resolution test sets)
    image_resize: str  # filter used to bring photos to the eval resolution
    partial: NotRequired[bool]  # not the whole split (--limit / --partial); absent in older result/1 records
    layout: NotRequired[str]  # the card's file layout read; absent in older result/1 records
    has_instances: NotRequired[bool]  # instance maps were present; absent in older result/1 records
    # unpaired folder sets: the partner split whose images are the real side ({"split", "manifest_sha256", "n"})
    real_split: NotRequired[dict[str, Any]]


class Seeds(TypedDict):
    run: int  # --seed
    samples_per_label: int  # --samples-per-label


class WorstSamples(TypedDict):
    image: str  # PNG next to the record: one row per condition, condition | its worst sample | real
    metric: str  # the per-sample column ranked (lpips, else psnr, ssim or iou)
    higher_is_better: bool
    conditions: list[str]  # the rows' conditions, worst first


class ProtocolMigration(TypedDict):
    from_fingerprint: Fingerprint  # the fingerprint the run was measured under
    from_version: str  # its protocol version
    why: str  # why the values carry over unchanged


class ResultRecord(Evaluation):
    schema: str  # SCHEMA (or a RESULT_SCHEMAS id a record was read from)
    run_id: Annotated[str, Hex(16)]  # sha256-derived id of what defines the run (method, weights, data, seed)
    method: MethodInfo
    dataset: DatasetRecord
    seeds: Seeds
    git_commit: str | None  # commit of the benchmark code (with "-dirty" when the tree had changes)
    device: str
    timings: dict[str, float]  # seconds: train_s, generate_s, evaluate_s, total_s
    n_real: int
    n_fake: int
    grid: str  # PNG grid (label | samples | real), relative to the record
    per_sample: NotRequired[str]  # parquet next to the record: file, condition, sample, psnr/ssim/lpips/iou per image
    worst: NotRequired[WorstSamples]  # the samples that score worst on one per-sample metric
    protocol_migrated: NotRequired[ProtocolMigration]  # a committed record carried over to a newer protocol


def make_run_record(evaluation: Evaluation, **run: Any) -> ResultRecord:
    """The result record of `bench run`: the evaluation's keys (as the Evaluation type lists them) and the run's
    own (``run``: every ResultRecord key outside Evaluation except schema and grid); checked before it is written."""
    record: dict[str, Any] = {"schema": SCHEMA, **{k: evaluation[k] for k in fields(Evaluation) if k in evaluation},
                              **run, "grid": ""}
    check(record, ResultRecord, "bench run's result record (not written)")
    record["grid"] = Path(record_name(record)).with_suffix(".png").name
    return record  # type: ignore[return-value]


def read_result(path: Path, obj: Any) -> ResultRecord:
    """A record read from ``path``, checked, and upgraded in memory to the current keys (result/1: task semantic)."""
    schema = obj.get("schema") if isinstance(obj, dict) else None
    if schema not in RESULT_SCHEMAS:
        missing = sorted(k for k, (_, required) in fields(ResultRecord).items()
                         if required and (not isinstance(obj, dict) or k not in obj))
        if "schema" in missing and len(missing) > 1:  # no id and not the shape of a record: not a record at all
            raise BenchError(f"{path}: not a result record (missing {', '.join(missing)}); "
                             "results/<dataset>/ holds only `bench run` records")
        raise BenchError(f"{path}: result schema {schema!r} is not one this version of cgan-bench reads (it reads "
                         f"{', '.join(RESULT_SCHEMAS)}); a newer cgan-bench wrote it, or it is not a `bench run` record")
    if schema == "cgan-bench/result/1" and isinstance(obj.get("dataset"), dict):
        # every result/1 run was label map -> photo
        obj = {**obj, "dataset": {**obj["dataset"], "task": "semantic", "task_params": {}}}
    check(obj, ResultRecord, str(path), "a record `bench run` did not write, or one edited by hand")
    return obj


def eval_record_problem(obj: Any) -> str | None:
    """What is wrong with an evaluation record read back (a run folder's evaluation.json), or None."""
    schema = obj.get("schema") if isinstance(obj, dict) else None
    if schema not in EVAL_SCHEMAS:
        return f"evaluation schema {schema!r} is not one this version of cgan-bench reads ({', '.join(EVAL_SCHEMAS)})"
    return problem(obj, EvalRecord)


def write_eval_record(path: str | os.PathLike[str], record: EvalRecord) -> None:
    """Check, then write atomically (sorted keys, NaN as NaN: the layout of every record)."""
    from bench.fileio import atomic_write_bytes, json_bytes

    check(record, EvalRecord, f"evaluation record for {path} (not written)")
    atomic_write_bytes(Path(path), json_bytes(record))


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
