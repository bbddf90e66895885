# Overlay port built from this source tree:
#   vcpkg install rvq --overlay-ports=<rvq>/ports
# (A registry port would fetch a release tag with vcpkg_from_github instead.)
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

# VERSION is the one place the version is set; this port's vcpkg.json must agree with it.
file(READ "${SOURCE_PATH}/VERSION" RVQ_SOURCE_VERSION)
string(STRIP "${RVQ_SOURCE_VERSION}" RVQ_SOURCE_VERSION)
if(NOT RVQ_SOURCE_VERSION STREQUAL VERSION)
  message(FATAL_ERROR "ports/rvq/vcpkg.json says ${VERSION}, VERSION says ${RVQ_SOURCE_VERSION}")
endif()

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS FEATURES xsimd RVQ_WITH_XSIMD highway RVQ_WITH_HIGHWAY)

set(VCPKG_BUILD_TYPE release)  # header-only
vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS ${FEATURE_OPTIONS} -DRVQ_BUILD_TESTS=OFF -DRVQ_BUILD_EXAMPLES=OFF -DRVQ_BUILD_BENCH=OFF -DRVQ_BUILD_DOCS=OFF -DRVQ_INSTALL=ON)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH share/cmake/rvq)
vcpkg_fixup_pkgconfig()
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug" "${CURRENT_PACKAGES_DIR}/share/doc")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
