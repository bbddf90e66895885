"""The package and the rvq tool agree: the same data and seed give the same model file, and the
same model gives the same codes and vectors."""

import numpy as np
import pytest

import rvq

from conftest import run_cli


@pytest.fixture(scope="module")
def files(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("cli")
    x, t = data
    np.save(d / "x.npy", x)
    np.save(d / "t.npy", t)
    return d


def test_training_gives_the_cli_model(cli, files, data):
    x, _ = data
    run_cli(cli, "train", "--input", files / "x.npy", "--layers", 3, "--codewords", 16, "--iterations", 5,
            "--refine", 4, "--beam", 2, "--seed", 9, "--output", files / "cli.rvq", "--quiet")
    q = rvq.train(x, layers=3, codewords=16, iterations=5, refine=4, beam=2, seed=9, progress=False)
    assert q.to_bytes() == (files / "cli.rvq").read_bytes()
    assert rvq.load(files / "cli.rvq") == q


def test_codes_and_vectors_equal_the_cli(cli, files, model, data):
    _, t = data
    model.save(files / "m.rvq")
    run_cli(cli, "encode", "--model", files / "m.rvq", "--input", files / "t.npy", "--beam", 4,
            "--output", files / "c.npy")
    codes = np.load(files / "c.npy")
    np.testing.assert_array_equal(model.encode(t, beam=4), codes)
    run_cli(cli, "decode", "--model", files / "m.rvq", "--input", files / "c.npy", "--output", files / "y.npy")
    np.testing.assert_array_equal(model.decode(codes), np.load(files / "y.npy"))
    run_cli(cli, "encode", "--model", files / "m.rvq", "--input", files / "t.npy", "--packed",
            "--output", files / "p.npy")
    np.testing.assert_array_equal(model.encode(t, packed=True), np.load(files / "p.npy"))


def test_quantized_models_equal_the_cli(cli, files, model, data):
    x, t = data
    model.save(files / "m.rvq")
    run_cli(cli, "quantize", "--model", files / "m.rvq", "--element", "int8", "--calibrate-on", files / "x.npy",
            "--output", files / "m8.rvq", "--quiet")
    q8 = model.quantize("int8", calibration=x)
    assert q8.to_bytes() == (files / "m8.rvq").read_bytes()
    run_cli(cli, "compress", "--model", files / "m.rvq", "--storage", "rpq", "--seeded", "--bits", 4,
            "--output", files / "r.rvq", "--quiet")
    assert model.compress("rpq", seeded=True, bits=4).to_bytes() == (files / "r.rvq").read_bytes()
    run_cli(cli, "codegen", "--model", files / "m.rvq", "--output", files / "m.hpp")
    model.codegen(files / "py.hpp")
    strip = lambda s: [l for l in s.splitlines() if "rvq Python package" not in l and "m.rvq" not in l]
    assert strip((files / "py.hpp").read_text()) == strip((files / "m.hpp").read_text())


def test_the_cli_reads_what_the_package_writes(cli, files, model, data):
    _, t = data
    model.save(files / "saved.rvq")
    r = run_cli(cli, "eval", "--model", files / "saved.rvq", "--input", files / "t.npy", "--json")
    import json
    got = json.loads(r.stdout)
    assert got["rel_mse"] == pytest.approx(model.evaluate(t).rel_mse, rel=1e-9)


def test_icm_codes_equal_the_cli(cli, files, model, data):
    _, t = data
    model.save(files / "icm.rvq")
    run_cli(cli, "encode", "--model", files / "icm.rvq", "--input", files / "t.npy", "--beam", 4, "--icm", 2,
            "--output", files / "ci.npy")
    np.testing.assert_array_equal(model.encode(t, beam=4, icm=2), np.load(files / "ci.npy"))
    import json
    got = json.loads(run_cli(cli, "eval", "--model", files / "icm.rvq", "--input", files / "t.npy", "--beam", 4,
                             "--icm", 2, "--json").stdout)
    assert got["icm"] == 2
    assert got["rel_mse"] == pytest.approx(model.evaluate(t, beam=4, icm=2).rel_mse, rel=1e-9)


def test_icm_aware_training_with_a_holdout_equals_the_cli(cli, files, data):
    x, _ = data
    run_cli(cli, "train", "--input", files / "x.npy", "--layers", 3, "--codewords", 16, "--iterations", 4,
            "--refine", 3, "--beam", 2, "--icm", 2, "--holdout", 20, "--output", files / "icm_train.rvq", "--quiet")
    q = rvq.train(x, layers=3, codewords=16, iterations=4, refine=3, beam=2, icm=2, holdout=20, progress=False)
    assert q.to_bytes() == (files / "icm_train.rvq").read_bytes()


def test_beam_entries_equal_the_cli(cli, files, data):
    x, _ = data
    for entries in (0, 1):
        out = files / f"beam_entries_{entries}.rvq"
        run_cli(cli, "train", "--input", files / "x.npy", "--layers", 3, "--codewords", 16, "--iterations", 4,
                "--refine", 0, "--beam", 4, "--beam-entries", entries, "--output", out, "--quiet")
        q = rvq.train(x, layers=3, codewords=16, iterations=4, refine=0, beam=4, beam_entries=entries,
                      progress=False)
        assert q.to_bytes() == out.read_bytes()
    # Training on every entry of the beam and on the best one give different later layers.
    assert (files / "beam_entries_0.rvq").read_bytes() != (files / "beam_entries_1.rvq").read_bytes()
