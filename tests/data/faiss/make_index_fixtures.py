#!/usr/bin/python3
"""Make the fixtures of `rvq index --from faiss` with Debian's python3-faiss (run with /usr/bin/python3).

Each case writes ix_NAME.faissindex (faiss.write_index of an IndexResidualQuantizer holding
vectors: codebooks, codes and norms), ix_NAME_q.npy (queries) and ix_NAME_labels.npy (FAISS's
search result, int64, k = 5), so that the test can check that the imported index answers as
FAISS does.
"""
import os
import numpy as np
import faiss

HERE = os.path.dirname(os.path.abspath(__file__))
AQ = faiss.AdditiveQuantizer


def case(name, search_type, metric=faiss.METRIC_L2, d=8, nbits=(4, 4, 3)):
    rng = np.random.default_rng(sum(map(ord, name)))
    x = (rng.standard_normal((1200, d)) * np.linspace(2.0, 0.3, d)).astype("float32")
    nb = faiss.UInt64Vector()
    for b in nbits:
        nb.push_back(b)
    index = faiss.IndexResidualQuantizer(d, nb, metric, search_type)
    index.rq.max_beam_size = 1
    index.rq.cp.niter = 6
    index.train(x[:800])
    index.add(x[800:1100])
    q = x[1100:1130]
    _, labels = index.search(q, 5)
    faiss.write_index(index, os.path.join(HERE, f"ix_{name}.faissindex"))
    np.save(os.path.join(HERE, f"ix_{name}_q.npy"), q)
    np.save(os.path.join(HERE, f"ix_{name}_labels.npy"), labels.astype(np.int64))


faiss.omp_set_num_threads(1)
case("f32", AQ.ST_norm_float)
case("qint8", AQ.ST_norm_qint8)
case("qint4", AQ.ST_norm_qint4)
case("cqint4", AQ.ST_norm_cqint4)
case("decompress", AQ.ST_decompress)
case("ip", AQ.ST_LUT_nonorm, metric=faiss.METRIC_INNER_PRODUCT)
