"""From Python to firmware: train models at several bit rates, quantize one to int8, write its
firmware header, and plot the rate-distortion curve.

    python3 rate_distortion.py [train.npy test.npy] [--out DIR]

Without files it uses Fashion-MNIST from `scripts/dev data` (build/data/{train,test}.npy) when
present, else generated data. Writes DIR/rate_distortion.png, DIR/model_int8.rvq and
DIR/model_int8.hpp (DIR: the current folder).
"""

import argparse
import time
from pathlib import Path

import numpy as np

import rvq


def load_data(args):
    if args.train and args.test:
        return np.load(args.train, mmap_mode="r"), np.load(args.test, mmap_mode="r")
    built = Path(__file__).resolve().parents[2] / "build" / "data"
    if (built / "train.npy").exists() and (built / "test.npy").exists():
        x, t = np.load(built / "train.npy"), np.load(built / "test.npy")
        return x[:20000], t[:2000]
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((100, 64)).astype(np.float32) * 2
    def draw(n):
        return centers[rng.integers(0, 100, n)] + rng.standard_normal((n, 64)).astype(np.float32)
    return draw(20000), draw(2000)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("train", nargs="?")
    p.add_argument("test", nargs="?")
    p.add_argument("--out", default=".")
    p.add_argument("--codewords", type=int, default=256)
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x, t = load_data(args)
    print(f"train {x.shape}, test {t.shape}")

    rows = []
    models = {}
    for layers in (1, 2, 4, 8):
        t0 = time.monotonic()
        q = rvq.train(x, layers=layers, codewords=args.codewords, iterations=10, refine=5)
        secs = time.monotonic() - t0
        models[layers] = q
        for beam in (1, 8):
            e = q.evaluate(t, beam=beam)
            rows.append((q.bits_per_vector, beam, "f32", e.rel_mse))
            print(f"{q.bits_per_vector:4d} bits  beam {beam}  rel_mse {e.rel_mse:.5f}  "
                  f"({e.vectors_per_second:,.0f} vectors/s, trained in {secs:.1f} s)")
        q8 = q.quantize("int8", calibration=x)
        e8 = q8.evaluate(t)
        rows.append((q8.bits_per_vector, 1, "int8", e8.rel_mse))
        print(f"{q8.bits_per_vector:4d} bits  int8    rel_mse {e8.rel_mse:.5f}  ({e8.vectors_per_second:,.0f} vectors/s)")

    q8 = models[8].quantize("int8", calibration=x)
    q8.save(out / "model_int8.rvq")
    q8.codegen(out / "model_int8.hpp", namespace="sensor_model")
    print(f"wrote {out / 'model_int8.rvq'} and {out / 'model_int8.hpp'} ({q8})")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for (beam, element), style in {(1, "f32"): "o-", (8, "f32"): "s-", (1, "int8"): "^--"}.items():
        pts = sorted((b, e) for b, bm, el, e in rows if bm == beam and el == element)
        ax.plot([b for b, _ in pts], [e for _, e in pts], style, label=f"{element}, beam {beam}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("bits per vector")
    ax.set_ylabel("test rel_mse")
    ax.set_title(f"rvq rate-distortion, K={args.codewords}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "rate_distortion.png", dpi=120)
    print(f"wrote {out / 'rate_distortion.png'}")


if __name__ == "__main__":
    main()
