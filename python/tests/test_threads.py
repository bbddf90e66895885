"""The GIL is released while the library works, and Ctrl-C stops a training cleanly."""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np

import rvq

from conftest import gaussian


def test_other_python_threads_run_during_an_encode():
    x = gaussian(40000, 64, 3)
    q = rvq.from_codebooks(np.random.default_rng(1).standard_normal((8, 256, 64)).astype(np.float32))
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("codes", q.encode(x, beam=4, threads=1)))
    ticks = 0
    t.start()
    while t.is_alive():  # this thread needs the GIL to count: it only counts while encode lets go of it
        ticks += 1
    t.join()
    assert result["codes"].shape == (40000, 8)
    assert ticks > 1000


def test_two_threads_encode_at_once_with_the_codes_of_one(model, data):
    _, t = data
    big = np.tile(t, (20, 1))
    want = model.encode(big, threads=1)
    out = [None] * 4
    def work(i):
        out[i] = model.encode(big)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for o in out:
        np.testing.assert_array_equal(o, want)


def test_ctrl_c_stops_training_and_writes_nothing(tmp_path):
    out = tmp_path / "never.rvq"
    script = textwrap.dedent(f"""
        import os, signal, threading
        import numpy as np, rvq
        # Ctrl-C as at a terminal: a child of a background job inherits SIGINT ignored, and
        # Python then installs no handler of its own.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        x = np.random.default_rng(0).standard_normal((30000, 64), dtype=np.float32)
        threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        q = rvq.train(x, layers=8, codewords=256, iterations=200, progress=False)
        q.save({str(out)!r})
    """)
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode != 0
    assert "KeyboardInterrupt" in r.stderr
    assert not out.exists()
    assert os.listdir(tmp_path) == []


def test_a_forked_child_encodes_with_threads(model, data):
    """A child of fork() (multiprocessing, DataLoader workers) has none of the parent's pool
    threads: it gets a pool of its own instead of waiting for workers that do not exist."""
    _, t = data
    big = np.tile(t, (8, 1))
    want = model.encode(big, threads=2)  # the parent's pool exists now
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only with the parent's codes
        ok = False
        try:
            ok = bool((model.encode(big, threads=2) == want).all())
        finally:
            os._exit(0 if ok else 1)
    import time
    deadline = time.monotonic() + 120
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child hung encoding with threads")
        time.sleep(0.05)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
