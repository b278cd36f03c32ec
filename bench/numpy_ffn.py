"""numpy's time for the same FFN forward passes as bench/index.ts (float32, weights in memory).

Usage: python3 bench/numpy_ffn.py '<json list of {name, T, d, f, gated, reps}>'
Prints one JSON object: {"numpy": version, "blas": {...}, "results": [{name, times_ms}]}.
The bench runs this with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from the environment,
so OpenBLAS picks its kernel for this CPU; "blas" records which kernel it picked.
"""
import ctypes
import glob
import json
import os
import sys
import time

import numpy as np


def blas_info():
    """The BLAS library, kernel (core type) and threads numpy uses: threadpoolctl, else ctypes."""
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                return {"source": "threadpoolctl", "library": pool.get("internal_api"), "kernel": pool.get("architecture"), "threads": pool.get("num_threads"), "version": pool.get("version")}
    except ImportError:
        pass
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*"))
    for path in libs:
        lib = ctypes.CDLL(path)
        for suffix in ("64_", ""):
            prefix = "scipy_openblas" if "scipy" in os.path.basename(path) else "openblas"
            core = getattr(lib, f"{prefix}_get_corename{suffix}", None)
            threads = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            if core is not None:
                core.restype = ctypes.c_char_p
                return {"source": "ctypes (threadpoolctl not installed)", "library": os.path.basename(path), "kernel": core().decode(), "threads": threads() if threads else None}
    return {"source": "unknown (no threadpoolctl, no bundled OpenBLAS found)"}


def relu_ffn(x, w1, b1, w2, b2):
    h = x @ w1
    h += b1
    np.maximum(h, 0, out=h)
    y = h @ w2
    y += b2
    return y


def swiglu_ffn(x, wg, wu, w2):
    g = x @ wg
    u = x @ wu
    h = g / (1 + np.exp(-g)) * u
    return h @ w2


def main():
    cases = json.loads(sys.argv[1])
    rng = np.random.default_rng(0)
    results = []
    for c in cases:
        T, d, f = c["T"], c["d"], c["f"]
        x = rng.standard_normal((T, d), dtype=np.float32)
        w1 = rng.standard_normal((d, f), dtype=np.float32) / np.float32(np.sqrt(d))
        w2 = rng.standard_normal((f, d), dtype=np.float32) / np.float32(np.sqrt(f))
        if c["gated"]:
            wg = rng.standard_normal((d, f), dtype=np.float32) / np.float32(np.sqrt(d))
            run = lambda: swiglu_ffn(x, wg, w1, w2)
        else:
            b1 = np.zeros(f, np.float32)
            b2 = np.zeros(d, np.float32)
            run = lambda: relu_ffn(x, w1, b1, w2, b2)
        for _ in range(3):
            run()
        times = []
        for _ in range(c["reps"]):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1e3)
        results.append({"name": c["name"], "times_ms": times})
        del w1, w2
    print(json.dumps({"numpy": np.__version__, "blas": blas_info(), "results": results}))


if __name__ == "__main__":
    main()
