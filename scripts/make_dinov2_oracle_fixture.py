"""Generate the DINOv2 "oracle" fixture in tests/fixtures/dinov2/ from the official code paths.

Run by hand, never imported by the tests (they only read the files it writes). It needs two exported source trees,
which CI does not have:

  * facebookresearch/dinov2 (the code that ``torch.hub.load('facebookresearch/dinov2', 'dinov2_vitl14')`` runs);
  * layer6ai-labs/dgm-eval  (Stein et al.'s evaluation code: DINOv2Encoder, its transform, its dataloader and
    get_representations).

Usage::

    XFORMERS_DISABLED=1 python scripts/make_dinov2_oracle_fixture.py \
        --dinov2-tree /tmp/dinov2_oracle/dinov2_src --dgm-eval-tree /tmp/dinov2_oracle/dgm_eval_src \
        [--out tests/fixtures/dinov2] [--skip-vitl14]

What it writes (all under --out):

  vitl14_state_dict_shapes.json      [[key, [shape...]], ...] of dinov2_vitl14 (pretrained=False), state_dict order
  tiny_config.json                   constructor arguments of the tiny model (+ how its weights were filled)
  tiny_official_state_dict.safetensors  float32 weights of the tiny model (official DinoVisionTransformer class)
  images/*.png                       4 small non-square RGB photos (scikit-image sample data, public domain / CC0)
  preprocessed_inputs.npy            float32 [4,3,224,224]: dgm-eval's DINOv2Encoder.transform of each PNG
  expected_features_float32.npy      float32 [4,32]: dgm-eval get_representations(tiny model) (CLS after final norm)
  expected_features_float64.npy      float64 [4,32]: same forward with model.double() on the inputs cast to float64

Images are ordered by sorted file name (which is also dgm-eval's order).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import sys
import types
from functools import partial
from pathlib import Path

os.environ.setdefault("XFORMERS_DISABLED", "1")  # must be set before dinov2.layers is imported

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

TINY = dict(embed_dim=32, depth=2, num_heads=4)
SEED_BASE = 1234

# (output name, skimage.data function, crop box (left, upper, right, lower) on the original, output (W, H))
IMAGES = [
    ("astronaut_96x128.png", "astronaut", (64, 0, 448, 512), (96, 128)),  # 384x512 crop -> 96x128 (3:4 portrait)
    ("chelsea_150x100.png", "chelsea", (0, 0, 450, 300), (150, 100)),  # 450x300 crop -> 150x100 (3:2)
    ("coffee_128x80.png", "coffee", (0, 12, 600, 387), (128, 80)),  # 600x375 crop -> 128x80 (16:10)
    ("rocket_256x160.png", "rocket", (0, 13, 640, 413), (256, 160)),  # 640x400 crop -> 256x160 (down in W, up in H)
]


def sha256_file(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def import_dinov2(tree: Path):
    sys.path.insert(0, str(tree))
    import hubconf  # noqa: F401  (what torch.hub imports)
    from dinov2.hub import backbones
    from dinov2.layers import MemEffAttention, NestedTensorBlock
    from dinov2.layers import attention as attn_mod
    from dinov2.models import vision_transformer as vits

    assert not attn_mod.XFORMERS_AVAILABLE, "run with XFORMERS_DISABLED=1 (plain PyTorch attention)"
    return backbones, vits, NestedTensorBlock, MemEffAttention


def import_dgm_eval(tree: Path):
    """Import dgm-eval's own modules. dgm_eval/models/__init__.py imports every encoder (transformers, open_clip,
    timm...), so the ``dgm_eval.models`` package is registered without running that __init__; the modules used
    (models/dinov2.py, models/encoder.py, resizer.py, dataloaders.py, representations.py) are dgm-eval's files,
    unmodified."""
    sys.path.insert(0, str(tree))
    import dgm_eval  # noqa: F401  (its __init__ only sets __version__)

    pkg = types.ModuleType("dgm_eval.models")
    pkg.__path__ = [str(tree / "dgm_eval" / "models")]
    sys.modules["dgm_eval.models"] = pkg
    from dgm_eval.dataloaders import get_dataloader
    from dgm_eval.models.dinov2 import DINOv2Encoder
    from dgm_eval.representations import get_representations

    return DINOv2Encoder, get_dataloader, get_representations


def write_vitl14_shapes(backbones, out: Path) -> dict:
    torch.manual_seed(0)
    model = backbones.dinov2_vitl14(pretrained=False)
    sd = model.state_dict()
    rows = [[k, list(v.shape)] for k, v in sd.items()]
    n_params = sum(p.numel() for p in model.parameters())
    n_buffers = sum(b.numel() for b in model.buffers())
    info = dict(n_entries=len(rows), n_params=n_params, n_buffers=n_buffers,
                class_name=type(model).__name__, img_size=list(model.patch_embed.img_size),
                patch_size=model.patch_size, interpolate_offset=model.interpolate_offset,
                interpolate_antialias=model.interpolate_antialias, chunked_blocks=model.chunked_blocks)
    (out / "vitl14_state_dict_shapes.json").write_text(json.dumps(rows) + "\n")
    del model, sd
    return info


def tiny_kwargs() -> dict:
    # the arguments hub's _make_dinov2_model passes for dinov2_vitl14, then vit_large's own, with the dims shrunk
    return dict(img_size=518, patch_size=14, init_values=1.0, ffn_layer="mlp", block_chunks=0, num_register_tokens=0,
                interpolate_antialias=False, interpolate_offset=0.1, mlp_ratio=4, **TINY)


def build_tiny(vits, Block, MemEffAttention):
    torch.manual_seed(0)
    model = vits.DinoVisionTransformer(block_fn=partial(Block, attn_class=MemEffAttention), **tiny_kwargs())
    ln_weights = {f"{n}.weight" for n, m in model.named_modules() if isinstance(m, torch.nn.LayerNorm)}
    sd = model.state_dict()
    new = {}
    for i, (k, v) in enumerate(sd.items()):
        r = torch.randn(v.shape, generator=torch.Generator().manual_seed(SEED_BASE + i)) * 0.05
        new[k] = (1.0 + r if k in ln_weights else r).to(v.dtype)
    model.load_state_dict(new, strict=True)
    model.eval()
    return model, sorted(ln_weights)


def make_images(img_dir: Path) -> list[dict]:
    import skimage.data

    img_dir.mkdir(parents=True, exist_ok=True)
    meta = []
    for name, fn, box, size in IMAGES:
        arr = getattr(skimage.data, fn)()
        im = Image.fromarray(arr).convert("RGB").crop(box).resize(size, Image.NEAREST)
        p = img_dir / name
        im.save(p, format="PNG")
        back = np.asarray(Image.open(p).convert("RGB"))
        assert back.shape == (size[1], size[0], 3)
        meta.append(dict(file=name, source=f"skimage.data.{fn}()", original_shape=list(arr.shape), crop_box=list(box),
                         size_wh=list(size), pixels_sha256=hashlib.sha256(back.tobytes()).hexdigest()))
    return meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dinov2-tree", type=Path, required=True)
    ap.add_argument("--dgm-eval-tree", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "tests/fixtures/dinov2")
    ap.add_argument("--skip-vitl14", action="store_true", help="do not rebuild the 300M-param model for the shapes file")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {}

    backbones, vits, Block, MemEffAttention = import_dinov2(args.dinov2_tree.resolve())
    DINOv2Encoder, get_dataloader, get_representations = import_dgm_eval(args.dgm_eval_tree.resolve())

    # 3a. full ViT-L/14 architecture, random init, keys and shapes only
    if not args.skip_vitl14:
        report["vitl14"] = write_vitl14_shapes(backbones, out)

    # 3b. tiny model, same class and options
    tiny, ln_weights = build_tiny(vits, Block, MemEffAttention)
    from safetensors.torch import load_file, save_file

    sd = {k: v.detach().contiguous() for k, v in tiny.state_dict().items()}
    st_path = out / "tiny_official_state_dict.safetensors"
    save_file(sd, str(st_path), metadata={"format": "pt", "name": "dinov2-tiny-oracle"})
    back = load_file(str(st_path))
    assert list(back) == list(sd) or sorted(back) == sorted(sd)
    assert all(torch.equal(back[k], sd[k]) for k in sd)
    if not args.skip_vitl14:  # the tiny key list must be the ViT-L key list restricted to blocks 0..depth-1
        full = [k for k, _ in json.loads((out / "vitl14_state_dict_shapes.json").read_text())]
        keep = [k for k in full if not k.startswith("blocks.") or int(k.split(".")[1]) < TINY["depth"]]
        assert keep == list(sd), "tiny state_dict keys differ from dinov2_vitl14's"
    cfg = dict(
        cls="dinov2.models.vision_transformer.DinoVisionTransformer",
        block_fn="partial(dinov2.layers.NestedTensorBlock, attn_class=dinov2.layers.MemEffAttention)",
        constructor_kwargs=tiny_kwargs(),
        defaults_not_passed=dict(in_chans=3, qkv_bias=True, ffn_bias=True, proj_bias=True, drop_path_rate=0.0,
                                 drop_path_uniform=False, act_layer="nn.GELU (exact erf)",
                                 norm_layer="partial(nn.LayerNorm, eps=1e-6)"),
        same_as_hub_dinov2_vitl14_except=dict(embed_dim=[1024, 32], depth=[24, 2], num_heads=[16, 4]),
        weights=dict(
            rule=("state_dict entry i (state_dict order): torch.randn(shape, generator=torch.Generator()"
                  f".manual_seed({SEED_BASE} + i)) * 0.05; LayerNorm weights: 1 + that"),
            layernorm_weight_keys=ln_weights, torch_manual_seed_before_construction=0,
            state_dict_order=list(sd)),
        xformers="disabled (XFORMERS_DISABLED=1): MemEffAttention falls back to Attention.forward = "
                 "F.scaled_dot_product_attention",
    )
    (out / "tiny_config.json").write_text(json.dumps(cfg, indent=1) + "\n")

    # 3c. images
    img_meta = make_images(out / "images")

    # 3d. dgm-eval's path: DINOv2Encoder (torch.hub.load patched to return the tiny model), its transform,
    #     dgm-eval's DataLoader and get_representations, exactly as dgm_eval/__main__.py chains them.
    hub_calls = []
    real_hub_load = torch.hub.load

    def fake_hub_load(repo, model, *a, **k):
        hub_calls.append([repo, model, list(a), k])
        return tiny

    torch.hub.load = fake_hub_load
    try:
        encoder = DINOv2Encoder(arch=None, clean_resize=False)  # __main__: load_encoder('dinov2', ..., arch=None)
    finally:
        torch.hub.load = real_hub_load
    encoder.name = "dinov2"
    encoder = encoder.to("cpu")
    assert hub_calls == [["facebookresearch/dinov2", "dinov2_vitl14", [], {}]], hub_calls

    DL = get_dataloader(str(out / "images"), nsample=50000, batch_size=50, num_workers=0, seed=13579,
                        transform=lambda x: encoder.transform(x), random_sample=True, sample_w_replacement=False)
    files = [Path(f).name for f in DL.files]
    assert files == sorted(m["file"] for m in img_meta), files
    reps = get_representations(encoder, DL, torch.device("cpu"), normalized=False)  # float64 array of float32 values
    assert reps.shape == (4, TINY["embed_dim"]) and reps.dtype == np.float64
    f32 = reps.astype(np.float32)
    assert np.array_equal(f32.astype(np.float64), reps)

    pre = torch.stack([DL.data_set[i] for i in range(len(DL.data_set))])
    assert pre.dtype == torch.float32 and tuple(pre.shape) == (4, 3, 224, 224)

    # cross-check: the same transform written with plain torchvision calls
    import torchvision.transforms as TF

    tv = TF.Compose([TF.Resize((224, 224), TF.InterpolationMode.BICUBIC), TF.ToTensor(),
                     TF.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    pre_tv = torch.stack([tv(Image.open(out / "images" / f).convert("RGB")) for f in files])
    report["transform_vs_plain_torchvision_max_abs"] = float((pre - pre_tv).abs().max())
    with torch.no_grad():
        direct = tiny(pre).numpy()
    report["direct_forward_vs_get_representations_max_abs"] = float(np.abs(direct - f32).max())

    tiny64 = copy.deepcopy(tiny).double().eval()
    with torch.no_grad():
        f64 = tiny64(pre.double()).numpy()
    assert f64.dtype == np.float64
    report["float32_vs_float64_max_abs"] = float(np.abs(f64 - f32).max())

    np.save(out / "preprocessed_inputs.npy", pre.numpy())
    np.save(out / "expected_features_float32.npy", f32)
    np.save(out / "expected_features_float64.npy", f64)

    report["images"] = img_meta
    report["feature_rms"] = float(np.sqrt((f64 ** 2).mean()))
    report["versions"] = dict(python=sys.version.split()[0], torch=torch.__version__,
                              torchvision=__import__("torchvision").__version__,
                              pillow=Image.__version__ if hasattr(Image, "__version__") else __import__("PIL").__version__,
                              numpy=np.__version__, skimage=__import__("skimage").__version__,
                              safetensors=__import__("safetensors").__version__)
    report["files"] = {str(p.relative_to(out)): [p.stat().st_size, sha256_file(p)]
                       for p in sorted(out.rglob("*")) if p.is_file() and p.name != "PROVENANCE.md"}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
