"""Same weights, same outputs: our StarGAN networks, losses and training steps against the authors' code, run outside
the test suite.

    python benchmarks/oracle_stargan.py --git DIR [--commit C] [--write-fixtures DIR]

``DIR`` is a bare git dir of yunjey/stargan (e.g. the repository tool's ``fetch`` mirror). Its ``model.py`` and
``solver.py`` (as ``git show`` prints them) are written into a temporary folder and imported from there (they import
torch, torchvision and numpy; ``solver.py`` imports ``model``); nothing of theirs is copied into the project.

  G        Generator(conv_dim=64, c_dim=5, repeat_num=6), the network of the released ``200000-G.ckpt``: random
           weights (every float tensor redrawn, running statistics included), saved as a file and loaded by our
           adapter (``official_keys.to_ours`` + strict load, as a release); both on the same 128x128 images and
           target vectors. Compared: their training mode (how their ``Solver.test`` runs G: it never calls eval())
           vs our eval mode (our generation), and vs our training mode (the running statistics after the forward
           too); their eval mode (running statistics) is printed for contrast; and our adapter's uint8 images vs
           theirs converted the same way
  D        Discriminator(image_size=128, conv_dim=64, c_dim=5, repeat_num=6), random weights loaded strictly into our
           ``paper`` D: D_src and D_cls
  GP       their ``Solver.gradient_penalty`` on x_hat built as their ``train`` does (one ``torch.rand`` draw) vs our
           ``gradient_penalty`` after the same seed, on the same D, real and fake images
  L_cls    their ``Solver.classification_loss`` (CelebA: BCE with logits, summed, / batch) vs ours
  training their ``Solver.train`` (CelebA branch) for 12 iterations on small networks (conv_dim 8, repeat 2, 32x32,
           c_dim 3, batch 4, n_critic 5, num_iters_decay 6, lr_update_step 2: two G updates and three lr decays)
           from the same initial weights, batches and global-RNG seed as our ``train_step`` + ``schedule``; the
           largest difference of every weight and buffer of G and D afterwards, and of the learning rates

It prints the maximum absolute differences (float32, CPU, one thread) and, with ``--write-fixtures``, writes
``celeba_128_5attrs_G.json`` (every state-dict key and shape of that generator, with the source file's commit and
sha256) for ``tests/test_reference_stargan.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from oracle_cyclegan import randomize  # every float tensor redrawn (this folder is on sys.path when run as a script)

REPO = "yunjey/stargan"
FILES = ("model.py", "solver.py")
CELEBA_ATTRS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")


def official_modules(git: str, commit: str) -> tuple[Any, Any, dict[str, str], Path]:
    tmp = Path(tempfile.mkdtemp(prefix="oracle-stargan-"))
    digests = {}
    for name in FILES:
        text = subprocess.run(["git", f"--git-dir={git}", "show", f"{commit}:{name}"], check=True,
                              capture_output=True, text=True).stdout
        (tmp / name).write_text(text)
        digests[name] = hashlib.sha256(text.encode()).hexdigest()
    sys.path.insert(0, str(tmp))
    return importlib.import_module("model"), importlib.import_module("solver"), digests, tmp


def info(resolution=(128, 128), attrs=CELEBA_ATTRS):
    from bench.adapter import DatasetInfo

    return DatasetInfo("oracle", 0, resolution, task="attribute", task_params=(("attributes", tuple(attrs)),))


def report(label: str, a, b) -> float:
    diff = float((a.float() - b.float()).abs().max())
    print(f"{label}: {list(a.shape)}, max |ours - official| = {diff:.3g} (official values "
          f"{float(a.min()):.3g}..{float(a.max()):.3g})")
    return diff


def compare_networks(off, sol, tmp: Path) -> float:
    import torch

    from reference_models.common import strict_load
    from reference_models.stargan import StarGAN, StarGANModel

    gen = torch.Generator().manual_seed(7)
    x = torch.rand((2, 3, 128, 128), generator=gen) * 2 - 1
    c = (torch.rand((2, 5), generator=gen) < 0.5).float()
    worst = 0.0

    # G: their file through our release loading
    torch.manual_seed(0)
    g_off = off.Generator(64, 5, 6)
    randomize(g_off)
    path = tmp / "200000-G.ckpt"
    torch.save(g_off.state_dict(), path)
    adapter = StarGAN(info(), config="paper", checkpoint=str(path))
    g_ours = adapter.model.G
    g_off.train()  # their test(): G as built, never put in eval mode
    with torch.no_grad():
        want = g_off(x, c)
        worst = max(worst, report("G, theirs in training mode (their test) vs ours in eval mode (our generation)",
                                  want, g_ours.eval()(x, c)))
        g_off.load_state_dict(torch.load(path))  # the running statistics as before that forward
        g_ours.train()
        a, b = g_off(x, c), g_ours(x, c)
        worst = max(worst, report("G, both in training mode", a, b))
        so, sm = g_off.state_dict(), g_ours.state_dict()
        buf = max(float((so[k].float() - sm[k].float()).abs().max()) for k in so if "running" in k)
        print(f"G running statistics after that forward: max |ours - official| = {buf:.3g}")
        worst = max(worst, buf)
        g_off.eval()
        g_ours.eval()
        ev = float((g_off(x, c) - want).abs().max())
        print(f"(for contrast) their G in eval mode, running statistics, vs their test's training mode: max "
              f"difference {ev:.3g}: not what their test computes")
    # the adapter end to end: uint8 images, theirs converted as our to_uint8
    from bench.adapter import to_uint8

    g_off.load_state_dict(torch.load(path))
    g_off.train()
    xu = ((x + 1) * 127.5).round().to(torch.uint8)
    with torch.no_grad():
        theirs = to_uint8(g_off(xu.float() / 127.5 - 1, c))
    mine = adapter.generate({"source": xu, "attributes": c, "path": ["a", "b"]}, seeds=[0, 1])
    d8 = int((theirs.int() - mine.int()).abs().max())
    print(f"G through our adapter (uint8 in / out) vs theirs: max |difference| = {d8} of 255")
    worst = max(worst, float(d8))

    # D
    d_off = off.Discriminator(128, 64, 5, 6)
    randomize(d_off, 99)
    model = StarGANModel(adapter.cfg, info())
    strict_load(model.D, d_off.state_dict(), "official Discriminator")
    with torch.no_grad():
        (s_off, c_off), (s_ours, c_ours) = d_off(x), model.D(x)
    worst = max(worst, report("D_src", s_off, s_ours))
    worst = max(worst, report("D_cls", c_off, c_ours))

    # gradient penalty and classification loss, by their solver's methods
    fake = torch.tanh(torch.randn((2, 3, 128, 128), generator=gen))
    solver_self = SimpleNamespace(device=torch.device("cpu"))
    torch.manual_seed(3)
    alpha = torch.rand(x.size(0), 1, 1, 1)  # their train(): x_hat from one draw
    x_hat = (alpha * x.data + (1 - alpha) * fake.data).requires_grad_(True)
    gp_off = sol.Solver.gradient_penalty(solver_self, d_off(x_hat)[0], x_hat)
    torch.manual_seed(3)
    gp_ours = model.gradient_penalty(x, fake)
    worst = max(worst, report(f"gradient penalty ({float(gp_off.detach()):.6g})", gp_off.detach(), gp_ours.detach()))
    logit = torch.randn((16, 5), generator=gen) * 3
    target = (torch.rand((16, 5), generator=gen) < 0.5).float()
    with contextlib.redirect_stderr(io.StringIO()):  # their size_average=False: a deprecation warning
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cls_off = sol.Solver.classification_loss(None, logit, target, "CelebA")
    cls_ours = model.classification_loss(logit, target)
    worst = max(worst, report(f"classification loss ({float(cls_off):.6g})", cls_off, cls_ours))
    return worst


def compare_training(sol, tmp: Path, iters: int = 12) -> float:
    import warnings

    import torch

    from reference_models.common import strict_load
    from reference_models.configs import get_config
    from reference_models.stargan import StarGANModel
    from reference_models.trainer import StepContext

    attrs = ("Black_Hair", "Blond_Hair", "Male")
    size, bs, n_batches = 32, 4, 5
    opt = dict(c_dim=3, c2_dim=8, image_size=size, g_conv_dim=8, d_conv_dim=8, g_repeat_num=2, d_repeat_num=3,
               lambda_cls=1.0, lambda_rec=10.0, lambda_gp=10.0, dataset="CelebA", batch_size=bs, num_iters=iters,
               num_iters_decay=6, g_lr=1e-4, d_lr=1e-4, n_critic=5, beta1=0.5, beta2=0.999, resume_iters=None,
               selected_attrs=list(attrs), test_iters=iters, use_tensorboard=False, log_dir=str(tmp / "logs"),
               sample_dir=str(tmp / "samples"), model_save_dir=str(tmp / "models"), result_dir=str(tmp / "results"),
               log_step=10**9, sample_step=10**9, model_save_step=10**9, lr_update_step=2)
    gen = torch.Generator().manual_seed(11)
    images = [torch.randint(0, 256, (bs, 3, size, size), generator=gen, dtype=torch.uint8) for _ in range(n_batches)]
    labels = [(torch.rand((bs, 3), generator=gen) < 0.5).float() for _ in range(n_batches)]
    loader = [(u.float() / 127.5 - 1, lab) for u, lab in zip(images, labels)]
    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        solver = sol.Solver(loader, None, SimpleNamespace(**opt))
    cfg = get_config("stargan", "paper", info((size, size), attrs), g_conv_dim=8, d_conv_dim=8, g_repeat_num=2,
                     d_repeat_num=3, batch_size=bs, steps=iters, num_iters_decay=6, lr_update_step=2)
    model = StarGANModel(cfg, info((size, size), attrs))
    strict_load(model.G, solver.G.state_dict(), "official G")
    strict_load(model.D, solver.D.state_dict(), "official D")
    model.train()
    opts = model.optimizers()
    base = {"G": [cfg.lr_g], "D": [cfg.lr_d]}
    ctx = StepContext(torch.device("cpu"), False, {})

    torch.manual_seed(5)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solver.train()
    torch.manual_seed(5)
    for i in range(iters):
        model.schedule(i, iters, opts, base)
        j = (i + 1) % n_batches  # their train() takes the first batch as its fixed sample, then cycles
        ctx.global_step = i
        model.train_step({"source": images[j], "source_attributes": labels[j]}, opts, ctx)
    model.schedule(iters, iters, opts, base)  # their last decay comes after the last iteration
    worst = 0.0
    for name, theirs, mine in (("G", solver.G, model.G), ("D", solver.D, model.D)):
        so, sm = theirs.state_dict(), mine.state_dict()
        diff = max(float((so[k].double() - sm[k].double()).abs().max()) for k in so)
        print(f"training, {iters} iterations (2 G updates): {name} weights and buffers, max |ours - official| = "
              f"{diff:.3g}")
        worst = max(worst, diff)
    lrs = [(solver.g_optimizer.param_groups[0]["lr"], opts["G"].param_groups[0]["lr"]),
           (solver.d_optimizer.param_groups[0]["lr"], opts["D"].param_groups[0]["lr"])]
    dl = max(abs(a - b) for a, b in lrs)
    print(f"training: learning rates after the run, official G {lrs[0][0]!r} D {lrs[1][0]!r}, ours "
          f"{lrs[0][1]!r} {lrs[1][1]!r}: |difference| {dl:.3g}")
    return max(worst, dl)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--git", required=True, help=f"bare git dir of {REPO}")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--write-fixtures", default=None, help="folder for celeba_128_5attrs_G.json")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    commit = subprocess.run(["git", f"--git-dir={args.git}", "rev-parse", args.commit], check=True,
                            capture_output=True, text=True).stdout.strip()
    off, sol, digests, tmp = official_modules(args.git, commit)
    print(f"official code: {REPO} at {commit[:12]} (" + ", ".join(f"{n} sha256 {d[:16]}..." for n, d in digests.items())
          + f"; imported from {tmp})")

    if args.write_fixtures:
        out = Path(args.write_fixtures) / "celeba_128_5attrs_G.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        keys = {k: list(v.shape) for k, v in off.Generator(64, 5, 6).state_dict().items()}
        source = (f"{REPO} model.py (commit {commit}, sha256 {digests['model.py']}): Generator(conv_dim=64, c_dim=5, "
                  "repeat_num=6), the network of the released celeba-128x128-5attrs/200000-G.ckpt (main.py "
                  "defaults, --c_dim 5 --selected_attrs Black_Hair Blond_Hair Brown_Hair Male Young); instantiated "
                  f"with torch {torch.__version__} (num_batches_tracked entries included); listed by "
                  "benchmarks/oracle_stargan.py")
        rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in keys.items())
        out.write_text(f'{{\n"source": {json.dumps(source)},\n"class": "Generator",\n'
                       f'"options": {{"conv_dim": 64, "c_dim": 5, "repeat_num": 6}},\n"keys": {{\n{rows}\n}}\n}}\n')
        print(f"wrote {out} ({len(keys)} keys)")

    worst = compare_networks(off, sol, tmp)
    worst = max(worst, compare_training(sol, tmp))
    print(f"largest difference: {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
