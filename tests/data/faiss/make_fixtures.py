#!/usr/bin/python3
"""Make the FAISS import fixtures with Debian's python3-faiss (run with /usr/bin/python3).

Each case writes NAME.faissindex (faiss.write_index of an IndexResidualQuantizer), NAME_x.npy
(test vectors, float32) and NAME_codes.npy (FAISS's greedy codes, uint16, one column per layer),
so that the test can check that rvq's import encodes to FAISS's codes.
"""
import os
import numpy as np
import faiss

HERE = os.path.dirname(os.path.abspath(__file__))


def unpack(codes, nbits):
    out = np.zeros((codes.shape[0], len(nbits)), dtype=np.uint16)
    for i, row in enumerate(codes):
        v = int.from_bytes(row.tobytes(), "little")  # FAISS packs codes LSB first
        for l, nb in enumerate(nbits):
            out[i, l] = v & ((1 << nb) - 1)
            v >>= nb
    return out


def case(name, d, nbits, metric=faiss.METRIC_L2, search_type=faiss.AdditiveQuantizer.ST_decompress, add=0):
    rng = np.random.default_rng(sum(map(ord, name)))
    x = (rng.standard_normal((3000, d)) * np.linspace(2.0, 0.2, d)).astype("float32")
    nb = faiss.UInt64Vector()
    for b in nbits:
        nb.push_back(b)
    index = faiss.IndexResidualQuantizer(d, nb, metric, search_type)
    index.rq.max_beam_size = 1  # greedy training and encoding
    index.rq.cp.niter = 8
    index.train(x)
    if add:
        index.add(x[:add])
    faiss.write_index(index, os.path.join(HERE, name + ".faissindex"))
    test = x[-200:]
    codes = index.rq.compute_codes(test)
    np.save(os.path.join(HERE, name + "_x.npy"), test)
    np.save(os.path.join(HERE, name + "_codes.npy"), unpack(codes, nbits))


faiss.omp_set_num_threads(1)
case("rq_l2_d16_6x3", 16, [6, 6, 6])
case("rq_l2_d12_mixed", 12, [8, 4, 5, 3], add=50)
case("rq_ip_d8_4x2", 8, [4, 4], metric=faiss.METRIC_INNER_PRODUCT)
case("rq_cqint8_d10_5x2", 10, [5, 5], search_type=faiss.AdditiveQuantizer.ST_norm_cqint8, add=20)
