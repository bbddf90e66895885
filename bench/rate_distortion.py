#!/usr/bin/python3
"""Rate-distortion of rvq against FAISS: one table of test error, training time and encode speed.

Every cell of the table is one (training rows, layers, method) configuration. Each method is trained
once on the first N training rows and then encodes the test set with each of its encoders:

  rvq-greedy    rvq train --refine 0 (greedy-trained residual k-means)
  rvq-default   rvq train (greedy-trained, then 20 rounds of joint refinement: the default)
  rvq-beam8     rvq train --beam 8 --refine 0 (beam-aware, on every beam entry)
                each encoded greedy, beam 4, beam 8, and beam 8 + ICM 2 (rvq eval --beam/--icm;
                beam 4 since 2026-12-07: earlier cells lack it)
  faiss-rq      FAISS ResidualQuantizer trained greedy (max_beam_size 1)
  faiss-rq-beam8  FAISS ResidualQuantizer trained with beam 8 (max_beam_size 8)
                each encoded greedy and with beam 8
  faiss-lsq     FAISS LocalSearchQuantizer (LSQ++) with its default settings, its own ICM encoder
  faiss-pq      FAISS ProductQuantizer, L sub-quantizers of log2(K) bits (when L divides D)

Columns: test rel_mse (squared error over squared norm), training seconds (each method on all the
threads: rvq's pool and FAISS's OpenMP both use every core), and encode speed in vectors per second
on one thread (rvq eval's figure; FAISS's compute_codes with omp_set_num_threads(1)).

The results accumulate in one JSON store (--store): a cell that is already there is not run again
(--force re-runs it), and the store is rewritten after every cell, so a long run can be stopped and
resumed. FAISS's LSQ is slow (about 40 minutes for 64 bits on 20,000 Fashion-MNIST images): run it
once per configuration and keep the store in docs/data/. Every cell records its settings, the FAISS
version, the threads and the date. bench/rd_tables.py renders the store as docs/quality.md's table
and plot. Needs Debian's python3-faiss and python3-numpy (run with /usr/bin/python3) and the rvq CLI.

  bench/rate_distortion.py --rvq build/release/bin/rvq --train build/data/train.npy \\
      --test build/data/test.npy --name fmnist --rows 20000,60000 --layers 4,8,16 --codewords 256 \\
      --store docs/data/rd_fmnist.json
"""
import argparse, datetime, json, math, os, platform, subprocess, sys, tempfile, time

import numpy as np

try:
    import faiss
except ImportError:
    sys.exit("rate_distortion.py: faiss is missing (apt-get install python3-faiss; run with /usr/bin/python3)")

RVQ_TRAINERS = {"rvq-greedy": ["--refine", "0"], "rvq-default": [], "rvq-beam8": ["--beam", "8", "--refine", "0"]}
RVQ_ENCODERS = {"greedy": ["--beam", "1"], "beam4": ["--beam", "4"], "beam8": ["--beam", "8"],
                "beam8+icm2": ["--beam", "8", "--icm", "2"]}
METHODS = list(RVQ_TRAINERS) + ["faiss-rq", "faiss-rq-beam8", "faiss-lsq", "faiss-pq"]


def rel_mse(x, y):
    x = x.astype(np.float64)
    return float(((x - y) ** 2).sum() / (x ** 2).sum())


def cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


SPEED_RUNS = 3  # encode speed: the best of this many runs (--speed-runs)


def faiss_encode(q, test):
    """Test rel_mse and one-thread encode speed (the best of SPEED_RUNS) of a trained FAISS quantizer."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        best = math.inf
        for _ in range(SPEED_RUNS):
            t0 = time.perf_counter()
            codes = q.compute_codes(test)
            best = min(best, time.perf_counter() - t0)
    finally:
        faiss.omp_set_num_threads(threads)
    return {"rel_mse": rel_mse(test, q.decode(codes)), "vectors_per_second": test.shape[0] / best,
            "speed_runs": SPEED_RUNS}


def faiss_rq(train, test, layers, nbits, iterations, beam, seed):
    rq = faiss.ResidualQuantizer(train.shape[1], layers, nbits)
    rq.max_beam_size = beam
    rq.cp.niter = iterations
    rq.cp.seed = seed
    t0 = time.perf_counter()
    rq.train(train)
    out = {"train_seconds": time.perf_counter() - t0, "encoders": {},
           "settings": {"max_beam_size": beam, "niter": iterations, "seed": seed, "train_type": rq.train_type}}
    for name, b in (("greedy", 1), ("beam8", 8)):
        rq.max_beam_size = b
        out["encoders"][name] = faiss_encode(rq, test)
    return out


def faiss_lsq(train, test, layers, nbits, _iterations, _seed):
    lsq = faiss.LocalSearchQuantizer(train.shape[1], layers, nbits)  # FAISS's defaults, as the issue ran it
    settings = {a: getattr(lsq, a) for a in ("train_iters", "encode_ils_iters", "train_ils_iters", "icm_iters", "p",
                                             "lambd", "nperts", "random_seed")}
    t0 = time.perf_counter()
    lsq.train(train)
    out = {"train_seconds": time.perf_counter() - t0, "settings": settings}
    out["encoders"] = {"icm": faiss_encode(lsq, test)}
    return out


def faiss_pq(train, test, layers, nbits, iterations, seed):
    if train.shape[1] % layers:
        return {"skipped": f"D = {train.shape[1]} is not a multiple of {layers} sub-quantizers"}
    pq = faiss.ProductQuantizer(train.shape[1], layers, nbits)
    pq.cp.niter = iterations
    pq.cp.seed = seed
    t0 = time.perf_counter()
    pq.train(train)
    return {"train_seconds": time.perf_counter() - t0, "settings": {"M": layers, "nbits": nbits, "niter": iterations},
            "encoders": {"pq": faiss_encode(pq, test)}}


def rvq_run(cli, train_path, test_path, layers, codewords, iterations, seed, extra, tmp):
    model = os.path.join(tmp, "m.rvq")
    cmd = [cli, "train", "--input", train_path, "--layers", str(layers), "--codewords", str(codewords),
           "--iterations", str(iterations), "--seed", str(seed), "--quiet", "--output", model] + extra
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    out = {"train_seconds": time.perf_counter() - t0, "encoders": {},
           "settings": {"command": " ".join(["rvq", "train"] + cmd[cmd.index("--layers"):cmd.index("--quiet")] + extra),
                        "encoders": {n: " ".join(["rvq", "eval"] + e) for n, e in RVQ_ENCODERS.items()}}}
    for name, args in RVQ_ENCODERS.items():
        runs = [json.loads(subprocess.run([cli, "eval", "--model", model, "--input", test_path, "--json"] + args,
                                          check=True, capture_output=True, text=True).stdout)
                for _ in range(SPEED_RUNS)]
        out["encoders"][name] = {"rel_mse": runs[0]["rel_mse"], "speed_runs": SPEED_RUNS,
                                 "vectors_per_second": max(ev["encode_vectors_per_second"] for ev in runs)}
    return out


def positive_list(option, text):
    """The comma-separated positive integers of an option, or a clear exit."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        sys.exit(f"rate_distortion.py: {option} {text!r}: expected positive integers separated by commas")
    return values


def save(store, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(store, fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


def main():
    global SPEED_RUNS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rvq", required=True, help="the rvq CLI")
    ap.add_argument("--train", required=True, help="training vectors (N x D .npy)")
    ap.add_argument("--test", required=True, help="test vectors (.npy)")
    ap.add_argument("--name", required=True, help="the data set's name in the store and the tables")
    ap.add_argument("--store", required=True, help="the JSON store of results (created, or extended)")
    ap.add_argument("--rows", default="20000,60000", help="training rows: the first N of --train")
    ap.add_argument("--layers", default="4,8,16")
    ap.add_argument("--codewords", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=25, help="k-means iterations, rvq and FAISS RQ/PQ")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated, in the order to run")
    ap.add_argument("--force", action="store_true", help="run the cells that the store already has again")
    ap.add_argument("--speed-runs", type=int, default=SPEED_RUNS, help="encode speed: the best of N runs")
    ap.add_argument("--dry-run", action="store_true", help="list the cells to run, and run none")
    a = ap.parse_args()

    SPEED_RUNS = max(1, a.speed_runs)
    nbits = int(round(math.log2(a.codewords)))
    if a.codewords < 2 or 1 << nbits != a.codewords:
        sys.exit(f"rate_distortion.py: --codewords {a.codewords}: FAISS needs a power of two")
    methods = [m for m in a.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        sys.exit(f"rate_distortion.py: unknown method {', '.join(unknown)} (known: {', '.join(METHODS)})")
    if any(m in RVQ_TRAINERS for m in methods) and not os.access(a.rvq, os.X_OK):
        sys.exit(f"rate_distortion.py: --rvq {a.rvq}: no such program (scripts/dev build makes build/release/bin/rvq)")
    train_all = np.load(a.train, mmap_mode="r")
    test = np.ascontiguousarray(np.load(a.test), dtype=np.float32)
    if train_all.ndim != 2 or test.ndim != 2 or train_all.shape[1] != test.shape[1]:
        sys.exit(f"rate_distortion.py: {a.train} {train_all.shape} and {a.test} {test.shape} are not N x D matrices "
                 "of one dimension")
    store = {"cells": {}}
    if os.path.exists(a.store):
        with open(a.store) as fh:
            store = json.load(fh)
    store.setdefault("sets", {})[a.name] = {"dim": int(test.shape[1]), "test_rows": int(test.shape[0]),
                                             "train_rows": int(train_all.shape[0])}
    plan = []
    layer_list = positive_list("--layers", a.layers)
    for rows in positive_list("--rows", a.rows):
        if rows > train_all.shape[0]:
            sys.exit(f"rate_distortion.py: --rows {rows}: {a.train} has {train_all.shape[0]} rows")
        for layers in layer_list:
            for m in methods:
                key = f"{a.name}/{rows}/{layers}x{a.codewords}/{m}"
                if a.force or key not in store["cells"]:
                    plan.append((key, rows, layers, m))
    print(f"{len(plan)} cells to run" + "".join(f"\n  {p[0]}" for p in plan), file=sys.stderr, flush=True)
    if a.dry_run:
        return
    cpu = f"{cpu_name()}, {os.cpu_count()} cores"
    with tempfile.TemporaryDirectory() as tmp:
        current = None
        for i, (key, rows, layers, m) in enumerate(plan):
            if current != rows:  # the first `rows` rows, in a file for the CLI and in memory for FAISS
                train = np.ascontiguousarray(train_all[:rows], dtype=np.float32)
                train_path = os.path.join(tmp, "train.npy")
                np.save(train_path, train)
                current = rows
            print(f"[{i + 1}/{len(plan)}] {key} ...", file=sys.stderr, flush=True)
            if m in RVQ_TRAINERS:
                r = rvq_run(a.rvq, train_path, a.test, layers, a.codewords, a.iterations, a.seed, RVQ_TRAINERS[m], tmp)
                r["train_threads"] = os.cpu_count()
            else:
                run = {"faiss-rq": lambda *x: faiss_rq(*x[:4], a.iterations, 1, a.seed),
                       "faiss-rq-beam8": lambda *x: faiss_rq(*x[:4], a.iterations, 8, a.seed),
                       "faiss-lsq": lambda *x: faiss_lsq(*x, a.iterations, a.seed),
                       "faiss-pq": lambda *x: faiss_pq(*x, a.iterations, a.seed)}[m]
                r = run(train, test, layers, nbits)
                r["train_threads"] = faiss.omp_get_max_threads()
                r["faiss"] = faiss.__version__
            r.update({"set": a.name, "rows": rows, "layers": layers, "codewords": a.codewords, "bits": layers * nbits,
                      "method": m, "cpu": cpu, "date": datetime.date.today().isoformat()})
            if "train_seconds" in r:
                best = min(e["rel_mse"] for e in r["encoders"].values())
                print(f"    trained in {r['train_seconds']:.1f} s, best test rel_mse {best:.5f}", file=sys.stderr,
                      flush=True)
            store["cells"][key] = r
            save(store, a.store)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as e:  # the CLI printed its reason on stderr; the store keeps every cell done
        sys.exit(f"rate_distortion.py: `{' '.join(map(str, e.cmd))}` failed (exit {e.returncode}); "
                 "the cells before it are in the store")
    except KeyboardInterrupt:
        sys.exit("rate_distortion.py: interrupted; the cells done are in the store, a new run resumes")
