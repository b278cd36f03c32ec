"""Step 2 of scripts/train-samples: trains one sample model and writes it as a Hugging Face folder.

    python3 scripts/samples/train.py --arch gpt2|llama --data build/train-samples --out samples/gpt2-english

Debian's python3-torch (1.13) is the only dependency, and only this script uses it. The modules
below are written from transformers' modeling_gpt2.py and modeling_llama.py, with the same
parameter names and layouts (GPT-2's Conv1D is [in, out]; nn.Linear is [out, in]), so the state
dict is saved as it is. Writes config.json, model.safetensors (F16), the tokenizer files, and
metrics.json (the held-out loss, measured on the F16 weights the folder holds, as `ffn-lens
score` measures it). Deterministic: a fixed seed and a fixed number of steps.
"""
import argparse
import json
import math
import os
import shutil
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = 4096
EOT = VOCAB - 1
CONTEXT = 256
BF16 = os.environ.get("TRAIN_BF16", "1") == "1"

# The two models and how they are trained. Sizes keep all samples under the repo's 32 MB.
CONFIGS = {
    "gpt2": dict(layers=4, hidden=256, heads=4, steps=900, batch=16, lr=2e-3, warmup=50, seed=1337),
    "llama": dict(layers=4, hidden=192, heads=6, kv_heads=2, intermediate=512, steps=600, batch=16, lr=2e-3, warmup=50, seed=4242),
}


# ---- GPT-2 (modeling_gpt2.py: pre-LayerNorm, learned positions, gelu_new, tied head) ----

class Conv1D(nn.Module):
    """transformers' Conv1D: weight [in, out], y = x @ W + b."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * 0.02)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).reshape(*x.shape[:-1], -1)


class Gpt2Block(nn.Module):
    def __init__(self, d, heads, layers):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.attn = nn.Module()
        self.attn.c_attn = Conv1D(d, 3 * d)
        self.attn.c_proj = Conv1D(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.mlp = nn.Module()
        self.mlp.c_fc = Conv1D(d, 4 * d)
        self.mlp.c_proj = Conv1D(4 * d, d)
        # GPT-2's scaled init of the projections into the residual stream
        for p in (self.attn.c_proj.weight, self.mlp.c_proj.weight):
            nn.init.normal_(p, std=0.02 / math.sqrt(2 * layers))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        a = causal_attention(q, k, v)
        x = x + self.attn.c_proj(a.transpose(1, 2).reshape(b, t, d))
        h = self.mlp.c_fc(self.ln_2(x))
        return x + self.mlp.c_proj(F.gelu(h, approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden"]
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(VOCAB, d)
        self.transformer.wpe = nn.Embedding(CONTEXT, d)
        nn.init.normal_(self.transformer.wte.weight, std=0.02)
        nn.init.normal_(self.transformer.wpe.weight, std=0.01)
        self.transformer.h = nn.ModuleList([Gpt2Block(d, c["heads"], c["layers"]) for _ in range(c["layers"])])
        self.transformer.ln_f = nn.LayerNorm(d, eps=1e-5)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.transformer.wte(ids) + self.transformer.wpe(torch.arange(t))
        for block in self.transformer.h:
            x = block(x)
        return self.transformer.ln_f(x) @ self.transformer.wte.weight.T  # tied head

    @staticmethod
    def hf_config(c):
        return {
            "architectures": ["GPT2LMHeadModel"],
            "model_type": "gpt2",
            "vocab_size": VOCAB,
            "n_positions": CONTEXT,
            "n_ctx": CONTEXT,
            "n_embd": c["hidden"],
            "n_layer": c["layers"],
            "n_head": c["heads"],
            "n_inner": None,
            "activation_function": "gelu_new",
            "layer_norm_epsilon": 1e-5,
            "resid_pdrop": 0.0,
            "embd_pdrop": 0.0,
            "attn_pdrop": 0.0,
            "initializer_range": 0.02,
            "scale_attn_weights": True,
            "tie_word_embeddings": True,
            "bos_token_id": EOT,
            "eos_token_id": EOT,
            "torch_dtype": "float16",
        }


# ---- LLaMA (modeling_llama.py: RMSNorm, rotate-half RoPE, GQA, SwiGLU, untied head) ----

class RmsNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.heads, self.kv = c["hidden"], c["heads"], c["kv_heads"]
        self.hd = d // self.heads
        self.input_layernorm = RmsNorm(d)
        self.self_attn = nn.Module()
        self.self_attn.q_proj = nn.Linear(d, self.heads * self.hd, bias=False)
        self.self_attn.k_proj = nn.Linear(d, self.kv * self.hd, bias=False)
        self.self_attn.v_proj = nn.Linear(d, self.kv * self.hd, bias=False)
        self.self_attn.o_proj = nn.Linear(self.heads * self.hd, d, bias=False)
        self.post_attention_layernorm = RmsNorm(d)
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(d, c["intermediate"], bias=False)
        self.mlp.up_proj = nn.Linear(d, c["intermediate"], bias=False)
        self.mlp.down_proj = nn.Linear(c["intermediate"], d, bias=False)
        for m in (self.self_attn.q_proj, self.self_attn.k_proj, self.self_attn.v_proj, self.mlp.gate_proj, self.mlp.up_proj):
            nn.init.normal_(m.weight, std=0.02)
        for m in (self.self_attn.o_proj, self.mlp.down_proj):
            nn.init.normal_(m.weight, std=0.02 / math.sqrt(2 * c["layers"]))

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        q = self.self_attn.q_proj(h).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.self_attn.k_proj(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.self_attn.v_proj(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = self.heads // self.kv  # repeat_kv: query head i reads key/value head i // group
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        a = causal_attention(q, k, v)
        x = x + self.self_attn.o_proj(a.transpose(1, 2).reshape(b, t, -1))
        h = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(F.silu(self.mlp.gate_proj(h)) * self.mlp.up_proj(h))


class Llama(nn.Module):
    THETA = 10000.0

    def __init__(self, c):
        super().__init__()
        d = c["hidden"]
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(VOCAB, d)
        nn.init.normal_(self.model.embed_tokens.weight, std=0.02)
        self.model.layers = nn.ModuleList([LlamaBlock(c) for _ in range(c["layers"])])
        self.model.norm = RmsNorm(d)
        self.lm_head = nn.Linear(d, VOCAB, bias=False)
        nn.init.normal_(self.lm_head.weight, std=0.02)
        hd = d // c["heads"]
        inv_freq = 1.0 / (self.THETA ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        freqs = torch.outer(torch.arange(CONTEXT, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.model.embed_tokens(ids)
        cos, sin = self.cos[:t], self.sin[:t]
        for block in self.model.layers:
            x = block(x, cos, sin)
        return self.lm_head(self.model.norm(x))

    @staticmethod
    def hf_config(c):
        return {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": VOCAB,
            "hidden_size": c["hidden"],
            "intermediate_size": c["intermediate"],
            "num_hidden_layers": c["layers"],
            "num_attention_heads": c["heads"],
            "num_key_value_heads": c["kv_heads"],
            "head_dim": c["hidden"] // c["heads"],
            "max_position_embeddings": CONTEXT,
            "rms_norm_eps": 1e-5,
            "rope_theta": Llama.THETA,
            "rope_scaling": None,
            "hidden_act": "silu",
            "attention_bias": False,
            "attention_dropout": 0.0,
            "mlp_bias": False,
            "initializer_range": 0.02,
            "tie_word_embeddings": False,
            "bos_token_id": EOT,
            "eos_token_id": EOT,
            "torch_dtype": "float16",
        }


def causal_attention(q, k, v):
    t = q.shape[2]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)
    return scores.masked_fill(mask, float("-inf")).softmax(-1).to(v.dtype) @ v


# ---- data, training, evaluation ----

def read_ids(path):
    return torch.from_numpy(np.fromfile(path, dtype="<u2").astype(np.int64))


def held_out_files(data_dir, split):
    """The held-out documents, each tokenised on its own (heldout.u16 is them in order, EOT after each)."""
    ids = read_ids(os.path.join(data_dir, "heldout.u16"))
    files, at = [], 0
    for entry in split["heldOut"]:
        n = entry["tokens"]
        files.append((entry, ids[at:at + n]))
        at += n + 1
    assert at == len(ids), "heldout.u16 does not match split.json"
    return files


@torch.no_grad()
def score(model, ids):
    """`ffn-lens score`: windows of CONTEXT ids, each run alone; −log p of every token but a window's first."""
    losses = []
    for start in range(0, len(ids), CONTEXT):
        w = ids[start:start + CONTEXT]
        if len(w) < 2:
            continue
        logits = model(w[None]).float()[0, :-1]
        losses.append(F.cross_entropy(logits, w[1:], reduction="none"))
    return torch.cat(losses)


def predicted_tokens(ids):
    """The tokens `score` predicts: all but each window's first."""
    keep = torch.ones(len(ids), dtype=torch.bool)
    keep[::CONTEXT] = False
    return ids[keep]


def unigram_entropy(tokens):
    counts = torch.bincount(tokens, minlength=VOCAB).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())


def write_safetensors(path, tensors):
    """The safetensors layout: u64 header length, JSON header (padded to 8 bytes), raw little-endian data."""
    header, blobs, at = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().to(torch.float16).contiguous().numpy().astype("<f2").tobytes()
        header[name] = {"dtype": "F16", "shape": list(tensors[name].shape), "data_offsets": [at, at + len(data)]}
        blobs.append(data)
        at += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def lr_at(step, c):
    if step < c["warmup"]:
        return c["lr"] * (step + 1) / c["warmup"]
    progress = (step - c["warmup"]) / max(1, c["steps"] - c["warmup"])
    return c["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=sorted(CONFIGS), required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, help="override the recorded step count (for trying things out)")
    args = ap.parse_args()
    c = dict(CONFIGS[args.arch])
    if args.steps:
        c["steps"] = args.steps
    torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", os.cpu_count() or 1)))
    torch.manual_seed(c["seed"])
    split = json.load(open(os.path.join(args.data, "split.json")))
    train = read_ids(os.path.join(args.data, "train.u16"))
    model = (Gpt2 if args.arch == "gpt2" else Llama)(c)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}], lr=c["lr"], betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(c["seed"])
    print(f"{args.arch}: {n_params} parameters, {c['steps']} steps of {c['batch']} x {CONTEXT} tokens", flush=True)
    t0 = time.time()
    for step in range(c["steps"]):
        starts = torch.randint(0, len(train) - CONTEXT - 1, (c["batch"],), generator=gen)
        batch = torch.stack([train[s:s + CONTEXT + 1] for s in starts.tolist()])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, c)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=BF16):
            logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, VOCAB), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == c["steps"] - 1:
            print(f"step {step} loss {loss.item():.4f} lr {lr_at(step, c):.2e} {time.time() - t0:.0f}s", flush=True)
    train_seconds = time.time() - t0

    # Evaluate the weights as shipped: rounded to F16, computed in float32.
    state = {k: v for k, v in model.state_dict().items() if not (args.arch == "gpt2" and k == "lm_head.weight")}
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.float16).float())
    model.eval()
    per_file, all_losses, all_tokens = [], [], []
    for entry, ids in held_out_files(args.data, split):
        losses = score(model, ids)
        tokens = predicted_tokens(ids)
        assert len(losses) == len(tokens)
        all_losses.append(losses)
        all_tokens.append(tokens)
        per_file.append({"sample": entry["sample"], "source": entry["source"], "tokens": len(ids), "predicted": len(tokens),
                         "meanLoss": float(losses.double().mean()), "unigramEntropy": unigram_entropy(tokens)})
    losses, tokens = torch.cat(all_losses).double(), torch.cat(all_tokens)
    by_source = {}
    for source in ("moby-dick", "sotu"):
        ls = torch.cat([l for l, f in zip(all_losses, per_file) if f["source"] == source]).double()
        ts = torch.cat([t for t, f in zip(all_tokens, per_file) if f["source"] == source])
        by_source[source] = {"predicted": len(ts), "meanLoss": float(ls.mean()), "unigramEntropy": unigram_entropy(ts)}
        by_source[source]["ratio"] = by_source[source]["meanLoss"] / by_source[source]["unigramEntropy"]
    held = {"predicted": len(tokens), "meanLoss": float(losses.mean()), "unigramEntropy": unigram_entropy(tokens)}
    held["ratio"] = held["meanLoss"] / held["unigramEntropy"]
    held["perplexity"] = math.exp(held["meanLoss"])

    os.makedirs(args.out, exist_ok=True)
    hf = (Gpt2 if args.arch == "gpt2" else Llama).hf_config(c)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(hf, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(args.out, "model.safetensors"), state)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(args.data, name), os.path.join(args.out, name))
    metrics = {
        "arch": args.arch,
        "parameters": n_params,
        "training": {**c, "context": CONTEXT, "tokensSeen": c["steps"] * c["batch"] * CONTEXT, "trainTokens": len(train),
                     "optimizer": "AdamW(betas=(0.9, 0.95), weight_decay=0.1 on matrices), cosine to 0.1x, clip 1.0",
                     "precision": "bf16 autocast (oneDNN), float32 master weights", "seconds": round(train_seconds),
                     "torch": torch.__version__, "finalTrainLoss": loss.item()},
        "heldOut": held,
        "bySource": by_source,
        "files": per_file,
    }
    with open(os.path.join(args.data, f"metrics-{args.arch}.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(json.dumps({"heldOut": held, "bySource": by_source}, indent=2))


if __name__ == "__main__":
    main()
