"""Same weights, same outputs: our DSGAN networks and regulariser against the authors' code, run outside the test suite.

    python benchmarks/oracle_dsgan.py --git DIR [--commit C] [--write-fixtures DIR]

``DIR`` is a bare git dir of maga33/DSGAN (e.g. the repository tool's ``fetch`` mirror). The official
``Image2ImageTranslation/code/exterior_models/bicycleGAN/networks.py`` (as ``git show`` prints it) is written into a
temporary folder beside a two-line stand-in for the ``miscc.config`` it imports (``cfg.CUDA = False``: their
``G_Unet_add_all.forward`` reads it) and imported from there; nothing of theirs is copied into the project.

  G   G_Unet_add_all(3, 3, nz=8, num_downs=8, ngf=64, InstanceNorm2d(affine=False), ReLU, use_dropout=True,
      upsample='basic'): the generator ``miscc/utils.py load_networks`` builds for facades (CLASS_NUM 3); random
      weights (every float tensor redrawn), its state dict loaded strictly into our ``paper-facades`` G; both in
      eval mode on the same input and z
  D   D_NLayersMulti(6, 64, 3, InstanceNorm2d(affine=False), num_D=2) vs our two-scale D, weights copied in order
      (their ListModule names differ; shapes must agree one for one), outputs of both scales compared
  L_z the release's ``errE_calculate`` arithmetic (FEAT_DIFF and NE_MARGIN off) written out from its source lines
      on the two outputs, vs ``reference_models.dsgan.diversity_ratio``

It prints the maximum absolute differences (float32, CPU, one thread) and, with ``--write-fixtures``, writes
``facades_G.json`` (every state-dict key and shape of that generator, with the source file's commit and sha256) for
``tests/test_reference_dsgan.py``.
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

from oracle_cyclegan import randomize  # every float tensor redrawn (this folder is on sys.path when run as a script)

REPO = "maga33/DSGAN"
PATH = "Image2ImageTranslation/code/exterior_models/bicycleGAN/networks.py"


def official_module(text: str):
    tmp = Path(tempfile.mkdtemp(prefix="oracle-dsgan-"))
    (tmp / "miscc").mkdir()
    (tmp / "miscc" / "__init__.py").write_text("")
    (tmp / "miscc" / "config.py").write_text("from types import SimpleNamespace\n"
                                               "cfg = SimpleNamespace(CUDA=False, SPEC_NORM=False)\n")
    (tmp / "networks.py").write_text(text)
    sys.path.insert(0, str(tmp))
    spec = importlib.util.spec_from_file_location("official_dsgan_networks", tmp / "networks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, tmp


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--git", required=True, help=f"bare git dir of {REPO}")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--write-fixtures", default=None, help="folder for facades_G.json")
    args = ap.parse_args(argv)

    import torch
    import torch.nn as nn

    from bench.adapter import DatasetInfo
    from reference_models.common import strict_load
    from reference_models.dsgan import DSGAN, diversity_ratio

    torch.set_num_threads(1)
    commit = subprocess.run(["git", f"--git-dir={args.git}", "rev-parse", args.commit], check=True,
                            capture_output=True, text=True).stdout.strip()
    text = subprocess.run(["git", f"--git-dir={args.git}", "show", f"{commit}:{PATH}"], check=True,
                          capture_output=True, text=True).stdout
    digest = hashlib.sha256(text.encode()).hexdigest()
    off, tmp = official_module(text)
    print(f"official code: {REPO} {PATH} at {commit[:12]} (sha256 {digest[:16]}..., imported from {tmp})")

    norm = functools.partial(nn.InstanceNorm2d, affine=False)
    nl = functools.partial(nn.ReLU, inplace=True)
    torch.manual_seed(0)
    g_off = off.G_Unet_add_all(3, 3, nz=8, num_downs=8, ngf=64, norm_layer=norm, nl_layer=nl, use_dropout=True,
                               gpu_ids=[], upsample="basic")
    info = DatasetInfo("facades", 12, (256, 256), palette=[(0, 0, 0)] * 12)
    ours = DSGAN(info, config="paper-facades").model
    if args.write_fixtures:
        out = Path(args.write_fixtures) / "facades_G.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        keys = {k: list(v.shape) for k, v in g_off.state_dict().items()}
        source = (f"{REPO} {PATH} (commit {commit}, sha256 {digest}): G_Unet_add_all(3, 3, nz=8, num_downs=8, "
                  "ngf=64, norm_layer=functools.partial(InstanceNorm2d, affine=False), nl_layer=ReLU, "
                  "use_dropout=True, upsample='basic'), the generator miscc/utils.py load_networks builds for "
                  "cfg/facades_bicycleGAN_NE.yml (CLASS_NUM 3, Z_NUM 8); listed by benchmarks/oracle_dsgan.py")
        rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in keys.items())
        out.write_text(f'{{\n"source": {json.dumps(source)},\n"class": "G_Unet_add_all",\n"keys": {{\n{rows}\n}}\n}}\n')
        print(f"wrote {out} ({len(keys)} keys)")

    randomize(g_off)
    strict_load(ours.G, g_off.state_dict(), "official G_Unet_add_all")
    g_off.eval()
    ours.G.eval()
    gen = torch.Generator().manual_seed(7)
    x = torch.rand((2, 3, 256, 256), generator=gen) * 2 - 1
    z = torch.randn((2, 8), generator=gen)
    with torch.no_grad():
        a, _ = g_off(x, None, z)
        b = ours.G(x, z)
    worst = float((a - b).abs().max())
    print(f"G: output {list(a.shape)}, max |ours - official| = {worst:.3g} (outputs span "
          f"{float(a.min()):.3g}..{float(a.max()):.3g})")

    d_off = off.D_NLayersMulti(6, ndf=64, n_layers=3, norm_layer=norm, use_sigmoid=False, gpu_ids=[], num_D=2)
    randomize(d_off, 99)
    theirs, mine = list(d_off.state_dict().values()), ours.D.state_dict()
    shapes_t, shapes_m = [list(t.shape) for t in theirs], [list(t.shape) for t in mine.values()]
    if shapes_t != shapes_m:
        print(f"D: parameter shapes differ:\n  official {shapes_t}\n  ours     {shapes_m}")
        return 1
    ours.D.load_state_dict(dict(zip(mine.keys(), theirs)), strict=True)
    xd = torch.rand((2, 6, 256, 256), generator=gen) * 2 - 1
    with torch.no_grad():
        pa, pb = d_off(xd), ours.D(xd)
    for i, (p, q) in enumerate(zip(pa, pb)):
        diff = float((p - q[-1]).abs().max())
        worst = max(worst, diff)
        print(f"D scale {i}: output {list(p.shape)}, max |ours - official| = {diff:.3g}")

    # L_z: their errE_calculate with FEAT_DIFF / NE_MARGIN off, IMSIZE 256, IM_RATIO 1, Z_NUM 8, eps 1e-5
    fake1 = torch.rand((4, 3, 256, 256), generator=gen) * 2 - 1
    fake2 = torch.rand((4, 3, 256, 256), generator=gen) * 2 - 1
    z1, z2 = torch.randn((4, 8), generator=gen), torch.randn((4, 8), generator=gen)
    img = torch.nn.functional.l1_loss(fake1, fake2.detach(), reduction="none").sum(1).sum(1).sum(1) / (3 * 256 ** 2)
    lat = torch.nn.functional.l1_loss(z1, z2, reduction="none").sum(1) / 8
    err_theirs = -(img / (lat + 1e-5)).mean()
    err_ours = -diversity_ratio(fake1, fake2, z1, z2).mean()
    diff = float((err_theirs - err_ours).abs())
    worst = max(worst, diff)
    print(f"L_z: official {float(err_theirs):.6f}, ours {float(err_ours):.6f}, |difference| = {diff:.3g}")
    print(f"largest difference: {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
