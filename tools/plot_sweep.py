#!/usr/bin/env python3
"""Plots of an `rvq sweep` folder: reads DIR/results.csv, writes DIR/*.png.

    python3 tools/plot_sweep.py DIR

rel_mse against bits per vector, codebook bytes and multiply-accumulates per vector, and encode
time against rel_mse; every point coloured by element and marked by beam width, the Pareto
front drawn as a line. Uses matplotlib (Debian: python3-matplotlib). Exit codes: 0 drawn,
1 bad input, 2 usage, 3 matplotlib missing (`rvq sweep` then writes its report without plots).
"""
import csv
import os
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("plot_sweep.py: matplotlib is not installed (Debian: apt install python3-matplotlib)", file=sys.stderr)
    sys.exit(3)

COLORS = {"f32": "tab:blue", "int8": "tab:orange", "q15": "tab:green", "q7": "tab:red", "int4": "tab:purple",
          "int2": "tab:brown"}
MARKERS = {1: "o", 2: "v", 4: "s", 8: "D", 16: "^"}


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: no results")
    out = []
    for i, r in enumerate(rows, start=2):
        try:
            out.append({
                "layers": int(r["layers"]), "codewords": int(r["codewords"]), "element": r["element"],
                "storage": r["storage"], "beam": int(r["beam"]), "icm": int(r.get("icm") or 0),
                "bits": int(r["bits_per_vector"]),
                "bytes": int(r["codebook_bytes"]), "macs": int(r["macs_per_vector"]),
                "lookups": int(r["lookups_per_vector"]), "rel_mse": float(r["rel_mse"]),
                "us": float(r["encode_us_per_vector"]),
            })
        except (KeyError, ValueError) as e:
            raise ValueError(f"{path}:{i}: malformed row ({e})")
    return out


TOLERANCE = 1e-4  # rel_mse values this close count as equal (as in rvq sweep's report)


def pareto(rows, cost):
    """Points that no other point beats on both cost and rel_mse, by increasing cost."""
    front = []
    for r in sorted(rows, key=lambda r: (cost(r), round(r["rel_mse"], 5), r["bytes"])):
        if not front or r["rel_mse"] < front[-1]["rel_mse"] * (1 - TOLERANCE):
            front.append(r)
    return front


def kind(r):
    return r["element"] if r["storage"] == "dense" else f'{r["element"]} {r["storage"]}'


def search_label(r):
    """The encoder of a point: greedy or beam B, then ICM rounds if any."""
    s = f'{kind(r)}, beam {r["beam"]}' if r["beam"] > 1 else f"{kind(r)}, greedy"
    return s + (f' + ICM {r["icm"]}' if r["icm"] else "")


def scatter(rows, x, xlabel, path, logx=False, title=""):
    fig, ax = plt.subplots(figsize=(7.5, 5))
    seen = set()
    for r in rows:
        label = None
        key = (kind(r), r["beam"], r["icm"])
        if key not in seen:
            seen.add(key)
            label = search_label(r)
        ax.scatter(x(r), r["rel_mse"], c=COLORS.get(r["element"], "gray"), marker=MARKERS.get(r["beam"], "x"),
                   s=22, alpha=0.75, label=label, linewidths=0)
    front = pareto(rows, x)
    ax.step([x(r) for r in front], [r["rel_mse"] for r in front], where="post", color="black", lw=1.2,
            label="Pareto front")
    for r in front:
        ax.annotate(f'{r["layers"]}x{r["codewords"]}', (x(r), r["rel_mse"]), fontsize=6, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test rel_mse (MSE / mean squared norm)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: (labels[i] == "Pareto front", labels[i]))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def by_k(rows, path):
    """f32 dense greedy: one line per K across L, so a fixed bit budget reads as a vertical cut."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    sel = [r for r in rows if r["element"] == "f32" and r["storage"] == "dense" and r["beam"] == 1 and not r["icm"]]
    for k in sorted({r["codewords"] for r in sel}):
        line = sorted((r for r in sel if r["codewords"] == k), key=lambda r: r["bits"])
        ax.plot([r["bits"] for r in line], [r["rel_mse"] for r in line], marker="o", ms=3, label=f"K={k}")
        for r in line:
            ax.annotate(f'L={r["layers"]}', (r["bits"], r["rel_mse"]), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")
    for b in (32, 64, 128):
        ax.axvline(b, color="gray", lw=0.6, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("bits per vector (L x log2 K)")
    ax.set_ylabel("test rel_mse")
    ax.set_title("f32, greedy: layers against codewords")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def time_plot(rows, path):
    fig, ax = plt.subplots(figsize=(7.5, 5))
    seen = set()
    for r in rows:
        key = (kind(r), r["beam"], r["icm"])
        label = None
        if key not in seen:
            seen.add(key)
            label = search_label(r)
        ax.scatter(r["rel_mse"], r["us"], c=COLORS.get(r["element"], "gray"), marker=MARKERS.get(r["beam"], "x"),
                   s=22, alpha=0.75, label=label, linewidths=0)
    front = pareto([dict(r, rel_mse=r["us"], us=r["rel_mse"]) for r in rows], lambda r: r["us"])
    ax.step([r["us"] for r in front], [r["rel_mse"] for r in front], where="post", color="black", lw=1.2,
            label="Pareto front")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("test rel_mse")
    ax.set_ylabel("encode time per vector, one core (us)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = argv[1]
    try:
        rows = load(os.path.join(folder, "results.csv"))
    except (OSError, ValueError) as e:
        print(f"plot_sweep.py: {e}", file=sys.stderr)
        return 1
    scatter(rows, lambda r: r["bits"], "bits per vector", os.path.join(folder, "mse_vs_bits.png"),
            title="rel_mse against bits per vector")
    by_k(rows, os.path.join(folder, "mse_vs_bits_by_k.png"))
    scatter(rows, lambda r: r["bytes"], "codebook bytes (values as stored, with scales)",
            os.path.join(folder, "mse_vs_bytes.png"), logx=True, title="rel_mse against codebook bytes")
    scatter(rows, lambda r: r["macs"], "multiply-accumulates per vector (beam tables: plus lookups, not counted)",
            os.path.join(folder, "mse_vs_macs.png"), logx=True, title="rel_mse against arithmetic per vector")
    time_plot(rows, os.path.join(folder, "time_vs_mse.png"))
    print(f"plot_sweep.py: 5 plots of {len(rows)} points in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
