"""The peer of `ffn-lens run <gpt2 folder> --text-file F --layer L --json --full`: GPT-2 as
nanoGPT's model.py writes it (Block = ln_1, attn, ln_2, mlp; LayerNorm with bias; GELU with the
tanh approximation; head tied to wte), loaded from a Hugging Face folder with numpy: Conv1D
weights [in, out] are handed to nn.Linear transposed, as nanoGPT's from_pretrained copies them,
but into modules built on the `meta` device, so nothing is randomly initialised first
(transformers' from_pretrained skips that init too). A forward hook captures block L's MLP
hidden activations (after the GELU), which are saved with np.save.

Token ids come from FFN Lens' own tokenizer (`ffn-lens tokenize`), as the Python tokenizers
package is not installed here.

Usage: python3 bench/torch_gpt2.py FOLDER --ids 1,2,3 --layer 11 --out acts.npy [--threads N]
"""
import argparse
import ctypes
import json
import math
import os
import struct
import time
from dataclasses import dataclass

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch_common import blas_library


@dataclass
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = 50257
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    bias: bool = True


class LayerNorm(nn.Module):
    def __init__(self, ndim):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(ndim, device="meta"))
        self.bias = nn.Parameter(torch.empty(ndim, device="meta"))

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias, device="meta")
        self.c_proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias, device="meta")
        self.n_head, self.n_embd = c.n_head, c.n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias, device="meta")
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias, device="meta")

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = LayerNorm(c.n_embd)
        self.attn = CausalSelfAttention(c)
        self.ln_2 = LayerNorm(c.n_embd)
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c.vocab_size, c.n_embd, device="meta"),
            wpe=nn.Embedding(c.block_size, c.n_embd, device="meta"),
            h=nn.ModuleList([Block(c) for _ in range(c.n_layer)]),
            ln_f=LayerNorm(c.n_embd),
        ))
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False, device="meta")

    def forward(self, idx):
        pos = torch.arange(0, idx.size(1), dtype=torch.long)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        return self.lm_head(x[:, [-1], :])  # nanoGPT at inference: the last position only


def read_safetensors(path, wanted=lambda name: True):
    """name -> float32 numpy array for the names `wanted` keeps, each copied out of the memory-mapped file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for key, info in header.items():
        if key == "__metadata__" or not wanted(key):
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{key}: dtype {info['dtype']} not handled")
        start, end = info["data_offsets"]
        out[key] = np.array(mm[8 + n + start : 8 + n + end].view("<f4")).reshape(info["shape"])
    return out


def load(model, sd_hf):
    """nanoGPT's from_pretrained mapping, assigning instead of copying into initialised modules."""
    transposed = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    sd_hf = {k if k.startswith("transformer.") else "transformer." + k: v for k, v in sd_hf.items() if not k.endswith(".attn.bias")}
    for name, _ in list(model.named_parameters()):
        if name == "lm_head.weight":
            continue
        t = torch.from_numpy(sd_hf[name])
        if name.endswith(transposed):
            t = t.t()  # Conv1D [in, out] -> Linear [out, in], a view
        owner, _, leaf = name.rpartition(".")
        setattr(model.get_submodule(owner), leaf, nn.Parameter(t, requires_grad=False))
    model.lm_head.weight = model.transformer.wte.weight  # tied


def main():
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--ids", required=True)
    p.add_argument("--layer", type=int, default=11)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's own default)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    t_import = time.perf_counter()
    with open(os.path.join(a.folder, "config.json")) as f:
        hf = json.load(f)
    c = GPTConfig(block_size=hf["n_positions"], vocab_size=hf["vocab_size"], n_layer=hf["n_layer"], n_head=hf["n_head"], n_embd=hf["n_embd"])
    model = GPT(c)
    load(model, read_safetensors(os.path.join(a.folder, "model.safetensors")))
    model.eval()
    captured = []
    model.transformer.h[a.layer].mlp.gelu.register_forward_hook(lambda m, i, o: captured.append(o.detach()))
    t_load = time.perf_counter()
    idx = torch.tensor([[int(x) for x in a.ids.split(",")]], dtype=torch.long)
    with torch.inference_mode():
        model(idx)
    np.save(a.out, captured[0][0].numpy())
    t_end = time.perf_counter()
    print(json.dumps({
        "shape": list(captured[0][0].shape),
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
