"""The class track's metrics beyond the registry tester (tests/test_metric_registry.py runs each against an independent
reference, batch sizes and shards): intra-class FID's small-n form against 50-digit arithmetic and clean-fid, the
classifier recipe against a hand-written loop, the embedded digits classifier on the real digits, the per-class
metrics' refusals, and the fingerprints of evaluations without classes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bench.cli import main
from bench.errors import BenchError
from bench.evaluate import EvalOptions, evaluate_folders
from bench.metrics.fid_intra import frechet_distance_rows
from conftest import smooth_images, write_folder
from mp_frechet import frechet_distance_mp


@pytest.mark.parametrize("n1,n2,d", [(6, 2, 6), (5, 7, 12), (30, 3, 20), (2, 2, 64)])
def test_intra_fid_small_n_form_is_exact_where_covariances_are_singular(n1, n2, d):
    rng = np.random.default_rng(n1 * 100 + d)
    x, y = rng.standard_normal((n1, d)) * 3, rng.standard_normal((n2, d)) * 2 + 0.5
    want = frechet_distance_mp(x, y)
    assert frechet_distance_rows(x, y) == pytest.approx(want, rel=1e-12)
    # the d x d eigendecomposition form loses ~1e-8 of the value on these singular covariances: why the rows form
    assert frechet_distance_rows(x, y, "moments") == pytest.approx(want, rel=1e-5)


def test_intra_fid_takes_the_moments_form_when_there_are_many_rows_and_agrees_with_clean_fid():
    from cleanfid.fid import frechet_distance as clean_fid_frechet

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((40, 5)), rng.standard_normal((50, 5)) @ rng.standard_normal((5, 5)) + 1
    want = clean_fid_frechet(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert frechet_distance_rows(x, y) == pytest.approx(want, rel=1e-9)  # auto: 40 x 50 >= 5^2 -> moments
    assert frechet_distance_rows(x, y, "rows") == pytest.approx(want, rel=1e-9)
    assert frechet_distance_mp(x, y) == pytest.approx(want, rel=1e-9)


def test_the_classifier_recipe_is_a_plain_adam_loop():
    """bench.classifiers.cnn.train (the embedded classifier's and CAS's recipe) equals this direct loop, seed for
    seed: the same initial weights, minibatches, shifts, schedule and updates."""
    from bench.classifiers import cnn

    gen = np.random.default_rng(0)
    x = torch.from_numpy(gen.integers(0, 256, (20, 3, 12, 12), dtype=np.uint8))
    y = torch.from_numpy(gen.integers(0, 4, 20))
    opts = cnn.TrainOptions(steps=5, batch_size=8, lr=1e-2, shift=1)
    got = cnn.train(x, y, 4, opts, seed=7)

    torch.manual_seed(7)
    net = cnn.build_net(4).train()
    g = torch.Generator().manual_seed(7)
    adam = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
    for step in range(5):
        idx = torch.randint(0, 20, (8,), generator=g)
        xb = x[idx].float() / 127.5 - 1
        padded = F.pad(xb, [1, 1, 1, 1], mode="replicate")
        dy = torch.randint(0, 3, (8, 1), generator=g)
        dx = torch.randint(0, 3, (8, 1), generator=g)
        xb = torch.stack([padded[i, :, dy[i, 0]:dy[i, 0] + 12, dx[i, 0]:dx[i, 0] + 12] for i in range(8)])
        loss = F.cross_entropy(net(xb), y[idx])
        adam.zero_grad()
        loss.backward()
        adam.step()
        for group in adam.param_groups:  # cosine annealing to 0 over the steps
            group["lr"] = 1e-2 * (1 + np.cos(np.pi * (step + 1) / 5)) / 2
    for (k, a), b in zip(got.state_dict().items(), net.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7, msg=k)


def test_cnn_training_leaves_the_global_rng_alone():
    from bench.classifiers import cnn

    torch.manual_seed(1)
    before = torch.rand(1)
    torch.manual_seed(1)
    cnn.train(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.tensor([0, 1, 0, 1]), 2, cnn.TrainOptions(steps=1), 3)
    assert torch.rand(1) == before


def test_the_embedded_digits_classifier_scores_its_recorded_accuracy_on_the_real_digits(tmp_path, capsys):
    """The committed weights, loaded through the resolver (sha256 of the sidecar), classify the real digits val
    images as the training script measured: class_acc of the oracle row = the sidecar's val accuracy."""
    from bench.classifiers import get_spec

    meta = get_spec("embedded-digits").meta()
    assert meta["train"]["arch"] == get_spec("embedded-digits").arch
    assert meta["val_accuracy"] >= 0.99 and meta["val_n"] == 355
    assert main(["run", "--method", "oracle", "--dataset", "digits", "--metrics", "class_acc",
                 "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "run")]) == 0
    record = json.loads(next((tmp_path / "lb" / "results" / "digits").glob("*.json")).read_text())
    assert record["metrics"]["class_acc"] == pytest.approx(meta["val_accuracy"], abs=1e-12)
    assert record["details"]["class_acc_per_class"] == pytest.approx(meta["val_accuracy_per_class"])
    assert record["weights"]["classifier:embedded-digits"]["sha256"] == meta["sha256"]
    proto = record["protocol"]
    assert dict(proto["classifier"])["weights_sha256"] == json.dumps(meta["sha256"])


# --- refusals and fingerprints on two folders ----------------------------------------------------------------------

@pytest.fixture
def class_folders(tmp_path):
    reals = smooth_images(6, size=32, seed=0)
    real = write_folder(tmp_path / "real", reals)
    fake = write_folder(tmp_path / "fake", [np.clip(r.astype(int) + 9, 0, 255).astype(np.uint8) for r in reals])
    return real, fake, {f"{i:04d}": i % 2 for i in range(6)}


def _eval(real, fake, **kw):
    return evaluate_folders(real, fake, None, EvalOptions(progress=False, cache=False, **kw))


def test_class_metrics_without_a_classifier_or_classes_are_listed_unavailable_with_the_reason(class_folders):
    real, fake, classes = class_folders
    rec = _eval(real, fake, metrics=None, candidates=("class_acc", "fid_intra"), classes=classes)
    assert "needs a classifier of these classes" in rec["unavailable"]["class_acc"]
    assert "fid_intra" in rec["metrics"]
    rec = _eval(real, fake, metrics=None, candidates=("class_acc", "cas", "msssim_class", "fid_intra"))
    assert set(rec["unavailable"]) == {"class_acc", "cas", "msssim_class", "fid_intra"}
    assert all("needs the class of each real image" in v for v in rec["unavailable"].values())
    with pytest.raises(BenchError, match="metric 'class_acc' cannot be computed: needs a classifier"):
        _eval(real, fake, metrics=("class_acc",), classes=classes)


def test_the_embedded_classifier_refuses_images_of_another_size(tmp_path):
    reals = smooth_images(4, size=64, seed=0)
    real, fake = write_folder(tmp_path / "r", reals), write_folder(tmp_path / "f", reals)
    with pytest.raises(BenchError, match="classifier 'embedded-digits' takes 32x32 images, these are 64x64"):
        _eval(real, fake, metrics=("class_acc",), classes={f"{i:04d}": 0 for i in range(4)},
              classifier="embedded-digits")


def test_a_class_with_one_real_image_is_refused_by_the_per_class_metrics(class_folders):
    real, fake, classes = class_folders
    classes = {**classes, "0000": 5}
    for metric in ("fid_intra", "kid_intra", "msssim_class"):
        with pytest.raises(BenchError, match="class 5 has 1 generated and 1 real image"):
            _eval(real, fake, metrics=(metric,), classes=classes)
    # not asked for by name (a track's defaults, e.g. under --limit): listed unavailable with the reason, the rest
    # computed
    rec = _eval(real, fake, metrics=None, candidates=("fid_intra", "kid_intra", "kid"), classes=classes)
    assert "kid" in rec["metrics"] and not {"fid_intra", "kid_intra"} & set(rec["metrics"])
    for metric in ("fid_intra", "kid_intra"):
        assert "class 5 has 1 generated and 1 real image(s)" in rec["unavailable"][metric]


def test_per_class_diversity_sees_a_collapsed_class(tmp_path):
    """Samples that are one image per class (class-mean) are less diverse than the real images in every class."""
    reals = smooth_images(8, size=32, seed=0)
    real = write_folder(tmp_path / "real", reals)
    fake = write_folder(tmp_path / "fake", [reals[i % 2] for i in range(8)])
    rec = _eval(real, fake, metrics=("msssim_class",), classes={f"{i:04d}": i % 2 for i in range(8)},
                class_diversity_pairs=5)
    m = rec["metrics"]
    assert m["msssim_class"] == pytest.approx(1.0) and m["msssim_class_less_diverse"] == 1.0
    assert m["msssim_class_real"] < 0.9
    assert set(rec["details"]["msssim_class_per_class"]) == {"0", "1"}


def test_evaluations_without_classes_keep_their_fingerprint_fields(class_folders):
    """The per-class metrics' protocol fields and versions enter only evaluations given classes, so every
    fingerprint measured before them (committed records, caches) is unchanged."""
    real, fake, classes = class_folders
    without = _eval(real, fake, metrics=("psnr",))["protocol"]
    assert not {"classifier", "class_diversity", "cas"} & set(without)
    assert not {"fid_intra", "kid_intra", "cas", "class_acc", "msssim_class"} & {m for m, _ in without["metric_versions"]}
    given = _eval(real, fake, metrics=("psnr",), classes=classes, classifier="embedded-digits")["protocol"]
    assert {"classifier", "class_diversity", "cas"} <= set(given)
    other_steps = _eval(real, fake, metrics=("psnr",), classes=classes, classifier="embedded-digits", cas_steps=7)
    assert other_steps["protocol"]["cas"] != given["cas"]


def test_bench_eval_takes_classes_and_a_classifier(class_folders, tmp_path, capsys):
    real, fake, classes = class_folders
    (tmp_path / "classes.json").write_text(json.dumps(classes))
    out = tmp_path / "e.json"
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--classes", str(tmp_path / "classes.json"),
                 "--metrics", "cas,fid_intra", "--cas-steps", "3", "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert 0 <= rec["metrics"]["cas"] <= 1 and len(rec["details"]["cas_per_seed"]) == 3
    assert dict(rec["protocol"]["cas"])["steps"] == "3"
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--classes", str(tmp_path / "classes.json"),
                 "--metrics", "cas", "--cas-steps", "0", "--out", str(out)]) == 2
    assert "--cas-steps must be a positive integer, got 0" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("which", ["digits", "daytime", "attributes"])
def test_the_training_script_reproduces_the_committed_classifier(tmp_path, which):
    """scripts/train_embedded_classifier.py with its defaults gives the committed bytes (same torch version, thread
    count and CPU kind: x86-64, torch 2.14.1, 2 threads) and the recorded val accuracy."""
    import runpy
    import sys

    from bench.classifiers import get_spec

    meta = get_spec(f"embedded-{which}").meta()
    argv = sys.argv
    sys.argv = ["train_embedded_classifier.py", "--which", which, "--out", str(tmp_path)]
    try:
        with pytest.raises(SystemExit) as done:
            runpy.run_path(str(__import__("pathlib").Path(__file__).parents[1] / "scripts/train_embedded_classifier.py"),
                           run_name="__main__")
    finally:
        sys.argv = argv
    assert done.value.code == 0
    got = json.loads((tmp_path / f"embedded-{which}.json").read_text())
    assert got["val_accuracy"] == meta["val_accuracy"] and got["sha256"] == meta["sha256"]


def test_the_committed_class_leaderboard_shows_the_memorisation_note_and_the_reported_inception_score():
    """leaderboard/digits.md carries training-copy's note under its table (from the record, not hand-written), and
    cifar10.md AC-GAN's Inception Score as the paper prints it (8.25, not 8.2)."""
    from pathlib import Path

    from bench.leaderboard import load_records, load_reported, render

    lb = Path(__file__).parents[1] / "leaderboard"
    pages = render(load_records(lb / "results"), load_reported(lb / "reported.csv"))
    digits = pages["digits.md"]
    note = next(line for line in digits.splitlines() if line.startswith("- **training-copy**:"))
    assert "memorises" in note and "do not detect copying" in note
    assert "| training-copy | - | 1 | 355 |" in digits and "| class-mean | - | 1 | 355 |" in digits
    assert "| AC-GAN | 8.25 | – | – | – |" in pages["cifar10.md"]
    assert pages["cifar10.md"].splitlines()[6].startswith("| method | IS | FID | mIoU | acc |")
