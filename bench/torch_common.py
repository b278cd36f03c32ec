"""Shared by the PyTorch peer scripts of the benchmark (torch_gpt2.py, torch_llama.py, torch_scan.py)."""
import ctypes


def blas_library():
    """The BLAS this process mapped (after a product ran) and its thread count when it is OpenBLAS."""
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line})
    threads = None
    for lib in libs:
        try:
            threads = ctypes.CDLL(lib).openblas_get_num_threads()
            break
        except (OSError, AttributeError):
            pass
    return {"libraries": libs, "openblas_threads": threads}
