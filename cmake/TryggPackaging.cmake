# SPDX-License-Identifier: Apache-2.0

# Install rules and Debian packages (docs/operator-guide.md, "Package";
# docs/architecture.md, "Build options").
#
# Three install components, one .deb each (cpack -G DEB in the build dir):
#   sdk     libtrygg-dev  libtrygg.so/.a, libtrygg_c.so/.a, the public headers, the case record's
#                         generated headers, TryggConfig.cmake, trygg.pc
#   server  tryggd        tryggd, /etc/trygg/tryggd.toml (a conffile), the
#                         systemd unit; the trygg user and /var/lib/trygg come
#                         from packaging/deb/postinst
#   tools   trygg-tools   trygg, trygg-admin, trygg-audit
# `cmake --install <build> --component sdk --prefix <dir>` installs the SDK
# alone; scripts/package-test builds, installs and removes the packages.
include(CMakePackageConfigHelpers)

# --- sdk: libtrygg -----------------------------------------------------------
set(TRYGG_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Trygg)
install(TARGETS trygg_sdk trygg_sdk_static trygg_c trygg_c_static EXPORT TryggTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk NAMELINK_COMPONENT sdk
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/client-lib/include/trygg
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT sdk)
# The case record a partner app builds and reads (trygg/v1/case_record.pb.h)
# and the messages it imports; the gRPC stubs stay inside libtrygg.
install(FILES
  ${PROJECT_BINARY_DIR}/proto/trygg/v1/case_record.pb.h
  ${PROJECT_BINARY_DIR}/proto/trygg/v1/common.pb.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/trygg/v1 COMPONENT sdk)
install(FILES
  ${PROJECT_SOURCE_DIR}/proto/trygg/v1/case_record.proto
  ${PROJECT_SOURCE_DIR}/proto/trygg/v1/common.proto
  DESTINATION ${CMAKE_INSTALL_DATADIR}/trygg/proto/trygg/v1 COMPONENT sdk)
install(EXPORT TryggTargets NAMESPACE Trygg:: DESTINATION ${TRYGG_CMAKE_DIR} COMPONENT sdk)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/TryggConfig.cmake.in
  ${PROJECT_BINARY_DIR}/TryggConfig.cmake INSTALL_DESTINATION ${TRYGG_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/TryggConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/TryggConfig.cmake ${PROJECT_BINARY_DIR}/TryggConfigVersion.cmake
  DESTINATION ${TRYGG_CMAKE_DIR} COMPONENT sdk)
# trygg.pc finds its prefix from its own location, so the installed tree can
# be moved (a temporary prefix, a package's /usr).
file(RELATIVE_PATH TRYGG_PC_PREFIX_FROM_PCDIR
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" TRYGG_PC_PREFIX_FROM_PCDIR "${TRYGG_PC_PREFIX_FROM_PCDIR}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/trygg.pc.in ${PROJECT_BINARY_DIR}/trygg.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/trygg.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT sdk)
# The Python binding (ctypes over libtrygg_c), where Debian's python3 looks
# (/usr/lib/python3/dist-packages); with another prefix, PYTHONPATH names it.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/bindings/python/trygg
  DESTINATION lib/python3/dist-packages COMPONENT sdk
  PATTERN __pycache__ EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/NOTICE
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/libtrygg-dev COMPONENT sdk)
set(TRYGG_COMPONENTS sdk)

# --- server: tryggd ----------------------------------------------------------
if(TRYGG_BUILD_SERVER)
  install(TARGETS tryggd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT server)
  # /etc, not <prefix>/etc, when the prefix is /usr (the packages' prefix).
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/tryggd.toml
    DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/trygg COMPONENT server)
  configure_file(${PROJECT_SOURCE_DIR}/packaging/tryggd.service.in
    ${PROJECT_BINARY_DIR}/packaging/tryggd.service @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/packaging/tryggd.service
    DESTINATION lib/systemd/system COMPONENT server)
  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/NOTICE
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/tryggd COMPONENT server)
  list(APPEND TRYGG_COMPONENTS server)
endif()

# --- tools -------------------------------------------------------------------
if(TRYGG_BUILD_TOOLS)
  install(TARGETS trygg trygg-admin trygg-audit RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)
  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/NOTICE
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/trygg-tools COMPONENT tools)
  list(APPEND TRYGG_COMPONENTS tools)
endif()

# --- Debian packages (cpack -G DEB) ------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME trygg)
set(CPACK_PACKAGE_VENDOR "Trygg")
set(CPACK_PACKAGE_CONTACT "Trygg operators <operators@trygg.invalid>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_COMPONENTS_ALL ${TRYGG_COMPONENTS})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_LICENSE Apache-2.0)
# Run-time dependencies of the binaries, from dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME tryggd)
set(CPACK_COMPONENT_SERVER_DESCRIPTION
  "Trygg referral server\ntryggd routes end-to-end encrypted referrals between the member organisations\nof a platform against human trafficking, keeps the service directory and a\ntamper-evident audit log. Runs as the trygg user from a systemd unit.")
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
  ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
  ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME trygg-tools)
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
  "Trygg command-line tools\ntrygg (caseworkers and organisation admins), trygg-admin (the offline\nplatform root) and trygg-audit (coordinators' audit and statistics).")

set(CPACK_DEBIAN_SDK_PACKAGE_NAME libtrygg-dev)
set(CPACK_DEBIAN_SDK_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_SDK_DESCRIPTION
  "Trygg client library (libtrygg) for partner apps\nHeaders, static and shared library, CMake package (find_package(Trygg))\nand pkg-config file (trygg.pc) of libtrygg, which does all of Trygg's\ncryptography on the caseworker's device and speaks to tryggd over gRPC.")
# What a consumer compiles and links against (TryggConfig.cmake's
# find_dependency and trygg.pc's Requires).
set(CPACK_DEBIAN_SDK_PACKAGE_DEPENDS
  "libabsl-dev, libprotobuf-dev, libgrpc++-dev, libsodium-dev, pkg-config")

# The server's config goes to ${CMAKE_INSTALL_FULL_SYSCONFDIR}, which is /etc
# only for the prefix /usr: a package from another prefix would put it where
# the conffile entry and the unit do not look.
if(TRYGG_BUILD_SERVER AND NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  file(WRITE ${PROJECT_BINARY_DIR}/packaging/check-prefix.cmake
    "message(FATAL_ERROR \"the tryggd package needs a build configured with -DCMAKE_INSTALL_PREFIX=/usr \"\n"
    "  \"(this one has ${CMAKE_INSTALL_PREFIX})\")\n")
  set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_BINARY_DIR}/packaging/check-prefix.cmake)
endif()

include(CPack)
