"""Errors carry the library's message, as rvq.Error subclasses of the built-in Python expects."""

import os

import numpy as np
import pytest

import rvq

from conftest import gaussian


def test_wrong_dimension_is_a_value_error(model):
    with pytest.raises(ValueError, match="vectors have 5 dimensions, the model has 24") as e:
        model.encode(np.zeros((3, 5), dtype=np.float32))
    assert isinstance(e.value, rvq.DataError) and isinstance(e.value, rvq.Error)
    with pytest.raises(rvq.DataError, match="2-D"):
        model.encode(np.zeros((2, 3, 24), dtype=np.float32))


def test_non_finite_data_names_the_row(model):
    x = gaussian(10, 24, 1)
    x[6, 3] = np.nan
    with pytest.raises(rvq.DataError, match="row 6"):
        model.encode(x)
    with pytest.raises(rvq.DataError, match="row 6"):
        rvq.train(x, layers=1, codewords=2, progress=False)


def test_bad_options(model, data):
    x, t = data
    with pytest.raises(rvq.DataError, match="beam"):
        model.encode(t, beam=33)
    with pytest.raises(rvq.DataError, match="beam"):
        model.encode(t, beam=0)
    with pytest.raises(rvq.DataError, match="metric"):
        rvq.train(x, metric="manhattan")
    with pytest.raises(rvq.DataError, match="init"):
        rvq.train(x, init="zeros")
    with pytest.raises(rvq.DataError, match="threads"):
        model.encode(t, threads=0)
    with pytest.raises(rvq.DTypeError, match="threads"):
        model.encode(t, threads=1.5)
    # negative or non-integer beam and icm: the library's message, not the binding's signature
    for call in (lambda **k: model.encode(t, **k), lambda **k: model.evaluate(t, **k),
                 lambda **k: model.index(t, **k), lambda **k: rvq.train(x, layers=1, codewords=2, progress=False, **k)):
        with pytest.raises(rvq.DataError, match="beam must be at least 1, got -1"):
            call(beam=-1)
        with pytest.raises(rvq.DataError, match="icm must be at least 0, got -2"):
            call(icm=-2)
        with pytest.raises(rvq.DTypeError, match="beam must be an int, got float"):
            call(beam=2.5)
        with pytest.raises(rvq.DTypeError, match="icm must be an int, got str"):
            call(icm="2")
    # train's other counts alike
    for name in ("layers", "codewords", "holdout", "beam_entries", "iterations", "refine", "seed", "sample",
                 "progressive", "progressive_iterations"):
        with pytest.raises(rvq.DataError, match=f"{name} must be at least 0, got -1"):
            rvq.train(x, **{"layers": 1, "codewords": 2, "progress": False, name: -1})
        with pytest.raises(rvq.DTypeError, match=f"{name} must be an int, got float"):
            rvq.train(x, **{"layers": 1, "codewords": 2, "progress": False, name: 1.5})
    with pytest.raises(rvq.DataError, match="codewords must be at least 0, got -4"):
        rvq.train(x, layers=2, codewords=[4, -4], progress=False)
    with pytest.raises(rvq.DataError, match="K is above"):
        rvq.train(x[:10], layers=1, codewords=11, progress=False)
    with pytest.raises(rvq.DataError, match="layers"):
        model.decode(model.encode(t), layers=5)
    with pytest.raises(rvq.DataError, match="empty"):
        model.evaluate(np.zeros((0, 24), dtype=np.float32))


def test_codes_out_of_range(model):
    with pytest.raises(rvq.DataError, match="code"):
        model.decode(np.full((2, 4), 32, dtype=np.uint8))
    with pytest.raises(rvq.DataError, match="-1"):
        model.decode(np.full((2, 4), -1, dtype=np.int64))
    with pytest.raises(rvq.DataError, match="one per layer"):
        model.decode(np.zeros((2, 3), dtype=np.uint8))
    with pytest.raises(rvq.DataError, match="packed"):
        model.decode(np.zeros((2, 4), dtype=np.uint8), packed=True)


def test_missing_and_corrupt_files_are_os_errors(tmp_path, model):
    missing = tmp_path / "missing.rvq"
    with pytest.raises(OSError) as e:
        rvq.load(missing)
    assert isinstance(e.value, rvq.FileError) and isinstance(e.value, rvq.Error)
    assert e.value.filename == str(missing)
    assert str(missing) in str(e.value)
    bad = tmp_path / "bad.rvq"
    b = bytearray(model.to_bytes())
    b[-3] ^= 0x40
    bad.write_bytes(bytes(b))
    with pytest.raises(rvq.FileError, match="checksum|crc|CRC") as e:
        rvq.load(bad)
    assert e.value.filename == str(bad)
    with pytest.raises(rvq.FileError):
        rvq.load(tmp_path)  # a folder
    with pytest.raises(rvq.FileError):
        rvq.from_bytes(b"RVQ1 is not a model")
    with pytest.raises(rvq.FileError):
        rvq.import_faiss(bad)
    with pytest.raises(rvq.FileError):
        rvq.import_safetensors(bad)


def test_a_failed_save_keeps_what_was_there(tmp_path, model):
    ro = tmp_path / "ro"
    ro.mkdir()
    target = ro / "m.rvq"
    target.write_bytes(b"old")
    os.chmod(target, 0o444)
    if os.geteuid() != 0:
        with pytest.raises(rvq.FileError) as e:
            model.save(target)
        assert e.value.filename == str(target)
        assert target.read_bytes() == b"old"
    with pytest.raises(rvq.FileError):
        model.save(tmp_path / "no" / "such" / "folder" / "m.rvq")
    with pytest.raises(rvq.FileError):
        model.save(tmp_path)  # a folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ro"]


def test_views_of_non_dense_models_are_refused(model, data):
    x, _ = data
    with pytest.raises(rvq.DataError, match="dense f32"):
        model.quantize("int8", calibration=x).codebooks
    with pytest.raises(rvq.DataError, match="dense"):
        model.compress("rpq").compact()


def test_errors_pickle():
    import pickle
    e = pickle.loads(pickle.dumps(rvq.FileError("bad magic", "m.rvq")))
    assert isinstance(e, rvq.FileError) and e.filename == "m.rvq" and str(e) == "m.rvq: bad magic"
