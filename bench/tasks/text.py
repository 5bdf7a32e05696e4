"""``text``: a caption (its sentence embedding, + noise from the seed) -> image (GAN-INT-CLS, StackGAN).

The published protocol of these methods conditions on fixed, precomputed sentence embeddings (the char-CNN-RNN
embeddings released with StackGAN's CUB-200-2011, Oxford-102 and COCO metadata), so no language model is trained to
benchmark them: a dataset's items carry every caption of their image with its embedding, and the generator sees the
embedding (and the text, for a method that brings its own encoder).

Dataset items (a loader of this task yields them): ``captions`` list[str] (C captions of the image), ``embeddings``
float32 [C, D], and the caption the evaluation uses for the item, ``caption`` / ``embedding``, chosen by
``task_params.eval_caption`` (:func:`eval_caption_index`): ``"rotate"``, caption ``j mod C`` of item j, so that every
caption position occurs; ``"first"``, caption 0 of every item, StackGAN's evaluation (the authors' TF ``evaluate``
generates for the first sentence of each test image, ``NUM_COPY`` = 8 samples per sentence in
``demo/cfg/birds-eval.yml``: ``bench run --samples-per-label 8``; the Inception Score over all samples in 10
splits). A method trains on
``embeddings`` (StackGAN draws one caption per image and step). ``task_params.embedding_dim`` (required) is D: a
generator built for another encoder's embeddings is refused by the conformance check instead of silently misreading
them.

Metrics: FID / KID / IS of the samples against the split's images and text-image consistency (``r_precision``: the
rank of each sample's own caption among mismatched ones under a fixed image-text matching model, AttnGAN's metric;
the dataset's ``loader.json`` names the matcher) and the CLIP score when CLIP's weights are present."""

from __future__ import annotations

from typing import Any, Mapping

from bench.tasks import DISTRIBUTION_II, Task


EVAL_CAPTIONS = ("rotate", "first")


def eval_caption_index(params: Mapping[str, Any], index: int, count: int) -> int:
    """Which of an item's ``count`` captions the evaluation conditions item ``index`` on (``eval_caption``)."""
    return index % count if params["eval_caption"] == "rotate" else 0


def make_batch(batch: dict[str, Any], params: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    from bench.errors import BenchError

    missing = [k for k in ("embedding", "caption") if k not in batch]
    if missing:
        raise BenchError(f"the dataset's loader gives no '{missing[0]}' (keys: {', '.join(sorted(batch))}); a loader "
                         "of the text task must yield each item's caption and its embedding")
    emb = batch["embedding"]
    if emb.ndim != 2 or emb.shape[1] != params["embedding_dim"]:
        raise BenchError(f"the dataset's embeddings are {list(emb.shape)}, its card's task_params.embedding_dim is "
                         f"{params['embedding_dim']}")
    return {"embedding": emb.float(), "caption": list(batch["caption"]), "path": list(batch["path"])}


def show(batch: dict[str, Any], j: int, params: Any, palette: Any, keys: list[str]) -> Any:
    """The caption as a picture for the grid's condition column: white, the words drawn in black (PIL's default
    bitmap font), wrapped to the tile's width."""
    import numpy as np
    from PIL import Image, ImageDraw

    h, w = batch["image"].shape[-2:]
    scale = 2 if max(h, w) < 128 else 1  # 64x64 tiles are drawn at 128 and reduced, so the text stays legible
    tile = Image.new("RGB", (w * scale, h * scale), (255, 255, 255))
    draw = ImageDraw.Draw(tile)
    lines, line = [], ""
    for word in str(batch["caption"][j]).split():
        trial = f"{line} {word}".strip()
        if line and draw.textlength(trial) > w * scale - 4:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    for i, text in enumerate(lines[: max(1, (h * scale - 4) // 11)]):
        draw.text((2, 2 + 11 * i), text, fill=(0, 0, 0))
    if scale != 1:
        tile = tile.resize((w, h), Image.Resampling.BOX)
    return np.asarray(tile, dtype=np.uint8).copy()


def _check(params: Mapping[str, Any], resolution: tuple[int, int] | None) -> str | None:
    if params["embedding_dim"] <= 0:
        return f"embedding_dim must be the (positive) size of the dataset's sentence embeddings, got {params['embedding_dim']}"
    if params["eval_caption"] not in EVAL_CAPTIONS:
        return (f"eval_caption must be 'rotate' (caption j mod C of item j) or 'first' (caption 0, StackGAN's "
                f"evaluation), got {params['eval_caption']!r}")
    return None


TASK = Task(
    name="text",
    summary="caption (sentence embedding + text, + noise from the seed) -> image",
    batch_keys={
        "embedding": "float32 [B,D] sentence embedding of each sample's caption (D: the card's task_params.embedding_dim)",
        "caption": "list[str] the caption text",
        "path": "list[str] one key per sample (the real image the caption describes)",
    },
    baseline="caption-nearest",
    make_batch=make_batch,
    show=show,
    metrics=("fid", "kid", "is", "r_precision", "clip_score", *DISTRIBUTION_II, "is_inf"),
    columns=("is", "fid", "kid", "r_precision", "clip_score"),
    params={"embedding_dim": 0, "eval_caption": "rotate"},
    check_params=_check,
)
