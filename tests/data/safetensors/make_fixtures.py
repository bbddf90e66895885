#!/usr/bin/python3
"""Make the safetensors import fixtures from tensors of Debian's python3-torch (run with /usr/bin/python3).

Debian 12 has no safetensors package, so write_safetensors() below follows the published format:
an 8-byte little-endian header length, a JSON header mapping each tensor name to its dtype, shape
and data_offsets (relative to the data buffer; here padded with spaces to 8 bytes), then the raw
little-endian, row-major data. The state dicts use the tensor names of vector-quantize-pytorch's
ResidualVQ, EnCodec and DAC, with small random codebooks. Each case also writes NAME_expected.npy:
the codebooks as float32, L x K x D, as torch converts them.
"""
import json, os, struct
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

# DAC-style names, bfloat16, with the per-layer projections DAC applies.
books = [torch.randn(16, 8).bfloat16() for _ in range(2)]
state = {}
for i, b in enumerate(books):
    state[f"quantizer.quantizers.{i}.codebook.weight"] = b
    state[f"quantizer.quantizers.{i}.in_proj.weight_v"] = torch.randn(8, 64, 1).bfloat16()
    state[f"quantizer.quantizers.{i}.out_proj.weight_v"] = torch.randn(64, 8, 1).bfloat16()
write_safetensors(os.path.join(HERE, "dac_bf16.safetensors"), state)

# The same codebooks as DAC's, without projections (a custom pattern picks them).
state = {f"rvq.book{i}": b for i, b in enumerate(books)}
write_safetensors(os.path.join(HERE, "custom_bf16.safetensors"), state)
save_expected("custom_bf16", books)
