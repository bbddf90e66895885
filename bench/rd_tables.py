#!/usr/bin/python3
"""Render the store of bench/rate_distortion.py as docs/quality.md's table and rate-distortion plot.

  bench/rd_tables.py docs/data/rd.json [--set fmnist] [--plot docs/quality/rd_fmnist.png] [--update docs/quality.md]

One table per data set: a row per bit rate, method and encoder; test rel_mse, training seconds and
encode speed on one thread, each per training-set size. The best error of each column at each bit
rate is in bold. Under the table, per bit rate and size, rvq's best error against the best FAISS
error, naming the methods not run yet. Cells the store does not have yet read "not run". When the
cells were measured on more than one CPU, times off the most common one are marked (†) and named.
"""
import argparse, json, os, sys

METHODS = {
    "rvq-greedy": "rvq, greedy-trained (`--refine 0`)",
    "rvq-default": "rvq, greedy-trained + refinement (default)",
    "rvq-beam8": "rvq, beam-8-trained (`--beam 8 --refine 0`)",
    "faiss-rq": "FAISS RQ, greedy-trained",
    "faiss-rq-beam8": "FAISS RQ, beam-8-trained",
    "faiss-lsq": "FAISS LSQ++ (defaults)",
    "faiss-pq": "FAISS PQ (L x log2 K bits)",
}
ENCODERS = {"greedy": "greedy", "beam4": "beam 4", "beam8": "beam 8", "beam8+icm2": "beam 8 + ICM 2",
            "icm": "LSQ's ICM", "pq": "PQ"}


def seconds(s):
    return f"{s:,.1f}" if s < 100 else f"{s:,.0f}"


def load(path, name):
    with open(path) as fh:
        store = json.load(fh)
    cells = [c for c in store["cells"].values() if name is None or c["set"] == name]
    if not cells:
        sys.exit(f"rd_tables.py: {path} has no cells" + (f" of the set {name}" if name else ""))
    return store, cells


def table(store, set_name, cells, rows=()):
    rows = sorted({c["rows"] for c in cells} | set(rows))
    shapes = sorted({(c["bits"], c["layers"], c["codewords"]) for c in cells})
    by = {(c["rows"], c["layers"], c["codewords"], c["method"]): c for c in cells}
    info = store.get("sets", {}).get(set_name, {})
    faiss_v = sorted({c["faiss"] for c in cells if "faiss" in c})
    threads = sorted({c["train_threads"] for c in cells})
    out = [f"Set `{set_name}`: D = {info.get('dim', '?')}, {info.get('test_rows', 0):,} test vectors, training on "
           f"the first {' / '.join(f'{r:,}' for r in rows)} rows; FAISS {', '.join(faiss_v) or '-'}; training on "
           f"{'/'.join(map(str, threads))} threads, encoding on one. Test rel_mse (lower is better):", ""]
    size = [f"{r // 1000}k" if r % 1000 == 0 else f"{r:,}" for r in rows]
    head = ["bits", "L x K", "method", "encoder"] + [f"rel_mse {n}" for n in size] + \
        [f"training s {n}" for n in size] + [f"encode vec/s {n}" for n in size]
    # Times compare only on one CPU: when the cells come from several, those off the most common
    # one carry a mark per CPU on their training seconds and speeds, named under the table.
    cpus = {}
    for c in cells:
        cpus[c.get("cpu", "?")] = cpus.get(c.get("cpu", "?"), 0) + 1
    main_cpu = max(sorted(cpus), key=lambda k: cpus[k])
    marks = {cpu: "†" * (i + 1) for i, cpu in enumerate(sorted(k for k in cpus if k != main_cpu))}
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    verdicts = []
    for bits, layers, k in shapes:
        best = {}
        for r in rows:
            errs = [(e["rel_mse"], m) for (rr, ll, kk, m), c in by.items() if (rr, ll, kk) == (r, layers, k)
                    for e in c.get("encoders", {}).values()]
            if errs:
                best[r] = min(errs)[0]
            rvq_b = min((e for e in errs if e[1].startswith("rvq")), default=None)
            faiss_b = min((e for e in errs if e[1].startswith("faiss")), default=None)
            if rvq_b and faiss_b:
                missing = [m for m in METHODS if (r, layers, k, m) not in by]
                verdicts.append(f"- {bits} bits, {r:,} rows: rvq's best {rvq_b[0]:.5f} ({rvq_b[1]}) against FAISS's "
                                f"best {faiss_b[0]:.5f} ({faiss_b[1]}): {100 * (rvq_b[0] / faiss_b[0] - 1):+.1f}%" +
                                (f" (not run yet: {', '.join(missing)})" if missing else ""))
        for m in METHODS:
            present = [by.get((r, layers, k, m)) for r in rows]
            if not any(present):
                continue
            if all(c is None or "skipped" in c for c in present):
                reason = next(c["skipped"] for c in present if c)
                out.append(f"| {bits} | {layers} x {k} | {METHODS[m]} | n/a: {reason} |" + " |" * (len(head) - 4))
                continue
            encs = [e for e in ENCODERS if any(c and e in c.get("encoders", {}) for c in present)]
            for e in encs:
                errs, secs, speeds = [], [], []
                for r, c in zip(rows, present):
                    if c is None or e not in c.get("encoders", {}):
                        errs.append("not run" if c is None else "n/a")
                        secs.append("")
                        speeds.append("")
                        continue
                    v = c["encoders"][e]["rel_mse"]
                    errs.append(f"**{v:.5f}**" if v == best.get(r) else f"{v:.5f}")
                    mark = marks.get(c.get("cpu", "?"), "")
                    secs.append(seconds(c["train_seconds"]) + mark if e == encs[0] else "")
                    runs = c["encoders"][e].get("speed_runs", 1)
                    speeds.append(f"{c['encoders'][e]['vectors_per_second']:,.0f}" + mark +
                                  (" (1 run)" if runs == 1 else ""))
                out.append("| " + " | ".join([str(bits), f"{layers} x {k}", METHODS[m], ENCODERS[e]] + errs + secs +
                                             speeds) + " |")
    if marks:
        out += [""] + [f"{m} Training seconds and speeds measured on {cpu}; the others on {main_cpu}. Times compare "
                       "only on one CPU; errors do not depend on it." for cpu, m in marks.items()]
    return "\n".join(out + [""] + verdicts) + "\n"


def plot(cells, set_name, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = sorted({c["rows"] for c in cells})
    fig, axes = plt.subplots(1, len(rows), figsize=(5.5 * len(rows), 4.2), squeeze=False, sharey=True)
    for ax, r in zip(axes[0], rows):
        for m, label in METHODS.items():
            pts = sorted((c["bits"], min(e["rel_mse"] for e in c["encoders"].values())) for c in cells
                         if c["rows"] == r and c["method"] == m and c.get("encoders"))
            if pts:
                style = "-o" if m.startswith("rvq") else "--s"
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label.replace("`", ""), markersize=4)
        ax.set_xlabel("bits per vector")
        ax.set_yscale("log")
        ax.set_title(f"{set_name}, {r:,} training rows")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("test rel_mse (each method's best encoder)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store")
    ap.add_argument("--set", help="the data set to render (default: each in turn)")
    ap.add_argument("--plot", help="write the rate-distortion plot here (PNG; needs python3-matplotlib)")
    ap.add_argument("--rows", default="", help="training-set sizes to show even when no cell has them yet "
                    "(comma-separated)")
    ap.add_argument("--update", metavar="MD", help="replace each set's table in this Markdown file, between the lines "
                    "<!-- rd-table:SET begin --> and <!-- rd-table:SET end -->, instead of printing it")
    a = ap.parse_args()
    store, cells = load(a.store, a.set)
    names = [a.set] if a.set else sorted({c["set"] for c in cells})
    rows = [int(r) for r in a.rows.split(",") if r]
    tables = {n: table(store, n, [c for c in cells if c["set"] == n], rows) for n in names}
    if a.update:
        with open(a.update) as fh:
            text = fh.read()
        for n, t in tables.items():
            begin, end = f"<!-- rd-table:{n} begin -->\n", f"<!-- rd-table:{n} end -->"
            i, j = text.find(begin), text.find(end)
            if i < 0 or j < i:
                sys.exit(f"rd_tables.py: {a.update} has no `{begin.strip()}` ... `{end}` lines")
            text = text[:i + len(begin)] + t + text[j:]
        tmp = a.update + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, a.update)
    else:
        for t in tables.values():
            print(t)
    if a.plot:
        plot(cells, a.set or names[0], a.plot)


if __name__ == "__main__":
    main()
