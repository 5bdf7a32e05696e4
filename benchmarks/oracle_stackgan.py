"""Same weights, same outputs: our StackGAN networks, losses and training iterations against the authors' PyTorch port,
run outside the test suite.

    python benchmarks/oracle_stackgan.py --git DIR [--commit C] [--write-fixtures DIR]

``DIR`` is a bare git dir of hanzhanggit/StackGAN-Pytorch (e.g. the repository tool's ``fetch`` mirror). Their
``code/model.py``, ``code/trainer.py`` and ``code/miscc/{__init__,config,utils}.py`` (as ``git show`` prints them) are
written into a temporary folder and imported from there; nothing of theirs is copied into the project. Shims, all
made here and none in their files (Python 2.7 / PyTorch 0.2 code under Python 3 / current torch):

* modules they import that this environment lacks: ``easydict`` (an attribute dict), ``six.moves`` (``range``),
  ``tensorboard`` (``summary.scalar`` and ``FileWriter``, no-ops) and ``torchfile`` (unused by ``train``);
* ``torch.cuda.set_device`` is a no-op while their ``GANTrainer`` is built (``cfg.CUDA`` False, CPU);
* the ``nn`` their ``utils`` / ``trainer`` modules see: ``nn.parallel.data_parallel(m, inputs, gpus)`` calls ``m``
  directly (one device), and ``nn.BCELoss`` returns its mean as a 1-element tensor, so that their ``.data[0]``
  (PyTorch 0.2's scalar access) works; ``trainer.KL_loss`` is their function with the same reshape;
  ``trainer.save_img_results`` does nothing (image files);
* forward pre-hooks on their ``ca_net`` modules re-seed the global RNG before its draw where the same noise as our
  seed-derived one is wanted (their ``reparametrize`` draws ``FloatTensor(...).normal_()``).

Compared (float32, CPU, one thread):

  init      their ``load_network_stageI`` order (STAGE1_G, ``weights_init``, STAGE1_D, ``weights_init``) vs our
            ``StackGANModel`` after the same seed: every weight of G and D
  G         STAGE1_G (config.py defaults: GF_DIM 128, CONDITION_DIM 128, Z_DIM 100, TEXT.DIMENSION 1024) and STAGE2_G
            (R_NUM 4) with random weights (every float tensor redrawn, running statistics included), saved as files
            and loaded by our adapter as releases: eval mode (their ``sample``), noise and CA noise drawn from the
            global RNG after the same seed (mu, logvar, images); then through our adapter (uint8, seeds): their
            G with z = ``per_sample_noise`` and the CA draws re-seeded to our seed-derived noise (hooks)
  D         STAGE1_D / STAGE2_D with random weights: image codes, conditional (and unconditional) probabilities
  losses    their ``compute_discriminator_loss``, ``compute_generator_loss``, ``KL_loss`` vs ours, same D and inputs
  training  their ``GANTrainer.train`` (stage 1 and stage 2, small widths, 2 epochs with LR_DECAY_EPOCH 1: one lr
            halving) from the weights their ``load_network_stage*`` built, on fixed batches, vs our ``step_on`` +
            ``set_lr`` with the same global-RNG seed (their per-epoch sample with ``fixed_noise`` replayed: it draws CA
            noise and moves G's BatchNorm statistics): every iteration's losses, then every weight and buffer of G
            and D, and the learning rates

It prints the maximum absolute differences and, with ``--write-fixtures``, writes the state-dict keys and shapes of
their generators (``paper_stage1_G.json``, ``paper_stage2_G.json``, ``coco_stage1_G.json``,
``coco_stage2_G.json``, each with the source file's commit and sha256) for ``tests/test_reference_text2image.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import importlib
import io
import json
import subprocess
import sys
import tempfile
import types
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from oracle_cyclegan import randomize  # every float tensor redrawn (this folder is on sys.path when run as a script)

REPO = "hanzhanggit/StackGAN-Pytorch"
FILES = {"code/model.py": "model.py", "code/trainer.py": "trainer.py", "code/miscc/__init__.py": "miscc/__init__.py",
         "code/miscc/config.py": "miscc/config.py", "code/miscc/utils.py": "miscc/utils.py"}


# ----------------------------------------------------------------------------- their code, importable

class EasyDict(dict):
    """``easydict.EasyDict`` as their config.py uses it: a dict with attribute access."""

    def __getattr__(self, k: str) -> Any:
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None

    def __setattr__(self, k: str, v: Any) -> None:
        self[k] = v


def _shim_modules() -> None:
    easydict = types.ModuleType("easydict")
    easydict.EasyDict = EasyDict
    six = types.ModuleType("six")
    moves = types.ModuleType("six.moves")
    moves.range = range
    six.moves = moves
    tb = types.ModuleType("tensorboard")
    tb.summary = SimpleNamespace(scalar=lambda *a, **k: None)

    class FileWriter:
        def __init__(self, *a: Any, **k: Any) -> None:
            pass

        def add_summary(self, *a: Any, **k: Any) -> None:
            pass

        def close(self) -> None:
            pass

    tb.FileWriter = FileWriter
    for name, mod in (("easydict", easydict), ("six", six), ("six.moves", moves), ("tensorboard", tb),
                      ("torchfile", types.ModuleType("torchfile"))):
        sys.modules.setdefault(name, mod)


def _nn_shim() -> Any:
    """The ``nn`` their utils / trainer modules call: data_parallel on one device, BCELoss with a 1-element mean."""
    import torch.nn as nn
    import torch.nn.functional as F

    def data_parallel(module, inputs, gpus=None):
        return module(*inputs) if isinstance(inputs, tuple) else module(inputs)

    class BCELoss:
        def __call__(self, p, t):
            return F.binary_cross_entropy(p, t).reshape(1)

    return SimpleNamespace(parallel=SimpleNamespace(data_parallel=data_parallel), BCELoss=BCELoss,
                           Module=nn.Module)


def official_modules(git: str, commit: str) -> tuple[SimpleNamespace, dict[str, str], Path]:
    tmp = Path(tempfile.mkdtemp(prefix="oracle-stackgan-"))
    digests = {}
    for src, dst in FILES.items():
        text = subprocess.run(["git", f"--git-dir={git}", "show", f"{commit}:{src}"], check=True,
                              capture_output=True, text=True).stdout
        (tmp / dst).parent.mkdir(parents=True, exist_ok=True)
        (tmp / dst).write_text(text)
        digests[src] = hashlib.sha256(text.encode()).hexdigest()
    _shim_modules()
    sys.path.insert(0, str(tmp))
    config = importlib.import_module("miscc.config")
    config.cfg.CUDA = False
    config.cfg.GPU_ID = "0"
    model = importlib.import_module("model")
    utils = importlib.import_module("miscc.utils")
    trainer = importlib.import_module("trainer")
    shim = _nn_shim()
    utils.nn = shim
    trainer.nn = shim
    trainer.KL_loss = lambda mu, logvar: utils.KL_loss(mu, logvar).reshape(1)
    trainer.save_img_results = lambda *a, **k: None
    return SimpleNamespace(cfg=config.cfg, model=model, utils=utils, trainer=trainer), digests, tmp


def set_cfg(cfg: Any, **values: Any) -> None:
    """Their cfg fields by dotted name (``GAN.GF_DIM``)."""
    for key, v in values.items():
        node = cfg
        *path, leaf = key.split(".")
        for p in path:
            node = node[p]
        node[leaf] = v


PAPER = {"GAN.GF_DIM": 128, "GAN.DF_DIM": 64, "GAN.CONDITION_DIM": 128, "GAN.R_NUM": 4, "Z_DIM": 100,
         "TEXT.DIMENSION": 1024}
COCO = {**PAPER, "GAN.GF_DIM": 192, "GAN.DF_DIM": 96, "GAN.R_NUM": 2}


# ----------------------------------------------------------------------------- ours

def info(size: int, dim: int = 1024):
    from bench.adapter import DatasetInfo

    return DatasetInfo("oracle", 0, (size, size), task="text",
                       task_params=(("embedding_dim", dim), ("eval_caption", "rotate")))


def our_config(name: str, size: int, dim: int, **over: Any):
    from reference_models.configs import get_config

    return get_config("stackgan", name, info(size, dim), **over)


def report(label: str, a, b) -> float:
    diff = float((a.double() - b.double()).abs().max())
    print(f"{label}: {list(a.shape)}, max |ours - official| = {diff:.3g} (official values "
          f"{float(a.min()):.3g}..{float(a.max()):.3g})")
    return diff


def state_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys(), sorted(set(a) ^ set(b))[:5]
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


# ----------------------------------------------------------------------------- comparisons

def compare_init(off: SimpleNamespace) -> float:
    import torch

    from reference_models.stackgan import StackGANModel

    worst = 0.0
    for stage, name in ((1, "paper"), (2, "paper-stage2")):
        set_cfg(off.cfg, **PAPER)
        torch.manual_seed(21)
        if stage == 1:
            g = off.model.STAGE1_G()
        else:
            g = off.model.STAGE2_G(off.model.STAGE1_G())
        g.apply(off.utils.weights_init)
        d = (off.model.STAGE1_D if stage == 1 else off.model.STAGE2_D)()
        d.apply(off.utils.weights_init)
        torch.manual_seed(21)
        size = 64 if stage == 1 else 256
        with torch.device("cpu"):
            ours = StackGANModel(our_config(name, size, 1024), info(size))
        dg, dd = state_diff(g.state_dict(), ours.G.state_dict()), state_diff(d.state_dict(), ours.D.state_dict())
        print(f"initialisation, stage {stage} (same seed, their build order and weights_init): G {dg:.3g}, D {dd:.3g}")
        worst = max(worst, dg, dd)
    return worst


def _seeding_hook(seed: int):
    def hook(module, args):
        import torch

        torch.manual_seed(seed)
    return hook


def compare_generators(off: SimpleNamespace, tmp: Path) -> float:
    import torch

    from bench.adapter import derive_seed, per_sample_noise, to_uint8
    from reference_models.stackgan import StackGAN

    worst = 0.0
    gen = torch.Generator().manual_seed(5)
    emb = torch.randn((3, 1024), generator=gen)
    for stage, name in ((1, "paper"), (2, "paper-stage2")):
        set_cfg(off.cfg, **PAPER)
        torch.manual_seed(0)
        g_off = off.model.STAGE1_G() if stage == 1 else off.model.STAGE2_G(off.model.STAGE1_G())
        randomize(g_off, 100 + stage)
        path = tmp / f"netG_stage{stage}.pth"
        torch.save(g_off.state_dict(), path)
        size = 64 if stage == 1 else 256
        adapter = StackGAN(info(size), config=name, checkpoint=str(path))
        g_ours = adapter.model.G
        g_off.eval()  # their sample(): netG.eval()
        g_ours.eval()
        noise = torch.randn((3, 100), generator=gen)
        with torch.no_grad():
            torch.manual_seed(9)
            a = g_off(emb, noise)
            torch.manual_seed(9)
            b = g_ours(emb, noise)
        for i, what in ((1, "image"), (2, "mu"), (3, "logvar")):
            worst = max(worst, report(f"STAGE{stage}_G eval mode, {what} (CA noise from the same global seed)",
                                      a[i], b[i]))
        if stage == 2:
            worst = max(worst, report("STAGE2_G, its Stage-I image", a[0], b[0]))
        # through our adapter: seeds -> z and the seed-derived CA noise; theirs fed the same by re-seeding hooks
        seeds = [11, 12, 13]
        mine = adapter.generate({"embedding": emb, "caption": ["x"] * 3, "path": ["a", "b", "c"]}, seeds=seeds)
        ca = [g_off.ca_net] if stage == 1 else [g_off.STAGE1_G.ca_net, g_off.ca_net]
        theirs, trunc = [], []
        for i, s in enumerate(seeds):
            hooks = [m.register_forward_pre_hook(_seeding_hook(derive_seed(s, "stackgan-ca", j + 1)))
                     for j, m in enumerate(ca)]
            with torch.no_grad():
                img = g_off(emb[i:i + 1], per_sample_noise([s], (100,)))[1]
            for h in hooks:
                h.remove()
            theirs.append(to_uint8(img))
            trunc.append(((img + 1.0) * 127.5).to(torch.uint8))  # their sample(): astype(np.uint8) truncates
        theirs_u8, trunc_u8 = torch.cat(theirs), torch.cat(trunc)
        d8 = int((theirs_u8.int() - mine.int()).abs().max())
        dt = int((trunc_u8.int() - mine.int()).abs().max())
        print(f"STAGE{stage}_G through our adapter (uint8, seeds {seeds}) vs theirs with the same z and CA noise, "
              f"rounded as ours: max |difference| = {d8} of 255 (vs their sample()'s truncation: {dt})")
        worst = max(worst, float(d8))
    return worst


def compare_discriminators_and_losses(off: SimpleNamespace) -> float:
    import torch

    from reference_models.stackgan import KL_loss, StackGANModel, compute_discriminator_loss, compute_generator_loss

    worst = 0.0
    gen = torch.Generator().manual_seed(6)
    for stage, name in ((1, "paper"), (2, "paper-stage2")):
        set_cfg(off.cfg, **PAPER)
        size = 64 if stage == 1 else 256
        torch.manual_seed(0)
        d_off = off.model.STAGE1_D() if stage == 1 else off.model.STAGE2_D()
        randomize(d_off, 200 + stage)
        ours = StackGANModel(our_config(name, size, 1024), info(size))
        from reference_models.common import strict_load

        strict_load(ours.D, d_off.state_dict(), f"official STAGE{stage}_D")
        d_ours = ours.D
        b = 4
        real = torch.tanh(torch.randn((b, 3, size, size), generator=gen))
        fake = torch.tanh(torch.randn((b, 3, size, size), generator=gen))
        mu = torch.randn((b, 128), generator=gen)
        logvar = torch.randn((b, 128), generator=gen) * 0.5
        d_off.train()
        d_ours.train()
        with torch.no_grad():
            h_off, h_ours = d_off(real), d_ours(real)
            worst = max(worst, report(f"STAGE{stage}_D image code", h_off, h_ours))
            worst = max(worst, report(f"STAGE{stage}_D conditional probabilities", d_off.get_cond_logits(h_off, mu),
                                      d_ours.get_cond_logits(h_ours, mu)))
            if stage == 2:
                worst = max(worst, report("STAGE2_D unconditional probabilities", d_off.get_uncond_logits(h_off),
                                          d_ours.get_uncond_logits(h_ours)))
        # the losses (training mode: BatchNorm on each run's batch), from identical states
        d_off2 = copy.deepcopy(d_off)
        d_ours2 = copy.deepcopy(d_ours)
        real_labels, fake_labels = torch.ones(b), torch.zeros(b)
        errs_off = off.utils.compute_discriminator_loss(d_off2, real, fake, real_labels, fake_labels, mu, [0])
        errs_ours = compute_discriminator_loss(d_ours2, real, fake, mu)
        for label, x, y in zip(("errD", "errD_real", "errD_wrong", "errD_fake"), errs_off, errs_ours):
            x = torch.as_tensor(x).detach().reshape(())
            worst = max(worst, report(f"stage {stage} {label} ({float(x):.6g})", x, y.detach().reshape(())))
        g_off = off.utils.compute_generator_loss(d_off2, fake, real_labels, mu, [0]).detach().reshape(())
        g_ours = compute_generator_loss(d_ours2, fake, mu).detach()
        worst = max(worst, report(f"stage {stage} errG ({float(g_off):.6g})", g_off, g_ours))
        worst = max(worst, report("D's running statistics after those runs", torch.cat([
            v.flatten().double() for k, v in d_off2.state_dict().items() if "running" in k]), torch.cat([
                v.flatten().double() for k, v in d_ours2.state_dict().items() if "running" in k])))
    kl_off = off.utils.KL_loss(mu.clone(), logvar.clone())
    worst = max(worst, report(f"KL_loss ({float(kl_off):.6g})", kl_off, KL_loss(mu, logvar)))
    return worst


def compare_training(off: SimpleNamespace, tmp: Path, stage: int) -> float:
    import torch

    from reference_models.stackgan import StackGANModel
    from reference_models.trainer import StepContext

    size = 64 if stage == 1 else 256
    bs, n_batches, epochs, tdim, cdim, zdim = 4, 3 if stage == 1 else 2, 2, 32, 16, 10
    small = {"GAN.GF_DIM": 8, "GAN.DF_DIM": 8 if stage == 1 else 4, "GAN.CONDITION_DIM": cdim, "GAN.R_NUM": 2,
             "Z_DIM": zdim, "TEXT.DIMENSION": tdim, "TRAIN.BATCH_SIZE": bs, "TRAIN.MAX_EPOCH": epochs,
             "TRAIN.LR_DECAY_EPOCH": 1, "TRAIN.SNAPSHOT_INTERVAL": 100, "TRAIN.FLAG": True, "STAGE": stage,
             "NET_G": "", "NET_D": "", "STAGE1_G": "", "VIS_COUNT": 4}
    set_cfg(off.cfg, **small)
    if stage == 2:  # their Stage-II starts from a Stage-I file
        torch.manual_seed(1)
        s1 = off.model.STAGE1_G()
        randomize(s1, 301)
        set_cfg(off.cfg, STAGE1_G=str(tmp / "stage1_for_stage2.pth"))
        torch.save(s1.state_dict(), off.cfg.STAGE1_G)
    gen = torch.Generator().manual_seed(40 + stage)
    batches = [(torch.tanh(torch.randn((bs, 3, size, size), generator=gen) * 2),
                torch.randn((bs, tdim), generator=gen)) for _ in range(n_batches)]

    # theirs, with the networks their load_network_stage* built captured and the RNG re-seeded after it
    captured: dict[str, Any] = {}
    load_name = "load_network_stageI" if stage == 1 else "load_network_stageII"
    orig_load = getattr(off.trainer.GANTrainer, load_name)

    def load_and_capture(self):
        with contextlib.redirect_stdout(io.StringIO()):
            netG, netD = orig_load(self)
        captured["G"], captured["D"] = copy.deepcopy(netG.state_dict()), copy.deepcopy(netD.state_dict())
        captured["netG"], captured["netD"] = netG, netD
        torch.manual_seed(77)
        return netG, netD

    records: dict[str, list[float]] = {"errD": [], "errG": [], "KL": []}
    orig_d, orig_g, orig_kl = (off.trainer.compute_discriminator_loss, off.trainer.compute_generator_loss,
                               off.trainer.KL_loss)

    def rec_d(*a, **k):
        out = orig_d(*a, **k)
        records["errD"].append(float(out[0]))
        return out

    def rec_g(*a, **k):
        out = orig_g(*a, **k)
        records["errG"].append(float(out))
        return out

    def rec_kl(*a, **k):
        out = orig_kl(*a, **k)
        records["KL"].append(float(out))
        return out

    setattr(off.trainer.GANTrainer, load_name, load_and_capture)
    off.trainer.compute_discriminator_loss, off.trainer.compute_generator_loss, off.trainer.KL_loss = \
        rec_d, rec_g, rec_kl
    import torch.cuda

    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda *a, **k: None
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            algo = off.trainer.GANTrainer(str(tmp / f"train-stage{stage}"))
            algo.train(batches, stage)
    finally:
        torch.cuda.set_device = set_device
        setattr(off.trainer.GANTrainer, load_name, orig_load)
        off.trainer.compute_discriminator_loss, off.trainer.compute_generator_loss, off.trainer.KL_loss = \
            orig_d, orig_g, orig_kl

    # ours, from the same weights and RNG state
    cfg = our_config("paper" if stage == 1 else "paper-stage2", size, tdim, gf_dim=8, df_dim=small["GAN.DF_DIM"],
                     condition_dim=cdim, r_num=2, z_dim=zdim, batch_size=bs, lr_decay_epoch=1, jitter=False)
    model = StackGANModel(cfg, info(size, tdim))
    model.G.load_state_dict(captured["G"])
    model.D.load_state_dict(captured["D"])
    model.train()
    opts = model.optimizers()
    ctx = StepContext(torch.device("cpu"), False, {})
    ctx.steps_per_epoch = n_batches
    ours: dict[str, list[float]] = {"errD": [], "errG": [], "KL": []}
    torch.manual_seed(77)
    fixed_noise = torch.randn((bs, zdim))  # their train(): drawn before the loop
    for epoch in range(epochs):
        for i, (img, emb) in enumerate(batches):
            ctx.global_step = epoch * n_batches + i
            model.set_lr(opts, ctx)
            logs = model.step_on(img, emb, opts, ctx)
            ours["errD"].append(logs["D"])
            ours["errG"].append(logs["G"])
            ours["KL"].append(logs["KL"])
            if i % 100 == 0:  # their sample of every 100th iteration: G on fixed_noise, training mode
                with torch.no_grad():
                    model.G(emb, fixed_noise)
    worst = 0.0
    for k in ("errD", "errG", "KL"):
        diff = max(abs(a - b) for a, b in zip(records[k], ours[k]))
        assert len(records[k]) == len(ours[k]) == epochs * n_batches, (k, len(records[k]), len(ours[k]))
        print(f"training stage {stage}, {epochs * n_batches} iterations: {k} per iteration, max |ours - official| = "
              f"{diff:.3g} (official {', '.join(f'{v:.4f}' for v in records[k])})")
        worst = max(worst, diff)
    for name, theirs, mine in (("G", captured["netG"], model.G), ("D", captured["netD"], model.D)):
        diff = state_diff(theirs.state_dict(), mine.state_dict())
        moved = max(float((captured[name][k] - v).abs().max()) for k, v in mine.state_dict().items()
                    if v.is_floating_point())
        print(f"training stage {stage}: {name} weights and buffers after, max |ours - official| = {diff:.3g} "
              f"(the float ones moved by up to {moved:.3g} from the start)")
        worst = max(worst, diff)
    # their learning rates after 2 epochs with LR_DECAY_EPOCH 1: halved once (at epoch 1)
    lr_ours = (opts["G"].param_groups[0]["lr"], opts["D"].param_groups[0]["lr"])
    print(f"training stage {stage}: learning rates after, ours G {lr_ours[0]!r} D {lr_ours[1]!r} (theirs: 2e-4 "
          f"halved at epoch 1 = {2e-4 * 0.5!r}; their optimisers are local to train(): equal weights after the "
          "second epoch are the check)")
    worst = max(worst, abs(lr_ours[0] - 1e-4), abs(lr_ours[1] - 1e-4))
    if stage == 2:
        frozen = state_diff({k[len("STAGE1_G."):]: v for k, v in captured["G"].items()
                             if k.startswith("STAGE1_G.") and "running" not in k and "num_batches" not in k},
                            {k: v for k, v in model.G.STAGE1_G.state_dict().items()
                             if "running" not in k and "num_batches" not in k})
        print(f"training stage 2: the frozen Stage-I weights moved by {frozen:.3g} (their BatchNorm statistics move, "
              "as theirs)")
    return worst


def write_fixtures(off: SimpleNamespace, out_dir: Path, commit: str, digests: dict[str, str]) -> None:
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    cases = {
        "paper_stage1_G": (PAPER, 1, "config.py defaults (GF_DIM 128, CONDITION_DIM 128, Z_DIM 100, TEXT.DIMENSION "
                                     "1024): STAGE1_G(), as trainer.py's load_network_stageI builds it"),
        "paper_stage2_G": (PAPER, 2, "config.py defaults (R_NUM 4): STAGE2_G(STAGE1_G()), as load_network_stageII"),
        "coco_stage1_G": (COCO, 1, "cfg/coco_s1.yml (GF_DIM 192): STAGE1_G()"),
        "coco_stage2_G": (COCO, 2, "cfg/coco_s2.yml / coco_eval.yml (GF_DIM 192, R_NUM 2): STAGE2_G(STAGE1_G()), "
                                   "the network of the released COCO generator netG_epoch_90.pth"),
    }
    for name, (values, stage, what) in cases.items():
        set_cfg(off.cfg, **values)
        with torch.device("meta"):
            net = off.model.STAGE1_G() if stage == 1 else off.model.STAGE2_G(off.model.STAGE1_G())
        keys = {k: list(v.shape) for k, v in net.state_dict().items()}
        source = (f"{REPO} code/model.py (commit {commit}, sha256 {digests['code/model.py']}): {what}; instantiated "
                  f"with torch {torch.__version__} (num_batches_tracked entries included); listed by "
                  "benchmarks/oracle_stackgan.py")
        rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in keys.items())
        opts = {k: v for k, v in values.items() if stage == 2 or k != "GAN.R_NUM"}
        opts.pop("GAN.DF_DIM")
        (out_dir / f"{name}.json").write_text(
            f'{{\n"source": {json.dumps(source)},\n"class": "{"STAGE1_G" if stage == 1 else "STAGE2_G"}",\n'
            f'"options": {json.dumps(opts)},\n"keys": {{\n{rows}\n}}\n}}\n')
        print(f"wrote {out_dir / name}.json ({len(keys)} keys)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--git", required=True, help=f"bare git dir of {REPO}")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--write-fixtures", default=None, help="folder for the generators' key fixtures")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    commit = subprocess.run(["git", f"--git-dir={args.git}", "rev-parse", args.commit], check=True,
                            capture_output=True, text=True).stdout.strip()
    off, digests, tmp = official_modules(args.git, commit)
    print(f"official code: {REPO} at {commit[:12]} (" + ", ".join(f"{n} sha256 {d[:16]}..." for n, d in
                                                                 digests.items()) + f"; imported from {tmp})")
    if args.write_fixtures:
        write_fixtures(off, Path(args.write_fixtures), commit, digests)
    worst = compare_init(off)
    worst = max(worst, compare_generators(off, tmp))
    worst = max(worst, compare_discriminators_and_losses(off))
    worst = max(worst, compare_training(off, tmp, 1))
    worst = max(worst, compare_training(off, tmp, 2))
    print(f"largest difference: {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
