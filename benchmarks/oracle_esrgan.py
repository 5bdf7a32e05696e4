"""Same weights, same outputs: our ESRGAN generator against the authors' code, run outside the test suite.

    python benchmarks/oracle_esrgan.py [--esrgan-git DIR] [--basicsr-git DIR] [--write-fixtures DIR]

The official modules are imported from a temporary folder holding the files as ``git show`` prints them from the
fetched repositories (nothing of theirs is copied into the project): xinntao/ESRGAN ``RRDBNet_arch.py`` (the class
behind ``RRDB_ESRGAN_x4.pth`` / ``RRDB_PSNR_x4.pth``) and XPixelGroup/BasicSR ``basicsr/archs/rrdbnet_arch.py`` with
its ``arch_util.py`` and ``utils/registry.py`` (BasicSR's package ``__init__`` files, which import its whole toolbox,
and its compiled deformable-conv ops are replaced by stubs: the RRDBNet does not use them). Each official network
gets random weights (every float tensor redrawn, so the 0.1-scaled init is no shortcut), its state dict goes through
our loader (``official_keys.to_ours`` + strict load), and both run on the same random input:

  xinntao RRDBNet(3, 3, 64, 23, gc=32)               vs ours, x4 (``paper`` config)
  BasicSR RRDBNet(3, 3, scale=4, 64, 23, 32)          vs ours, x4
  BasicSR RRDBNet(3, 3, scale=2, 64, 23, 32)          vs ours, x2 (pixel-unshuffled input)

It prints the maximum absolute output difference (float32, CPU, one thread) and, with ``--write-fixtures``, writes
the key/shape fixtures of ``tests/test_reference_sr_models.py`` (``esrgan_*.json``: every state-dict key and shape of
the official modules, with the source commit). SRResNet / SRGAN: the authors (Twitter) released neither code nor
weights, and BasicSR's ``MSRResNet`` is another network (no BatchNorm, 3x3 first/last convs, LeakyReLU 0.1, a
bilinear skip), so there is no official module to compare ours with.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ESRGAN_GIT = "/work/.mirror/xinntao+ESRGAN/repo"
BASICSR_GIT = "/work/.mirror/XPixelGroup+BasicSR/repo"

_STUBS = {
    "basicsr/__init__.py": "",
    "basicsr/archs/__init__.py": "",
    "basicsr/utils/__init__.py": "import logging\n\n\ndef get_root_logger(*args, **kwargs):\n"
                                 "    return logging.getLogger('basicsr')\n",
    "basicsr/ops/__init__.py": "",
    "basicsr/ops/dcn/__init__.py": ("import torch.nn as nn\n\n\nclass ModulatedDeformConvPack(nn.Module):\n"
                                    "    pass\n\n\ndef modulated_deform_conv(*args, **kwargs):\n"
                                    "    raise NotImplementedError\n"),
}


def git_show(git_dir: str, commit: str, path: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def git_commit(git_dir: str, commit: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", "rev-parse", commit], check=True, capture_output=True,
                          text=True).stdout.strip()


def official_modules(esrgan_git: str, basicsr_git: str, esrgan_commit: str = "HEAD",
                     basicsr_commit: str = "HEAD") -> tuple[type, type, Path]:
    """(xinntao's RRDBNet class, BasicSR's RRDBNet class, the temporary folder they were imported from)."""
    tmp = Path(tempfile.mkdtemp(prefix="oracle-esrgan-"))
    (tmp / "RRDBNet_arch.py").write_text(git_show(esrgan_git, esrgan_commit, "RRDBNet_arch.py"))
    for rel, text in _STUBS.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text)
    for rel in ("basicsr/archs/rrdbnet_arch.py", "basicsr/archs/arch_util.py", "basicsr/utils/registry.py"):
        (tmp / rel).write_text(git_show(basicsr_git, basicsr_commit, rel))
    sys.path.insert(0, str(tmp))
    xinntao = importlib.import_module("RRDBNet_arch").RRDBNet
    basicsr = importlib.import_module("basicsr.archs.rrdbnet_arch").RRDBNet
    return xinntao, basicsr, tmp


def randomize(net) -> None:
    import torch

    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for p in net.state_dict().values():
            if p.is_floating_point():
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)


def ours(scale: int):
    from bench.adapter import DatasetInfo
    from reference_models.esrgan import ESRGAN

    info = DatasetInfo("oracle", 1, (64 * scale, 64 * scale), task="super-resolution",
                       task_params=(("degradation", "pil-bicubic"), ("scale", scale)))
    return ESRGAN(info, config="paper")


def compare(official, scale: int, label: str) -> float:
    import torch

    from reference_models import official_keys
    from reference_models.common import strict_load

    randomize(official)
    official.eval()
    gen = ours(scale)
    G = gen.model.G
    strict_load(G, official_keys.to_ours("esrgan", official.state_dict(), G), label)
    G.eval()
    x = torch.rand((2, 3, 24, 20), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        a, b = official(x), G(x)
    diff = float((a - b).abs().max())
    print(f"{label}: output {list(a.shape)}, max |ours - official| = {diff:.3g} (outputs span "
          f"{float(a.min()):.3g}..{float(a.max()):.3g})")
    return diff


def fixture(net, source: str) -> dict:
    return {"source": source, "keys": {k: list(v.shape) for k, v in net.state_dict().items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--esrgan-git", default=ESRGAN_GIT, help="bare git dir of xinntao/ESRGAN (`fetch`)")
    ap.add_argument("--basicsr-git", default=BASICSR_GIT, help="bare git dir of XPixelGroup/BasicSR (`fetch`)")
    ap.add_argument("--esrgan-commit", default="HEAD")
    ap.add_argument("--basicsr-commit", default="HEAD")
    ap.add_argument("--write-fixtures", default=None, help="folder for the esrgan_*.json key/shape fixtures")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    xinntao_cls, basicsr_cls, tmp = official_modules(args.esrgan_git, args.basicsr_git, args.esrgan_commit,
                                                     args.basicsr_commit)
    ec = git_commit(args.esrgan_git, args.esrgan_commit)
    bc = git_commit(args.basicsr_git, args.basicsr_commit)
    print(f"official code: xinntao/ESRGAN {ec[:12]} RRDBNet_arch.py, XPixelGroup/BasicSR {bc[:12]} "
          f"basicsr/archs/rrdbnet_arch.py (imported from {tmp})")
    cases = {
        "esrgan_xinntao_x4": (xinntao_cls(3, 3, 64, 23, gc=32), 4,
                              f"xinntao/ESRGAN RRDBNet_arch.py (commit {ec[:12]}) RRDBNet(3, 3, 64, 23, gc=32), as "
                              "test.py builds it for RRDB_ESRGAN_x4.pth / RRDB_PSNR_x4.pth"),
        "esrgan_basicsr_x4": (basicsr_cls(3, 3, scale=4, num_feat=64, num_block=23, num_grow_ch=32), 4,
                              f"XPixelGroup/BasicSR basicsr/archs/rrdbnet_arch.py (commit {bc[:12]}) RRDBNet(3, 3, "
                              "scale=4, num_feat=64, num_block=23, num_grow_ch=32), as inference_esrgan.py builds it "
                              "for ESRGAN_SRx4_DF2KOST_official-ff704c30.pth ('params')"),
        "esrgan_basicsr_x2": (basicsr_cls(3, 3, scale=2, num_feat=64, num_block=23, num_grow_ch=32), 2,
                              f"XPixelGroup/BasicSR basicsr/archs/rrdbnet_arch.py (commit {bc[:12]}) RRDBNet(3, 3, "
                              "scale=2, num_feat=64, num_block=23, num_grow_ch=32): the x2 variant (pixel-unshuffled "
                              "input, conv_first 12 channels)"),
    }
    worst = 0.0
    for name, (net, scale, source) in cases.items():
        if args.write_fixtures:
            out = Path(args.write_fixtures) / f"{name}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            fx = fixture(net, source)
            rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in fx["keys"].items())
            out.write_text(f'{{\n"source": {json.dumps(fx["source"])},\n"keys": {{\n{rows}\n}}\n}}\n')
            print(f"wrote {out} ({len(net.state_dict())} keys)")
        worst = max(worst, compare(net, scale, name))
    print(f"largest difference: {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
