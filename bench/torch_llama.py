"""The peer of `ffn-lens run <llama folder> --ids ... --predict K`: a LLaMA written with plain torch
modules (RMSNorm, rotate-half RoPE, multi-head attention, SwiGLU), as transformers' modeling_llama
computes it, loaded from a Hugging Face folder without transformers. Weights are memory-mapped
with numpy, bf16 widened to float32 by a 16-bit shift, and handed to modules built on the `meta`
device, so nothing is randomly initialised (what from_pretrained's low_cpu_mem_usage does).
Runs the ids once and prints one JSON line: the top-K next-token ids, logits and probabilities,
timings, versions.

Usage: python3 bench/torch_llama.py FOLDER --ids 1,2,3 [--predict 5] [--threads N]
"""
import argparse
import ctypes
import json
import math
import os
import struct
import time

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch_common import blas_library


def open_weights(folder):
    """name -> (memory-mapped bytes, dtype, shape) over model.safetensors or its shards."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for name in files:
        path = os.path.join(folder, name)
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        mm = np.memmap(path, dtype=np.uint8, mode="r")
        for key, info in header.items():
            if key == "__metadata__":
                continue
            start, end = info["data_offsets"]
            out[key] = (mm[8 + n + start : 8 + n + end], info["dtype"], info["shape"])
    return out


def to_tensor(entry):
    raw, dtype, shape = entry
    if dtype == "BF16":
        a = raw.view("<u2").astype(np.uint32)
        a <<= 16
        a = a.view(np.float32)
    elif dtype == "F32":
        a = np.array(raw.view("<f4"))
    else:
        raise SystemExit(f"dtype {dtype} not handled")
    return torch.from_numpy(a.reshape(shape))


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(dim, device="meta"))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.n_head, self.n_kv = c["hidden_size"], c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
        self.hd = d // self.n_head
        lin = lambda i, o: nn.Linear(i, o, bias=False, device="meta")  # noqa: E731
        self.q_proj, self.k_proj = lin(d, self.n_head * self.hd), lin(d, self.n_kv * self.hd)
        self.v_proj, self.o_proj = lin(d, self.n_kv * self.hd), lin(self.n_head * self.hd, d)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_head, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if self.n_kv != self.n_head:
            k = k.repeat_interleave(self.n_head // self.n_kv, dim=1)
            v = v.repeat_interleave(self.n_head // self.n_kv, dim=1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        return self.o_proj((att @ v).transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, f = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(d, f, bias=False, device="meta")
        self.up_proj = nn.Linear(d, f, bias=False, device="meta")
        self.down_proj = nn.Linear(f, d, bias=False, device="meta")

    def forward(self, x):
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"], device="meta")
        self.layers = nn.ModuleList(Block(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, ids):
        T = ids.shape[1]
        hd = self.c["hidden_size"] // self.c["num_attention_heads"]
        inv = 1.0 / (self.c.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        x = self.embed_tokens(ids)
        for block in self.layers:
            x = block(x, cos, sin, mask)
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = LlamaModel(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False, device="meta")

    def forward(self, ids):
        # Only the last position's logits are needed for the next token.
        return self.lm_head(self.model(ids)[:, -1, :])


def load(model, weights):
    """Puts each tensor in place of its meta parameter (no copy beyond the bf16 widening)."""
    tied = model.c.get("tie_word_embeddings", False)
    for name, _ in list(model.named_parameters()):
        if tied and name == "lm_head.weight":
            continue
        owner, _, leaf = name.rpartition(".")
        setattr(model.get_submodule(owner), leaf, nn.Parameter(to_tensor(weights[name]), requires_grad=False))
    if model.c.get("tie_word_embeddings", False):
        model.lm_head.weight = model.model.embed_tokens.weight


def main():
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--ids", required=True)
    p.add_argument("--predict", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's own default)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    t_import = time.perf_counter()
    with open(os.path.join(a.folder, "config.json")) as f:
        c = json.load(f)
    model = LlamaForCausalLM(c)
    load(model, open_weights(a.folder))
    model.eval()
    t_load = time.perf_counter()
    ids = torch.tensor([[int(x) for x in a.ids.split(",")]], dtype=torch.long)
    with torch.inference_mode():
        logits = model(ids)[0]
    top = torch.topk(logits, a.predict)
    t_end = time.perf_counter()
    print(json.dumps({
        "top": top.indices.tolist(),
        "logits": top.values.tolist(),
        "probs": torch.softmax(logits, dim=-1)[top.indices].tolist(),
        "import_ms": (t_import - T0) * 1e3,
        "load_ms": (t_load - t_import) * 1e3,
        "forward_ms": (t_end - t_load) * 1e3,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_library(),
    }))


if __name__ == "__main__":
    main()
