"""The generator adapter: the one interface a method implements to be benchmarked.

A method subclasses ``Generator``, implements ``generate``, and is registered by decorator
(``@register_method("name")``), by an entry point in the ``bench.methods`` group, or named on the command line
as ``package.module:Class``::

    from bench.adapter import Generator, register_method, per_sample_noise

    @register_method("my-gan")
    class MyGAN(Generator):
        multimodal = True

        def __init__(self, info, *, device="cpu", checkpoint=None, config=None):
            super().__init__(info, device=device, checkpoint=checkpoint, config=config)
            self.net = build_my_net(info.num_classes).to(self.device).eval()
            if checkpoint:
                self.net.load_state_dict(load_state_dict(checkpoint))

        @torch.no_grad()
        def generate(self, batch, *, seeds):
            z = per_sample_noise(seeds, (256,), self.device)      # one noise vector per sample, from its seed
            out = self.net(batch["label"].to(self.device), z)     # [-1, 1]
            return to_uint8(out)

Contract (checked by ``bench check-adapter`` and by every ``bench run``): ``generate`` returns a uint8 tensor
[B, 3, H, W] at the dataset's resolution; sample i depends only on its own inputs and ``seeds[i]`` (so the batch
size changes nothing); the same seeds give the same images; a multimodal method gives different images for
different seeds.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

from bench.errors import BenchError
from bench.checkpoints import load_state_dict  # noqa: F401  (public: adapters read their weights with it)
from bench.registry import Registry

ENTRY_POINT_GROUP = "bench.methods"


def _fill_methods(registry: Registry[Any]) -> None:
    import bench.methods  # noqa: F401 - registers the built-in methods

    registry.register_entry_points(ENTRY_POINT_GROUP)  # every other method (the reference GANs too) is a plugin


METHODS: Registry[Any] = Registry("method", fill=_fill_methods)


@dataclass(frozen=True)
class DatasetInfo:
    """What a generator may know about the dataset it is evaluated on."""

    name: str
    num_classes: int  # generator label ids are 0..num_classes-1 (plus ignore_index where unlabeled)
    # (H, W) the generated images must have; None: the dataset keeps each image's own size (super-resolution test
    # sets such as Set5): the output has the size of the batch's real images, e.g. the input's times the scale
    resolution: tuple[int, int] | None
    has_instances: bool = False
    ignore_index: int | None = None
    palette: tuple[tuple[int, int, int], ...] = field(default=(), repr=False)
    task: str = "semantic"  # the dataset's task kind (bench.tasks): what the batch holds
    task_params: tuple[tuple[str, Any], ...] = ()  # the card's task_params, e.g. (("scale", 4), ...)

    def param(self, name: str) -> Any:
        """One of the task's parameters (e.g. ``info.param("scale")`` for super-resolution)."""
        return dict(self.task_params)[name]


class Generator(ABC):
    """Base class of every benchmarked method. Subclasses implement ``generate``; training is optional."""

    needs_instance: ClassVar[bool] = False  # wants batch["instance"] (class*1000+k ids, or zeros if none)
    multimodal: ClassVar[bool] = False  # different seeds must give different images
    needs_image: ClassVar[bool] = False  # reads batch["image"] (only the oracle may)
    # the task kinds this method generates for (bench.tasks; "*": any); `bench run` refuses the others
    tasks: ClassVar[tuple[str, ...]] = ("semantic",)

    def __init__(self, info: DatasetInfo, *, device: str = "cpu", checkpoint: str | None = None,
                 config: str | None = None) -> None:
        import torch

        self.info = info
        self.device = torch.device(device)
        self.checkpoint = checkpoint
        self.config = config

    @abstractmethod
    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        """Images for ``batch`` (the keys of the dataset's task, see ``bench ls --tasks``; for ``semantic``:
        ``label``, ``instance`` int64 [B,1,H,W] and ``path``): uint8 [B,3,H,W] at the dataset's resolution."""

    def train(self, dataset: Any, *, out_dir: str, seed: int, steps: int | None = None) -> str:
        """Train on ``dataset`` and return the checkpoint path. Methods that cannot train raise."""
        raise BenchError(f"method '{type(self).__name__}' cannot be trained by the benchmark")

    @classmethod
    def default_checkpoint(cls, dataset: str, config: str | None) -> str | None:
        """The weights ``bench run`` uses when given neither ``--checkpoint`` nor ``--train``: a path, or None to run
        without any (the default: an adapter that needs none); raise a BenchError to refuse."""
        return None

    @classmethod
    def native_resolution(cls, dataset: str, config: str | None) -> tuple[int, int] | None:
        """(H, W) the weights of this config were trained at, when that is fixed (a release); None: any.

        ``bench run`` refuses another evaluation resolution unless asked (``--any-resolution``): a 1024p
        release run at 256x512 sees 1/16 of its training pixels and its number means something else."""
        return None

    def provenance(self) -> dict[str, Any]:
        """Recorded in the result: config name and checkpoint sha256 (override to add more)."""
        from bench.fileio import sha256_file

        return {
            "adapter": f"{type(self).__module__}:{type(self).__qualname__}",
            "config": self.config,
            "checkpoint": self.checkpoint,
            "checkpoint_sha256": sha256_file(self.checkpoint) if self.checkpoint else None,
        }


def register_method(name: str):
    """Class decorator: make ``name`` usable as ``bench run --method name``."""

    def decorator(cls: type[Generator]) -> type[Generator]:
        if not (isinstance(cls, type) and issubclass(cls, Generator)):
            raise TypeError(f"@register_method('{name}') must decorate a Generator subclass")
        cls.method_name = name  # type: ignore[attr-defined]
        METHODS.register(name, cls)
        return cls

    return decorator


def get_method(name: str) -> type[Generator]:
    """A method class by registry name, entry point, or ``package.module:Class``."""
    cls = METHODS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        raise BenchError(f"'{name}' is not a bench.adapter.Generator subclass (got {cls!r})")
    return cls


def method_names() -> list[str]:
    return METHODS.names()


def per_sample_noise(seeds: Sequence[int], shape: tuple[int, ...], device: Any = "cpu") -> Any:
    """A float32 [B, *shape] standard-normal tensor whose row i depends only on ``seeds[i]``."""
    import torch

    rows = [torch.randn(shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
    return torch.stack(rows).to(device)


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed from ints and strings: the first 8 bytes (little-endian) of sha256("p0/p1/..."), stable across
    processes, machines and versions (every derived seed of the benchmark and the reference trainer)."""
    text = "/".join(p if isinstance(p, str) else str(int(p)) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") & ((1 << 63) - 1)


def sample_seed(run_seed: int, key: str, k: int) -> int:
    """The seed of the k-th sample for the condition ``key`` in a run: independent of order and batching."""
    return derive_seed(run_seed, key, k)


def _frozen(value: Any) -> Any:
    """Lists as tuples, all the way down: a DatasetInfo is hashable and no method can edit the card through it."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def dataset_info(ds: Any) -> DatasetInfo:
    """What a generator may know about the dataset ``ds`` (a ``bench.data`` dataset): the one way to build it."""
    return DatasetInfo(
        name=ds.card.name, num_classes=int(ds.num_classes), resolution=tuple(ds.resolution) if ds.resolution is not None else None,
        has_instances=bool(ds.has_instances), ignore_index=ds.ignore_index,
        palette=tuple(tuple(int(c) for c in rgb) for rgb in ds.palette),
        task=ds.card.task, task_params=tuple(sorted((k, _frozen(v)) for k, v in ds.task_params.items())),
    )


def to_uint8(images: Any) -> Any:
    """[-1, 1] float images -> uint8 (round half to even, clamp), the usual GAN output convention.

    NaN or Inf is refused: casting would turn it into 0 (black) and a broken model would get a number.
    """
    import torch

    images = images.detach()
    if images.is_floating_point() and not bool(torch.isfinite(images).all()):
        bad = int((~torch.isfinite(images)).sum())
        raise BenchError(f"generator output holds {bad} NaN/Inf value(s) of {images.numel()}: the weights or the "
                         "inputs are broken (a diverged or damaged checkpoint?)")
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
