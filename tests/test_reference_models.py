"""Reference GANs (pix2pix, pix2pixHD, SPADE), parametrized over the registered reference methods: shapes, the
adapter contract, training lowers the loss, save/load, exact resume, and one-line errors for bad checkpoints."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from bench.adapter import get_method
from bench.conformance import run_checks
from bench.errors import BenchError
from reference_models import METHODS as ALL_METHODS
from reference_models.common import atomic_save
from reference_models.trainer import Trainer, _collate

from conftest import Subset, info_for  # noqa: E402 - the tests folder is on sys.path

# every registered reference method of the semantic track with its mini configs (a new method in
# reference_models.METHODS is tested too; the class-conditional ones in tests/test_reference_class_models.py)
METHODS = {m: cls for m, cls in ALL_METHODS.items() if "semantic" in cls.tasks}
MINI = [(m, c) for m in sorted(METHODS) for c in ("mini", "mini-vae", "mini-feat")
        if c in __import__("reference_models.configs", fromlist=["NAMED"]).NAMED[m]]


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one intra-op thread


def fake_batch(num_classes, resolution, b=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    h, w = resolution
    label = torch.randint(0, num_classes, (b, 1, h // 8, w // 8), generator=g)
    label = label.repeat_interleave(8, 2).repeat_interleave(8, 3)
    return {"label": label, "instance": label * 1000, "image": torch.randint(0, 256, (b, 3, h, w), generator=g,
                                                                              dtype=torch.uint8),
            "path": [f"x{i}" for i in range(b)]}


def test_registered():
    from bench.adapter import method_names

    names = method_names()
    for m in ("pix2pix", "pix2pixhd", "spade"):
        assert m in names
        assert get_method(m) is METHODS[m]


@pytest.mark.parametrize("method,config", MINI)
@pytest.mark.parametrize("resolution", [(64, 64), (32, 64)])
def test_forward_shapes(train_ds, method, config, resolution):
    info = info_for(train_ds, resolution)
    gen = get_method(method)(info, config=config)
    batch = fake_batch(info.num_classes, resolution, b=2)
    out = gen.generate(batch, seeds=[1, 2])
    assert out.dtype == torch.uint8 and tuple(out.shape) == (2, 3, *resolution)


@pytest.mark.parametrize("method,config", MINI)
def test_adapter_contract(train_ds, method, config):
    """What ``bench check-adapter`` runs: output, determinism, multimodality (if claimed), batch independence."""
    info = info_for(train_ds)
    gen = get_method(method)(info, config=config)
    batch = _collate([train_ds[i] for i in range(3)])
    checks = run_checks(gen, batch, [11, 12, 13])
    bad = [f"{c.name}: {c.message}" for c in checks if not c.ok]
    assert not bad, bad


@pytest.mark.parametrize("method", sorted(METHODS))
def test_training_lowers_loss_on_fixed_batch(train_ds, method):
    """20 steps on one fixed batch lower the L1 distance of the generated images to the real ones (the adversarial
    and feature-matching terms move with the discriminator, so the reconstruction distance is the monitored loss;
    for pix2pix it is its own L1 term)."""
    info = info_for(train_ds)
    gen = get_method(method)(info, config="mini")
    batch = _collate([train_ds[i] for i in range(4)])
    seeds = [0, 1, 2, 3]

    def l1():
        return (gen.generate(batch, seeds=seeds).float() - batch["image"].float()).abs().mean().item()

    before = l1()
    torch.manual_seed(0)
    opts = gen.model.optimizers()
    from reference_models.trainer import StepContext

    ctx = StepContext(torch.device("cpu"), False, {})
    gen.model.train()
    first = last = None
    for _ in range(20):
        losses = gen.model.train_step(batch, opts, ctx)
        first = losses if first is None else first
        last = losses
    after = l1()
    # DSGAN's objective pushes each label map's samples apart (L_z 8 against L1 10), so their distance to the one
    # real image falls slower: 8.6 % in these 20 steps (measured), where the others fall by more than 10 %
    assert after < before * (0.95 if method == "dsgan" else 0.9), (before, after)
    if "G_L1" in last:
        assert last["G_L1"] < first["G_L1"], (first, last)


@pytest.mark.parametrize("method,config", MINI)
def test_save_load_identical(tmp_path, train_ds, method, config):
    info = info_for(train_ds)
    gen = get_method(method)(info, config=config)
    gen.train(Subset(train_ds, 8), out_dir=str(tmp_path / "run"), seed=3, steps=2)
    path = atomic_save(gen.generator_state(), tmp_path / "g.pth")
    batch = _collate([train_ds[i] for i in range(2)])
    again = get_method(method)(info, config=config, checkpoint=str(path))
    assert torch.equal(gen.generate(batch, seeds=[5, 6]), again.generate(batch, seeds=[5, 6]))
    # the trainer's generator.pth is the same kind of file
    again2 = get_method(method)(info, config=config, checkpoint=str(tmp_path / "run" / "generator.pth"))
    assert torch.equal(gen.generate(batch, seeds=[5, 6]), again2.generate(batch, seeds=[5, 6]))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_exact_resume(tmp_path, train_ds, method):
    info = info_for(train_ds)
    data = Subset(train_ds, 12)

    def make():
        g = get_method(method)(info, config="mini")
        g.cfg = g.cfg.replace(save_every=2, sample_every=0, batch_size=4)
        return g

    full = make()
    Trainer(full, data, out_dir=tmp_path / "full", seed=7, steps=4, progress=False).run()
    part = make()
    Trainer(part, data, out_dir=tmp_path / "part", seed=7, steps=4, progress=False, stop_after=2).run()
    rec = json.loads((tmp_path / "part" / "train.json").read_text())
    assert rec["step"] == 2 and not rec["complete"]
    resumed = make()  # a fresh process would start from new random weights: the checkpoint must restore all
    Trainer(resumed, data, out_dir=tmp_path / "part", seed=7, steps=4, progress=False).run()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    diff = [k for k in a if not torch.equal(a[k], b[k])]
    assert not diff, diff[:5]
    rec = json.loads((tmp_path / "part" / "train.json").read_text())
    assert rec["step"] == 4 and rec["complete"] and rec["vgg_loss"]
    # checkpoints are plain tensors (model) and weights_only-loadable state
    ck = tmp_path / "part" / "checkpoints"
    latest = json.loads((ck / "latest.json").read_text())
    torch.load(ck / latest["state"], weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in torch.load(ck / latest["nets"], weights_only=True).values())


def test_resume_refuses_other_run(tmp_path, train_ds):
    info = info_for(train_ds)
    g = get_method("pix2pix")(info, config="mini")
    g.cfg = g.cfg.replace(sample_every=0)
    Trainer(g, Subset(train_ds, 8), out_dir=tmp_path, seed=1, steps=1, progress=False).run()
    with pytest.raises(BenchError, match="seed=1"):
        Trainer(g, Subset(train_ds, 8), out_dir=tmp_path, seed=2, steps=1, progress=False).run()


def test_training_folder_in_use_is_refused(tmp_path, train_ds):
    from bench.locks import DirLock

    g = get_method("pix2pix")(info_for(train_ds), config="mini")
    g.cfg = g.cfg.replace(sample_every=0)
    with DirLock(tmp_path / "t", "run directory"):  # e.g. a concurrent `bench run --train` into the same folder
        with pytest.raises(BenchError, match="training folder .* is in use by another process"):
            Trainer(g, Subset(train_ds, 8), out_dir=tmp_path / "t", seed=1, steps=1, progress=False).run()
    assert not (tmp_path / "t" / "checkpoints").exists()  # nothing written


def test_log_lines_without_a_terminal(tmp_path, train_ds, capsys):
    g = get_method("pix2pix")(info_for(train_ds), config="mini")
    g.cfg = g.cfg.replace(sample_every=0, save_every=1, batch_size=2)
    Trainer(g, Subset(train_ds, 8), out_dir=tmp_path, seed=1, steps=2).run()  # pytest's stderr is no terminal
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("train pix2pix/mini:")]
    assert [ln.split(",")[0] for ln in lines] == ["train pix2pix/mini: step 1/2", "train pix2pix/mini: step 2/2"]
    assert "img/s" in lines[-1] and "G_" in lines[-1], lines


# ----------------------------------------------------------------------------- bad checkpoints: one clear line

@pytest.fixture(scope="module")
def saved(tmp_path_factory, train_ds):
    d = tmp_path_factory.mktemp("ckpts")
    info = info_for(train_ds)
    out = {}
    for m in sorted(METHODS):
        out[m] = str(atomic_save(get_method(m)(info, config="mini").generator_state(), d / f"{m}.pth"))
    return d, out


def _one_line(exc):
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


def test_wrong_method(saved, train_ds):
    _, paths = saved
    with pytest.raises(BenchError) as e:
        get_method("spade")(info_for(train_ds), config="mini", checkpoint=paths["pix2pix"])
    assert "trained for method 'pix2pix', not 'spade'" in _one_line(e)


def test_wrong_label_count(saved, train_ds):
    _, paths = saved
    with pytest.raises(BenchError) as e:
        get_method("spade")(info_for(train_ds, num_classes=9), config="mini", checkpoint=paths["spade"])
    assert "8 label classes" in _one_line(e) and "9" in str(e.value)


def test_wrong_label_channels_without_meta(saved, train_ds, tmp_path):
    """An authors'-style file (no _meta entries) with another label count names the channel mismatch."""
    _, paths = saved
    state = {k: v for k, v in torch.load(paths["pix2pixhd"], weights_only=True).items() if not k.startswith("_meta.")}
    p = atomic_save(state, tmp_path / "noinfo.pth")
    with pytest.raises(BenchError) as e:
        get_method("pix2pixhd")(info_for(train_ds, num_classes=12), config="mini", checkpoint=str(p))
    assert "label channels" in _one_line(e)


def test_wrong_config(saved, train_ds, tmp_path):
    _, paths = saved
    state = {k: v for k, v in torch.load(paths["spade"], weights_only=True).items() if not k.startswith("_meta.")}
    p = atomic_save(state, tmp_path / "s.pth")
    with pytest.raises(BenchError) as e:
        get_method("spade")(info_for(train_ds), config="mini-vae", checkpoint=str(p))
    assert "does not match" in _one_line(e) or "shape" in str(e.value)


def test_truncated(saved, train_ds, tmp_path):
    _, paths = saved
    raw = open(paths["spade"], "rb").read()
    p = tmp_path / "trunc.pth"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(BenchError) as e:
        get_method("spade")(info_for(train_ds), config="mini", checkpoint=str(p))
    assert "truncated" in _one_line(e)


class Evil:
    def __reduce__(self):
        return (print, ("owned",))


def test_pickled_object(train_ds, tmp_path):
    p = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, p)
    with pytest.raises(BenchError) as e:
        get_method("pix2pix")(info_for(train_ds), config="mini", checkpoint=str(p))
    assert "not a plain state dict" in _one_line(e)
    p2 = tmp_path / "plain.pkl"
    p2.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(BenchError) as e:
        get_method("pix2pix")(info_for(train_ds), config="mini", checkpoint=str(p2))
    _one_line(e)


def test_unknown_config_and_key(train_ds):
    from reference_models.configs import get_config

    with pytest.raises(BenchError, match="did you mean 'mini'"):
        get_method("spade")(info_for(train_ds), config="minni")
    with pytest.raises(BenchError, match="unknown key 'ngff'"):
        get_config("spade", "mini", ngff=3)


# ----------------------------------------------------------------------------- VGG perceptual loss

def test_vgg_loss_matches_torchvision_relu_outputs():
    """Our sliced VGG19 loss equals one computed from torchvision's own VGG19 via hooks on relu{1..5}_1."""
    import torch.nn.functional as F
    import torchvision

    from reference_models.losses import VGG19Features, VGGLoss

    torch.manual_seed(0)
    net = torchvision.models.vgg19(weights=None).eval()
    loss = VGGLoss.__new__(VGGLoss)
    loss.vgg, loss.enabled, loss.status = VGG19Features(net.features), True, "test"
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1

    def relu_outputs(img):
        feats = {}
        hooks = [net.features[i].register_forward_hook(lambda m, a, o, i=i: feats.__setitem__(i, o))
                 for i in (1, 6, 11, 20, 29)]  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 in vgg19.features
        with torch.no_grad():
            net.features(img)
        for h in hooks:
            h.remove()
        return [feats[i] for i in (1, 6, 11, 20, 29)]

    want = sum(w * F.l1_loss(a, b) for w, a, b in zip((1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0), relu_outputs(x), relu_outputs(y)))
    assert float(loss(x, y)) == pytest.approx(float(want), rel=1e-6)


def test_vgg_loss_without_weights_warns_once_and_is_recorded(tmp_path, train_ds, recwarn):
    from reference_models import losses

    losses._warned.discard("vgg")
    a, b = losses.VGGLoss(), losses.VGGLoss()
    assert not a.enabled and a(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8)) is None
    msgs = [str(w.message) for w in recwarn if "VGG perceptual loss disabled" in str(w.message)]
    assert len(msgs) == 1 and "\n" not in msgs[0] and "vgg19-dcbe5be5.pth" in msgs[0], msgs
    assert b.status.startswith("disabled: VGG19 weights unavailable") and "looked in" in b.status
    g = get_method("spade")(info_for(train_ds), config="mini")
    g.cfg = g.cfg.replace(sample_every=0, batch_size=2)
    Trainer(g, Subset(train_ds, 4), out_dir=tmp_path, seed=0, steps=1, progress=False).run()
    assert json.loads((tmp_path / "train.json").read_text())["vgg_loss"].startswith("disabled: VGG19 weights")
