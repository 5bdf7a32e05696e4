"""Same weights, same outputs: our MUNIT and UNIT against the authors' classes, run outside the test suite.

    python benchmarks/oracle_munit.py --git DIR [--commit C] [--unit-git DIR] [--write-fixtures DIR]

``--git`` is a bare clone of NVlabs/MUNIT (the ``fetch`` tool's snapshot works), which holds both methods:
``networks.py`` (``AdaINGen``, ``VAEGen``, ``MsImageDis``), ``trainer.py`` (``MUNIT_Trainer``, ``UNIT_Trainer``),
``utils.py`` and ``data.py`` (imported by the trainers) and ``configs/edges2shoes_folder.yaml``. ``--unit-git`` is a
bare clone of mingyuliutw/UNIT for ``configs/unit_edges2shoes_folder.yaml`` (UNIT's loss weights) and
``configs/unit_gta2city_list.yaml`` (the released UNIT model's generator); without it the script says which values
it assumes. The four files are written to a temporary folder and imported from there, with two stand-ins so that
code of 2018 runs on a CPU with today's torch: ``torch.utils.serialization`` (gone since torch 1.0; ``utils.py``
imports ``load_lua`` from it, for a VGG model this script does not use) is an empty module, and ``Tensor.cuda``
returns the tensor itself (the trainers and ``VAEGen.encode`` move every random draw to the GPU). Nothing of theirs
(CC BY-NC-SA 4.0) is copied into the project.

For each method the authors' trainer is built from the config (``MUNIT_Trainer(hyperparameters)``), every float
tensor of it redrawn (seeded), and its state dict loaded strictly into our model: the trainer's state-dict keys
(``gen_a.*``, ``gen_b.*``, ``dis_a.*``, ``dis_b.*``) are our model's. The generator pair also goes through the release
loader (``munit.official_to_ours`` of ``{'a': gen_a, 'b': gen_b}`` + ``normalize_release`` + strict load). Then, in
float32 on one CPU thread, it prints the largest absolute difference of: MUNIT's encode (content, style), decode with
a given style, the A -> B translation with a given z (``test.py --a2b 1``), the discriminator's outputs at each scale;
UNIT's encode (hiddens; the noise draws too, with the same seed), decode, A -> B translation; and for both one full
training iteration with the same seed and batch: the authors' ``dis_update`` + ``gen_update`` (every loss term they
store) against our ``train_step`` (the same terms), and every weight after the two Adam steps. A few weights may
differ by up to about twice the learning rate after an iteration: those whose gradient is zero up to rounding (e.g.
the bias of a convolution followed by InstanceNorm, which removes any per-channel constant) or nearly so, which
Adam's first steps (a gradient over its own magnitude) turn into moves of +-lr either way; the script counts them.

With ``--write-fixtures DIR`` it writes ``DIR/munit/edges2shoes_gen.json`` and ``DIR/unit/gta2city_gen.json``: every
key and shape of the released generator files (``{'a': ..., 'b': ...}`` flattened to ``a.<key>`` / ``b.<key>``), with
the source files' repository, commit and sha256, for ``tests/test_reference_munit.py``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib
import json
import subprocess
import sys
import tempfile
import types
from pathlib import Path

MUNIT_REPO = "NVlabs/MUNIT"
UNIT_REPO = "mingyuliutw/UNIT"
FILES = ("networks.py", "trainer.py", "utils.py", "data.py")
MUNIT_CONFIG = "configs/edges2shoes_folder.yaml"
UNIT_CONFIG = "configs/unit_edges2shoes_folder.yaml"
UNIT_RELEASE_CONFIG = "configs/unit_gta2city_list.yaml"
# UNIT's loss weights when no UNIT clone is given (configs/unit_edges2shoes_folder.yaml at 28d5982)
UNIT_WEIGHTS = {"recon_kl_w": 0.01, "recon_x_cyc_w": 10, "recon_kl_cyc_w": 0.01, "recon_h_w": 0}


def git_show(git_dir: str, commit: str, path: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def rev_parse(git_dir: str, rev: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", "rev-parse", rev], check=True, capture_output=True,
                          text=True).stdout.strip()


def official_modules(texts: dict[str, str]):
    """Their networks / trainer modules, imported from a temporary folder (see the module doc for the stand-ins)."""
    import torch

    tmp = Path(tempfile.mkdtemp(prefix="oracle-munit-"))
    for name, text in texts.items():
        (tmp / name).write_text(text)
    sys.modules.setdefault("torch.utils.serialization", types.ModuleType("torch.utils.serialization"))
    sys.modules["torch.utils.serialization"].load_lua = None  # type: ignore[attr-defined]
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # CPU only: their .cuda() calls become no-ops
    for name in ("networks", "trainer", "utils", "data"):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(tmp))
    try:
        networks = importlib.import_module("networks")
        trainer = importlib.import_module("trainer")
    finally:
        sys.path.remove(str(tmp))
    return networks, trainer, tmp


def randomize(module, seed: int) -> None:
    """Every float tensor redrawn: N(0, 0.05) (weights, biases, LayerNorm beta), gamma in [0.5, 1.5)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, p in module.state_dict().items():
            if not p.is_floating_point():
                continue
            if k.endswith(("gamma", "running_var")):
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)


def ours(method: str):
    from bench.adapter import DatasetInfo
    from reference_models.munit import MUNIT, UNIT

    cls = {"munit": MUNIT, "unit": UNIT}[method]
    return cls(DatasetInfo("oracle", 0, (64, 80), task="unpaired"), config="paper")


def maxdiff(a, b) -> float:
    return float((a.detach().float() - b.detach().float()).abs().max())


def report(label: str, a, b) -> float:
    d = maxdiff(a, b)
    print(f"  {label}: {list(a.shape)}, max |ours - official| = {d:.3g} (official spans "
          f"{float(a.min()):.3g}..{float(a.max()):.3g})")
    return d


def load_pair_and_model(official, model, method: str) -> None:
    """Their trainer's state dict into our model (strict), and their generator pair through the release loader."""
    from bench.checkpoints import normalize_release
    from reference_models.common import strict_load
    from reference_models.munit import official_to_ours

    state = official.state_dict()
    strict_load(model, state, f"{method} trainer state")
    release = {"a": official.gen_a.state_dict(), "b": official.gen_b.state_dict()}
    pair = model.generator_module()
    strict_load(pair, normalize_release(pair, official_to_ours(release)), f"{method} released pair")
    print(f"  loaded: the trainer's {len(state)} keys into our model, and the {len(pair.state_dict())} keys of "
          "{'a': gen_a, 'b': gen_b} through official_to_ours: strict")


def compare_iteration(official, model, opts, hp: dict, x_a, x_b, terms: dict[str, tuple[str, str]],
                      seed: int = 99) -> float:
    """One iteration of theirs (dis_update, gen_update) and of ours (train_step, Adam states ``opts``) from equal
    weights, with equal seeds."""
    import torch

    from reference_models.trainer import StepContext

    official.train()
    model.train()
    torch.manual_seed(seed)
    official.dis_update(x_a, x_b, hp)
    official.gen_update(x_a, x_b, hp)
    torch.manual_seed(seed)
    batch = {"source": ((x_a + 1) * 127.5).round().to(torch.uint8), "image": ((x_b + 1) * 127.5).round().to(torch.uint8)}
    logs = model.train_step(batch, opts, StepContext(torch.device("cpu"), False, {}))
    worst = 0.0
    rows = [("D (loss_dis_total)", float(official.loss_dis_total.detach()), logs["D"])]
    for ours_key, theirs in terms.items():
        weight = hp[theirs[1]]
        rows.append((f"{ours_key} ({weight} * {theirs[0]})", float(getattr(official, theirs[0]).detach()) * weight,
                     logs[ours_key]))
    total = sum(v for k, v in logs.items() if k != "D")
    rows.append(("G total (loss_gen_total)", float(official.loss_gen_total.detach()), total))
    for label, a, b in rows:
        d = abs(a - b)
        worst = max(worst, d / max(abs(a), 1e-12))
        print(f"  {label}: official {a:.7g}, ours {b:.7g}, |diff| {d:.3g}")
    theirs, mine = official.state_dict(), model.state_dict()
    w = max(maxdiff(theirs[k], mine[k]) for k in theirs)
    n_off = sum(int(((theirs[k].float() - mine[k].float()).abs() > 1e-6).sum()) for k in theirs)
    n_all = sum(t.numel() for t in theirs.values())
    lr = opts["G"].param_groups[0]["lr"]
    print(f"  weights after the iteration (both Adam steps, weight decay): max |ours - official| = {w:.3g} "
          f"(lr {lr:g}); {n_off} of {n_all} weights differ by more than 1e-6")
    return max(worst, w)


def sync(official, model, opts) -> None:
    """Our weights and Adam states set to copies of theirs (the parameters are in the same order; a state dict holds
    the optimiser's own tensors, which ``load_state_dict`` would share)."""
    model.load_state_dict(official.state_dict())
    opts["G"].load_state_dict(copy.deepcopy(official.gen_opt.state_dict()))
    opts["D"].load_state_dict(copy.deepcopy(official.dis_opt.state_dict()))


def setup(trainer_cls, hp: dict, method: str, seed: int):
    """Their trainer (random weights) and our model holding the same weights, both in eval mode."""
    import torch

    torch.manual_seed(0)
    official = trainer_cls(hp)
    randomize(official, seed)
    model = ours(method).model
    load_pair_and_model(official, model, method)
    official.eval()
    model.eval()
    return official, model


def munit_part(off_trainer, hp: dict, x_a, x_b) -> float:
    import torch

    print("MUNIT (MUNIT_Trainer, configs/edges2shoes_folder.yaml) vs our munit 'paper'")
    official, model = setup(off_trainer.MUNIT_Trainer, hp, "munit", 1234)
    worst = 0.0
    z = torch.randn((x_a.shape[0], hp["gen"]["style_dim"], 1, 1), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        c0, s0 = official.gen_a.encode(x_a)
        c1, s1 = model.gen_a.encode(x_a)
        worst = max(worst, report("gen_a.encode content", c0, c1), report("gen_a.encode style", s0, s1))
        worst = max(worst, report("gen_b.decode(content, z)", official.gen_b.decode(c0, z), model.gen_b.decode(c0, z)))
        worst = max(worst, report("gen_a(x) (decode(encode(x)))", official.gen_a(x_a), model.gen_a(x_a)))
        ab0 = official.gen_b.decode(official.gen_a.encode(x_a)[0], z)  # test.py --a2b 1 with a given z
        worst = max(worst, report("A -> B translation with z", ab0, model.translate(x_a, style=z)))
        for i, (d0, d1) in enumerate(zip(official.dis_b(x_b), model.dis_b(x_b))):
            worst = max(worst, report(f"dis_b scale {i}", d0, d1))
    terms = {"adv_a": ("loss_gen_adv_a", "gan_w"), "adv_b": ("loss_gen_adv_b", "gan_w"),
             "recon_x_a": ("loss_gen_recon_x_a", "recon_x_w"), "recon_s_a": ("loss_gen_recon_s_a", "recon_s_w"),
             "recon_c_a": ("loss_gen_recon_c_a", "recon_c_w"), "recon_x_b": ("loss_gen_recon_x_b", "recon_x_w"),
             "recon_s_b": ("loss_gen_recon_s_b", "recon_s_w"), "recon_c_b": ("loss_gen_recon_c_b", "recon_c_w")}
    print(" one training iteration (dis_update + gen_update vs train_step), batch 1 as the config:")
    opts = model.optimizers()
    worst = max(worst, compare_iteration(official, model, opts, hp, x_a[:1], x_b[:1], terms))
    hp_cyc = {**hp, "recon_x_cyc_w": 10}
    model.cfg = model.cfg.replace(recon_x_cyc_w=10.0)
    sync(official, model, opts)
    terms_cyc = {**terms, "cycrecon_x_a": ("loss_gen_cycrecon_x_a", "recon_x_cyc_w"),
                 "cycrecon_x_b": ("loss_gen_cycrecon_x_b", "recon_x_cyc_w")}
    print(" a second iteration with recon_x_cyc_w 10 (summer2winter's setting), batch 2, both sides from the "
          "authors' weights and Adam states after the first:")
    worst = max(worst, compare_iteration(official, model, opts, hp_cyc, x_a, x_b, terms_cyc, seed=7))
    return worst


def unit_part(off_trainer, hp: dict, x_a, x_b) -> float:
    import torch

    print("UNIT (UNIT_Trainer, configs/unit_edges2shoes_folder.yaml) vs our unit 'paper'")
    official, model = setup(off_trainer.UNIT_Trainer, hp, "unit", 4321)
    worst = 0.0
    with torch.no_grad():
        torch.manual_seed(3)
        h0, n0 = official.gen_a.encode(x_a)
        torch.manual_seed(3)
        h1, n1 = model.gen_a.encode(x_a)
        worst = max(worst, report("gen_a.encode hiddens", h0, h1), report("gen_a.encode noise (same seed)", n0, n1))
        worst = max(worst, report("gen_b.decode(hiddens)", official.gen_b.decode(h0), model.gen_b.decode(h0)))
        ab0 = official.gen_b.decode(official.gen_a.encode(x_a)[0])  # test.py --trainer UNIT --a2b 1
        worst = max(worst, report("A -> B translation", ab0, model.translate(x_a)))
        for i, (d0, d1) in enumerate(zip(official.dis_a(x_a), model.dis_a(x_a))):
            worst = max(worst, report(f"dis_a scale {i}", d0, d1))
    terms = {"adv_a": ("loss_gen_adv_a", "gan_w"), "adv_b": ("loss_gen_adv_b", "gan_w"),
             "recon_x_a": ("loss_gen_recon_x_a", "recon_x_w"), "recon_kl_a": ("loss_gen_recon_kl_a", "recon_kl_w"),
             "recon_x_b": ("loss_gen_recon_x_b", "recon_x_w"), "recon_kl_b": ("loss_gen_recon_kl_b", "recon_kl_w"),
             "cyc_x_a": ("loss_gen_cyc_x_a", "recon_x_cyc_w"),
             "recon_kl_cyc_aba": ("loss_gen_recon_kl_cyc_aba", "recon_kl_cyc_w"),
             "cyc_x_b": ("loss_gen_cyc_x_b", "recon_x_cyc_w"),
             "recon_kl_cyc_bab": ("loss_gen_recon_kl_cyc_bab", "recon_kl_cyc_w")}
    print(" one training iteration (dis_update + gen_update vs train_step), batch 2:")
    worst = max(worst, compare_iteration(official, model, model.optimizers(), hp, x_a, x_b, terms))
    return worst


def write_fixture(path: Path, source: str, cls: str, options: dict, gen_a, gen_b) -> None:
    keys = {f"{d}.{k}": list(v.shape) for d, g in (("a", gen_a), ("b", gen_b)) for k, v in g.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in keys.items())
    path.write_text(f'{{\n"source": {json.dumps(source)},\n"class": {json.dumps(cls)},\n'
                    f'"options": {json.dumps(options)},\n"keys": {{\n{rows}\n}}\n}}\n')
    print(f"wrote {path} ({len(keys)} keys)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--git", required=True, help=f"bare git dir of {MUNIT_REPO}")
    ap.add_argument("--commit", default="HEAD", help="commit of the MUNIT files (default HEAD)")
    ap.add_argument("--unit-git", default=None, help=f"bare git dir of {UNIT_REPO} (UNIT's configs)")
    ap.add_argument("--write-fixtures", default=None, help="folder for munit/edges2shoes_gen.json and "
                                                           "unit/gta2city_gen.json")
    args = ap.parse_args(argv)

    import torch
    import yaml

    torch.set_num_threads(1)
    commit = rev_parse(args.git, args.commit)
    texts = {name: git_show(args.git, commit, name) for name in FILES}
    digests = {name: hashlib.sha256(t.encode()).hexdigest() for name, t in texts.items()}
    networks, off_trainer, tmp = official_modules(texts)
    print(f"official code: {MUNIT_REPO} at {commit[:12]} ({', '.join(f'{n} sha256 {d[:12]}' for n, d in digests.items())}"
          f"; imported from {tmp})")
    hp = yaml.safe_load(git_show(args.git, commit, MUNIT_CONFIG))
    hp["vgg_model_path"] = "."
    if args.unit_git:
        unit_commit = rev_parse(args.unit_git, "HEAD")
        hp_unit = yaml.safe_load(git_show(args.unit_git, unit_commit, UNIT_CONFIG))
        gen_release = yaml.safe_load(git_show(args.unit_git, unit_commit, UNIT_RELEASE_CONFIG))["gen"]
        print(f"UNIT configs: {UNIT_REPO} at {unit_commit[:12]} ({UNIT_CONFIG}, {UNIT_RELEASE_CONFIG})")
    else:
        unit_commit = None
        hp_unit = {k: v for k, v in hp.items() if k not in ("recon_s_w", "recon_c_w")}
        hp_unit.update(UNIT_WEIGHTS)
        hp_unit["gen"] = {k: v for k, v in hp["gen"].items() if k not in ("style_dim", "mlp_dim")}
        gen_release = hp_unit["gen"]
        print(f"UNIT configs: assumed ({UNIT_REPO} not given): the MUNIT config with {UNIT_WEIGHTS}")
    hp_unit["vgg_model_path"] = "."

    g = torch.Generator().manual_seed(7)
    x_a = torch.rand((2, 3, 64, 80), generator=g) * 2 - 1
    x_b = torch.rand((2, 3, 64, 80), generator=g) * 2 - 1
    # the images our trainer sees are uint8: quantise, so both sides train on the same values
    x_a, x_b = (((x + 1) * 127.5).round() / 127.5 - 1 for x in (x_a, x_b))

    if args.write_fixtures:
        out = Path(args.write_fixtures)
        torch.manual_seed(0)
        a, b = networks.AdaINGen(3, hp["gen"]), networks.AdaINGen(3, hp["gen"])
        write_fixture(out / "munit" / "edges2shoes_gen.json",
                      f"{MUNIT_REPO} networks.py (commit {commit}, sha256 {digests['networks.py']}): "
                      f"AdaINGen(3, gen) with gen = {MUNIT_CONFIG}'s gen section, twice, as MUNIT_Trainer builds "
                      "gen_a and gen_b and MUNIT_Trainer.save writes them ({'a': gen_a.state_dict(), 'b': "
                      "gen_b.state_dict()}, the released models/edges2shoes.pt); flattened to a.<key> / b.<key>; "
                      "listed by benchmarks/oracle_munit.py", "AdaINGen", hp["gen"], a, b)
        va, vb = networks.VAEGen(3, gen_release), networks.VAEGen(3, gen_release)
        src = f"{UNIT_REPO} {UNIT_RELEASE_CONFIG} (commit {unit_commit})" if unit_commit else "assumed"
        write_fixture(out / "unit" / "gta2city_gen.json",
                      f"{MUNIT_REPO} networks.py (commit {commit}, sha256 {digests['networks.py']}; "
                      f"{UNIT_REPO}'s VAEGen is the same): VAEGen(3, gen) with gen = {src}'s gen section, twice, "
                      "as UNIT_Trainer builds gen_a and gen_b and saves them ({'a': ..., 'b': ...}, the released "
                      "models/unit_gta2city.pt); flattened to a.<key> / b.<key>; listed by "
                      "benchmarks/oracle_munit.py", "VAEGen", gen_release, va, vb)

    worst = max(munit_part(off_trainer, hp, x_a, x_b), unit_part(off_trainer, hp_unit, x_a, x_b))
    print(f"largest difference (outputs and weights absolute, losses relative): {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
