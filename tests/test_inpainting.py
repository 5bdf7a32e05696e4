"""The inpainting track: masks as protocol (the committed box protocol unchanged, every kind bit-exact across
processes and batch compositions, hole ratios inside their band for every sample of a split), the pixel-error
metrics over the image and in the hole against numpy / scikit-image, and the mean-fill / blur-fill baselines
(blur-fill against scipy's Gaussian filter), through the task and end to end."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bench import masks
from bench.adapter import DatasetInfo, get_method
from bench.conformance import run_checks
from bench.errors import BenchError
from bench.protocol import Protocol
from bench.tasks import get_task
from conftest import smooth_images, write_folder

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "inpainting-masks" / "masks.json").read_text())
# the keys of a real split: synthetic-streets-inpainting's val (its card derives synthetic-streets' manifests)
VAL_KEYS = [f["key"] for f in json.loads((ROOT / "datasets" / "synthetic-streets" / "val-64x64.manifest.json")
                                         .read_text())["files"]]
KINDS = {
    "box": {"mask": "box", "hole": 0.5, "seed": 0},
    "center": {"mask": "center", "hole": 0.5},
    "rect": {"mask": "rect", "band": [0.2, 0.3], "seed": 4},
    "free-form": {"mask": "free-form", "band": [0.3, 0.4], "seed": 4},
}


def digest(mask: np.ndarray) -> str:
    """As tests/fixtures/inpainting-masks/make_masks.py."""
    return hashlib.sha256(np.packbits(np.ascontiguousarray(mask, dtype=bool)).tobytes()
                          + f"{mask.shape}".encode()).hexdigest()


def resolved(params: dict, size=(64, 64)) -> dict:
    return get_task("inpainting").resolve_params(params, "test", size)


# --- masks ------------------------------------------------------------------------------------------------------

def test_box_masks_are_the_committed_protocol():
    """Rectangles placed by the box code as first committed (fixture PROVENANCE.md): the same for 104 keys x 4 cases."""
    assert len(VAL_KEYS) == 100 and set(VAL_KEYS) <= set(FIXTURE["box"][0]["rects"])
    for case in FIXTURE["box"]:
        params = {"mask": "box", "hole": case["hole"], "seed": case["seed"]}
        size = tuple(case["size"])
        for key, (top, left, h, w) in case["rects"].items():
            want = np.zeros(size, dtype=bool)
            want[top : top + h, left : left + w] = True
            assert np.array_equal(masks.mask_for(params, key, size), want), (case["size"], key)


def test_the_other_kinds_match_their_pins():
    for pin in FIXTURE["pins"]:
        for key, sha in pin["sha256"].items():
            assert digest(masks.mask_for(pin["params"], key, tuple(pin["size"]))) == sha, (pin["params"], key)


def test_masks_are_bit_exact_in_a_fresh_process():
    """Another interpreter (another hash seed, nothing cached) makes the same bits."""
    cases = [(p, k, (72, 96)) for p in KINDS.values() for k in VAL_KEYS[:5]]
    here = [digest(masks.mask_for(p, k, s)) for p, k, s in cases]
    code = ("import hashlib, json, sys, numpy as np\nfrom bench.masks import mask_for\n"
            "out = []\nfor p, k, s in json.loads(sys.argv[1]):\n"
            "    m = mask_for(p, k, tuple(s))\n"
            "    out.append(hashlib.sha256(np.packbits(m).tobytes() + f'{m.shape}'.encode()).hexdigest())\n"
            "print(json.dumps(out))")
    res = subprocess.run([sys.executable, "-c", code, json.dumps(cases)], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"}, cwd=ROOT)
    assert json.loads(res.stdout) == here


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_samples_mask_does_not_depend_on_its_batch(kind):
    task = get_task("inpainting")
    params = resolved(KINDS[kind])
    keys = VAL_KEYS[10:17]
    image = torch.randint(0, 256, (7, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    whole = task.make_batch({"image": image, "path": keys}, params, keys)["mask"]
    assert whole.shape == (7, 1, 64, 64) and whole.dtype == torch.bool
    for i, k in enumerate(keys):  # alone, and in a batch of 7 in reverse order
        assert torch.equal(task.make_batch({"image": image[i : i + 1], "path": [k]}, params, [k])["mask"][0], whole[i])
    rev = task.make_batch({"image": image.flip(0), "path": keys[::-1]}, params, keys[::-1])["mask"]
    assert torch.equal(rev.flip(0), whole)
    if kind != "center":
        assert len({m.numpy().tobytes() for m in whole}) == 7  # the keys' holes differ
    # the masked pixels are zero, the others the image's
    batch = task.make_batch({"image": image, "path": keys}, params, keys)
    assert bool((batch["masked_image"].masked_select(whole) == 0).all())
    assert torch.equal(batch["masked_image"].masked_select(~whole), image.masked_select(~whole))


@pytest.mark.parametrize("kind", ["rect", "free-form"])
@pytest.mark.parametrize("band", [[0.1, 0.2], [0.2, 0.3], [0.3, 0.4], [0.4, 0.5], [0.5, 0.6]])
def test_the_hole_ratio_lies_in_the_band_for_every_sample_of_a_split(kind, band):
    params = resolved({"mask": kind, "band": band, "seed": 0})
    all_masks = masks.masks_for(params, VAL_KEYS, (64, 64))
    ratios = all_masks.reshape(len(VAL_KEYS), -1).sum(1) / (64 * 64)
    assert ((ratios >= band[0]) & (ratios <= band[1])).all(), (ratios.min(), ratios.max())
    assert ratios.max() - ratios.min() > (band[1] - band[0]) / 2  # spread over the band, not piled at its bottom
    assert len({m.tobytes() for m in all_masks}) == len(VAL_KEYS)  # every key its own hole
    other_seed = masks.masks_for({**params, "seed": 1}, VAL_KEYS[:10], (64, 64))
    assert not any(np.array_equal(a, b) for a, b in zip(all_masks[:10], other_seed))


def test_the_center_mask_is_the_context_encoder_region():
    # train.lua: real_ctx[{{},{},{1 + fineSize/4, fineSize/2 + fineSize/4}, ...}] (1-based, inclusive), fineSize 128
    fine = 128
    first, last = 1 + fine // 4 - 1, fine // 2 + fine // 4 - 1  # 0-based
    want = np.zeros((fine, fine), dtype=bool)
    want[first : last + 1, first : last + 1] = True
    m = masks.mask_for(resolved({"mask": "center", "hole": 0.5}, (128, 128)), "any", (128, 128))
    assert np.array_equal(m, want) and m.sum() == 64 * 64
    assert np.array_equal(m, masks.mask_for({"mask": "center", "hole": 0.5}, "another key", (128, 128)))


def _capsule_reference(h, w, p, q, r):
    """Per pixel, the Euclidean distance of its centre (x, y) to the segment p-q, written out."""
    out = np.zeros((h, w), dtype=bool)
    (x0, y0), (x1, y1) = p, q
    for y in range(h):
        for x in range(w):
            dx, dy = x1 - x0, y1 - y0
            if dx == 0 and dy == 0:
                d = math.hypot(x - x0, y - y0)
            else:
                t = max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)))
                d = math.hypot(x0 + t * dx - x, y0 + t * dy - y)
            out[y, x] = d <= r + 1e-9  # hypot vs the squared comparison: a tie within 1e-9 counts as inside
    return out


@pytest.mark.parametrize("p, q, r", [((5, 7), (30, 20), 3.0), ((0, 0), (31, 31), 1.5), ((10, 10), (10, 10), 4.0),
                                     ((31, 2), (20, 31), 6.5), ((-3, 15), (40, 15), 2.0), ((16, 0), (16, 31), 0.5)])
def test_strokes_are_rasterised_as_capsules(p, q, r):
    got = np.zeros((32, 32), dtype=bool)
    masks._capsule(got, p, q, r)
    assert np.array_equal(got, _capsule_reference(32, 32, p, q, r))


def test_task_params_are_resolved_per_mask_kind_and_the_box_protocol_is_unchanged():
    task = get_task("inpainting")
    box = resolved(None)
    assert box == {"mask": "box", "hole": 0.5, "seed": 0}
    # the committed synthetic-streets-inpainting records: the same task part of the protocol
    committed = ROOT / "leaderboard" / "results" / "synthetic-streets-inpainting"
    rec = json.loads(next(committed.glob("*.json")).read_text())
    assert [list(x) for x in Protocol.freeze(task.protocol(box))] == rec["protocol"]["task"]
    assert rec["dataset"]["task_params"] == box
    assert resolved({"mask": "center"}) == {"mask": "center", "hole": 0.5}
    assert resolved({"mask": "free-form", "band": [0.1, 0.25]}) == {"mask": "free-form", "band": [0.1, 0.25], "seed": 0}


@pytest.mark.parametrize("params, needle", [
    ({"mask": "box", "band": [0.1, 0.2]}, "band does not apply to mask 'box' (it takes hole, seed)"),
    ({"mask": "center", "seed": 3}, "seed does not apply to mask 'center' (it takes hole)"),
    ({"mask": "rect", "hole": 0.3}, "hole does not apply to mask 'rect' (it takes band, seed)"),
    ({"mask": "stroke"}, "mask 'stroke' is not one of box, center, rect, free-form"),
    ({"mask": "rect", "band": [0.2, 0.1]}, "band [0.2, 0.1] must satisfy 0 < low < high <= 0.9"),
    ({"mask": "rect", "band": [0.5, 0.95]}, "must satisfy 0 < low < high <= 0.9"),
    ({"mask": "free-form", "band": [0.3, 0.32]}, "band [0.3, 0.32] is narrower than 0.05"),
    ({"mask": "free-form", "band": [0.3]}, "band [0.3] must be two numbers"),
    ({"mask": "free-form", "band": "0.1-0.2"}, "task_params.band must be a list"),
    ({"mask": "center", "hole": 1.0}, "hole 1.0 must lie strictly between 0 and 1"),
])
def test_bad_mask_params_are_one_line_naming_the_card(params, needle):
    with pytest.raises(BenchError) as exc:
        get_task("inpainting").resolve_params(params, "datasets/x/card.json", (64, 64))
    msg = str(exc.value)
    assert msg.startswith("datasets/x/card.json: task_params") and needle in msg and "\n" not in msg, msg


def test_params_from_protocol_reads_back_the_mask_protocol():
    for params in KINDS.values():
        fields = {"task": Protocol.freeze(get_task("inpainting").protocol(params))}
        assert masks.params_from_protocol(fields) == params
    sr = {"task": Protocol.freeze({"name": "super-resolution", "scale": 4})}
    assert masks.params_from_protocol(sr) is None and masks.params_from_protocol({}) is None


# --- metrics ----------------------------------------------------------------------------------------------------

MASKED = KINDS["free-form"]


@pytest.fixture(scope="module")
def inpainted(tmp_path_factory):
    """real/ and fake/ folders: the fakes are the reals with noise everywhere and a flat grey in the hole (so the
    whole-image and in-hole errors differ), one condition per key; the holes of MASKED."""
    root = tmp_path_factory.mktemp("inpainted")
    reals = smooth_images(9, size=64, seed=3)
    keys = VAL_KEYS[:9]
    rng = np.random.default_rng(0)
    fakes = []
    for k, r in zip(keys, reals):
        noisy = np.clip(r.astype(np.int64) + rng.integers(-6, 7, r.shape), 0, 255).astype(np.uint8)
        noisy[masks.mask_for(MASKED, k, (64, 64))] = 128
        fakes.append(noisy)
    names = [f"{k}.png" for k in keys]
    return write_folder(root / "real", reals, names), write_folder(root / "fake", fakes, names), keys


def reference_errors(real_dir: Path, fake_dir: Path, keys: list[str]) -> dict[str, list[float]]:
    """numpy / scikit-image on the files, the holes from the task's batch (what a method is given)."""
    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio

    task = get_task("inpainting")
    out: dict[str, list[float]] = {m: [] for m in ("l1", "l2", "hole_psnr", "hole_l1", "hole_l2")}
    for k in keys:
        r = np.asarray(Image.open(real_dir / f"{k}.png").convert("RGB"))
        f = np.asarray(Image.open(fake_dir / f"{k}.png").convert("RGB"))
        image = torch.from_numpy(r.copy()).permute(2, 0, 1)[None]
        hole = task.make_batch({"image": image, "path": [k]}, MASKED, [k])["mask"][0, 0].numpy()
        d = f.astype(np.float64) / 255 - r.astype(np.float64) / 255
        out["l1"].append(np.abs(d).mean())
        out["l2"].append((d ** 2).mean())
        out["hole_l1"].append(np.abs(d[hole]).mean())
        out["hole_l2"].append((d[hole] ** 2).mean())
        out["hole_psnr"].append(peak_signal_noise_ratio(r[hole], f[hole], data_range=255))
    return out


def evaluate(real, fake, *, with_protocol=True, batch_size=8, **kw):
    from bench.evaluate import EvalOptions, evaluate_folders

    fields = {"task": Protocol.freeze({"name": "inpainting", **MASKED})} if with_protocol else {}
    return evaluate_folders(real, fake, opts=EvalOptions(batch_size=batch_size, protocol_fields=fields, **kw))


def test_pixel_errors_match_numpy_over_the_image_and_in_the_hole(inpainted, tmp_path):
    real, fake, keys = inpainted
    names = ("l1", "l2", "hole_psnr", "hole_l1", "hole_l2")
    rec = evaluate(real, fake, metrics=names, per_sample_path=tmp_path / "per-sample.parquet")
    ref = reference_errors(real, fake, keys)
    for m in names:
        # hole_psnr: piq's eps 1e-8 on the MSE (< 1e-6 relative here); the rest: the same float64 sums
        assert rec["metrics"][m] == pytest.approx(np.mean(ref[m]), rel=1e-6 if m == "hole_psnr" else 1e-12), m
    assert rec["metrics"]["hole_l1"] > 2 * rec["metrics"]["l1"]  # the hole is where the errors are
    import polars as pl

    table = pl.read_parquet(tmp_path / "per-sample.parquet").sort("file")
    for m in names:
        assert table[m].to_list() == pytest.approx(ref[m], rel=1e-6 if m == "hole_psnr" else 1e-12), m
    # batches of 1: each image's values bit for bit the same, their means to float summation order
    one = evaluate(real, fake, metrics=names, batch_size=1, per_sample_path=tmp_path / "one.parquet")
    assert pl.read_parquet(tmp_path / "one.parquet").sort("file").select(names).equals(table.select(names))
    assert one["metrics"] == pytest.approx(rec["metrics"], rel=1e-12)
    versions = dict(map(tuple, rec["protocol"]["metric_versions"]))
    assert {"hole_psnr", "hole_l1", "hole_l2", "l1", "l2"} <= set(versions)


def test_in_hole_metrics_need_the_mask_protocol_and_stay_out_of_other_fingerprints(inpainted):
    real, fake, _ = inpainted
    rec = evaluate(real, fake, with_protocol=False, candidates=("psnr", "l1", "hole_psnr", "hole_l1", "hole_l2"))
    assert set(rec["metrics"]) == {"psnr", "l1"}
    assert "inpainting task's mask protocol" in rec["unavailable"]["hole_psnr"]
    assert not {"hole_psnr", "hole_l1", "hole_l2"} & {m for m, _ in rec["protocol"]["metric_versions"]}
    with pytest.raises(BenchError, match="metric 'hole_l2' cannot be computed: needs the hole of each sample"):
        evaluate(real, fake, with_protocol=False, metrics=("hole_l2",))


# --- baselines --------------------------------------------------------------------------------------------------

def info_for(params: dict, size=(64, 64)) -> DatasetInfo:
    return DatasetInfo(name="t", num_classes=1, resolution=size, task="inpainting",
                       task_params=tuple(sorted(resolved(params, size).items())))


def task_batch(params: dict, n=4, size=(64, 64), seed=0):
    images = torch.from_numpy(np.stack(smooth_images(n, size=size[0], seed=seed))).permute(0, 3, 1, 2).contiguous()
    keys = VAL_KEYS[20 : 20 + n]
    batch = get_task("inpainting").adapter_batch({"image": images, "path": keys}, resolved(params, size), keys)
    return images, batch


@pytest.mark.parametrize("method", ["mean-fill", "blur-fill"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_baselines_conform_and_fill_only_the_hole(method, kind):
    images, batch = task_batch(KINDS[kind])
    gen = get_method(method)(info_for(KINDS[kind]))
    checks = run_checks(gen, batch, [1, 2, 3, 4])
    assert all(c.ok for c in checks), [(c.name, c.message) for c in checks]
    out = gen.generate(batch, seeds=[0] * 4)
    known = ~batch["mask"].expand_as(images)
    assert torch.equal(out[known], images[known])


def test_blur_fill_is_the_gaussian_normalised_convolution_of_the_known_pixels():
    """scipy's gaussian_filter (zero outside the image, kernel wide enough to reach across the image) of image x
    known and of known, divided, rounded: the same pixels (a rounding tie at .5 may go either way)."""
    from scipy.ndimage import gaussian_filter

    images, batch = task_batch(KINDS["free-form"], n=3)
    out = get_method("blur-fill")(info_for(KINDS["free-form"])).generate(batch, seeds=[0, 0, 0]).numpy()
    sigma = 64 / 8
    for i in range(3):
        hole = batch["mask"][i, 0].numpy()
        known = (~hole).astype(np.float64)
        den = gaussian_filter(known, sigma, mode="constant", cval=0.0, truncate=64 / sigma)
        for c in range(3):
            x = batch["masked_image"][i, c].numpy().astype(np.float64) * known
            num = gaussian_filter(x, sigma, mode="constant", cval=0.0, truncate=64 / sigma)
            want = np.clip(np.round(num / den), 0, 255)[hole]
            got = out[i, c][hole].astype(np.float64)
            assert np.abs(got - want).max() <= 1 and (got == want).mean() > 0.999, (i, c)


def test_blur_fill_and_the_in_hole_metrics_run_end_to_end(tmp_path, capsys):
    from bench.cli import main

    names = "psnr,l1,l2,hole_psnr,hole_l1,hole_l2"
    assert main(["run", "--method", "blur-fill", "--dataset", "synthetic-streets-inpainting", "--limit", "6",
                 "--metrics", names, "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr().out
    assert "| PSNR ↑ | L1 % ↓ | L2 % ↓ | hole PSNR ↑ | hole L1 % ↓ | hole L2 % ↓ |" in printed
    rec = json.loads(next((tmp_path / "lb" / "results" / "synthetic-streets-inpainting").glob("*.json")).read_text())
    assert rec["dataset"]["task_params"] == {"mask": "box", "hole": 0.5, "seed": 0}
    # the record's numbers from the run's own files: its samples and the exported real images
    from bench.data import get_dataset
    from bench.runner import export_real

    real_dir, _, keys = export_real(get_dataset("synthetic-streets-inpainting", split="val"), 6, False)
    ref = {m: [] for m in ("l1", "l2", "hole_psnr", "hole_l1", "hole_l2")}
    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio

    for k in keys:
        r = np.asarray(Image.open(real_dir / f"{k}.png"))
        f = np.asarray(Image.open(tmp_path / "run" / "fake" / f"{k}.png"))
        hole = masks.box_mask(k, (64, 64), 0.5, 0)
        d = f.astype(np.float64) / 255 - r.astype(np.float64) / 255
        assert np.array_equal(f[~hole], r[~hole])  # the known pixels are the real ones
        ref["l1"].append(np.abs(d).mean())
        ref["l2"].append((d ** 2).mean())
        ref["hole_l1"].append(np.abs(d[hole]).mean())
        ref["hole_l2"].append((d[hole] ** 2).mean())
        ref["hole_psnr"].append(peak_signal_noise_ratio(r[hole], f[hole], data_range=255))
    for m, values in ref.items():  # piq's eps in hole_psnr, as above
        assert rec["metrics"][m] == pytest.approx(np.mean(values), rel=1e-6 if m == "hole_psnr" else 1e-12), m
