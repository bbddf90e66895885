#!/usr/bin/python3
"""bench/rd_tables.py on a small store: the table, the bold best, "not run" and "n/a" cells, the
verdict lines, the marks of times from another CPU, --update between the markers (and its error
without them), and the plot.

  python3 tests/bench/rd_tables_test.py bench/rd_tables.py
"""
import json, os, subprocess, sys, tempfile


def cell(name, rows, layers, method, encoders, seconds=1.0):
    c = {"set": name, "rows": rows, "layers": layers, "codewords": 256, "bits": 8 * layers, "method": method,
         "train_seconds": seconds, "train_threads": 2, "cpu": "test", "date": "2026-12-06",
         "encoders": {e: {"rel_mse": v, "vectors_per_second": 1000.0} for e, v in encoders.items()}}
    if method.startswith("faiss"):
        c["faiss"] = "1.7.3"
    return c


def main():
    script = sys.argv[1]
    cells = [
        cell("s", 20000, 8, "rvq-beam8", {"greedy": 0.061, "beam8": 0.055, "beam8+icm2": 0.054}, 300.0),
        cell("s", 20000, 8, "faiss-rq-beam8", {"greedy": 0.062, "beam8": 0.056}, 320.0),
        cell("s", 20000, 8, "faiss-lsq", {"icm": 0.058}, 310.0),
        cell("s", 60000, 8, "rvq-beam8", {"greedy": 0.057, "beam8": 0.051, "beam8+icm2": 0.0509}),
        dict(cell("s", 20000, 8, "faiss-pq", {}), encoders={}, skipped="D = 100 is not a multiple of 8"),
    ]
    del cells[-1]["train_seconds"]
    store = {"cells": {f"{c['set']}/{c['rows']}/{c['layers']}x256/{c['method']}": c for c in cells},
             "sets": {"s": {"dim": 784, "test_rows": 10000, "train_rows": 60000}}}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rd.json")
        with open(path, "w") as fh:
            json.dump(store, fh)
        out = subprocess.run([sys.executable, script, path], check=True, capture_output=True, text=True).stdout
        lines = out.splitlines()
        assert "| bits | L x K | method | encoder | rel_mse 20k | rel_mse 60k | training s 20k | training s 60k | " \
            "encode vec/s 20k | encode vec/s 60k |" in out, out
        row = next(line for line in lines if "beam-8-trained (`--beam 8" in line and "beam 8 + ICM 2" in line)
        assert "**0.05400**" in row and "**0.05090**" in row, row  # the best of each column, in bold
        faiss_row = next(line for line in lines if "FAISS RQ, beam-8-trained" in line and "| beam 8 |" in line)
        assert "0.05600 | not run" in faiss_row, faiss_row  # no 60k cell yet
        assert faiss_row.endswith("| 1,000 (1 run) |  |"), faiss_row  # nor its speed
        assert row.endswith("| 1,000 (1 run) | 1,000 (1 run) |"), row  # the speed of each size's model
        assert "| 300 |" in next(line for line in lines if "beam-8-trained (`--beam 8" in line and "| greedy |" in line)
        assert "| 1,000 (1 run) |" in row, row  # cells measured before speeds were the best of 3 say so
        assert any("n/a: D = 100 is not a multiple of 8" in line for line in lines), out
        verdict = next(line for line in lines if line.startswith("- 64 bits, 20,000 rows"))
        assert "0.05400 (rvq-beam8)" in verdict and "0.05600 (faiss-rq-beam8)" in verdict and "-3.6%" in verdict, verdict
        # methods without a cell at that size are named: the verdict is only as good as the rows run
        assert verdict.endswith("(not run yet: rvq-greedy, rvq-default, faiss-rq)"), verdict
        assert not any(line.startswith("- 64 bits, 60,000 rows") for line in lines), out  # no FAISS row at 60k
        assert "†" not in out, out  # one CPU: no marks

        # A cell measured on another CPU: its times are marked, and the CPU named under the table.
        other = dict(cells[2], cpu="other CPU")
        store2 = dict(store, cells=dict(store["cells"], **{"s/20000/8x256/faiss-lsq": other}))
        path2 = os.path.join(tmp, "rd2.json")
        with open(path2, "w") as fh:
            json.dump(store2, fh)
        out2 = subprocess.run([sys.executable, script, path2], check=True, capture_output=True, text=True).stdout
        lsq = next(line for line in out2.splitlines() if "LSQ++" in line)
        assert "| 310† |" in lsq and "1,000† (1 run)" in lsq, lsq
        assert "| 300 |" in out2 and out2.count("†") == 3, out2  # the others unmarked; the note's mark
        assert "† Training seconds and speeds measured on other CPU; the others on test." in out2, out2

        md = os.path.join(tmp, "q.md")
        with open(md, "w") as fh:
            fh.write("intro\n<!-- rd-table:s begin -->\nold table\n<!-- rd-table:s end -->\nafter\n")
        subprocess.run([sys.executable, script, path, "--update", md], check=True)
        text = open(md).read()
        assert "old table" not in text and text.startswith("intro\n<!-- rd-table:s begin -->\nSet `s`") and \
            text.endswith("<!-- rd-table:s end -->\nafter\n") and "**0.05400**" in text, text
        again = subprocess.run([sys.executable, script, path, "--update", md], check=True)
        assert again.returncode == 0 and open(md).read() == text  # idempotent

        with open(md, "w") as fh:
            fh.write("no markers\n")
        bad = subprocess.run([sys.executable, script, path, "--update", md], capture_output=True, text=True)
        assert bad.returncode != 0 and "no `<!-- rd-table:s begin -->`" in bad.stderr, bad.stderr
        assert open(md).read() == "no markers\n"  # untouched

        bad = subprocess.run([sys.executable, script, path, "--set", "other"], capture_output=True, text=True)
        assert bad.returncode != 0 and "has no cells of the set other" in bad.stderr, bad.stderr

        try:
            import matplotlib  # noqa: F401  (the plot is optional: python3-matplotlib)
        except ImportError:
            print("matplotlib is missing: the plot is not tested")
        else:
            png = os.path.join(tmp, "rd.png")
            subprocess.run([sys.executable, script, path, "--plot", png], check=True, capture_output=True)
            assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    print("rd_tables: ok")


if __name__ == "__main__":
    main()
