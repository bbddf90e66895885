#!/usr/bin/python3
"""Test-set quality of rvq against FAISS's ResidualQuantizer, same data, same L, K, iterations.

Both train greedy residual k-means on TRAIN and encode TEST greedily (faiss: max_beam_size = 1).
Prints a table and writes JSON. Needs Debian's python3-faiss and python3-numpy (run with
/usr/bin/python3) and the rvq CLI.

  bench/quality_vs_faiss.py --rvq build/release/bin/rvq --train train.npy --test test.npy \
      --layers 8 --codewords 256 --iterations 25 --json docs/data/quality.json
"""
import argparse, json, math, os, subprocess, sys, tempfile, time

import numpy as np

try:
    import faiss
except ImportError:
    sys.exit("quality_vs_faiss.py: faiss is missing (apt-get install python3-faiss; run with /usr/bin/python3)")


def rel_mse(x, y):
    err = ((x.astype(np.float64) - y) ** 2).sum(axis=1).mean()
    return err, err / (x.astype(np.float64) ** 2).sum(axis=1).mean()


def run_faiss(train, test, layers, k, iterations, seed):
    nbits = int(math.log2(k))
    assert 1 << nbits == k, "faiss RQ needs K a power of two"
    rq = faiss.ResidualQuantizer(train.shape[1], layers, nbits)
    rq.max_beam_size = 1          # greedy training and encoding
    rq.cp.niter = iterations
    rq.cp.seed = seed
    t0 = time.perf_counter()
    rq.train(train)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    codes = rq.compute_codes(test)
    enc_s = time.perf_counter() - t0
    mse, rel = rel_mse(test, rq.decode(codes))
    cb = faiss.vector_to_array(rq.codebooks).reshape(layers, k, train.shape[1])
    per_layer, recon = [], np.zeros(test.shape, dtype=np.float64)
    for l in range(layers):  # nbits = 8: code l is byte l of each packed code
        recon += cb[l][codes[:, l]] if nbits == 8 else 0
        per_layer.append(float(rel_mse(test, recon)[1]) if nbits == 8 else None)
    run_faiss.codebooks = cb
    return {"train_seconds": train_s, "layer_rel_mse": per_layer, "mse": float(mse), "rel_mse": float(rel),
            "encode_vectors_per_second": test.shape[0] / enc_s, "faiss_version": faiss.__version__,
            "train_type": int(rq.train_type), "threads": faiss.omp_get_max_threads()}


def run_rvq(cli, train_path, test_path, layers, k, iterations, seed, refine):
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m.rvq")
        t0 = time.perf_counter()
        subprocess.run([cli, "train", "--input", train_path, "--layers", str(layers), "--codewords", str(k),
                        "--iterations", str(iterations), "--seed", str(seed), "--refine", str(refine), "--quiet",
                        "--output", model], check=True)
        train_s = time.perf_counter() - t0
        out = subprocess.run([cli, "eval", "--model", model, "--input", test_path, "--json"], check=True,
                             capture_output=True, text=True).stdout
    r = json.loads(out)
    return {"train_seconds": train_s, "mse": r["mse"], "rel_mse": r["rel_mse"], "layer_rel_mse": r["layer_rel_mse"],
            "encode_vectors_per_second": r["encode_vectors_per_second"], "threads": 1}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() + f", {os.cpu_count()} cores"
    except OSError:
        pass
    return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rvq", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--codewords", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--refine", type=int, default=20, help="rvq train --refine (0: residual k-means alone)")
    ap.add_argument("--json")
    ap.add_argument("--save-faiss-codebooks", help="write FAISS's codebooks as a float32 L x K x D .npy")
    a = ap.parse_args()
    train = np.ascontiguousarray(np.load(a.train), dtype=np.float32)
    test = np.ascontiguousarray(np.load(a.test), dtype=np.float32)
    f = run_faiss(train, test, a.layers, a.codewords, a.iterations, a.seed)
    if a.save_faiss_codebooks:
        np.save(a.save_faiss_codebooks, run_faiss.codebooks.astype(np.float32))
    r = run_rvq(a.rvq, a.train, a.test, a.layers, a.codewords, a.iterations, a.seed, a.refine)
    ratio = r["rel_mse"] / f["rel_mse"]
    print(f"data: train {train.shape}, test {test.shape}; L={a.layers} K={a.codewords} iterations={a.iterations}, greedy")
    print(f"{'':8} {'test rel_mse':>12} {'test mse':>10} {'train s':>8} {'encode vec/s':>13} threads")
    for name, x in (("faiss", f), ("rvq", r)):
        print(f"{name:8} {x['rel_mse']:12.6f} {x['mse']:10.4f} {x['train_seconds']:8.1f} {x['encode_vectors_per_second']:13.0f} {x['threads']}")
    print(f"rvq / faiss rel_mse: {ratio:.4f} ({(ratio - 1) * 100:+.2f}%)")
    print("test rel_mse after each layer (decoding the first l layers):")
    for name, x in (("faiss", f), ("rvq", r)):
        print(f"{name:8} " + " ".join(f"{v:.5f}" for v in x["layer_rel_mse"]))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"layers": a.layers, "codewords": a.codewords, "iterations": a.iterations, "seed": a.seed,
                       "train_shape": list(train.shape), "test_shape": list(test.shape),
                       "cpu": cpu_name(), "faiss": f, "rvq": r, "rel_mse_ratio": ratio}, fh, indent=2)


if __name__ == "__main__":
    main()
