"""Built-in methods that need no training: the oracle (upper bound) and one lower-bound baseline per task kind,
so every track has rows before any GAN exists (each task names its baseline in ``bench.tasks``)."""

from __future__ import annotations

from typing import Any, Sequence

from bench.adapter import Generator, register_method


@register_method("oracle")
class RealImageOracle(Generator):
    """Returns the ground-truth photo: the upper-bound row (FID ~0, the segmenter's own mIoU)."""

    needs_image = True
    tasks = ("*",)

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        return batch["image"].clone()


@register_method("label-colouring")
class LabelColouring(Generator):
    """Paints every pixel with its class colour from the dataset card: a lower-bound baseline."""

    def __init__(self, info, **kwargs: Any) -> None:
        import torch

        super().__init__(info, **kwargs)
        n = max(info.num_classes, (info.ignore_index or 0) + 1)
        table = torch.zeros((n, 3), dtype=torch.uint8)
        for i, rgb in enumerate(info.palette[:n]):
            table[i] = torch.tensor(rgb, dtype=torch.uint8)
        self.table = table

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        label = batch["label"][:, 0].long().clamp(0, len(self.table) - 1)
        return self.table[label].permute(0, 3, 1, 2).contiguous()


def _sr_size(batch: dict[str, Any]) -> tuple[int, int]:
    """The output (H, W) of a super-resolution batch: the input's size times the scale (also at native
    resolution, where each batch has its own size)."""
    h, w = batch["lr"].shape[-2:]
    return int(h) * int(batch["scale"]), int(w) * int(batch["scale"])


@register_method("bicubic")
class Bicubic(Generator):
    """``super-resolution`` baseline: bicubic upsampling of the low-resolution input. Under the ``matlab-bicubic``
    protocol it is MATLAB's ``imresize(LR, scale, 'bicubic')`` (bench/sr_conventions.py), the bicubic rows of SR
    papers' tables (e.g. SRGAN's Table 2); under ``pil-bicubic``, torch's bicubic (align_corners=False, rounded,
    clamped to 0..255) as before, so earlier records keep their numbers."""

    tasks = ("super-resolution",)

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        import torch
        import torch.nn.functional as F

        if self.info.param("degradation") == "matlab-bicubic":
            from bench.sr_conventions import matlab_imresize

            return matlab_imresize(batch["lr"].cpu().contiguous(), _sr_size(batch))
        up = F.interpolate(batch["lr"].to(torch.float64), size=_sr_size(batch), mode="bicubic",
                           align_corners=False)
        return up.round().clamp(0, 255).to(torch.uint8)


@register_method("mean-fill")
class MeanFill(Generator):
    """``inpainting`` baseline: every missing pixel takes the mean colour of the image's known pixels."""

    tasks = ("inpainting",)

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        import torch

        image, hole = batch["masked_image"].to(torch.float64), batch["mask"].to(torch.bool)
        known = (~hole).to(torch.float64)
        mean = (image * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True).clamp_min(1)
        return torch.where(hole, mean.round(), image).to(torch.uint8)


@register_method("blur-fill")
class BlurFill(Generator):
    """``inpainting`` baseline: each missing pixel takes a Gaussian-weighted mean of the known pixels (normalised
    convolution: ``G * (image * known) / G * known``, sigma = max(H, W) / 8, zero outside the image), so a hole
    takes the colours of its own surroundings; where the known weight underflows (below 1e-12 of a pixel's) the
    image's mean known colour is used. One image at a time in float64 (separable, as matrix products), rounded
    half to even; known pixels are copied unchanged. No training."""

    tasks = ("inpainting",)
    SIGMA_FRACTION = 1 / 8

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        import torch

        out = []
        for image, hole in zip(batch["masked_image"], batch["mask"].to(torch.bool)):
            h, w = image.shape[-2:]
            sigma = max(h, w) * self.SIGMA_FRACTION
            gh, gw = _gaussian_matrix(h, sigma), _gaussian_matrix(w, sigma)
            known = (~hole[0]).to(torch.float64)
            x = image.to(torch.float64) * known
            num = gh @ x @ gw.T  # [3,H,W]: each channel blurred along rows and columns
            den = gh @ known @ gw.T
            mean = x.sum((1, 2), keepdim=True) / known.sum().clamp_min(1)
            fill = torch.where(den > 1e-12, num / den.clamp_min(1e-300), mean)
            out.append(torch.where(hole, fill.round().clamp(0, 255), image.to(torch.float64)).to(torch.uint8))
        return torch.stack(out)


def _gaussian_matrix(n: int, sigma: float) -> Any:
    """[n, n] float64: row i holds the Gaussian weights exp(-(i-j)^2 / (2 sigma^2)) of every j (no truncation,
    no normalisation: the blurred mask normalises)."""
    import torch

    i = torch.arange(n, dtype=torch.float64)
    return torch.exp(-((i[:, None] - i[None, :]) ** 2) / (2 * sigma * sigma))


@register_method("identity")
class Identity(Generator):
    """``paired`` / ``unpaired`` / ``attribute`` baseline: the source image itself (bilinear-resized to the target
    size when the domains' sizes differ): what "no translation" scores."""

    tasks = ("paired", "unpaired", "attribute")

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        from bench.tasks.common import resize_uint8

        return resize_uint8(batch["source"], tuple(self.info.resolution), "bilinear")


@register_method("class-mean")
class ClassMean(Generator):
    """``class`` baseline: the mean training image of the requested class, whatever the seed (no diversity).

    "Training" averages the training split (float64 sums, one pass, no gradients); the means are a plain state
    dict {"means": uint8 [C,3,H,W]} loaded with weights_only=True."""

    tasks = ("class",)

    def __init__(self, info, **kwargs: Any) -> None:
        super().__init__(info, **kwargs)
        self.means = None
        if self.checkpoint:
            from bench.checkpoints import load_state_dict

            self.means = load_state_dict(self.checkpoint)["means"]

    def train(self, dataset: Any, *, out_dir: str, seed: int, steps: int | None = None) -> str:
        from pathlib import Path

        import torch

        from bench.errors import BenchError
        from bench.fileio import atomic_write_bytes

        h, w = self.info.resolution
        sums = torch.zeros((self.info.num_classes, 3, h, w), dtype=torch.float64)
        counts = torch.zeros(self.info.num_classes, dtype=torch.float64)
        from bench.tasks import get_task

        class_of = get_task("class").class_of
        for i in range(len(dataset)):
            item = dataset[i]
            c = class_of(item)
            sums[c] += item["image"].to(torch.float64)
            counts[c] += 1
        if not bool((counts > 0).all()):
            empty = [i for i, n in enumerate(counts.tolist()) if n == 0]
            raise BenchError(f"class-mean: the training split has no image of class {empty[0]} "
                             f"({len(empty)} class(es) without images)")
        means = (sums / counts[:, None, None, None]).round().clamp(0, 255).to(torch.uint8)
        path = Path(out_dir) / "class-mean.pt"
        import io

        buf = io.BytesIO()
        torch.save({"means": means}, buf)
        atomic_write_bytes(path, buf.getvalue())
        return str(path)

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        from bench.errors import BenchError

        if self.means is None:
            raise BenchError("class-mean needs its class means: run with --train (one averaging pass over the "
                             "training split) or --checkpoint class-mean.pt")
        return self.means[batch["class_id"].long()].clone()


@register_method("training-copy")
class TrainingCopy(Generator):
    """``class`` baseline that memorises: each sample is a training image of the requested class, drawn by its
    seed. A generator that copies its training set scores a near-oracle FID while creating nothing, which is why
    the class track also reports classifier scores on held-out data and diversity against the real data.

    "Training" stores the training split (plain tensors, loaded with weights_only=True)."""

    tasks = ("class",)
    multimodal = True
    leaderboard_note = ("memorises: every sample is a real training image of its class, so every metric here scores "
                        "it as a held-out real sample would score (FID, intra-FID and CAS near the best, class "
                        "accuracy 100 %, diversity equal to the real images') while it generates nothing: these "
                        "metrics do not detect copying, and a row near this one may be copying")

    def __init__(self, info, **kwargs: Any) -> None:
        super().__init__(info, **kwargs)
        self.images = self.classes = None
        if self.checkpoint:
            from bench.checkpoints import load_state_dict

            state = load_state_dict(self.checkpoint)
            self.images, self.classes = state["images"], state["classes"]

    def train(self, dataset: Any, *, out_dir: str, seed: int, steps: int | None = None) -> str:
        import io
        from pathlib import Path

        import torch

        from bench.fileio import atomic_write_bytes
        from bench.tasks import get_task

        class_of = get_task("class").class_of
        items = [dataset[i] for i in range(len(dataset))]
        state = {"images": torch.stack([it["image"] for it in items]),
                 "classes": torch.tensor([class_of(it) for it in items], dtype=torch.int64)}
        buf = io.BytesIO()
        torch.save(state, buf)
        path = Path(out_dir) / "training-copy.pt"
        atomic_write_bytes(path, buf.getvalue())
        return str(path)

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        import torch

        from bench.errors import BenchError

        if self.images is None:
            raise BenchError("training-copy needs the training images: run with --train or --checkpoint")
        out = []
        for c, s in zip(batch["class_id"].tolist(), seeds):
            pool = (self.classes == int(c)).nonzero().reshape(-1)
            if not len(pool):
                raise BenchError(f"training-copy: no training image of class {c}")
            pick = torch.randint(len(pool), (1,), generator=torch.Generator().manual_seed(int(s)))
            out.append(self.images[pool[pick]][0])
        return torch.stack(out)


@register_method("caption-nearest")
class CaptionNearest(Generator):
    """``text`` baseline: the mean of the ``K`` (5) training images whose captions are nearest to the requested
    caption, whatever the seed (no diversity, no generation).

    Nearness: cosine similarity between the caption's embedding and each training image's mean caption embedding
    (its C captions' embeddings averaged, then normalised), as exact integers on a 2^-28 grid (``bench.text.exact``:
    identical captions tie on every machine and in every batch), ties by training index. The mean of several images
    rather than the nearest one: a single training image would be a copy (a near-oracle FID that creates
    nothing, see ``training-copy``); the mean keeps what the captions agree on (layout, dominant colours).
    "Training" reads the training split once (no gradients) into a plain state dict {"embeddings": float32 [N, D],
    "images": uint8 [N, 3, H, W]} loaded with weights_only=True."""

    tasks = ("text",)
    K = 5

    def __init__(self, info, **kwargs: Any) -> None:
        super().__init__(info, **kwargs)
        self.embeddings = self.images = None
        if self.checkpoint:
            from bench.checkpoints import load_state_dict

            from bench.errors import BenchError

            state = load_state_dict(self.checkpoint)
            if set(state) != {"embeddings", "images"}:
                raise BenchError(f"{self.checkpoint}: not a caption-nearest checkpoint (keys {sorted(state)}, expected "
                                 "'embeddings' and 'images'; make one with --train)")
            self.embeddings, self.images = state["embeddings"], state["images"]
            dim = info.param("embedding_dim")
            if self.embeddings.shape[1] != dim:
                raise BenchError(f"{self.checkpoint}: its caption embeddings are {self.embeddings.shape[1]}-d, this "
                                 f"dataset's are {dim}-d (trained on another dataset?)")
            if tuple(self.images.shape[-2:]) != tuple(info.resolution):
                h, w = self.images.shape[-2:]
                raise BenchError(f"{self.checkpoint}: its images are {h}x{w}, this dataset is evaluated at "
                                 f"{info.resolution[0]}x{info.resolution[1]} (trained at another resolution?)")

    def train(self, dataset: Any, *, out_dir: str, seed: int, steps: int | None = None) -> str:
        from pathlib import Path

        import torch

        from bench.fileio import atomic_write
        from bench.progress import Progress

        n = len(dataset)
        first = dataset[0]
        # one preallocated tensor each, written straight to the file: the training images are held once
        images = torch.empty((n, *first["image"].shape), dtype=torch.uint8)
        rows = torch.empty((n, first["embeddings"].shape[-1]), dtype=torch.float32)
        bar = Progress(n, "caption-nearest: read training split", "img")
        for i in range(n):
            item = first if i == 0 else dataset[i]
            mean = item["embeddings"].to(torch.float64).mean(0)
            rows[i] = (mean / mean.norm().clamp_min(1e-12)).to(torch.float32)
            images[i] = item["image"]
            bar.update(1)
        bar.close()
        path = Path(out_dir) / "caption-nearest.pt"
        atomic_write(path, lambda f: torch.save({"embeddings": rows, "images": images}, f))
        return str(path)

    def neighbours(self, embedding: Any) -> Any:
        """int64 [B, K]: the training indices nearest to each caption embedding [B, D], nearest first, ties by
        index."""
        import torch

        from bench.text.exact import query_rows, unit_rows

        if getattr(self, "_grid", None) is None:
            self._grid = unit_rows(self.embeddings.numpy())  # the stored unit rows, as int64
        # exact int64 [B, N]: a float product's last bits vary between machines, and would break ties differently
        sims = torch.from_numpy(query_rows(embedding.detach().to('cpu', torch.float64).numpy()) @ self._grid.T)
        k = min(self.K, sims.shape[1])
        return torch.sort(-sims, dim=1, stable=True).indices[:, :k]  # stable: equal ones keep training order

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        import torch

        from bench.errors import BenchError

        if self.images is None:
            raise BenchError("caption-nearest needs the training images and captions: run with --train (one pass "
                             "over the training split) or --checkpoint caption-nearest.pt")
        means = self.images[self.neighbours(batch["embedding"])].to(torch.float64).mean(1)
        return means.round().clamp(0, 255).to(torch.uint8)
