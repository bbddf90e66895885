"""A real PyTorch round trip: the codebooks of an EnCodec-style torch residual VQ
(python/examples/torch_rvq.py) go to rvq as tensors, and rvq's codes equal the module's."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import torch_rvq  # noqa: E402

import rvq  # noqa: E402


def test_rvq_codes_equal_the_torch_modules():
    torch.manual_seed(0)
    centers = torch.randn(64, 32) * 3
    x = centers[torch.randint(0, 64, (3000,))] + torch.randn(3000, 32)
    module = torch_rvq.ResidualVQ(dim=32, codebook_size=64, num_quantizers=4, kmeans_iters=5).fit(x)
    q = torch_rvq.to_rvq(module)
    assert (q.layers, q.codewords, q.dim) == (4, [64] * 4, 32)
    test = centers[torch.randint(0, 64, (1000,))] + torch.randn(1000, 32)
    want = module.encode(test).numpy()
    got = q.encode(test)  # the tensor itself
    np.testing.assert_array_equal(got, want)
    y = q.decode(got)
    np.testing.assert_allclose(y, module.decode(torch.from_numpy(want)).numpy(), rtol=1e-5, atol=1e-5)
    for layer, book in zip(module.layers, q.codebooks):
        np.testing.assert_array_equal(book, layer.embed.numpy())


def test_state_dict_buffers_work_as_they_are():
    module = torch_rvq.ResidualVQ(dim=8, codebook_size=16, num_quantizers=2)
    module.fit(torch.randn(500, 8))
    books = [v for k, v in module.state_dict().items() if k.endswith("embed")]
    assert len(books) == 2
    assert rvq.from_codebooks(books) == torch_rvq.to_rvq(module)
    assert rvq.from_codebooks(torch.stack(books)) == torch_rvq.to_rvq(module)
