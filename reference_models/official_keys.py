"""Loading the authors' released generators: a documented mapping from their state-dict keys to ours.

Our modules are built layer for layer as the authors' (same attribute names and nesting), so the mapping is the
identity on names, plus these documented normalisations, applied before a strict load (every key used, every shape
equal; ``bench.checkpoints.strict_load`` reports the first problem in one line; the normalisations are
``bench.checkpoints.normalize_release``, shared with the segmenters):

* ``module.`` prefixes (checkpoints saved from ``nn.DataParallel``) are removed;
* ``num_batches_tracked`` buffers absent from checkpoints saved by PyTorch < 0.4.1 (pix2pix's BatchNorm, SPADE's
  SynchronizedBatchNorm) are filled with 0 -- they are not used at inference;
* running-statistics buffers of ``InstanceNorm2d`` layers, which old PyTorch versions wrote and the authors'
  pix2pix loader deletes (``__patch_instance_norm_state_dict``), are dropped when our model has no such buffer.

Released files (authors' links; no sha256 is published for any of them). The pix2pix file has a direct link and is
registered (unpinned: the digest of the file used is recorded with every result) as ``pix2pix-facades-label2photo``,
so ``bench weights --download pix2pix-facades-label2photo`` fetches it and ``bench run --method pix2pix --config
paper --dataset facades`` uses it without ``--checkpoint``. SPADE's and pix2pixHD's are inside Google-Drive archives
(no direct link, several files of one name): pass the extracted file as ``--checkpoint``.

| method | release | our config | file in the archive |
|---|---|---|---|
| spade | ``checkpoints.tar.gz`` (NVlabs/SPADE README, Google Drive) | ``paper`` on cityscapes / ade20k / coco-stuff | ``{cityscapes,ade20k,coco}_pretrained/latest_net_G.pth`` |
| pix2pixhd | ``label2city_1024p`` (NVIDIA/pix2pixHD README) | ``paper-cityscapes`` at 1024x2048 | ``latest_net_G.pth`` |
| pix2pix | ``facades_label2photo`` (``scripts/download_pix2pix_model.sh``) | ``paper-facades`` | ``latest_net_G.pth`` |
| oasis | ``oasis_{cityscapes,ade20k,coco}_pretrained.zip`` (boschresearch/OASIS README, Dropbox) | ``paper`` on cityscapes / ade20k / coco-stuff | ``best_EMA.pth`` (the evaluated EMA generator; ``*_G.pth`` loads too) |
| cyclegan | ``{name}.pth`` (``scripts/download_cyclegan_model.sh`` of junyanz/pytorch-CycleGAN-and-pix2pix) | ``paper`` (resnet_9blocks) on the matching A images | ``latest_net_G.pth`` (G_A) |
| munit | ``edges2shoes.pt`` (NVlabs/MUNIT ``TUTORIAL.md`` "Pretrained models", a Google-Drive folder) | ``paper`` (configs/edges2shoes_folder.yaml) on edges (A) -> shoes (B) | the file itself: ``{'a': gen_a, 'b': gen_b}``, A -> B = gen_a's content encoder + gen_b's decoder (``--a2b 1``) |
| unit | ``unit_gta2city.pt`` (mingyuliutw/UNIT ``TUTORIAL.md`` "Pretrained models", Google Drive) | ``paper`` (unit_edges2shoes generators = unit_gta2city's) on GTA5 (A) -> Cityscapes (B) | the file itself: ``{'a': gen_a, 'b': gen_b}``, A -> B = gen_a's encoder + gen_b's decoder |
| stargan | ``celeba-128x128-5attrs.zip`` (``download.sh pretrained-celeba-128x128`` of yunjey/stargan, Dropbox) | ``paper`` at c_dim 5 (Black_Hair, Blond_Hair, Brown_Hair, Male, Young), 128x128 | ``200000-G.ckpt`` (``celeba-256x256-5attrs``: the same keys, trained at 256x256) |
| stackgan | ``netG_epoch_90.pth`` (hanzhanggit/StackGAN-Pytorch README "StackGAN for coco", Google Drive) | ``coco-stage2`` at 256x256, 1024-d char-CNN-RNN embeddings | the file itself (a ``STAGE2_G`` state dict holding ``STAGE1_G``) |
| esrgan | ``RRDB_ESRGAN_x4.pth`` / ``RRDB_PSNR_x4.pth`` (xinntao/ESRGAN README, Google Drive); BasicSR's renamed copies | ``paper`` / ``paper-psnr`` on any x4 dataset | the file itself (BasicSR's: ``params`` / ``params_ema`` inside) |

The JSON fixtures in ``tests/fixtures/reference_models/`` list every key and shape of these generators, produced by
instantiating the authors' own classes (``scripts`` of the tests: see docs/reference_models.md).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from bench import weights
from bench.checkpoints import normalize_release
from bench.errors import BenchError
from reference_models import weight_files

RELEASES = weight_files.RELEASE_URLS

# (method, config name) -> registered release
RELEASE_WEIGHTS = {("pix2pix", "paper-facades"): weight_files.PIX2PIX_FACADES}

# method -> "module:function" renaming a release's keys to ours before the normalisations: ESRGAN's RRDBNet files
# come with xinntao/ESRGAN's names (ours) or BasicSR's (``esrgan.official_to_ours``). The releases are registered in
# ``weight_files.ESRGAN_RELEASES`` and used by ``SRReferenceGenerator.default_checkpoint`` (any SR dataset, x4).
RENAMES = {"esrgan": "reference_models.esrgan:official_to_ours", "oasis": "reference_models.oasis:official_to_ours",
           "ecgan": "reference_models.ecgan:official_to_ours", "cyclegan": "reference_models.cyclegan:official_to_ours",
           "stargan": "reference_models.stargan:official_to_ours",
           "munit": "reference_models.munit:official_to_ours", "unit": "reference_models.munit:official_to_ours",
           "stackgan": "reference_models.stackgan:official_to_ours"}


def release_checkpoint(method: str, config: str, dataset: str) -> str:
    """The path of the authors' released generator for ``config`` on ``dataset`` (resolved, or downloaded when
    allowed), or a one-line BenchError saying which weights to pass. A release is only offered for the config it
    was trained with on its own dataset (``configs.PAPER_DATASETS``)."""
    from reference_models.configs import PAPER_DATASETS

    matches = PAPER_DATASETS.get(method, {}).get(dataset) == config
    wf = RELEASE_WEIGHTS.get((method, config))
    if wf is not None and matches:
        return str(weights.resolve(wf.name).path)
    release = RELEASES.get(method, {}).get(dataset)
    hint = f"; the authors' release for {dataset}: {release}" if release and matches else ""
    raise BenchError(f"{method} (config '{config}') has no trained weights: pass --checkpoint FILE or --train"
                     + hint)


def to_ours(method: str, state: dict[str, torch.Tensor], module: nn.Module) -> dict[str, Any]:
    """The authors' state dict of ``method``'s generator, renamed / completed for ``module`` (ours)."""
    if method in RENAMES:  # imported on use: every reference model imports this module
        import importlib

        mod, _, fn = RENAMES[method].partition(":")
        state = getattr(importlib.import_module(mod), fn)(state)
    elif method not in RELEASES:
        raise BenchError(f"no official key mapping for method '{method}'")
    return normalize_release(module, state)
