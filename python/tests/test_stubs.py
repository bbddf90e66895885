"""The type stubs (rvq/__init__.pyi) name every public function and method with the package's
own parameters."""

import ast
import inspect
from pathlib import Path

import rvq


def stub_functions():
    tree = ast.parse((Path(rvq.__file__).with_name("__init__.pyi")).read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for m in node.body:
                if isinstance(m, ast.FunctionDef):
                    out[f"{node.name}.{m.name}"] = m
    return out


def params(node):
    a = node.args
    return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]


def test_stubs_match_the_package():
    stubs = stub_functions()
    for name in rvq.__all__:
        obj = getattr(rvq, name)
        if inspect.isfunction(obj):
            assert name in stubs, name
            assert params(stubs[name]) == list(inspect.signature(obj).parameters), name
    for name, member in vars(rvq.Quantizer).items():
        if inspect.isfunction(member) and not name.startswith("_"):
            key = f"Quantizer.{name}"
            assert key in stubs, key
            assert params(stubs[key]) == list(inspect.signature(member).parameters), key
    assert Path(rvq.__file__).with_name("_core.pyi").exists()
    assert Path(rvq.__file__).with_name("py.typed").exists()
