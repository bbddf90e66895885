"""The Python binding's overhead: encoding a 10,000 x 784 batch through `q.encode` (array checks,
allocation of the result, GIL release) against the same encode timed inside C++ with no Python
in the timed region (`Quantizer._time_encode`). Run by `scripts/dev pybench`; docs/python.md."""

import argparse
import gzip
import json
import os
import platform
import struct
import time

import numpy as np

import rvq


FASHION = "/usr/share/datasets/fashion-mnist"


def idx_images(path):
    with gzip.open(path) as f:
        data = f.read()
    n, rows, cols = struct.unpack(">III", data[4:16])
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows * cols).astype(np.float32)


def load(a):
    if a.train and a.test:
        return np.load(a.train), np.load(a.test), a.test
    if os.path.exists(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")):
        return (idx_images(os.path.join(FASHION, "train-images-idx3-ubyte.gz")),
                idx_images(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")), "Fashion-MNIST")
    rng = np.random.default_rng(0)
    return (rng.standard_normal((20000, 784), dtype=np.float32), rng.standard_normal((10000, 784), dtype=np.float32),
            "generated")


def best(f, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", help="training vectors (.npy); default: Fashion-MNIST's, else generated")
    p.add_argument("--test", help="vectors to encode (.npy)")
    p.add_argument("--rows", type=int, default=10000)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--json")
    a = p.parse_args()
    x, t, source = load(a)
    x = x[:20000]
    t = np.ascontiguousarray(t[: a.rows], dtype=np.float32)
    print(f"{source}: encoding {len(t)} x {t.shape[1]}")
    q = rvq.train(x, layers=8, codewords=256, iterations=5, refine=0, progress=False)
    results = []
    for threads in (1, None):
        for beam in (1, 8):
            cpp = q._time_encode(t, beam=beam, repeats=a.repeats, threads=threads)
            py = best(lambda: q.encode(t, beam=beam, threads=threads), a.repeats)
            r = {"rows": len(t), "dim": t.shape[1], "layers": 8, "codewords": 256, "beam": beam,
                 "threads": threads or rvq._core.hardware_threads(), "cpp_seconds": cpp, "python_seconds": py,
                 "overhead_percent": 100.0 * (py / cpp - 1.0)}
            results.append(r)
            print(f"beam {beam}, {r['threads']} thread(s): C++ {cpp * 1e3:.2f} ms, Python {py * 1e3:.2f} ms, "
                  f"overhead {r['overhead_percent']:+.2f}%")
    # float64 input: one conversion to float32 on top of the encode.
    t64 = t.astype(np.float64)
    py64 = best(lambda: q.encode(t64, threads=1), a.repeats)
    print(f"float64 input (converted once): {py64 * 1e3:.2f} ms")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"data": source, "machine": platform.processor() or platform.machine(), "python": platform.python_version(),
                       "numpy": np.__version__, "results": results, "float64_input_seconds": py64}, f, indent=2)


if __name__ == "__main__":
    main()
