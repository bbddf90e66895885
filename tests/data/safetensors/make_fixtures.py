#!/usr/bin/python3
"""Make the safetensors import fixtures from tensors of Debian's python3-torch (run with /usr/bin/python3).

Debian 12 has no safetensors package, so write_safetensors() below follows the published format:
an 8-byte little-endian header length, a JSON header mapping each tensor name to its dtype, shape
and data_offsets (relative to the data buffer; here padded with spaces to 8 bytes), then the raw
little-endian, row-major data. The state dicts use the tensor names of vector-quantize-pytorch's
ResidualVQ, EnCodec and DAC, with small random codebooks. Each case also writes NAME_expected.npy:
the codebooks as float32, L x K x D, as torch converts them.

`make_fixtures.py --dac-shaped OUT` writes no fixture: a DAC-shaped checkpoint (OUT.safetensors,
f32) and latents (OUT_latents.npy) for the measurements in docs/storage.md.
"""
import json, os, struct, sys
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.bool: "BOOL"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: the upper halves of the float32 bits
        return (t.float().numpy().view(np.uint32) >> 16).astype("<u2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        b = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def save_expected(name, books):
    np.save(os.path.join(HERE, name + "_expected.npy"), torch.stack([b.float() for b in books]).numpy())


torch.manual_seed(3)

# vector-quantize-pytorch ResidualVQ(dim=8, codebook_size=16, num_quantizers=3): embed is (1, K, D).
books = [torch.randn(1, 16, 8) for _ in range(3)]
state = {}
for i, b in enumerate(books):
    state[f"layers.{i}._codebook.initted"] = torch.tensor([True])
    state[f"layers.{i}._codebook.cluster_size"] = torch.ones(1, 16)
    state[f"layers.{i}._codebook.embed"] = b
    state[f"layers.{i}._codebook.embed_avg"] = b.clone()
write_safetensors(os.path.join(HERE, "vqpytorch_f32.safetensors"), state, {"format": "pt"})
save_expected("vqpytorch_f32", [b[0] for b in books])

# EnCodec-style names, float16, with unrelated model weights around them.
books = [torch.randn(32, 8).half() for _ in range(4)]
state = {"encoder.model.0.conv.conv.weight": torch.randn(4, 1, 7)}
for i, b in enumerate(books):
    state[f"quantizer.vq.layers.{i}._codebook.embed"] = b
    state[f"quantizer.vq.layers.{i}._codebook.inited"] = torch.tensor([1.0])
write_safetensors(os.path.join(HERE, "encodec_f16.safetensors"), state)
save_expected("encodec_f16", books)

# DAC: ResidualVectorQuantize(input_dim=64, n_codebooks=3, codebook_size=16, codebook_dim=8), the
# module of descript-audio-codec's dac/nn/quantize.py rebuilt here: each layer projects the residual
# with a weight-normalized 1x1 Conv1d (in_proj), picks the codeword of largest cosine (both sides
# L2-normalized), looks the raw codeword up, projects it back (out_proj) and subtracts it.
class VectorQuantize(torch.nn.Module):
    def __init__(self, input_dim, codebook_size, codebook_dim):
        super().__init__()
        self.in_proj = torch.nn.utils.weight_norm(torch.nn.Conv1d(input_dim, codebook_dim, kernel_size=1))
        self.out_proj = torch.nn.utils.weight_norm(torch.nn.Conv1d(codebook_dim, input_dim, kernel_size=1))
        self.codebook = torch.nn.Embedding(codebook_size, codebook_dim)

    def forward(self, z):  # z: B x D x T, as DAC's VectorQuantize.forward at inference
        z_e = self.in_proj(z)
        enc = z_e.permute(0, 2, 1).reshape(-1, z_e.shape[1])
        enc_n = torch.nn.functional.normalize(enc)
        book_n = torch.nn.functional.normalize(self.codebook.weight)
        dist = enc_n.pow(2).sum(1, keepdim=True) - 2 * enc_n @ book_n.t() + book_n.pow(2).sum(1, keepdim=True).t()
        indices = (-dist).max(1)[1].reshape(z.shape[0], -1)
        z_q = self.codebook(indices).transpose(1, 2)
        return self.out_proj(z_q), indices


def dac_numpy_codes(state, x, layers):
    """DAC's encode in NumPy (float64) from the saved tensors alone: the reference rvq must match."""
    f = lambda name: state[name].float().numpy().astype(np.float64)
    codes, r = [], x.astype(np.float64)
    for i in range(layers):
        def proj(kind):
            g, v = f(f"quantizer.quantizers.{i}.{kind}.weight_g")[:, :, 0], f(f"quantizer.quantizers.{i}.{kind}.weight_v")[:, :, 0]
            return g * v / np.linalg.norm(v, axis=1, keepdims=True), f(f"quantizer.quantizers.{i}.{kind}.bias")
        (wi, bi), (wo, bo) = proj("in_proj"), proj("out_proj")
        book = f(f"quantizer.quantizers.{i}.codebook.weight")
        z = r @ wi.T + bi
        score = (z / np.linalg.norm(z, axis=1, keepdims=True)) @ (book / np.linalg.norm(book, axis=1, keepdims=True)).T
        c = score.argmax(1)
        codes.append(c)
        r = r - (book[c] @ wo.T + bo)
    return np.stack(codes, 1)


def dac_quantizers(input_dim, layers, codebook_size, codebook_dim):
    quantizers = torch.nn.ModuleList([VectorQuantize(input_dim, codebook_size, codebook_dim) for _ in range(layers)])
    with torch.no_grad():
        for q in quantizers:  # weights as trained ones look: not the init's zero biases and unit norms
            q.codebook.weight.normal_()
            for p in (q.in_proj, q.out_proj):
                p.weight_g.uniform_(0.5, 2.0)
                p.bias.normal_(0, 0.1)
        # bfloat16 storage: round the parameters first so torch, NumPy and rvq see the same values
        for p in quantizers.parameters():
            p.copy_(p.bfloat16().float())
    return quantizers


if len(sys.argv) == 3 and sys.argv[1] == "--dac-shaped":
    # Not a fixture: DAC's real shape (9 layers x 1024 codewords x 8 dims behind 1024 -> 8 -> 1024
    # projections, random weights) for the measurements in docs/storage.md, and latents to encode.
    torch.manual_seed(9)
    out = sys.argv[2]
    state = {f"quantizer.quantizers.{k}": v for k, v in dac_quantizers(1024, 9, 1024, 8).state_dict().items()}
    write_safetensors(out + ".safetensors", state)
    np.save(out + "_latents.npy", torch.randn(4000, 1024).numpy())
    sys.exit(0)

torch.manual_seed(5)
quantizers = dac_quantizers(64, 3, 16, 8)
state = {f"quantizer.quantizers.{k}": v.bfloat16() for k, v in quantizers.state_dict().items()}
state["encoder.block.0.weight"] = torch.randn(4, 1, 7).bfloat16()
write_safetensors(os.path.join(HERE, "dac_bf16.safetensors"), state)
# Newer torch (parametrizations) names the same tensors original0 (g) and original1 (v).
renamed = {k.replace("weight_g", "parametrizations.weight.original0").replace("weight_v", "parametrizations.weight.original1"): v
           for k, v in state.items()}
write_safetensors(os.path.join(HERE, "dac_param_bf16.safetensors"), renamed)
z = torch.randn(2, 64, 20)  # B x D x T latents
x = z.permute(0, 2, 1).reshape(-1, 64)  # (B T) x D: the rows rvq encodes
with torch.no_grad():
    residual, torch_codes = z, []
    for q in quantizers:
        z_q, idx = q(residual)
        torch_codes.append(idx.reshape(-1))
        residual = residual - z_q
torch_codes = torch.stack(torch_codes, 1).numpy()
numpy_codes = dac_numpy_codes(state, x.numpy(), 3)
assert (torch_codes == numpy_codes).all(), "torch and NumPy disagree on DAC's codes"
np.save(os.path.join(HERE, "dac_input.npy"), x.numpy().astype(np.float32))
np.save(os.path.join(HERE, "dac_expected_codes.npy"), numpy_codes.astype(np.uint16))

# Codebooks under custom names (a custom pattern picks them).
books = [torch.randn(16, 8).bfloat16() for _ in range(2)]
state = {f"rvq.book{i}": b for i, b in enumerate(books)}
write_safetensors(os.path.join(HERE, "custom_bf16.safetensors"), state)
save_expected("custom_bf16", books)
