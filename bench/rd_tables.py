#!/usr/bin/python3
"""Render the rate-distortion JSON of bench/rate_distortion.py as Markdown tables (docs/quality.md).

  bench/rd_tables.py docs/data/rate_distortion_fmnist64.json [more.json ...]
"""
import json, sys

NAMES = {"rvq": "rvq, greedy-trained, `--refine 0`", "rvq+refine": "rvq, greedy-trained + refinement (default)",
         "rvq-beam8+refine": "rvq, beam-8-trained + refinement (`--beam 8`)", "faiss-rq": "FAISS RQ, greedy-trained",
         "faiss-rq-beam8": "FAISS RQ, beam-8-trained", "faiss-pq": "FAISS PQ (bits/8 x 8 bits)"}


def cell(r, k):
    return f"{r[k]:.5f}" if k in r else ""


for path in sys.argv[1:]:
    d = json.load(open(path))
    print(f"Train {d['train_shape'][0]} x {d['train_shape'][1]}, test {d['test_shape'][0]}, "
          f"{d['iterations']} iterations, FAISS {d['faiss']} ({d['faiss_threads']} threads); test rel_mse:\n")
    print("| bits | method | greedy | beam 4 | beam 8 | training s | dead, duplicates |")
    print("|---|---|---|---|---|---|---|")
    for bits, rate in d["rates"].items():
        for name, r in rate.items():
            if r is None:
                continue
            print(f"| {bits} | {NAMES.get(name, name)} | {cell(r, 'beam1')} | {cell(r, 'beam4')} | {cell(r, 'beam8')} "
                  f"| {r['train_seconds']:.1f} | {r.get('dead_and_duplicates', '')} |")
    print()
