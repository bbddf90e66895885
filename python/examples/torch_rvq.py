"""A residual VQ written the way PyTorch codecs write theirs, and the same codes from rvq.

EnCodec (``encodec/quantization/core_vq.py``) and vector-quantize-pytorch keep each layer's
codebook in an ``embed`` buffer (K x D), pick the codeword with the largest negative squared
distance, and quantize the residual layer after layer. Their codebooks go to rvq as they are,
through ``rvq.from_codebooks``, and rvq encodes to the same codes (the test suite checks it:
python/tests/test_torch.py).

Run: python3 torch_rvq.py   (needs python3-torch)
"""

import numpy as np
import torch
from torch import nn

import rvq


class EuclideanCodebook(nn.Module):
    """One layer: an ``embed`` buffer of K codewords, initialised by k-means on the first batch."""

    def __init__(self, dim: int, codebook_size: int, kmeans_iters: int = 10) -> None:
        super().__init__()
        self.kmeans_iters = kmeans_iters
        self.register_buffer("embed", torch.zeros(codebook_size, dim))
        self.register_buffer("inited", torch.tensor(False))

    @torch.no_grad()
    def init_embed_(self, x: torch.Tensor) -> None:
        g = torch.Generator().manual_seed(0)
        means = x[torch.randperm(x.shape[0], generator=g)[: self.embed.shape[0]]].clone()
        for _ in range(self.kmeans_iters):
            assign = self.dist(x, means).argmax(dim=-1)
            for k in range(means.shape[0]):
                members = x[assign == k]
                if len(members):
                    means[k] = members.mean(0)
        self.embed.copy_(means)
        self.inited.fill_(True)

    @staticmethod
    def dist(x: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:
        # As EnCodec: -(||x||^2 - 2 <x, e> + ||e||^2); the largest is the nearest codeword.
        return -(x.pow(2).sum(1, keepdim=True) - 2 * x @ embed.t() + embed.pow(2).sum(1)[None, :])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.dist(x, self.embed).argmax(dim=-1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.embed[codes]


class ResidualVQ(nn.Module):
    """``num_quantizers`` codebooks applied to the residual, as EnCodec's ResidualVectorQuantization."""

    def __init__(self, dim: int, codebook_size: int, num_quantizers: int, kmeans_iters: int = 10) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EuclideanCodebook(dim, codebook_size, kmeans_iters) for _ in range(num_quantizers))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> "ResidualVQ":
        """k-means initialisation of every layer on the residual of the layers before it."""
        r = x.clone()
        for layer in self.layers:
            layer.init_embed_(r)
            r = r - layer.decode(layer.encode(r))
        return self

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        r = x.clone()
        codes = []
        for layer in self.layers:
            c = layer.encode(r)
            r = r - layer.decode(c)
            codes.append(c)
        return torch.stack(codes, dim=1)  # (N, L)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return sum(layer.decode(codes[:, i]) for i, layer in enumerate(self.layers))


def to_rvq(module: ResidualVQ) -> rvq.Quantizer:
    """The module's codebooks as an rvq model: the ``embed`` tensors, as they are."""
    return rvq.from_codebooks([layer.embed for layer in module.layers])


def main() -> None:
    torch.manual_seed(0)
    centers = torch.randn(64, 32) * 3
    x = centers[torch.randint(0, 64, (4000,))] + torch.randn(4000, 32)
    module = ResidualVQ(dim=32, codebook_size=64, num_quantizers=4).fit(x)
    q = to_rvq(module)
    torch_codes = module.encode(x).numpy()
    rvq_codes = q.encode(x)
    print(q)
    print(f"codes equal on {np.mean(torch_codes == rvq_codes) * 100:.2f}% of {torch_codes.size} picks")
    y = q.decode(rvq_codes)
    print(f"max |rvq decode - torch decode| = {np.abs(y - module.decode(torch.from_numpy(rvq_codes.astype(np.int64))).numpy()).max():.2e}")


if __name__ == "__main__":
    main()
