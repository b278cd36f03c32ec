"""The peer of `ffn-lens compare A B`, on LLaMA folders, with the modules and loading of
bench/torch_llama.py (plain torch modules, weights memory-mapped with numpy, bf16 widened to float32,
modules built on the `meta` device so nothing is randomly initialised). Prints one JSON line.

  --weights: per block and FFN matrix (gate, up, down), over both memory-mapped checkpoints,
    relativeError = ||B - A||_F / ||A||_F and the top-K units by ||b_i - a_i|| / ||a_i|| (units:
    rows of gate/up [out, in], columns of down), sums in float64, one matrix of each in memory at a
    time, as `ffn-lens compare --weights` reads them.
  --ids 1,2,3: A, then B, one model in memory at a time (building both at once would double the
    peak), each run on the ids with forward hooks on every block's mlp (its output) and down_proj
    (its input: silu(gate) * up, the hidden activations), and lm_head on every position. Per block,
    the mean and max over tokens of ||yB - yA|| / ||yA|| for the output and the hidden; KL(A||B) of
    the next-token distributions (log-softmax in float64) averaged over positions; each model's top-5
    after the last position.

Usage: python3 bench/torch_compare.py A B --weights [--top K] [--threads N]
       python3 bench/torch_compare.py A B --ids 1,2,3 [--threads N]
"""
import argparse
import gc
import json
import os
import sys
import time

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import blas_library  # noqa: E402
from torch_llama import LlamaForCausalLM, load, open_weights, to_tensor  # noqa: E402

ROLES = (("gate", "gate_proj", 1), ("up", "up_proj", 1), ("down", "down_proj", 0))  # (role, module, dim summed over per unit)


def relative_rows(num, den):
    """sqrt(num / den) per unit: 0 where both are 0, inf where only A's unit is 0."""
    out = torch.where(den > 0, (num / den.clamp(min=1e-300)).sqrt(), torch.where(num > 0, torch.full_like(num, float("inf")), torch.zeros_like(num)))
    return out


def compare_weights(a_dir, b_dir, top):
    wa, wb = open_weights(a_dir), open_weights(b_dir)
    with open(os.path.join(a_dir, "config.json")) as f:
        blocks = json.load(f)["num_hidden_layers"]
    layers = []
    for i in range(blocks):
        tensors = []
        for role, module, dim in ROLES:
            name = f"model.layers.{i}.mlp.{module}.weight"
            a = to_tensor(wa[name])
            b = to_tensor(wb[name])
            d = (b - a).double()
            del b
            num = d.square_().sum(dim)
            del d
            a = a.double()
            den = a.square_().sum(dim)
            del a
            rel = relative_rows(num, den)
            total = num.sum() / den.sum() if den.sum() > 0 else torch.tensor(float("inf") if num.sum() > 0 else 0.0)
            k = min(top, rel.numel())
            v, idx = torch.topk(rel, k)
            tensors.append({
                "role": role,
                "name": name,
                "relativeError": float(total.sqrt()),
                "changed": [{"index": int(j), "relative": float(x)} for j, x in zip(idx.tolist(), v.tolist())],
            })
        layers.append({"layer": i, "tensors": tensors})
    return {"layers": layers}


def run_model(folder, ids):
    """One model: its per-block MLP outputs and hidden activations [T, *] and logits [T, V] at every position."""
    t0 = time.perf_counter()
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    model = LlamaForCausalLM(c)
    weights = open_weights(folder)
    load(model, weights)
    model.eval()
    t1 = time.perf_counter()
    out, hidden = {}, {}
    hooks = []
    for i, block in enumerate(model.model.layers):
        hooks.append(block.mlp.register_forward_hook(lambda m, inp, o, i=i: out.__setitem__(i, o[0].clone())))
        hooks.append(block.mlp.down_proj.register_forward_pre_hook(lambda m, inp, i=i: hidden.__setitem__(i, inp[0][0].clone())))
    with torch.inference_mode():
        logits = model.lm_head(model.model(ids))[0]
    for h in hooks:
        h.remove()
    t2 = time.perf_counter()
    del model, weights
    gc.collect()
    return out, hidden, logits, (t1 - t0) * 1e3, (t2 - t1) * 1e3


def row_errors(a, b):
    """||b_t - a_t|| / ||a_t|| per token (0 where both rows are 0), in float64."""
    a, b = a.double(), b.double()
    return relative_rows((b - a).square().sum(-1), a.square().sum(-1))


def compare_on_ids(a_dir, b_dir, ids):
    x = torch.tensor([ids], dtype=torch.long)
    out_a, hid_a, log_a, load_a, fwd_a = run_model(a_dir, x)
    out_b, hid_b, log_b, load_b, fwd_b = run_model(b_dir, x)
    t = time.perf_counter()
    layers = []
    for i in sorted(out_a):
        o, h = row_errors(out_a[i], out_b[i]), row_errors(hid_a[i], hid_b[i])
        layers.append({
            "layer": i,
            "outputError": {"mean": float(o.mean()), "max": float(o.max())},
            "hiddenError": {"mean": float(h.mean()), "max": float(h.max())},
        })
    la = torch.log_softmax(log_a.double(), -1)
    lb = torch.log_softmax(log_b.double(), -1)
    kl = (la.exp() * (la - lb)).sum(-1).clamp(min=0)
    top = lambda lg: torch.topk(lg[-1], 5).indices.tolist()  # noqa: E731
    compare_ms = (time.perf_counter() - t) * 1e3
    return {
        "layers": layers,
        "kl": float(kl.mean()),
        "klPerPosition": kl.tolist(),
        "nextA": top(log_a),
        "nextB": top(log_b),
        "load_ms": load_a + load_b,
        "forward_ms": fwd_a + fwd_b,
        "compare_ms": compare_ms,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--weights", action="store_true")
    p.add_argument("--ids")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's own default)")
    args = p.parse_args()
    if args.weights == bool(args.ids):
        p.error("one of --weights or --ids")
    if args.threads:
        torch.set_num_threads(args.threads)
    t_import = time.perf_counter()
    if args.weights:
        doc = compare_weights(args.a, args.b, args.top)
    else:
        doc = compare_on_ids(args.a, args.b, [int(s) for s in args.ids.split(",")])
    t_end = time.perf_counter()
    doc.update({
        "import_ms": (t_import - T0) * 1e3,
        "total_ms": (t_end - t_import) * 1e3,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_library(),
    })
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
