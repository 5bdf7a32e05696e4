"""Same weights, same outputs: our CycleGAN networks against the authors' classes, run outside the test suite.

    python benchmarks/oracle_cyclegan.py --networks-py FILE [--write-fixtures DIR]
    python benchmarks/oracle_cyclegan.py --git DIR [--commit C] [--write-fixtures DIR]

The official module is junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py``: the file as the repository tool
prints it (``--networks-py``; the repository is too large to fetch, 3 GB) or as ``git show`` prints it from a clone
(``--git``). It is copied into a temporary folder and imported from there (it imports only torch; nothing of theirs
is copied into the project). Each official network gets random weights (every float tensor redrawn), its state dict
goes through our loader (``cyclegan.official_to_ours`` + ``bench.checkpoints.normalize_release`` + strict load, as
``official_keys.to_ours`` does) and both run on the same random input:

  G released   ResnetGenerator(3, 3, 64, InstanceNorm2d(affine=False, track_running_stats=False), no dropout,
               n_blocks=9): the network of the released ``{name}.pth`` files (``test.py --model test --no_dropout``;
               the norm as today's ``get_norm_layer('instance')``), vs our ``paper`` G_A, eval mode
  G stored     the same from the stored file's own ``define_G(3, 3, 64, 'resnet_9blocks', 'instance', False)``, whose
               ``get_norm_layer`` still tracks InstanceNorm running statistics (PyTorch 0.4-era files hold them):
               our loader drops them; compared in train mode (per-instance statistics in both)
  G 6 blocks   ResnetGenerator(..., n_blocks=6) (resnet_6blocks) vs our ``paper-128`` G_A
  D            NLayerDiscriminator(3, 64, 3, InstanceNorm2d) (netD basic, the 70x70 PatchGAN) vs our D_A

It prints the maximum absolute output difference (float32, CPU, one thread) and, with ``--write-fixtures``, writes
``horse2zebra_G.json`` (every state-dict key and shape of the released-layout generator, with the source file's
repository, commit and sha256) for ``tests/test_reference_cyclegan.py``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = "junyanz/pytorch-CycleGAN-and-pix2pix"
PATH = "models/networks.py"
STORED_COMMIT = "78913853ab4a4f5eba717af8433809300c99f0bb"  # the version the repository tool stores for that path


def official_module(text: str):
    tmp = Path(tempfile.mkdtemp(prefix="oracle-cyclegan-"))
    f = tmp / "networks.py"
    f.write_text(text)
    spec = importlib.util.spec_from_file_location("official_cyclegan_networks", f)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, tmp


def randomize(net, seed: int = 1234) -> None:
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, p in net.state_dict().items():
            if not p.is_floating_point():
                continue
            if k.endswith("running_var"):
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)


def ours(config: str):
    from bench.adapter import DatasetInfo
    from reference_models.cyclegan import CycleGAN

    return CycleGAN(DatasetInfo("oracle", 0, (256, 256), task="unpaired"), config=config)


def load_into(module, official_state, label: str) -> None:
    from bench.checkpoints import normalize_release
    from reference_models.common import strict_load
    from reference_models.cyclegan import official_to_ours

    strict_load(module, normalize_release(module, official_to_ours(official_state)), label)


def compare(official, module, label: str, train_mode: bool = False) -> float:
    import torch

    randomize(official)
    load_into(module, official.state_dict(), label)
    official.train(train_mode)
    module.train(train_mode)
    x = torch.rand((2, 3, 64, 80), generator=torch.Generator().manual_seed(7)) * 2 - 1
    with torch.no_grad():
        a, b = official(x), module(x)
    b = b[0][-1] if isinstance(b, list) else b  # our PatchDiscriminator returns [[prediction]]
    diff = float((a - b).abs().max())
    print(f"{label}: output {list(a.shape)}, max |ours - official| = {diff:.3g} (outputs span "
          f"{float(a.min()):.3g}..{float(a.max()):.3g})")
    return diff


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--networks-py", help=f"the official {PATH} (as the repository tool prints it)")
    src.add_argument("--git", help=f"bare git dir of {REPO}")
    ap.add_argument("--commit", default=None, help=f"commit of the file (default: {STORED_COMMIT[:12]} for "
                    "--networks-py, HEAD for --git)")
    ap.add_argument("--write-fixtures", default=None, help="folder for horse2zebra_G.json")
    args = ap.parse_args(argv)

    import torch
    import torch.nn as nn

    torch.set_num_threads(1)
    if args.git:
        commit = subprocess.run(["git", f"--git-dir={args.git}", "rev-parse", args.commit or "HEAD"], check=True,
                                capture_output=True, text=True).stdout.strip()
        text = subprocess.run(["git", f"--git-dir={args.git}", "show", f"{commit}:{PATH}"], check=True,
                              capture_output=True, text=True).stdout
    else:
        commit = args.commit or STORED_COMMIT
        text = Path(args.networks_py).read_text()
    digest = hashlib.sha256(text.encode()).hexdigest()
    off, tmp = official_module(text)
    print(f"official code: {REPO} {PATH} at {commit[:12]} (sha256 {digest[:16]}..., imported from {tmp})")

    norm = functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    torch.manual_seed(0)
    released = off.ResnetGenerator(3, 3, 64, norm_layer=norm, use_dropout=False, n_blocks=9)
    if args.write_fixtures:
        out = Path(args.write_fixtures) / "horse2zebra_G.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        source = (f"{REPO} {PATH} (commit {commit}, sha256 {digest}): ResnetGenerator(input_nc=3, output_nc=3, "
                  "ngf=64, norm_layer=functools.partial(InstanceNorm2d, affine=False, track_running_stats=False), "
                  "use_dropout=False, n_blocks=9, padding_type='reflect'), the network test.py builds for the "
                  "released CycleGAN generators ({name}.pth, e.g. horse2zebra, saved as latest_net_G.pth; "
                  "--model test --no_dropout, netG resnet_9blocks, norm instance); listed by "
                  "benchmarks/oracle_cyclegan.py")
        fx = {"source": source, "class": "ResnetGenerator",
              "options": {"input_nc": 3, "output_nc": 3, "ngf": 64, "norm": "instance (affine False, no running "
                          "statistics)", "use_dropout": False, "n_blocks": 9, "padding_type": "reflect"},
              "keys": {k: list(v.shape) for k, v in released.state_dict().items()}}
        rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in fx["keys"].items())
        out.write_text(f'{{\n"source": {json.dumps(fx["source"])},\n"class": {json.dumps(fx["class"])},\n'
                       f'"options": {json.dumps(fx["options"])},\n"keys": {{\n{rows}\n}}\n}}\n')
        print(f"wrote {out} ({len(fx['keys'])} keys)")

    worst = 0.0
    worst = max(worst, compare(released, ours("paper").model.G_A, "G released (resnet_9blocks)"))
    stored = off.define_G(3, 3, 64, "resnet_9blocks", "instance", False)
    n_stats = sum(k.endswith(("running_mean", "running_var", "num_batches_tracked")) for k in stored.state_dict())
    print(f"G stored define_G: {len(stored.state_dict())} keys, {n_stats} of them InstanceNorm statistics")
    worst = max(worst, compare(stored, ours("paper").model.G_A, "G stored (running statistics dropped)",
                               train_mode=True))
    six = off.ResnetGenerator(3, 3, 64, norm_layer=norm, use_dropout=False, n_blocks=6)
    worst = max(worst, compare(six, ours("paper-128").model.G_A, "G resnet_6blocks vs paper-128"))
    d = off.NLayerDiscriminator(3, 64, n_layers=3, norm_layer=norm, use_sigmoid=False)
    worst = max(worst, compare(d, ours("paper").model.D_A, "D basic (70x70 PatchGAN)"))
    print(f"largest difference: {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
