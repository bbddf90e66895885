"""Builds rvq._core with CMake (the repository's own CMakeLists.txt, RVQ_PYTHON_ONLY=ON) and puts
it into the wheel beside the pure-Python files. Needs cmake, a C++17 compiler and pybind11-dev;
nothing is downloaded. RVQ_CMAKE_ARGS adds CMake options (e.g. -DRVQ_NATIVE=ON for this CPU)."""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def version() -> str:
    return (ROOT / "VERSION").read_text().strip()


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        if shutil.which("cmake") is None:
            raise RuntimeError("building rvq needs cmake (Debian: apt-get install cmake g++ pybind11-dev)")
        target = Path(self.get_ext_fullpath(ext.name)).resolve()
        build = Path(self.build_temp).resolve() / "cmake"
        package = build / "package"
        build.mkdir(parents=True, exist_ok=True)
        args = [
            "cmake", "-S", str(ROOT), "-B", str(build),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DRVQ_PYTHON_ONLY=ON",
            f"-DRVQ_PYTHON_PACKAGE_DIR={package}",
            f"-DPython3_EXECUTABLE={sys.executable}",
        ]
        if shutil.which("ninja"):
            args += ["-G", "Ninja"]
        args += shlex.split(os.environ.get("RVQ_CMAKE_ARGS", ""))
        subprocess.run(args, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build), "--target", "rvq_python_core", "-j", jobs], check=True)
        built = sorted((package / "rvq").glob("_core*.so")) + sorted((package / "rvq").glob("_core*.pyd"))
        if not built:
            raise RuntimeError(f"the CMake build made no rvq/_core module in {package / 'rvq'}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    version=version(),
    ext_modules=[CMakeExtension("rvq._core")],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
