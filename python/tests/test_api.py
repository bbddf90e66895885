"""The package's functions and methods: shapes, dtypes, round trips, derived models."""

import pickle

import numpy as np
import pytest

import rvq

from conftest import REPO, gaussian


def test_train_gives_a_model_with_its_shape(model):
    assert isinstance(model, rvq.Quantizer)
    assert model.layers == 4
    assert model.codewords == [32, 32, 32, 32]
    assert model.dim == 24
    assert (model.element, model.metric, model.storage) == ("f32", "l2", "dense")
    assert model.bits_per_vector == 20
    assert model.packed_bytes == 3
    assert not model.is_pipeline and model.stages == 1


def test_repr_is_one_informative_line(model):
    r = repr(model)
    assert "\n" not in r
    assert r == ("rvq.Quantizer(layers=4, codewords=32, dim=24, element='f32', metric='l2', storage='dense', "
                 "bits_per_vector=20)")


def test_encode_decode(model, data):
    x, t = data
    codes = model.encode(t)
    assert codes.dtype == np.uint8 and codes.shape == (len(t), 4)
    assert codes.max() < 32
    y = model.decode(codes)
    assert y.dtype == np.float32 and y.shape == t.shape
    err = np.mean(np.sum((t - y) ** 2, axis=1)) / np.mean(np.sum(t ** 2, axis=1))
    assert err < 0.2
    # One vector in, one code out; the first layers only: a coarser vector.
    np.testing.assert_array_equal(model.encode(t[3]), codes[3])
    np.testing.assert_array_equal(model.decode(codes[3]), y[3])
    coarse = model.decode(codes, layers=1)
    np.testing.assert_array_equal(coarse, model.codebooks[0][codes[:, 0]])


def test_beam_search_is_no_worse(model, data):
    _, t = data
    g = model.evaluate(t)
    b = model.evaluate(t, beam=8)
    assert b.mse <= g.mse * 1.0001
    assert b.beam == 8


def test_evaluate_reports_every_figure(model, data):
    _, t = data
    e = model.evaluate(t)
    assert isinstance(e, rvq.Evaluation)
    assert e.vectors == len(t) and e.dim == 24
    assert e.rel_mse == pytest.approx(e.mse / e.mean_squared_norm)
    assert len(e.layer_rel_mse) == 4
    assert e.layer_rel_mse == sorted(e.layer_rel_mse, reverse=True)
    assert e.layer_rel_mse[-1] == pytest.approx(e.rel_mse, rel=1e-6)
    assert e.bits_per_vector == 20
    assert e.codebook_bytes == 4 * 32 * 24 * 4
    assert e.vectors_per_second > 0 and e.encode_seconds > 0
    assert e["rel_mse"] == e.rel_mse and e.asdict()["mse"] == e.mse
    with pytest.raises(KeyError):
        e["nope"]
    y = model.decode(model.encode(t))
    assert e.mse == pytest.approx(float(np.mean(np.sum((t.astype(np.float64) - y) ** 2, axis=1))), rel=1e-5)


def test_packed_codes_round_trip(model, data):
    _, t = data
    codes = model.encode(t)
    packed = model.encode(t, packed=True)
    assert packed.dtype == np.uint8 and packed.shape == (len(t), 3)
    np.testing.assert_array_equal(model.decode(packed, packed=True), model.decode(codes))


def test_wide_codes_are_uint16():
    x = gaussian(700, 8, 1)
    q = rvq.train(x, layers=2, codewords=300, iterations=2, refine=0, progress=False)
    c = q.encode(x)
    assert c.dtype == np.uint16 and c.max() >= 256
    np.testing.assert_array_equal(q.decode(c.astype(np.int64)), q.decode(c))


def test_codes_of_any_integer_type_decode(model, data):
    _, t = data
    codes = model.encode(t)
    y = model.decode(codes)
    for dt in (np.uint16, np.int32, np.int64, np.uint64):
        np.testing.assert_array_equal(model.decode(codes.astype(dt)), y)
    np.testing.assert_array_equal(model.decode(np.asfortranarray(codes)), y)


def test_codebooks_view_the_model_read_only(model):
    cb = model.codebooks
    assert cb.shape == (4, 32, 24) and cb.dtype == np.float32
    assert not cb.flags.writeable
    with pytest.raises(ValueError):
        cb[0, 0, 0] = 1.0
    assert np.shares_memory(cb, model.codebooks)  # both view the model, no copy


def test_from_codebooks_array_and_list(model, data):
    _, t = data
    q = rvq.from_codebooks(model.codebooks)
    np.testing.assert_array_equal(q.encode(t), model.encode(t))
    assert q == model
    rng = np.random.default_rng(3)
    books = [rng.standard_normal((k, 24)).astype(np.float32) for k in (16, 64, 5)]
    m = rvq.from_codebooks(books, metric="ip")
    assert m.codewords == [16, 64, 5] and m.metric == "ip"
    assert m.bits_per_vector == 4 + 6 + 3
    got = m.codebooks
    assert isinstance(got, list) and [b.shape for b in got] == [(16, 24), (64, 24), (5, 24)]
    for a, b in zip(got, books):
        np.testing.assert_array_equal(a, b)
    assert "codewords=[16, 64, 5]" in repr(m)
    assert rvq.from_codebooks([np.float64(1.0) * b for b in books]).codewords == [16, 64, 5]


def test_save_load_bytes_pickle(model, data, tmp_path):
    _, t = data
    p = tmp_path / "m.rvq"
    model.save(p)
    back = rvq.load(p)
    assert back == model
    assert back.to_bytes() == p.read_bytes()
    assert rvq.from_bytes(model.to_bytes()) == model
    un = pickle.loads(pickle.dumps(model))
    assert un == model and hash(un) == hash(model)
    np.testing.assert_array_equal(un.encode(t), model.encode(t))
    assert model != rvq.train(data[0], layers=4, codewords=32, iterations=8, refine=3, seed=2, progress=False)


def test_quantize_to_integers_and_halves(model, data):
    x, t = data
    rep = {}
    q8 = model.quantize("int8", calibration=x, report=rep)
    assert q8.element == "int8" and q8.storage == "dense"
    assert rep["quantized_bytes"] < rep["float_bytes"] and 0 <= rep["code_agreement"] <= 1
    assert q8.evaluate(t).rel_mse < model.evaluate(t).rel_mse * 1.2
    assert q8.encode(t).shape == (len(t), 4)
    for el in ("q15", "q7", "int4", "int2", "f16", "bf16"):
        assert model.quantize(el, calibration=x).element == el
    b = model.quantize("binary")
    assert b.element == "binary" and b.metric == "hamming"
    p = model.quantize("int4", calibration=x, method="percentile", percentile=99.0, granularity="layer", pow2=True,
                       symmetric=False, refit=1, rounding="half_to_even", calibration_rows=500)
    assert p.element == "int4"
    with pytest.raises(rvq.DataError, match="already quantized|f32 model"):
        q8.quantize("int4")
    with pytest.raises(rvq.DataError, match="element"):
        model.quantize("int9")


def test_compress_and_compact(model, data, tmp_path):
    x, t = data
    r = model.compress("rpq", seeded=True, bits=4)
    assert r.storage == "rpq"
    assert len(r.to_bytes()) < len(model.to_bytes())
    assert r.evaluate(t).rel_mse < 0.6
    p = model.compress("pq", subspaces=6, calibration=x, element="int8")
    assert p.storage == "pq"
    with pytest.raises(rvq.DataError, match="seeded"):
        model.compress("pq", seeded=True)
    with pytest.raises(rvq.DataError, match="divide"):
        model.compress("pq", subspaces=5)
    # compact: a duplicated codeword goes, every vector reconstructs as before.
    books = model.codebooks.copy()
    books[1, 7] = books[1, 3]
    dup = rvq.from_codebooks(books)
    c, remap = dup.compact(calibration=t, remap=True)
    assert sum(c.codewords) < sum(dup.codewords)
    assert remap.dtype == np.int32 and remap.shape == (4, 32)
    np.testing.assert_array_equal(c.decode(c.encode(t)), dup.decode(dup.encode(t)))
    assert isinstance(dup.compact(), rvq.Quantizer)


def test_codegen_writes_a_header(model, tmp_path):
    h = tmp_path / "model.hpp"
    model.codegen(h, namespace="sensor::rvq")
    text = h.read_text()
    assert "namespace sensor::rvq" in text or "namespace sensor" in text
    with pytest.raises(rvq.DataError, match="namespace"):
        model.codegen(tmp_path / "x.hpp", namespace="int")
    assert not (tmp_path / "x.hpp").exists()


def test_metrics(data):
    x, t = data
    for metric in ("ip", "cos"):
        q = rvq.train(x, layers=2, codewords=16, iterations=3, refine=0, metric=metric, progress=False)
        assert q.metric == metric
        assert q.encode(t).shape == (len(t), 2)


def test_codewords_per_layer_and_threads(data):
    x, t = data
    a = rvq.train(x, layers=3, codewords=[8, 16, 32], iterations=3, refine=2, progress=False, threads=1)
    b = rvq.train(x, layers=3, codewords=[8, 16, 32], iterations=3, refine=2, progress=False, threads=2)
    c = rvq.train(x, layers=3, codewords=[8, 16, 32], iterations=3, refine=2, progress=False)
    assert a.codewords == [8, 16, 32]
    assert a == b == c  # bit for bit, whatever the threads
    for n in (1, 2, 3, None):
        np.testing.assert_array_equal(a.encode(t, beam=4, threads=n), a.encode(t, beam=4, threads=1))


def test_progress_is_called(data):
    x, _ = data
    seen = []
    rvq.train(x, layers=2, codewords=8, iterations=3, refine=2, progressive=0, progress=seen.append)
    assert all(isinstance(p, rvq.TrainProgress) for p in seen)
    assert [p.layer for p in seen if not p.refining] == [0, 0, 0, 1, 1, 1]
    assert sum(p.refining for p in seen) >= 1
    assert "rvq.TrainProgress(layer=0" in repr(seen[0])


def test_a_progress_callable_that_raises_stops_training(data):
    x, _ = data

    def stop(p):
        raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        rvq.train(x, layers=2, codewords=8, iterations=3, progress=stop)


def test_sweep_rows(data):
    x, t = data
    rows = rvq.sweep(x, t, layers=(2,), codewords=(8, 16), beam=(1, 4), elements=("f32", "int8"), iterations=3,
                     refine=0)
    if not isinstance(rows, list):  # pandas installed
        rows = rows.to_dict("records")
    assert len(rows) == 2 * (2 + 1)  # int8 only at beam 1
    assert {r["element"] for r in rows} == {"f32", "int8"}
    assert all(r["rel_mse"] > 0 and r["bits_per_vector"] in (6, 8) for r in rows)
    assert all(r["icm"] == 0 for r in rows)


def test_sweep_icm_rows(data):
    x, t = data
    rows = rvq.sweep(x, t, layers=(3,), codewords=(8,), beam=(1, 4), elements=("f32", "int8"), icm=(0, 2),
                     iterations=3, refine=0)
    if not isinstance(rows, list):
        rows = rows.to_dict("records")
    assert len(rows) == 2 * 2 + 1  # f32: 2 beams x 2 icm; int8: greedy without ICM
    f32 = {(r["beam"], r["icm"]): r["rel_mse"] for r in rows if r["element"] == "f32"}
    for b in (1, 4):
        assert f32[(b, 2)] <= f32[(b, 0)] * (1 + 1e-6)  # ICM never worsens the search it starts from


def test_version_matches_the_repository():
    assert rvq.__version__ == (REPO / "VERSION").read_text().strip()


def test_help_reads_well():
    for f in (rvq.train, rvq.load, rvq.from_codebooks, rvq.import_faiss, rvq.import_safetensors, rvq.sweep,
              rvq.Quantizer.encode, rvq.Quantizer.decode, rvq.Quantizer.evaluate, rvq.Quantizer.quantize,
              rvq.Quantizer.compress, rvq.Quantizer.compact, rvq.Quantizer.codegen, rvq.Quantizer.save):
        assert f.__doc__ and len(f.__doc__.strip()) > 40, f
    assert "residual" in rvq.__doc__


def test_icm_refinement_never_raises_an_error(model, data):
    _, t = data
    base = model.encode(t, beam=4)
    refined = model.encode(t, beam=4, icm=3)
    err = lambda c: np.sum((t.astype(np.float64) - model.decode(c)) ** 2, axis=1)
    assert np.all(err(refined) <= err(base) * (1 + 1e-6) + 1e-9)
    e0, e1 = model.evaluate(t, beam=4), model.evaluate(t, beam=4, icm=3)
    assert e1.mse <= e0.mse and e1.icm == 3 and e0.icm == 0
    with pytest.raises(rvq.DataError, match="ICM"):
        model.quantize("int8", calibration=data[0]).encode(t, icm=1)
