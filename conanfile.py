import os

from conan import ConanFile
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"


class RvqConan(ConanFile):
    name = "rvq"
    description = "Header-only C++17 residual vector quantization for microcontrollers, desktops and clusters"
    license = "MIT"
    topics = ("vector-quantization", "residual-vector-quantization", "compression", "embedded", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"freestanding": [True, False], "with_xsimd": [True, False], "with_highway": [True, False]}
    default_options = {"freestanding": False, "with_xsimd": False, "with_highway": False}
    exports_sources = "VERSION", "CMakeLists.txt", "cmake/*", "include/*", "LICENSE", "README.md", "CHANGELOG.md"
    no_copy_source = True

    def set_version(self):
        # VERSION is the one place the version is set (CMake and the vcpkg port read it too).
        self.version = load(self, os.path.join(self.recipe_folder, "VERSION")).strip()

    def requirements(self):
        if self.options.with_xsimd:
            self.requires("xsimd/[>=8.1 <14]")
        if self.options.with_highway:
            self.requires("highway/[>=1.0.3 <2]")

    def layout(self):
        basic_layout(self, src_folder=".")

    def package_id(self):
        self.info.clear()

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["RVQ_BUILD_TESTS"] = False
        tc.cache_variables["RVQ_BUILD_EXAMPLES"] = False
        tc.cache_variables["RVQ_INSTALL"] = True
        tc.cache_variables["RVQ_WITH_XSIMD"] = bool(self.options.with_xsimd)
        tc.cache_variables["RVQ_WITH_HIGHWAY"] = bool(self.options.with_highway)
        tc.generate()
        CMakeDeps(self).generate()

    def package(self):
        # The project's own install rules: headers, CMake package, pkg-config file, licence.
        cmake = CMake(self)
        cmake.configure()
        cmake.install()
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "rvq")
        self.cpp_info.set_property("pkg_config_name", "rvq")
        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "rvq::rvq")
        core.bindirs = []
        core.libdirs = []
        if self.options.freestanding:
            # Firmware: no heap; hosted-only headers (files, training) refuse to compile.
            core.defines = ["RVQ_HOSTED=0", "RVQ_NO_HEAP=1"]
        if self.options.with_xsimd:
            # find_package(rvq COMPONENTS xsimd) / rvq::xsimd: xsimd becomes the default backend.
            simd = self.cpp_info.components["xsimd"]
            simd.set_property("cmake_target_name", "rvq::xsimd")
            simd.requires = ["core", "xsimd::xsimd"]
            simd.defines = ["RVQ_USE_XSIMD=1"]
            simd.bindirs = []
            simd.libdirs = []
        if self.options.with_highway:
            # find_package(rvq COMPONENTS highway) / rvq::highway: static dispatch, header-only use.
            hwy = self.cpp_info.components["highway"]
            hwy.set_property("cmake_target_name", "rvq::highway")
            hwy.requires = ["core", "highway::highway"]
            hwy.defines = ["RVQ_USE_HIGHWAY=1", "HWY_COMPILE_ONLY_STATIC=1"]
            hwy.bindirs = []
            hwy.libdirs = []
