"""Search over codes from Python: rvq.Index against a brute force over the decoded vectors,
files, pickling, ids, inverted lists, threads, the CLI's .rvqi files, and errors."""

import pickle
import subprocess

import numpy as np
import pytest

import rvq


def brute(q, x, k):
    d = (q ** 2).sum(1)[:, None] - 2 * q @ x.T + (x ** 2).sum(1)[None]
    return np.argsort(d, axis=1, kind="stable")[:, :k], np.sort(d, axis=1)[:, :k]


def test_search_finds_the_nearest_reconstructions(model, data):
    x, q = data
    ix = model.index(x)
    assert len(ix) == len(x)
    assert ix.memory_bytes == len(x) * (4 + 4)
    d, l = ix.search(q, k=5)
    assert d.dtype == np.float32 and l.dtype == np.int64 and l.shape == (len(q), 5)
    y = model.decode(model.encode(x))
    _, bd = brute(q, y, 5)
    np.testing.assert_allclose(d, bd, rtol=1e-4, atol=1e-3)
    d1, l1 = ix.search(q[0], k=5)  # one query: 1-D results
    assert l1.shape == (5,) and (l1 == l[0]).all()


def test_rerank_on_originals_is_exact(model, data):
    x, q = data
    ix = model.index(x, norm="int4")
    d, l = ix.search(q, k=3, rerank=len(x), originals=x)
    bl, bd = brute(q, x, 3)
    np.testing.assert_allclose(d, bd, rtol=1e-4, atol=1e-3)


def test_metrics_norms_ivf_and_threads(model, data):
    x, q = data
    for metric in ("ip", "cos"):
        ix = model.index(x, metric=metric)
        d, _ = ix.search(q)
        assert (np.diff(d, axis=1) <= 1e-6).all()  # similarities, best first
    for norm in ("int8", "cint8", "cint4", "tables"):
        assert model.index(x, norm=norm).norm == norm
    flat = model.index(x)
    ivf = model.index(x, ivf=True)
    assert ivf.ivf
    d1, _ = flat.search(q, k=4)
    d2, _ = ivf.search(q, k=4, nprobe=32)
    np.testing.assert_array_equal(d1, d2)
    a = ivf.search(q, k=4, nprobe=2, threads=1)
    b = ivf.search(q, k=4, nprobe=2, threads=3)
    np.testing.assert_array_equal(a[1], b[1])


def test_fast_scan_gives_the_plain_results(data, tmp_path):
    x, q = data
    m = rvq.train(x, layers=6, codewords=16, iterations=4, refine=0, progress=False)
    for metric in ("l2", "ip"):
        plain = m.index(x, metric=metric)
        fast = m.index(x, metric=metric, fast_scan=True)
        assert fast.fast_scan and not plain.fast_scan
        # its 4-bit blocks are its only copy of the codes: 3 bytes (+ half a byte for the l2 norm
        # level, half of padding) per vector for 6 layers, against 6 byte codes
        assert fast.memory_bytes < plain.memory_bytes
        for k in (1, 10):
            a, b = plain.search(q, k=k), fast.search(q, k=k)
            np.testing.assert_array_equal(a[1], b[1])
            np.testing.assert_array_equal(a[0], b[0])
    fast.save(str(tmp_path / "f.rvqi"))
    back = rvq.load_index(str(tmp_path / "f.rvqi"))
    assert back.fast_scan
    np.testing.assert_array_equal(back.search(q, k=5)[1], fast.search(q, k=5)[1])
    assert rvq.cpu()["fast_scan_kernel"] in ("avx2", "neon", "reference")


def test_fast_scan_refuses_wide_layers_and_cosine(model, data):
    x, _ = data
    with pytest.raises(rvq.DataError, match="16 codewords"):
        model.index(x, fast_scan=True)  # K = 32
    m = rvq.train(x, layers=2, codewords=16, iterations=2, refine=0, progress=False)
    with pytest.raises(rvq.DataError, match="l2 or ip"):
        m.index(x, metric="cos", fast_scan=True)


def test_ids_remove_files_and_pickle(model, data, tmp_path):
    x, q = data
    ids = np.arange(len(x), dtype=np.int64) * 10 + 5
    ix = model.index(x, ids=ids)
    assert ix.has_ids
    _, l = ix.search(q, k=2)
    assert set(np.unique(l)) <= set(ids)
    assert ix.remove(l[0, :1]) == 1
    assert len(ix) == len(x) - 1
    p = tmp_path / "x.rvqi"
    ix.save(p)
    back = rvq.load_index(p)
    np.testing.assert_array_equal(back.search(q)[1], ix.search(q)[1])
    again = pickle.loads(pickle.dumps(ix))
    np.testing.assert_array_equal(again.search(q)[1], ix.search(q)[1])
    assert ix.model == model
    assert "rvq.Index(size=" in repr(ix)


def test_mapped_index_is_searched_in_place(model, data, tmp_path):
    x, q = data
    ix = model.index(x, ivf=True)
    p = tmp_path / "m.rvqi"
    ix.save(p)
    m = rvq.load_index(p, mmap=True)
    assert m.mapped and not rvq.load_index(p).mapped and not ix.mapped
    assert m.memory_bytes == ix.memory_bytes
    for a, b in zip(m.search(q, k=5, nprobe=4), ix.search(q, k=5, nprobe=4)):
        np.testing.assert_array_equal(a, b)
    ix.save(p)  # replaced by rename: the mapping stays valid
    m.add(x[:3])  # a change copies the index into memory
    assert not m.mapped and len(m) == len(x) + 3
    with pytest.raises(rvq.FileError) as e:
        rvq.load_index(tmp_path / "missing.rvqi", mmap=True)
    assert "missing.rvqi" in str(e.value.filename)


def test_cli_index_reads_in_python(cli, model, data, tmp_path):
    x, q = data
    m, xp, ip, lp = tmp_path / "m.rvq", tmp_path / "x.npy", tmp_path / "i.rvqi", tmp_path / "l.npy"
    model.save(m)
    np.save(xp, x)
    np.save(tmp_path / "q.npy", q)
    subprocess.run([cli, "index", "--model", str(m), "--input", str(xp), "--output", str(ip), "--quiet"], check=True)
    subprocess.run([cli, "search", "--index", str(ip), "--queries", str(tmp_path / "q.npy"), "--k", "5",
                    "--output", str(lp), "--quiet"], check=True)
    np.testing.assert_array_equal(np.load(lp), rvq.load_index(ip).search(q, k=5)[1])
    np.testing.assert_array_equal(np.load(lp), model.index(x).search(q, k=5)[1])


def test_search_errors(model, data, tmp_path):
    x, q = data
    ix = model.index(x)
    with pytest.raises(rvq.DataError, match="dimensions"):
        ix.search(q[:, :5])
    bad = q.copy()
    bad[2, 1] = np.nan
    with pytest.raises(rvq.DataError, match="row 2"):
        ix.search(bad)
    with pytest.raises(rvq.DataError, match="k must be"):
        ix.search(q, k=0)
    with pytest.raises(rvq.DataError, match="rerank"):
        ix.search(q, k=5, rerank=2)
    with pytest.raises(rvq.DataError, match="norm must be"):
        model.index(norm="float")
    with pytest.raises(rvq.DataError, match="l2 search needs"):
        model.index(norm="none")
    with pytest.raises(rvq.DataError, match="nprobe"):
        model.index(x, ivf=True).search(q, nprobe=0)
    with pytest.raises(rvq.DataError, match="one id per row"):
        model.index(x, ids=np.arange(3))
    with pytest.raises(rvq.DTypeError):
        model.index(x, ids=np.zeros(len(x), dtype=np.float32))
    with pytest.raises(rvq.FileError) as e:
        rvq.load_index(tmp_path / "missing.rvqi")
    assert "missing.rvqi" in str(e.value.filename)
    damaged = bytearray(ix.to_bytes())
    damaged[len(damaged) // 2] ^= 1
    with pytest.raises(rvq.FileError, match="checksum"):
        rvq.index_from_bytes(bytes(damaged))


def test_import_faiss_index_answers_as_faiss():
    from conftest import REPO
    base = REPO / "tests" / "data" / "faiss" / "ix_f32"
    ix = rvq.import_faiss_index(str(base) + ".faissindex")
    assert len(ix) == 300 and ix.norm == "f32"
    q = np.load(str(base) + "_q.npy")
    want = np.load(str(base) + "_labels.npy")
    _, got = ix.search(q, k=5)
    assert (got[:, 0] == want[:, 0]).mean() >= 0.9
