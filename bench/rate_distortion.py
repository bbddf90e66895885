#!/usr/bin/python3
"""Rate-distortion of rvq against FAISS at 32, 64 and 128 bits per vector, in one script.

For each bit rate (L = bits / 8 layers of K = 256 codewords) it trains and evaluates, on the same
training and test sets:
  rvq       greedy-trained, without and with joint refinement (rvq train --refine 0 / default),
            and beam-8-aware with refinement (--beam 8); each encoded greedy, beam 4 and beam 8
  faiss RQ  ResidualQuantizer trained greedy (max_beam_size 1) and beam 8 (max_beam_size 8),
            each encoded greedy and with beam 8
  faiss PQ  ProductQuantizer with bits / 8 sub-quantizers of 8 bits
and reports test rel_mse (squared error over squared norm) and training seconds. Needs Debian's
python3-faiss and python3-numpy (run with /usr/bin/python3) and the rvq CLI.

  bench/rate_distortion.py --rvq build/release/bin/rvq --train train.npy --test test.npy \
      --bits 32,64,128 --iterations 10 --train-rows 20000 --json docs/data/rate_distortion_fmnist.json
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np

try:
    import faiss
except ImportError:
    sys.exit("rate_distortion.py: faiss is missing (apt-get install python3-faiss; run with /usr/bin/python3)")


def rel_mse(x, y):
    x = x.astype(np.float64)
    return float(((x - y) ** 2).sum() / (x ** 2).sum())


def faiss_rq(train, test, layers, iterations, beam, seed):
    rq = faiss.ResidualQuantizer(train.shape[1], layers, 8)
    rq.max_beam_size = beam
    rq.cp.niter = iterations
    rq.cp.seed = seed
    t0 = time.perf_counter()
    rq.train(train)
    out = {"train_seconds": time.perf_counter() - t0}
    for b in (1, 8):
        rq.max_beam_size = b
        out[f"beam{b}"] = rel_mse(test, rq.decode(rq.compute_codes(test)))
    return out


def faiss_pq(train, test, bits, iterations, seed):
    m = bits // 8
    if train.shape[1] % m:
        return None
    pq = faiss.ProductQuantizer(train.shape[1], m, 8)
    pq.cp.niter = iterations
    pq.cp.seed = seed
    t0 = time.perf_counter()
    pq.train(train)
    return {"train_seconds": time.perf_counter() - t0, "beam1": rel_mse(test, pq.decode(pq.compute_codes(test)))}


def rvq_run(cli, train_path, test_path, layers, iterations, seed, extra):
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m.rvq")
        t0 = time.perf_counter()
        subprocess.run([cli, "train", "--input", train_path, "--layers", str(layers), "--codewords", "256",
                        "--iterations", str(iterations), "--seed", str(seed), "--quiet", "--output", model] + extra,
                       check=True)
        out = {"train_seconds": time.perf_counter() - t0}
        for b in (1, 4, 8):
            r = subprocess.run([cli, "eval", "--model", model, "--input", test_path, "--beam", str(b), "--json"],
                               check=True, capture_output=True, text=True).stdout
            out[f"beam{b}"] = json.loads(r)["rel_mse"]
        beam = extra[extra.index("--beam") + 1] if "--beam" in extra else "1"  # usage under the model's encoder
        use = subprocess.run([cli, "info", model, "--usage", train_path, "--beam", beam], check=True,
                             capture_output=True, text=True).stdout
        out["dead_and_duplicates"] = use.strip().splitlines()[-1].split(":", 1)[1].strip()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rvq", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--bits", default="32,64,128")
    ap.add_argument("--iterations", type=int, default=25)
    ap.add_argument("--train-rows", type=int, default=0, help="train on the first N rows (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip", default="", help="comma-separated methods to skip (e.g. faiss-rq-beam8)")
    ap.add_argument("--json")
    a = ap.parse_args()
    train = np.ascontiguousarray(np.load(a.train), dtype=np.float32)
    test = np.ascontiguousarray(np.load(a.test), dtype=np.float32)
    skip = set(filter(None, a.skip.split(",")))
    tmp = tempfile.TemporaryDirectory()
    train_path = a.train
    if a.train_rows and a.train_rows < train.shape[0]:
        train = np.ascontiguousarray(train[:a.train_rows])
        train_path = os.path.join(tmp.name, "train.npy")
        np.save(train_path, train)
    results = {"train_shape": list(train.shape), "test_shape": list(test.shape), "iterations": a.iterations,
               "faiss": faiss.__version__, "faiss_threads": faiss.omp_get_max_threads(), "rates": {}}
    methods = [
        ("rvq", lambda L: rvq_run(a.rvq, train_path, a.test, L, a.iterations, a.seed, ["--refine", "0"])),
        ("rvq+refine", lambda L: rvq_run(a.rvq, train_path, a.test, L, a.iterations, a.seed, [])),
        ("rvq-beam8+refine", lambda L: rvq_run(a.rvq, train_path, a.test, L, a.iterations, a.seed, ["--beam", "8"])),
        ("faiss-rq", lambda L: faiss_rq(train, test, L, a.iterations, 1, a.seed)),
        ("faiss-rq-beam8", lambda L: faiss_rq(train, test, L, a.iterations, 8, a.seed)),
        ("faiss-pq", lambda L: faiss_pq(train, test, 8 * L, a.iterations, a.seed)),
    ]
    for bits in [int(b) for b in a.bits.split(",")]:
        layers = bits // 8
        rate = {}
        for name, run in methods:
            if name in skip:
                continue
            print(f"[{bits} bits] {name} ...", file=sys.stderr, flush=True)
            rate[name] = run(layers)
        results["rates"][str(bits)] = rate
        if a.json:  # after every rate, so a long run leaves partial results
            with open(a.json, "w") as fh:
                json.dump(results, fh, indent=2)
    print(f"train {tuple(train.shape)}, test {tuple(test.shape)}, {a.iterations} iterations; test rel_mse")
    print(f"{'bits':>4} {'method':18} {'greedy':>9} {'beam 4':>9} {'beam 8':>9} {'train s':>8}")
    for bits, rate in results["rates"].items():
        for name, r in rate.items():
            if r is None:
                continue
            cells = [f"{r[k]:9.5f}" if k in r else f"{'':9}" for k in ("beam1", "beam4", "beam8")]
            print(f"{bits:>4} {name:18} {' '.join(cells)} {r['train_seconds']:8.1f}")


if __name__ == "__main__":
    main()
