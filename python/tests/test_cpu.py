"""The kernel targets: what rvq.cpu() reports, rvq.set_isa() forcing each target in turn (the same
codes up to near-ties), and its errors."""

import numpy as np
import pytest

import rvq


def test_cpu_reports_the_targets_and_the_active_one():
    c = rvq.cpu()
    assert set(c) == {
        "features", "targets", "backend", "isa", "best", "int8_kernel", "q15_kernel", "fast_scan_kernel", "note"
    }
    assert c["int8_kernel"] in ("avx512-vnni", "avx-vnni", "avx2", "sdot", "reference")
    assert c["q15_kernel"] in ("avx512-vnni", "avx-vnni", "avx2", "reference")
    assert c["fast_scan_kernel"] in ("avx2", "neon", "reference")
    assert c["targets"], "the baseline target always runs"
    assert c["isa"] in c["targets"] and c["best"] in c["targets"]
    assert c["best"] == c["targets"][-1]


def test_every_target_gives_the_same_codes(data):
    train, test = data
    q = rvq.train(train, layers=4, codewords=32, iterations=4, refine=0)
    try:
        codes = {}
        for t in rvq.cpu()["targets"]:
            rvq.set_isa(t)
            assert rvq.cpu()["isa"] == t
            codes[t] = q.encode(test)
        ref = codes[rvq.cpu()["targets"][0]]
        for t, c in codes.items():
            assert np.mean(np.any(c != ref, axis=1)) <= 0.01, t  # near-ties only (FMA rounds once)
    finally:
        rvq.set_isa("auto")
    assert rvq.cpu()["isa"] == rvq.cpu()["best"]


@pytest.mark.parametrize("element", ["int8", "q15"])
def test_every_target_gives_the_same_int8_codes(data, element):
    train, test = data
    q = rvq.train(train, layers=4, codewords=32, iterations=4, refine=0).quantize(element, train)
    try:
        codes, kernels = {}, {}
        for t in rvq.cpu()["targets"]:
            rvq.set_isa(t)
            kernels[t] = rvq.cpu()[element + "_kernel"]
            codes[t] = q.encode(test)
        ref = codes[rvq.cpu()["targets"][0]]
        for t, c in codes.items():
            np.testing.assert_array_equal(c, ref, err_msg=f"{t} ({kernels[t]})")  # integer kernels: bit for bit
    finally:
        rvq.set_isa("auto")


def test_set_isa_refuses_what_cannot_run():
    before = rvq.cpu()["isa"]
    with pytest.raises(rvq.DataError, match="unknown target"):
        rvq.set_isa("avx1024")
    missing = [t for t in ("avx2", "avx512") if t not in rvq.cpu()["targets"]]
    for t in missing:
        with pytest.raises(rvq.DataError, match="cannot run"):
            rvq.set_isa(t)
    assert rvq.cpu()["isa"] == before
