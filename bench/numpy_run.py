"""The peer of `ffn-lens run` as a whole process: a numpy script that reads one FFN layer from a
safetensors file, runs it on T seeded N(0,1) inputs and prints the layer's sparsity and output
norms (what a user would write to check a layer without FFN Lens).

Usage: python3 bench/numpy_run.py FILE T W1 [B1] W2 [B2] --act gelu_tanh|swiglu [--gate G]
Tensor names are given in the file's layout: GPT-2 Conv1D [in, out] (--layout in_out) or
torch Linear [out, in] (--layout out_in, the default for swiglu). F32, F16 and BF16 are decoded.
"""
import argparse
import json
import struct

import numpy as np

from numpy_ffn import blas_info


def read_tensors(path, names):
    """The named tensors of a safetensors file as float32 arrays (header first, then only their bytes)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name in names:
            info = header[name]
            start, end = info["data_offsets"]
            f.seek(base + start)
            raw = f.read(end - start)
            dtype = info["dtype"]
            if dtype == "F32":
                a = np.frombuffer(raw, dtype="<f4")
            elif dtype == "F16":
                a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
            elif dtype == "BF16":
                a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                raise SystemExit(f"{name}: dtype {dtype} not handled")
            out[name] = a.reshape(info["shape"])
        return out


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.float32(0.7978845608028654) * (x + np.float32(0.044715) * x * x * x)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("tokens", type=int)
    p.add_argument("--w1", required=True)
    p.add_argument("--b1")
    p.add_argument("--gate")
    p.add_argument("--w2", required=True)
    p.add_argument("--b2")
    p.add_argument("--act", required=True, choices=["gelu_tanh", "swiglu"])
    p.add_argument("--layout", choices=["in_out", "out_in"], default="in_out")
    a = p.parse_args()
    names = [n for n in (a.w1, a.b1, a.gate, a.w2, a.b2) if n]
    t = read_tensors(a.file, names)
    mat = (lambda n: t[n]) if a.layout == "in_out" else (lambda n: t[n].T)
    d = mat(a.w1).shape[0]
    x = np.random.default_rng(0).standard_normal((a.tokens, d), dtype=np.float32)
    pre = x @ mat(a.w1)
    if a.b1:
        pre += t[a.b1]
    if a.act == "swiglu":
        gate = x @ mat(a.gate)
        hidden = silu(gate) * pre
        silenced = np.abs(silu(gate)) <= 0.01
    else:
        hidden = gelu_tanh(pre)
        silenced = np.abs(hidden) <= 0.01
    y = hidden @ mat(a.w2)
    if a.b2:
        y += t[a.b2]
    print(json.dumps({"sparsity": float(silenced.mean()), "outputNorms": np.linalg.norm(y, axis=1)[:4].tolist(), "numpy": np.__version__, "blas": blas_info()}))


if __name__ == "__main__":
    main()
