"""The text track's own parts: the hashing sentence encoder, the caption facts of synthetic-streets scenes, the
embedded captions set, R-precision against a direct computation (and through the evaluator: batch-size
independence, the protocol), and the caption-nearest baseline."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from bench.data.synthetic import BUILDING, CAR, PERSON, ROAD, SIDEWALK, SKY, VEGETATION
from bench.errors import BenchError
from bench.metrics.r_precision import draw_candidates, r_precision_credits
from bench.text import describe, hashing


# ----------------------------------------------------------------------------- the hashing encoder


def _embed_by_hand(sentence: str, dim: int) -> np.ndarray:
    """The documented definition, written out again: tokens and bigrams with <s> / </s>, sha256 slot and sign."""
    toks = [t for t in "".join(c if c.isalnum() else " " for c in sentence.lower()).split()]
    feats = toks + [f"{a} {b}" for a, b in zip(["<s>", *toks], [*toks, "</s>"])]
    v = np.zeros(dim)
    for f in feats:
        d = hashlib.sha256(f.encode()).digest()
        v[int.from_bytes(d[:8], "little") % dim] += 1 if d[8] & 1 else -1
    return v / np.linalg.norm(v)


@pytest.mark.parametrize("sentence", ["a red car on a street.", "Two cars, the biggest RED; one person",
                                      "the road turns left"])
def test_hashing_embedding_is_its_documented_definition(sentence):
    got = hashing.embed(sentence)
    assert got.dtype == np.float32 and got.shape == (hashing.DIM,)
    np.testing.assert_allclose(got, _embed_by_hand(sentence, hashing.DIM), rtol=0, atol=1e-7)
    assert abs(float(np.linalg.norm(got.astype(np.float64))) - 1) < 1e-6


def test_hashing_similarity_follows_shared_words_and_order():
    a = hashing.embed("a red car and one person")
    assert float(a @ hashing.embed("a red car and one person")) == pytest.approx(1.0, abs=1e-6)
    near = float(a @ hashing.embed("a blue car and one person"))
    far = float(a @ hashing.embed("trees on the left under a wide sky"))
    swapped = float(a @ hashing.embed("one person and a red car"))
    assert far < near < 1 and swapped < 1
    assert not hashing.embed("!!! ...").any()  # no words: the zero vector


# ----------------------------------------------------------------------------- caption facts


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """A 32x32 label map with known facts: sky 25 % (rows 0-7), two cars (6x4 and 3x2 px), one person, trees on
    the left, the road's far end right of centre; the larger car painted red in its body band."""
    label = np.full((32, 32), BUILDING, dtype=np.uint8)
    label[:8] = SKY
    label[20:, :] = SIDEWALK
    for r in range(20, 32):  # a road narrowing towards x = 22 at its top
        half = (r - 19) // 2
        label[r, max(0, 22 - half - 2): 22 + half + 2] = ROAD
    label[10:18, 1:6] = VEGETATION
    label[24:28, 2:8] = CAR  # the largest car: rows 24-27
    label[22:24, 26:29] = CAR
    label[12:18, 12:14] = PERSON
    photo = np.full((32, 32, 3), 120, dtype=np.uint8)
    photo[26:27, 2:8] = (170, 30, 30)  # rows at 50 % of the car's height: its body band
    photo[24:25, 2:8] = (55, 65, 80)  # glass above
    return label, photo


def test_facts_of_a_hand_made_scene():
    label, photo = _scene()
    f = describe.facts(label, photo)
    assert f == describe.Facts(cars=2, car_colour="red", people=1, trees="left", sky="open", road="right")
    caps = describe.captions(f)
    assert len(caps) == describe.CAPTIONS == len(set(caps))
    assert all("two cars, the biggest red" in c and "one person" in c and "trees on the left" in c
               and "an open sky" in c and "turns right" in c for c in caps)


def test_small_regions_are_not_objects_and_counts_saturate():
    label, photo = _scene()
    label[0, 0:2] = CAR  # 2 pixels: below MIN_PIXELS
    assert describe.facts(label, photo).cars == 2
    for k in range(3):
        label[29:31, 10 + 4 * k: 12 + 4 * k] = CAR
    assert describe.facts(label, photo).cars == 5 and "many cars" in describe.captions(describe.facts(label, photo))[0]


# ----------------------------------------------------------------------------- the embedded captions set


def test_captions_set_items_hold_their_captions_and_embeddings():
    from bench.data import collate, get_dataset

    ds = get_dataset("synthetic-streets-captions")
    assert len(ds) == 100 and ds.task.name == "text" and ds.task_params["embedding_dim"] == hashing.DIM
    items = [ds[j] for j in (0, 1, 7)]
    for j, it in zip((0, 1, 7), items):
        img, lab = it["image"].permute(1, 2, 0).numpy(), it["label"][0].numpy()
        assert it["captions"] == describe.describe(lab, img)
        np.testing.assert_array_equal(it["embeddings"].numpy(), hashing.embed_all(it["captions"]))
        assert it["caption"] == it["captions"][j % 5] == ds.eval_caption(j)
        assert torch.equal(it["embedding"], it["embeddings"][j % 5])
    batch = collate(items)
    assert batch["caption"] == [it["caption"] for it in items] and batch["embeddings"].shape == (3, 5, hashing.DIM)
    assert batch["captions"][2] == items[2]["captions"]
    with pytest.raises(BenchError, match="describe the 64x64"):
        get_dataset("synthetic-streets-captions", resolution=(256, 256))
    train = get_dataset("synthetic-streets-captions", split="train")
    assert len(train) == 400 and train.fingerprint()["source"] == f"captions-v{describe.VERSION}-{hashing.NAME}"


# ----------------------------------------------------------------------------- R-precision


def _credits_by_hand(img, bank, cands):
    """Direct computation: rank every candidate by cosine (python floats), share the top among ties."""
    out = []
    for i in range(len(img)):
        sims = [float(np.dot(img[i], bank[c]) / (np.linalg.norm(img[i]) * np.linalg.norm(bank[c]))) for c in cands[i]]
        top = max(sims)
        if sims[0] < top:
            out.append(0.0)
        else:
            out.append(1.0 / sum(1 for s in sims if s == top))
    return np.array(out)


def test_r_precision_equals_a_direct_computation_with_ties():
    rng = np.random.default_rng(3)
    bank = rng.integers(-2, 3, size=(30, 6)).astype(np.float64)  # small integers: exact ties occur
    bank[5] = bank[4]  # two identical captions
    own = np.arange(30) % 30
    img = bank[own] + rng.integers(-1, 2, size=(30, 6))
    img[4] = bank[4]  # sample 4 ties with caption 5 when both are candidates
    cands = np.stack([draw_candidates(30, int(o), 10, 0, 0) for o in own])
    cands[4, 1] = 5
    got = r_precision_credits(img, bank, cands)
    np.testing.assert_allclose(got, _credits_by_hand(img, bank, cands), rtol=0, atol=1e-12)
    assert got[4] == 0.5 and 0 < got.mean() < 1


def test_candidates_are_distinct_exclude_nothing_else_and_are_reproducible():
    c = draw_candidates(100, 7, 100, 0, 0)
    assert c[0] == 7 and sorted(c.tolist()) == list(range(100))
    c10 = draw_candidates(100, 7, 10, 0, 3)
    assert c10[0] == 7 and 7 not in c10[1:] and len(set(c10.tolist())) == 10
    assert np.array_equal(c10, draw_candidates(100, 7, 10, 0, 3))
    assert not np.array_equal(c10, draw_candidates(100, 7, 10, 0, 4))


def test_r_precision_through_the_evaluator_is_the_direct_value_and_batch_independent(tmp_path):
    """Real val photos as the fakes of 12 captions (3 of them given another scene's caption): the evaluator's
    r_precision equals the matcher's embeddings ranked by hand, at batch sizes 3 and 8."""
    from PIL import Image

    from bench.data import get_dataset
    from bench.evaluate import EvalOptions, evaluate_folders
    from bench.text.matchers import get_matcher

    ds = get_dataset("synthetic-streets-captions")
    real, fake = tmp_path / "real", tmp_path / "fake"
    real.mkdir(), fake.mkdir()
    captions, images = {}, []
    for j in range(12):
        it = ds[j]
        key = f"{j:04d}"
        arr = it["image"].permute(1, 2, 0).numpy()
        Image.fromarray(arr).save(real / f"{key}.png")
        Image.fromarray(arr).save(fake / f"{key}.png")
        captions[key] = ds[(j + 5) % 12]["caption"] if j < 3 else it["caption"]
        images.append(it["image"])
    values, fingerprints = [], []
    for bs in (3, 8):
        opts = EvalOptions(metrics=["r_precision"], captions=captions, matcher="embedded-streets-captions",
                           batch_size=bs, cache=False, progress=False)
        rec = evaluate_folders(real, fake, None, opts)
        values.append(rec["metrics"]["r_precision"])
        matching = dict(rec["protocol"]["text_matching"])
        # the candidates actually met (12 conditions: all of them) and which captions, not the option's 100
        assert json.loads(matching["candidates"]) == 12 and len(json.loads(matching["captions_sha256"])) == 64
        fingerprints.append(rec["fingerprint"])
    m = get_matcher("embedded-streets-captions")
    keys = sorted(captions)
    img = m.encode_images(torch.stack(images))
    bank = m.encode_texts([captions[k] for k in keys])
    cands = np.stack([draw_candidates(12, j, 12, 0, 0) for j in range(12)])
    want = float(_credits_by_hand(img, bank, cands).mean())
    assert values[0] == values[1] == pytest.approx(want, abs=1e-12)
    assert want > 0.5  # the real photos match their own captions, mostly
    # captions of conditions without samples are not candidates: same value, same fingerprint
    more = {**captions, "9999": "a yellow car and nobody on a street"}
    rec = evaluate_folders(real, fake, None, EvalOptions(metrics=["r_precision"], captions=more, cache=False,
                                                         matcher="embedded-streets-captions", progress=False))
    assert rec["metrics"]["r_precision"] == values[0] and rec["fingerprint"] == fingerprints[0]
    # another caption of a condition: another fingerprint
    other = {**captions, "0005": "many cars, the biggest red"}
    rec = evaluate_folders(real, fake, None, EvalOptions(metrics=["r_precision"], captions=other, cache=False,
                                                         matcher="embedded-streets-captions", progress=False))
    assert rec["fingerprint"] != fingerprints[0]
    # the matcher's facts are 64x64 pixel regions: other sizes are refused, not scored
    small = tmp_path / "small"
    small.mkdir()
    for f in sorted(fake.iterdir()):
        Image.open(f).resize((32, 32)).save(small / f.name)
    rec = evaluate_folders(small, small, None, EvalOptions(captions=captions, matcher="embedded-streets-captions",
                                                           candidates=("r_precision",), cache=False, progress=False))
    assert "describes 64x64 images" in rec["unavailable"]["r_precision"]


def test_r_precision_is_not_in_other_tracks_fingerprints():
    from bench.metrics import registry

    spec = registry.get("r_precision")
    assert spec.tasks == ("text",) and not registry.fingerprinted(spec, None)


def test_eval_caption_choices_and_refusals():
    from bench.tasks import get_task
    from bench.tasks.text import eval_caption_index

    task = get_task("text")
    rot = task.resolve_params({"embedding_dim": 8}, "card", (64, 64))
    first = task.resolve_params({"embedding_dim": 8, "eval_caption": "first"}, "card", (64, 64))
    assert [eval_caption_index(rot, j, 5) for j in range(7)] == [0, 1, 2, 3, 4, 0, 1]
    assert [eval_caption_index(first, j, 5) for j in range(7)] == [0] * 7
    with pytest.raises(BenchError, match="eval_caption must be"):
        task.resolve_params({"embedding_dim": 8, "eval_caption": "all"}, "card", (64, 64))
    with pytest.raises(BenchError, match="embedding_dim"):
        task.resolve_params({}, "card", (64, 64))
    batch = {"embedding": torch.zeros(2, 4), "caption": ["a", "b"], "path": ["x", "y"]}
    with pytest.raises(BenchError, match="embedding_dim is 8"):
        task.make_batch(batch, rot, ["x", "y"])


def test_bench_eval_takes_captions_and_a_matcher(tmp_path, capsys):
    from PIL import Image

    from bench.cli import main
    from bench.data import get_dataset

    ds = get_dataset("synthetic-streets-captions")
    real = tmp_path / "real"
    real.mkdir()
    caps = {}
    for j in range(4):
        it = ds[j]
        Image.fromarray(it["image"].permute(1, 2, 0).numpy()).save(real / f"{j}.png")
        caps[str(j)] = it["caption"]
    (tmp_path / "caps.json").write_text(json.dumps(caps))
    out = tmp_path / "e.json"
    assert main(["eval", "--real", str(real), "--fake", str(real), "--captions", str(tmp_path / "caps.json"),
                 "--matcher", "embedded-streets-captions", "--metrics", "r_precision", "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert 0 < rec["metrics"]["r_precision"] <= 1
    (tmp_path / "bad.json").write_text(json.dumps({"0": ""}))
    assert main(["eval", "--real", str(real), "--fake", str(real), "--captions", str(tmp_path / "bad.json"),
                 "--metrics", "r_precision", "--out", str(tmp_path / "f.json")]) == 2
    assert "caption of '0' must be a non-empty string" in capsys.readouterr().err


def test_caption_nearest_refuses_a_checkpoint_of_another_kind_or_dataset(tmp_path):
    from bench.adapter import DatasetInfo, get_method

    info = DatasetInfo(name="t", num_classes=1, resolution=(8, 8), palette=((0, 0, 0),), task="text",
                       task_params=(("embedding_dim", 4), ("eval_caption", "rotate")))
    cls = get_method("caption-nearest")
    items = [{"image": torch.full((3, 8, 8), i, dtype=torch.uint8), "embeddings": torch.eye(4)[i : i + 2]}
             for i in range(3)]
    ckpt = cls(info).train(items, out_dir=str(tmp_path), seed=0)
    gen = cls(info, checkpoint=ckpt)
    out = gen.generate({"embedding": torch.eye(4)[:1], "caption": ["x"], "path": ["p"]}, seeds=[0])
    assert out.shape == (1, 3, 8, 8) and int(out[0, 0, 0, 0]) == 1  # the mean of the 3 training images
    with pytest.raises(BenchError, match="4-d, this dataset's are 6-d"):
        cls(DatasetInfo(name="t", num_classes=1, resolution=(8, 8), palette=((0, 0, 0),), task="text",
                        task_params=(("embedding_dim", 6), ("eval_caption", "rotate"))), checkpoint=ckpt)
    torch.save({"means": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(BenchError, match="not a caption-nearest checkpoint"):
        cls(info, checkpoint=str(tmp_path / "other.pt"))
