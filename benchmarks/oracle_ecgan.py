"""Same weights, same outputs, same losses: our ECGAN against the authors' released code, run outside the test suite.

    python benchmarks/oracle_ecgan.py [--ecgan-git DIR] [--commit 4fcb0cc] [--full] [--write-fixtures DIR]

The official modules are imported from a temporary folder holding the files of Ha0Tang/ECGAN at commit 4fcb0cc
("initial submission"; ``models/`` was deleted in e5e6edb) as ``git show`` prints them (nothing of theirs is copied
into the project): ``models/pix2pix_model.py``, ``models/networks/{__init__,base_network,normalization,architecture,
generator,discriminator,encoder,loss}.py`` and ``models/networks/sync_batchnorm/{__init__,batchnorm,comm,
replicate}.py``. Replaced by stubs: ``models/__init__.py`` (a model finder) and ``util/util.py`` (its pickling and
image helpers; only ``find_class_in_module`` is used here, re-written). The official ``Pix2PixModel`` is built from
an option namespace (no VGG loss: its weights are not available offline), every parameter is redrawn from a seeded
normal distribution, and the state dicts of its ``netG`` and ``netD`` are loaded strictly into ours. Then, on one
random batch (label map, instance map, photo, edge map):

  * the generator's three outputs (image, final image, edge) in train mode (batch statistics) and in eval mode;
  * the discriminator's outputs (every intermediate feature of both scales), eval mode;
  * the training losses: their ``compute_generator_loss`` (GAN + feature matching over the image, final-image and
    edge pairs) against our ``generator_losses`` and their ``compute_discriminator_loss`` against our
    ``discriminator_losses`` (our paper-only terms, similarity and contrastive, and the L1 turned off), with the
    networks in train mode from the same weights (spectral-norm power iterations advance identically);

for a Cityscapes-like setup (35 classes + instance edges, 'more' upsampling, 64x128, ngf 16) and an ADE20K-like one
(150 classes + don't care, no instances, 'normal', 64x64, ngf 16). ``--full`` adds the paper Cityscapes generator
(ngf 64, 256x512, eval mode, batch 1). It prints the maximum absolute differences (float32, CPU, one thread) and, with
``--write-fixtures``, writes the key/shape fixtures of ``tests/test_reference_ecgan.py`` (``ecgan_*_G.json``: every
state-dict key and shape of the authors' generator as their options build it for each dataset, on the meta device).
The edge extraction (their MATLAB ``scripts/canny.m``) has no Python original to run; ``tests/test_reference_ecgan.py``
checks ours against a literal loop transcription of the script.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
from argparse import Namespace
from pathlib import Path

ECGAN_GIT = "/work/.mirror/Ha0Tang+ECGAN/repo"
COMMIT = "4fcb0cc"

REAL_FILES = ("models/pix2pix_model.py", "models/networks/__init__.py", "models/networks/base_network.py",
              "models/networks/normalization.py", "models/networks/architecture.py", "models/networks/generator.py",
              "models/networks/discriminator.py", "models/networks/encoder.py", "models/networks/loss.py",
              "models/networks/sync_batchnorm/__init__.py", "models/networks/sync_batchnorm/batchnorm.py",
              "models/networks/sync_batchnorm/comm.py", "models/networks/sync_batchnorm/replicate.py")

_STUBS = {
    "models/__init__.py": "",
    "util/__init__.py": "",
    "util/util.py": ("import importlib\n\n\ndef find_class_in_module(target_cls_name, module):\n"
                     "    target = target_cls_name.replace('_', '').lower()\n"
                     "    lib = importlib.import_module(module)\n"
                     "    found = [obj for name, obj in lib.__dict__.items() if name.lower() == target]\n"
                     "    return found[-1]\n"),
}


def git_show(git_dir: str, commit: str, path: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def git_commit(git_dir: str, commit: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", "rev-parse", commit], check=True, capture_output=True,
                          text=True).stdout.strip()


def official_package(git_dir: str, commit: str) -> Path:
    """A temporary folder holding the authors' files (and the stubs), put first on sys.path."""
    tmp = Path(tempfile.mkdtemp(prefix="oracle-ecgan-"))
    for rel in REAL_FILES:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(git_show(git_dir, commit, rel))
    for rel, text in _STUBS.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text)
    sys.path.insert(0, str(tmp))
    return tmp


def official_opt(label_nc: int, dontcare: bool, instance: bool, crop: int, aspect: float, ngf: int,
                 upsampling: str, ndf: int = 64, n_layers_d: int = 4) -> Namespace:
    """The option namespace their ``options/*.py`` + ``data/*_dataset.py`` produce (semantic_nc as in
    ``BaseOptions.parse``)."""
    return Namespace(
        ngf=ngf, use_vae=False, z_dim=256, label_nc=label_nc, contain_dontcare_label=dontcare,
        no_instance=not instance, semantic_nc=label_nc + int(dontcare) + int(instance), output_nc=3,
        crop_size=crop, aspect_ratio=aspect, num_upsampling_layers=upsampling, norm_G="spectralspadesyncbatch3x3",
        norm_D="spectralinstance", norm_E="spectralinstance", netG="spade", netD="multiscale",
        netD_subarch="n_layer", num_D=2, n_layers_D=n_layers_d, ndf=ndf, no_ganFeat_loss=False, no_vgg_loss=True,
        gan_mode="hinge", lambda_feat=10.0, lambda_vgg=10.0, lambda_kld=0.05, init_type="xavier",
        init_variance=0.02, isTrain=True, continue_train=False, gpu_ids=[], lr=2e-4, beta1=0.0, beta2=0.9,
        no_TTUR=False, checkpoints_dir="/nonexistent", name="oracle", which_epoch="latest")


def ours(info, cfg_name: str, **overrides):
    from reference_models.configs import get_config
    from reference_models.ecgan import ECGANModel

    cfg = get_config("ecgan", cfg_name, info, **overrides)
    return ECGANModel(cfg, info)


def randomize(net, seed: int) -> None:
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)


def load_into(model, official) -> None:
    from reference_models.common import strict_load
    from reference_models.ecgan import official_to_ours
    from bench.checkpoints import normalize_release

    strict_load(model.G, normalize_release(model.G, official_to_ours(official.netG.state_dict())), "official netG",
                model.input_keys())
    strict_load(model.D, normalize_release(model.D, official.netD.state_dict()), "official netD")


def batch_for(num_classes: int, h: int, w: int, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    lab = torch.randint(0, num_classes, (2, 1, h // 8, w // 8), generator=g)
    lab = lab.repeat_interleave(8, 2).repeat_interleave(8, 3)
    inst = lab * 1000 + torch.randint(0, 2, lab.shape, generator=g)
    image = torch.randint(0, 256, (2, 3, h, w), generator=g, dtype=torch.uint8)
    return lab, inst, image


def maxdiff(a, b) -> float:
    if isinstance(a, (list, tuple)):
        return max(maxdiff(x, y) for x, y in zip(a, b))
    return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0


def compare(name: str, label_nc: int, dontcare: bool, instance: bool, h: int, w: int, ngf: int, upsampling: str,
            dataset: str, num_classes: int) -> float:
    import torch

    from bench.adapter import DatasetInfo
    from reference_models.common import image_to_float
    from reference_models.ecgan import edge_target

    Pix2PixModel = importlib.import_module("models.pix2pix_model").Pix2PixModel
    opt = official_opt(label_nc, dontcare, instance, w, w / h, ngf, upsampling, ndf=16, n_layers_d=4)
    torch.manual_seed(0)
    official = Pix2PixModel(opt)
    randomize(official.netG, 1)
    randomize(official.netD, 2)
    info = DatasetInfo(dataset, num_classes, (h, w), instance, 255)
    model = ours(info, "paper", ngf=ngf, ndf=16, num_upsampling_layers=upsampling, instance=instance,
                 dontcare_in_classes=dontcare, lambda_sim=0.0, lambda_contrast=0.0, lambda_contrast_class=0.0,
                 lambda_l1=0.0, vgg=False)
    fresh_g = {k: v.clone() for k, v in official.netG.state_dict().items()}
    fresh_d = {k: v.clone() for k, v in official.netD.state_dict().items()}

    def reset():
        official.netG.load_state_dict(fresh_g)
        official.netD.load_state_dict(fresh_d)
        load_into(model, official)

    lab, inst, image = batch_for(num_classes, h, w, 3)
    edge = edge_target(image)
    data = {"label": lab.clone(), "instance": inst.clone(), "image": image_to_float(image), "edge": edge.clone()}
    sem, _, real, real_edge = official.preprocess_input(dict(data))
    seg = model.encode(lab, inst)
    out = {"input": maxdiff(sem, seg)}
    for mode in ("train", "eval"):
        reset()
        official.netG.train(mode == "train")
        model.G.train(mode == "train")
        with torch.no_grad():
            a = official.netG(sem, None)
            b = model.G(seg)
        out[f"G {mode} (image, final, edge)"] = maxdiff(list(a), list(b))
    reset()
    official.netD.eval()
    model.D.eval()
    x = torch.cat([sem, real], 1)
    with torch.no_grad():
        feats_off = [t for s in official.netD(x) for t in s]
        feats_ours = [t for s in model.D(x) for t in s]
        out["D eval (all features)"] = maxdiff(feats_off, feats_ours)
    # training losses, train mode, from the same weights
    reset()
    official.train()
    model.train()
    model.D.requires_grad_(False)
    g_off, *_ = official.compute_generator_loss(sem, None, real, real_edge)
    g_ours, _ = model.generator_losses(seg, lab, real, real_edge)
    model.D.requires_grad_(True)
    out["G loss"] = abs(float(sum(g_off.values()).sum().detach()) - float(g_ours.detach()))
    reset()
    d_off = official.compute_discriminator_loss(sem, None, real, real_edge)
    d_ours, _ = model.discriminator_losses(seg, real, real_edge)
    out["D loss"] = abs(float(sum(d_off.values()).sum().detach()) - float(d_ours.detach()))
    out["(G loss value)"] = float(g_ours.detach())
    worst = 0.0
    for k, v in out.items():
        print(f"  {name}: {k}: {'%.6g' % v if k.startswith('(') else 'max |ours - official| = %.3g' % v}")
        if not k.startswith("("):
            worst = max(worst, v)
    return worst


def compare_full() -> float:
    import torch

    from bench.adapter import DatasetInfo

    gen_cls = importlib.import_module("models.networks.generator").SPADEGenerator
    opt = official_opt(35, False, True, 512, 2.0, 64, "more")
    torch.manual_seed(0)
    net = gen_cls(opt)
    randomize(net, 4)
    info = DatasetInfo("cityscapes", 35, (256, 512), True, 255)
    model = ours(info, "paper")
    from reference_models.common import strict_load
    from reference_models.ecgan import official_to_ours
    from bench.checkpoints import normalize_release

    strict_load(model.G, normalize_release(model.G, official_to_ours(net.state_dict())), "official", model.input_keys())
    net.eval()
    model.G.eval()
    lab, inst, _ = batch_for(35, 256, 512, 5)
    seg = model.encode(lab[:1], inst[:1])
    with torch.no_grad():
        d = maxdiff(list(net(seg, None)), list(model.G(seg)))
    print(f"  paper cityscapes G (ngf 64, 256x512, eval): max |ours - official| = {d:.3g}")
    return d


FIXTURES = {
    # name: (label_nc, contain_dontcare_label, instance, crop_size, aspect_ratio, num_upsampling_layers, dataset opts)
    "ecgan_cityscapes_G": (35, False, True, 512, 2.0, "more",
                           "data/cityscapes_dataset.py: label_nc 35, crop 512, aspect 2, 'more', instances"),
    "ecgan_ade20k_G": (150, True, False, 256, 1.0, "normal",
                       "data/ade20k_dataset.py: label_nc 150, contain_dontcare_label, no_instance, crop 256"),
    "ecgan_coco_G": (182, True, True, 256, 1.0, "normal",
                     "data/coco_dataset.py: label_nc 182, contain_dontcare_label, instances, crop 256"),
}


def write_fixtures(folder: Path, commit: str) -> None:
    import torch

    gen_cls = importlib.import_module("models.networks.generator").SPADEGenerator
    folder.mkdir(parents=True, exist_ok=True)
    for name, (label_nc, dc, inst, crop, aspect, up, what) in FIXTURES.items():
        opt = official_opt(label_nc, dc, inst, crop, aspect, 64, up)
        with torch.device("meta"):
            net = gen_cls(opt)
        source = (f"Ha0Tang/ECGAN models/networks/generator.py (commit {commit[:12]}) SPADEGenerator(opt) with ngf 64, "
                  f"norm_G spectralspadesyncbatch3x3 and the options of {what}")
        rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(list(v.shape))}" for k, v in net.state_dict().items())
        out = folder / f"{name}.json"
        out.write_text(f'{{\n"source": {json.dumps(source)},\n"keys": {{\n{rows}\n}}\n}}\n')
        print(f"wrote {out} ({len(net.state_dict())} keys)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ecgan-git", default=ECGAN_GIT, help="bare git dir of Ha0Tang/ECGAN (`fetch`)")
    ap.add_argument("--commit", default=COMMIT, help="the commit holding models/ (4fcb0cc, 'initial submission')")
    ap.add_argument("--full", action="store_true", help="also the paper-size Cityscapes generator (slow)")
    ap.add_argument("--write-fixtures", default=None, help="folder for the ecgan_*_G.json key/shape fixtures")
    args = ap.parse_args(argv)

    import warnings

    import torch

    warnings.filterwarnings("ignore", message=".*(sigmoid|tanh) is deprecated.*")
    torch.set_num_threads(1)
    commit = git_commit(args.ecgan_git, args.commit)
    tmp = official_package(args.ecgan_git, commit)
    print(f"official code: Ha0Tang/ECGAN {commit[:12]} models/ (imported from {tmp})")
    if args.write_fixtures:
        write_fixtures(Path(args.write_fixtures), commit)
    worst = 0.0
    worst = max(worst, compare("cityscapes-like", 35, False, True, 64, 128, 16, "more", "cityscapes", 35))
    worst = max(worst, compare("ade20k-like", 150, True, False, 64, 64, 16, "normal", "ade20k", 151))
    if args.full:
        worst = max(worst, compare_full())
    print(f"largest difference: {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
