"""Same weights, same outputs: our OASIS generator, discriminator and losses against the authors' code, run outside
the test suite.

    python benchmarks/oracle_oasis.py [--oasis-git DIR] [--commit REV] [--write-fixtures DIR] [--quick]

The official modules are imported from a temporary folder holding boschresearch/OASIS's files as ``git show``
prints them from the fetched repository (nothing of theirs is copied into the project): ``models/{generator,
discriminator,norms,losses,models,vggloss}.py``, ``models/sync_batchnorm/*`` and ``utils/utils.py`` (for
``update_EMA``). Each official network is built with the options its dataset loader and ``config.py`` set
(``dataloaders/*Dataset.py``: label_nc, semantic_nc, crop_size, aspect_ratio; CPU: ``gpu_ids -1``), gets random
weights (every float tensor redrawn; BatchNorm variances positive), its state dict goes through our loader
(``oasis.official_to_ours`` + ``bench.checkpoints.normalize_release`` + strict load), and both run on the same random
label map with the same noise vectors (the official G draws ``torch.randn(B, z_dim)`` itself: the RNG is re-seeded
and the same draw passed to ours):

  G (OASIS_Generator), eval mode (running statistics) and train mode (batch statistics, one power iteration)
  D (OASIS_Discriminator) on a random image
  the (N+1)-class loss (``losses_computer.loss``, real and fake targets) vs ``oasis_ce_loss``
  LabelMix (``generate_labelmix`` + ``loss_labelmix``) vs ours with the same random draws
  one EMA update (``utils.update_EMA``) vs ``ema_update``

for the three datasets (cityscapes 256x512, ade20k / coco 256x256). It prints the maximum absolute difference of
each and, with ``--write-fixtures``, writes ``oasis_{cityscapes,ade20k,coco}_G.json`` (every key and shape of the
official generator; the released ``*_G.pth`` and ``*_EMA.pth`` hold the same keys).
"""

from __future__ import annotations

import argparse
import argparse as _ap
import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

OASIS_GIT = "/work/.mirror/boschresearch+OASIS/repo"

FILES = ("models/__init__.py", "models/generator.py", "models/discriminator.py", "models/norms.py",
         "models/losses.py", "models/models.py", "models/vggloss.py", "models/sync_batchnorm/__init__.py",
         "models/sync_batchnorm/batchnorm.py", "models/sync_batchnorm/comm.py",
         "models/sync_batchnorm/replicate.py", "utils/__init__.py", "utils/utils.py")

# (fixture name, our dataset, label_nc, semantic_nc, crop_size, aspect_ratio, our (H, W)) as the authors' loaders
DATASETS = {
    "cityscapes": ("cityscapes", 34, 35, 512, 2.0, (256, 512)),
    "ade20k": ("ade20k", 150, 151, 256, 1.0, (256, 256)),
    "coco": ("coco-stuff", 182, 183, 256, 1.0, (256, 256)),
}


def git_show(git_dir: str, commit: str, path: str) -> str | None:
    r = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def git_commit(git_dir: str, commit: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", "rev-parse", commit], check=True, capture_output=True,
                          text=True).stdout.strip()


def official_modules(git_dir: str, commit: str = "HEAD"):
    """(models.generator, models.discriminator, models.losses, models.models, utils.utils, temp folder)."""
    tmp = Path(tempfile.mkdtemp(prefix="oracle-oasis-"))
    for rel in FILES:
        text = git_show(git_dir, commit, rel)
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text if text is not None else "")  # absent package __init__ files: empty
    sys.path.insert(0, str(tmp))
    mods = [importlib.import_module(m) for m in ("models.generator", "models.discriminator", "models.losses",
                                                 "models.models", "utils.utils")]
    return (*mods, tmp)


def official_opt(label_nc: int, semantic_nc: int, crop: int, aspect: float) -> _ap.Namespace:
    """config.py defaults + the dataset loader's settings, CPU."""
    return _ap.Namespace(
        gpu_ids="-1", no_spectral_norm=False, channels_G=64, num_res_blocks=6, param_free_norm="syncbatch",
        spade_ks=3, no_EMA=False, EMA_decay=0.9999, no_3dnoise=False, z_dim=64, label_nc=label_nc,
        semantic_nc=semantic_nc, contain_dontcare_label=True, crop_size=crop, aspect_ratio=aspect,
        no_balancing_inloss=False, no_labelmix=False, lambda_labelmix=10.0, phase="train", freq_print=1000,
        freq_fid=5000, freq_save_ckpt=20000, freq_save_latest=10000)


def randomize(net, seed: int) -> None:
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, p in net.state_dict().items():
            if p.is_floating_point():
                if k.endswith("running_var"):
                    p.copy_(torch.rand(p.shape, generator=g) + 0.5)
                elif k.endswith("weight_u") or k.endswith("weight_v"):
                    p.copy_(torch.nn.functional.normalize(torch.randn(p.shape, generator=g), dim=0))
                else:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.05)
        # spectral-norm vectors consistent with the weights (20 power iterations), as after training: random
        # vectors would give sigma = u^T W v near 0 in eval mode
        sd = net.state_dict()
        for k in sd:
            if k.endswith("weight_orig"):
                w = sd[k].flatten(1)
                u = sd[k[:-len("orig")] + "u"]
                v = sd[k[:-len("orig")] + "v"]
                for _ in range(20):
                    v.copy_(torch.nn.functional.normalize(w.t() @ u, dim=0))
                    u.copy_(torch.nn.functional.normalize(w @ v, dim=0))


def ours(dataset: str, hw: tuple[int, int], semantic_nc: int):
    from bench.adapter import DatasetInfo
    from reference_models.configs import get_config
    from reference_models.oasis import OASISModel

    info = DatasetInfo(dataset, semantic_nc, hw, False, 255)
    return OASISModel(get_config("oasis", "paper", info), info)


def load_official(module, state, what: str) -> None:
    from bench.checkpoints import normalize_release
    from reference_models.common import strict_load
    from reference_models.oasis import official_to_ours

    strict_load(module, normalize_release(module, official_to_ours(state)), what, ("fc.weight",))


def label_map(b: int, n: int, hw: tuple[int, int], seed: int):
    """A random one-hot map of blocks (8x8 cells) with every id 0..n-1 possible, as [B, n, H, W]."""
    import torch

    g = torch.Generator().manual_seed(seed)
    h, w = hw
    ids = torch.randint(0, n, (b, 1, h // 16, w // 16), generator=g)
    ids = ids.repeat_interleave(16, 2).repeat_interleave(16, 3)
    return torch.zeros(b, n, h, w).scatter_(1, ids, 1.0)


def diff(a, b) -> float:
    return float((a.float() - b.float()).abs().max())


def compare(name: str, mods, args) -> dict[str, float]:
    import copy

    import torch

    from reference_models.oasis import (OASISDiscriminator, ema_update, labelmix, labelmix_loss, labelmix_mask,
                                        oasis_ce_loss)

    gen_mod, disc_mod, loss_mod, models_mod, utils_mod = mods
    ds, label_nc, semantic_nc, crop, aspect, hw = DATASETS[name]
    opt = official_opt(label_nc, semantic_nc, crop, aspect)
    out: dict[str, float] = {}
    b = 1 if args.quick else 2
    lab = label_map(b, semantic_nc, hw, 11)

    # ---------------- generator
    theirs = gen_mod.OASIS_Generator(opt)
    randomize(theirs, 1234)
    model = ours(ds, hw, semantic_nc)
    G = model.G
    load_official(G, theirs.state_dict(), f"official OASIS_Generator ({name})")
    for mode in ("eval", "train"):
        theirs.train(mode == "train")
        G.train(mode == "train")
        with torch.no_grad():
            torch.manual_seed(5)
            a = theirs(lab.clone())
            torch.manual_seed(5)
            z = torch.randn(b, opt.z_dim)
            c = G(lab.clone(), z)
        out[f"G {mode}"] = diff(a, c)
        print(f"{name:<11} G {mode}: output {list(a.shape)}, std {float(a.std()):.3g}, range "
              f"{float(a.min()):.3g}..{float(a.max()):.3g}")
    st_t, st_o = theirs.state_dict(), G.state_dict()
    # integer buffers left out: their SynchronizedBatchNorm2d never counts num_batches_tracked on one device
    out["G state after train step"] = max(diff(st_t[k], st_o[k]) for k in st_o if st_o[k].is_floating_point())
    # the EMA update over the same states
    ema_t, ema_o = copy.deepcopy(theirs), copy.deepcopy(G)
    randomize(ema_t, 99)
    load_official(ema_o, ema_t.state_dict(), "ema")
    holder = _ap.Namespace(module=_ap.Namespace(netEMA=ema_t, netG=theirs))
    utils_mod.update_EMA(holder, 1, [], opt)
    ema_update(ema_o, G, opt.EMA_decay)
    se_t, se_o = ema_t.state_dict(), ema_o.state_dict()
    out["EMA update"] = max(diff(se_t[k], se_o[k]) for k in se_o if se_o[k].is_floating_point())
    del theirs, ema_t, ema_o, model

    # ---------------- discriminator
    d_theirs = disc_mod.OASIS_Discriminator(opt)
    randomize(d_theirs, 4321)
    D = OASISDiscriminator(semantic_nc)
    from reference_models.common import strict_load

    strict_load(D, dict(d_theirs.state_dict()), f"official OASIS_Discriminator ({name})")
    img = torch.rand((b, 3, *hw), generator=torch.Generator().manual_seed(3)) * 2 - 1
    img2 = torch.rand((b, 3, *hw), generator=torch.Generator().manual_seed(4)) * 2 - 1
    with torch.no_grad():
        d_theirs.eval()
        D.eval()
        la, lb = d_theirs(img), D(img)
        out["D eval"] = diff(la, lb)
        print(f"{name:<11} D eval: logits {list(la.shape)}, std {float(la.std()):.3g}")
        d_theirs.train()
        D.train()
        la2, lb2 = d_theirs(img2), D(img2)
        out["D train"] = diff(la2, lb2)

    # ---------------- losses (on the official logits)
    lc = loss_mod.losses_computer(opt)
    for real in (True, False):
        a = lc.loss(la, lab, for_real=real)
        c = oasis_ce_loss(la, lab, real, dontcare=0)
        print(f"{name:<11} loss for_real={real}: {float(a):.6g}")
        out[f"loss for_real={real}"] = diff(a, c)
    torch.manual_seed(21)
    mixed_t, mask_t = models_mod.generate_labelmix(lab, img2, img)
    torch.manual_seed(21)
    mask_o = labelmix_mask(lab)
    # theirs assigns bits class by class in place: a class-0 pixel set to 1 is reassigned with class 1's bit
    ids = lab.argmax(1, keepdim=True)
    outside = ids != 0
    out["LabelMix mask (classes != 0)"] = diff(mask_t[outside], mask_o[outside])
    mixed_o, _ = labelmix(lab, img2, img, mask_t)
    out["LabelMix image (same mask)"] = diff(mixed_t, mixed_o)
    with torch.no_grad():
        d_mixed = d_theirs(mixed_t)
    out["LabelMix loss (same mask)"] = diff(lc.loss_labelmix(mask_t, d_mixed, la2, la),
                                            labelmix_loss(mask_t, d_mixed, la2, la))
    return out


def fixture(net, source: str) -> dict:
    return {"source": source, "keys": {k: list(v.shape) for k, v in net.state_dict().items()}}


def write_fixture(path: Path, fx: dict) -> None:
    rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in fx["keys"].items())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{{\n"source": {json.dumps(fx["source"])},\n"keys": {{\n{rows}\n}}\n}}\n')


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--oasis-git", default=OASIS_GIT, help="bare git dir of boschresearch/OASIS (`fetch`)")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--write-fixtures", default=None, help="folder for the oasis_*_G.json key/shape fixtures")
    ap.add_argument("--datasets", default="cityscapes,ade20k,coco")
    ap.add_argument("--quick", action="store_true", help="batch 1 instead of 2")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    *mods, tmp = official_modules(args.oasis_git, args.commit)
    commit = git_commit(args.oasis_git, args.commit)
    print(f"official code: boschresearch/OASIS {commit[:12]} (imported from {tmp})")
    worst = 0.0
    for name in [s for s in args.datasets.split(",") if s]:
        ds, label_nc, semantic_nc, crop, aspect, hw = DATASETS[name]
        if args.write_fixtures:
            net = mods[0].OASIS_Generator(official_opt(label_nc, semantic_nc, crop, aspect))
            src = (f"boschresearch/OASIS models/generator.py (commit {commit}) OASIS_Generator, {name} options of "
                   f"config.py + dataloaders ({ds}): label_nc {label_nc}, semantic_nc {semantic_nc} (don't-care "
                   f"included), crop_size {crop}, aspect_ratio {aspect}, channels_G 64, num_res_blocks 6, z_dim 64, "
                   "3-D noise on, spectral norm on, param_free_norm syncbatch, spade_ks 3; the released "
                   f"oasis_{name}_pretrained/models/*_G.pth and *_EMA.pth hold these keys")
            out = Path(args.write_fixtures) / f"oasis_{name}_G.json"
            write_fixture(out, fixture(net, src))
            print(f"wrote {out} ({len(net.state_dict())} keys)")
            del net
        res = compare(name, mods, args)
        for k, v in res.items():
            print(f"{name:<11} {k:<32} max |ours - official| = {v:.3g}")
        worst = max([worst] + list(res.values()))
    print(f"largest difference: {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
