"""Shared data and models of the rvq package's tests. The package under test is the one on
PYTHONPATH (the build tree's, as ctest runs it), or an installed one."""

import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import rvq

REPO = Path(__file__).resolve().parents[2]


def gaussian(n, d, seed):
    return np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)


@pytest.fixture(scope="session")
def data():
    """Structured vectors (a mixture: realistic nearest-codeword gaps), train and test."""
    rng = np.random.default_rng(7)
    centers = rng.standard_normal((40, 24)).astype(np.float32) * 3
    def draw(n):
        return (centers[rng.integers(0, 40, n)] + rng.standard_normal((n, 24)).astype(np.float32)).astype(np.float32)
    return draw(3000), draw(500)


@pytest.fixture(scope="session")
def model(data):
    x, _ = data
    return rvq.train(x, layers=4, codewords=32, iterations=8, refine=3, progress=False)


@pytest.fixture(scope="session")
def cli():
    """The rvq tool of the same build (RVQ_CLI), or one on PATH; tests that need it skip without."""
    path = os.environ.get("RVQ_CLI") or shutil.which("rvq")
    if not path or not os.path.exists(path):
        pytest.skip("the rvq command-line tool is not available (set RVQ_CLI)")
    return path


def run_cli(cli, *args):
    r = subprocess.run([cli, *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r
