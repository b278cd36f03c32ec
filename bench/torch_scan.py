"""The peer of `ffn-lens scan <gpt2 folder> --layer L --corpus DIR --ctx C --top K --all --json`:
the same windows through GPT-2's blocks 0..L, built from the same folder with the nanoGPT blocks
of bench/torch_gpt2.py (modules on the `meta` device, weights assigned, so nothing is randomly
initialised), only blocks 0..L built and read. A forward hook on block L's GELU gives the MLP
hidden activations; for every unit it keeps, as src/model/scan.ts does:
  - the top K values with (file, window, position), largest first;
  - the density: the share of tokens with |h| > threshold (0.01);
  - the maximum;
  - a 50-bin histogram whose range is fixed by the first 256 tokens and doubles its bin width
    (merging neighbouring bins) when a value falls outside, as src/model/scanStats.ts does.
One window at a time (batch 1), as ffn-lens runs them. The result goes to stdout as JSON.

The token ids come from a JSON file (`ffn-lens tokenize` per file, made by the benchmark): the
Python tokenizers package is not installed here. Each file's ids are cut into consecutive windows
of C ids (the last may be shorter), each run from position 0.

Usage: python3 bench/torch_scan.py FOLDER --ids-file ids.json --layer 5 --ctx 128 --top 20
         [--threshold 0.01] [--stats stats.json]
ids.json: {"files": [{"name": "a.txt", "ids": [1, 2, 3]}, ...]} in scan order.
"""
import argparse
import json
import os
import sys
import time

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_gpt2 import GPT, GPTConfig, blas_library, load, read_safetensors  # noqa: E402

BINS = 50
WARMUP = 256  # tokens buffered before a histogram's range is fixed (scanStats.ts)


class Histograms:
    """One streaming 50-bin histogram per unit, as src/model/scanStats.ts, vectorised over units."""

    def __init__(self, units):
        self.counts = torch.zeros(units, BINS, dtype=torch.float64)
        self.lo = torch.zeros(units, dtype=torch.float64)
        self.width = torch.zeros(units, dtype=torch.float64)
        self.pending = []
        self.buffered = 0

    def add(self, h):
        """h: [T, units] float32."""
        h = h.double()
        if self.pending is not None:
            need = WARMUP - self.buffered
            self.pending.append(h[:need])
            self.buffered += min(need, h.shape[0])
            if self.buffered < WARMUP:
                return
            self.fix()
            h = h[need:]
        if h.shape[0]:
            self.place(h)

    def fix(self):
        values = torch.cat(self.pending)
        self.pending = None
        lo, hi = values.min(0).values, values.max(0).values
        span = torch.where(hi > lo, hi - lo, lo.abs().clamp(min=1e-6))
        # the same 5% headroom either side as src/model/scanStats.ts
        self.lo = lo - 0.05 * span
        self.width = span * 1.1 / BINS
        self.place(values)

    def place(self, h):
        """Grows the ranges that `h` leaves, value by value in token order as scanStats.ts does
        (the order decides how far each side grows), then counts every value in one go: a value
        counted before a doubling lands in the merged bin it would have been merged into."""
        out = (h.max(0).values >= self.lo + BINS * self.width) | (h.min(0).values < self.lo)
        for u in out.nonzero().flatten().tolist():
            lo, width = self.lo[u].item(), self.width[u].item()
            for v in h[:, u].tolist():
                while v >= lo + BINS * width:
                    self.grow(u, False)
                    width *= 2
                while v < lo:
                    self.grow(u, True)
                    lo -= (BINS + 1) // 2 * 2 * width
                    width *= 2
            self.lo[u], self.width[u] = lo, width
        k = ((h - self.lo) / self.width).floor().clamp(0, BINS - 1).long()
        flat = k + torch.arange(h.shape[1]).mul(BINS)
        self.counts += torch.bincount(flat.flatten(), minlength=self.counts.numel()).view_as(self.counts).double()

    def grow(self, u, down):
        """Doubles unit u's bin width, merging neighbouring bins: upwards, or downwards with the old range in the upper half."""
        shift = (BINS + 1) // 2 if down else 0
        merged = torch.zeros(BINS, dtype=torch.float64)
        merged[shift : shift + BINS // 2] = self.counts[u].view(BINS // 2, 2).sum(-1)
        self.counts[u] = merged

    def to_json(self):
        """Every unit's {edges, counts}."""
        if self.pending is not None and self.buffered:
            self.fix()
        edges = (self.lo.unsqueeze(1) + torch.arange(BINS + 1, dtype=torch.float64) * self.width.unsqueeze(1)).tolist()
        return [{"edges": e, "counts": c} for e, c in zip(edges, self.counts.tolist())]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--ids-file", required=True)
    p.add_argument("--layer", type=int, default=5)
    p.add_argument("--ctx", type=int, default=128)
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--threshold", type=float, default=0.01)
    p.add_argument("--stats", help="write the timing split here")
    a = p.parse_args()
    t_import = time.perf_counter()

    with open(os.path.join(a.folder, "config.json")) as f:
        hf = json.load(f)
    c = GPTConfig(block_size=hf["n_positions"], vocab_size=hf["vocab_size"], n_layer=a.layer + 1, n_head=hf["n_head"], n_embd=hf["n_embd"])
    model = GPT(c)
    keep = lambda k: not k.startswith("h.") or int(k.split(".")[1]) <= a.layer  # noqa: E731
    load(model, read_safetensors(os.path.join(a.folder, "model.safetensors"), keep))
    model.eval()
    captured = {}
    model.transformer.h[a.layer].mlp.gelu.register_forward_hook(lambda m, i, o: captured.__setitem__("h", o[0]))
    with open(a.ids_file) as f:
        files = json.load(f)["files"]
    t_load = time.perf_counter()

    units, K = 4 * c.n_embd, a.top
    top_v = torch.empty(0, units)
    top_at = torch.empty(0, units, dtype=torch.long)
    where = []  # global token index -> (file, window, position)
    fired = torch.zeros(units, dtype=torch.long)
    vmax = torch.full((units,), -float("inf"))
    hist = Histograms(units)
    windows = 0
    tf = model.transformer
    with torch.inference_mode():
        for f in files:
            ids = f["ids"]
            for w, start in enumerate(range(0, len(ids), a.ctx)):
                idx = torch.tensor([ids[start : start + a.ctx]], dtype=torch.long)
                T = idx.shape[1]
                x = tf.wte(idx) + tf.wpe(torch.arange(T))
                for block in tf.h:
                    x = block(x)
                h = captured["h"]  # [T, units]
                g = len(where)
                where.extend((f["name"], w, p) for p in range(T))
                both_v = torch.cat([top_v, h])
                both_at = torch.cat([top_at, torch.arange(g, g + T).unsqueeze(1).expand(T, units)])
                top_v, pick = both_v.topk(min(K, both_v.shape[0]), dim=0)
                top_at = both_at.gather(0, pick)
                fired += (h.abs() > a.threshold).sum(0)
                vmax = torch.maximum(vmax, h.max(0).values)
                hist.add(h)
                windows += 1
    t_scan = time.perf_counter()

    tokens = len(where)
    tv, ta, fr, mx, hj = top_v.tolist(), top_at.tolist(), fired.tolist(), vmax.tolist(), hist.to_json()
    neurons = []
    for j in range(units):
        ex = []
        for r in range(len(tv)):
            name, w, pos = where[ta[r][j]]
            ex.append({"value": tv[r][j], "file": name, "window": w, "position": pos})
        neurons.append({"index": j, "density": fr[j] / tokens if tokens else 0, "max": mx[j], "histogram": hj[j], "examples": ex})
    sys.stdout.write(json.dumps({"tokens": tokens, "windows": windows, "layer": a.layer, "threshold": a.threshold, "neurons": neurons}) + "\n")
    sys.stdout.flush()
    t_end = time.perf_counter()
    if a.stats:
        with open(a.stats, "w") as f:
            json.dump({
                "import_ms": (t_import - T0) * 1e3,
                "load_ms": (t_load - t_import) * 1e3,
                "scan_ms": (t_scan - t_load) * 1e3,
                "json_ms": (t_end - t_scan) * 1e3,
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "blas": blas_library(),
            }, f)


if __name__ == "__main__":
    main()
