"""Data in and out: zero copy for C-contiguous float32, one conversion otherwise, clear refusals,
and arrays returned that own their memory."""

import numpy as np
import pytest

import rvq
from rvq import _core

from conftest import gaussian


def test_c_contiguous_float32_is_used_in_place():
    x = gaussian(50, 24, 1)
    used = _core.as_matrix(x)
    assert used is x
    assert used.__array_interface__["data"][0] == x.__array_interface__["data"][0]


@pytest.mark.parametrize("make", [
    lambda x: x.astype(np.float64),
    lambda x: x.astype(np.float16),
    lambda x: np.asfortranarray(x),
    lambda x: np.repeat(x, 2, axis=1)[:, ::2],  # strided
])
def test_other_float_arrays_are_converted_once(make, model, data):
    _, t = data
    y = make(t)
    used = _core.as_matrix(y)
    assert used is not y and used.dtype == np.float32 and used.flags.c_contiguous
    want = model.encode(y.astype(np.float32))
    np.testing.assert_array_equal(model.encode(y), want)


@pytest.mark.parametrize("bad,kind", [
    (np.zeros((4, 24), dtype=np.int32), "int32"),
    (np.zeros((4, 24), dtype=np.uint8), "uint8"),
    (np.zeros((4, 24), dtype=bool), "bool"),
    (np.zeros((4, 24), dtype=np.complex64), "complex64"),
    (np.empty((4, 24), dtype=object), "object"),
])
def test_integer_and_object_arrays_are_a_type_error(bad, kind, model):
    with pytest.raises(TypeError, match=kind) as e:
        model.encode(bad)
    assert isinstance(e.value, rvq.DTypeError) and isinstance(e.value, rvq.Error)
    with pytest.raises(rvq.DTypeError):
        rvq.train(bad)


def test_codes_must_be_integers(model):
    with pytest.raises(rvq.DTypeError, match="integer codes"):
        model.decode(np.zeros((3, 4), dtype=np.float32))


def test_objects_with_array_interfaces(model, data):
    _, t = data

    class Wrapped:
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None):
            return self.a

    np.testing.assert_array_equal(model.encode(Wrapped(t)), model.encode(t))
    np.testing.assert_array_equal(model.encode(t.tolist()), model.encode(t))
    with pytest.raises(rvq.DTypeError, match="NumPy array"):
        model.encode(object())


def test_torch_tensors(model, data):
    torch = pytest.importorskip("torch")
    _, t = data
    tt = torch.from_numpy(t.copy())
    np.testing.assert_array_equal(model.encode(tt), model.encode(t))
    g = tt.clone().requires_grad_(True)  # a tensor in a graph: its values are used
    np.testing.assert_array_equal(model.encode(g), model.encode(t))
    np.testing.assert_array_equal(model.encode(tt.double()), model.encode(t))
    # DLPack keeps the tensor's memory: no copy for float32.
    shared = rvq._as_array(tt)
    assert shared.__array_interface__["data"][0] == tt.data_ptr()
    with pytest.raises(rvq.DTypeError):
        model.encode(torch.zeros((2, 24), dtype=torch.int64))


def test_returned_arrays_own_their_memory(model, data):
    _, t = data
    for a in (model.encode(t), model.encode(t, packed=True), model.decode(model.encode(t)),
              model.encode(t[0]), model.decode(model.encode(t)[0])):
        base = a
        while base.base is not None and isinstance(base.base, np.ndarray):
            base = base.base
        assert base.flags.owndata
        assert a.flags.writeable


def test_empty_batches(model):
    c = model.encode(np.zeros((0, 24), dtype=np.float32))
    assert c.shape == (0, 4)
    assert model.decode(c).shape == (0, 24)


def test_memory_mapped_npy_is_read_in_place(model, data, tmp_path):
    _, t = data
    np.save(tmp_path / "t.npy", t)
    m = np.load(tmp_path / "t.npy", mmap_mode="r")  # read-only, backed by the file
    assert _core.as_matrix(m) is m
    np.testing.assert_array_equal(model.encode(m), model.encode(t))
    q = rvq.train(m, layers=2, codewords=8, iterations=2, refine=0, progress=False)
    assert q == rvq.train(t, layers=2, codewords=8, iterations=2, refine=0, progress=False)
