"""Files made elsewhere, as the C++ suite reads them (tests/data): every committed .rvq fixture
(formats 1-4: f32, f16/bf16, integer, binary, pq/rpq, DAC pipelines), FAISS ResidualQuantizer
files, and vector-quantize-pytorch, EnCodec and DAC safetensors checkpoints."""

from pathlib import Path

import numpy as np
import pytest

import rvq

from conftest import REPO

DATA = REPO / "tests" / "data"
MODELS = sorted(p.stem for p in (DATA / "models").glob("*.rvq"))


@pytest.mark.parametrize("name", MODELS)
def test_model_fixtures_decode_and_encode_as_written(name):
    q = rvq.load(DATA / "models" / f"{name}.rvq")
    codes = np.load(DATA / "models" / f"{name}_codes.npy")
    decoded = np.load(DATA / "models" / f"{name}_decoded.npy")
    assert codes.shape[1] == q.layers
    np.testing.assert_allclose(q.decode(codes), decoded, rtol=1e-6, atol=1e-6)
    x = np.load(DATA / "models" / "x.npy")
    if x.shape[1] == q.dim and x.shape[0] == codes.shape[0]:
        np.testing.assert_array_equal(q.encode(x), codes)
    assert rvq.from_bytes(q.to_bytes()) == q
    assert name.startswith("v4") == q.is_pipeline


@pytest.mark.parametrize("name", ["rq_l2_d16_6x3", "rq_l2_d12_mixed", "rq_ip_d8_4x2"])
def test_faiss_files_encode_as_faiss_did(name):
    q = rvq.import_faiss(DATA / "faiss" / f"{name}.faissindex", metric="l2")
    x = np.load(DATA / "faiss" / f"{name}_x.npy")
    want = np.load(DATA / "faiss" / f"{name}_codes.npy")
    np.testing.assert_array_equal(q.encode(x), want)


@pytest.mark.parametrize("name,pattern", [("vqpytorch_f32", None), ("encodec_f16", None),
                                          ("custom_bf16", "rvq.book{}")])
def test_safetensors_codebooks(name, pattern):
    q = rvq.import_safetensors(DATA / "safetensors" / f"{name}.safetensors", pattern=pattern)
    want = np.load(DATA / "safetensors" / f"{name}_expected.npy")
    np.testing.assert_array_equal(q.codebooks, want.astype(np.float32))


def test_dac_checkpoint_is_a_pipeline_that_encodes_as_dac():
    q = rvq.import_safetensors(DATA / "safetensors" / "dac_bf16.safetensors")
    assert q.is_pipeline and q.metric == "cos" and q.stages == q.layers
    x = np.load(DATA / "safetensors" / "dac_input.npy")
    want = np.load(DATA / "safetensors" / "dac_expected_codes.npy")
    np.testing.assert_array_equal(q.encode(x), want)
    assert q.decode(q.encode(x)).shape == x.shape
    with pytest.raises(rvq.DataError, match="dense f32"):
        q.codebooks
    with pytest.raises(rvq.DataError, match="pipeline"):
        q.quantize("int8")
    small = q.compress("rpq", projections=True)
    assert small.is_pipeline and small.storage == "rpq"
