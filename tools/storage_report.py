#!/usr/bin/env python3
"""Memory, MSE and speed of one dense model against its pq/rpq compressions (docs/storage.md).

Runs `rvq compress` for every configuration (fitted to --train), `rvq eval --json` of each result
and of the dense model on --test, and the dense baselines of the same size: the model's first
layers (`rvq decode`-style truncation is what fewer layers cost) are evaluated from the per-layer
errors eval reports. Writes a Markdown table (and the raw JSON beside it).

    storage_report.py --rvq BIN --model M.rvq --train X.npy --test Y.npy --out T.md
                      [--config "label|--storage rpq --seeded ..."]...

Standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write("storage_report: %s failed (exit %d):\n%s" % (" ".join(cmd), p.returncode, p.stderr))
        sys.exit(1)
    return p.stdout


def kib(b):
    return "%.0f KiB" % (b / 1024.0) if b < 10 * 1024 * 1024 else "%.1f MiB" % (b / 1048576.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rvq", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default=None, help="folder for the compressed models (default: beside --out)")
    ap.add_argument("--config", action="append", default=[], help="'label|compress options'")
    a = ap.parse_args()
    work = a.work or os.path.dirname(os.path.abspath(a.out))
    os.makedirs(work, exist_ok=True)

    dense = json.loads(run([a.rvq, "eval", "--model", a.model, "--input", a.test, "--json"]))
    layers, dense_bytes = dense["layers"], dense["codebook_bytes"]
    rows = [{"label": "dense f32 (the model)", "bytes": dense_bytes, "rel_mse": dense["rel_mse"],
             "vps": dense["encode_vectors_per_second"], "search": "dense", "seconds": 0.0}]
    raw = {"dense": dense, "configs": []}
    for i, c in enumerate(a.config):
        label, opts = c.split("|", 1)
        out = os.path.join(work, "storage_%d.rvq" % i)
        t0 = time.time()
        comp = json.loads(run([a.rvq, "compress", "--model", a.model, "--output", out, "--calibrate-on", a.train,
                               "--json"] + opts.split()))
        secs = time.time() - t0
        ev = json.loads(run([a.rvq, "eval", "--model", out, "--input", a.test, "--json"]))
        raw["configs"].append({"label": label, "options": opts, "compress": comp, "eval": ev})
        rows.append({"label": label, "bytes": comp["stored_bytes"], "rel_mse": ev["rel_mse"],
                     "vps": ev["encode_vectors_per_second"], "search": comp["search"], "seconds": secs})
    # Fewer dense layers: the first n layers of the model, at n/L of its bytes.
    fewer = []
    for r in rows[1:]:
        n = max(1, min(layers, int(r["bytes"] * layers // dense_bytes)))
        if n < layers and n not in fewer:
            fewer.append(n)
    for n in sorted(fewer):
        rows.append({"label": "dense f32, first %d of %d layers" % (n, layers), "bytes": dense_bytes * n // layers,
                     "rel_mse": dense["layer_rel_mse"][n - 1], "vps": None, "search": "dense", "seconds": None,
                     "bits": dense["bits_per_vector"] * n // layers})

    lines = ["| configuration | stored bytes | smaller than dense | test rel. MSE | MSE / dense MSE | search | "
             "vectors/s | compress s |",
             "|---|---:|---:|---:|---:|---|---:|---:|"]
    rows.sort(key=lambda r: (-r["bytes"], r["rel_mse"]))
    for r in rows:
        lines.append("| %s | %s | %.1fx | %.4g | %.2fx | %s | %s | %s |" % (
            r["label"], kib(r["bytes"]), dense_bytes / float(r["bytes"]), r["rel_mse"],
            r["rel_mse"] / dense["rel_mse"], r["search"],
            "%.0f" % r["vps"] if r["vps"] else "-", "%.0f" % r["seconds"] if r["seconds"] else "-"))
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(raw, f, indent=1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
