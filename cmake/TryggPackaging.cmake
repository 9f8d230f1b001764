# Install rules (docs/architecture.md, "Build options and install").
#   sdk     libtrygg.so/.a, the public headers, the case record's generated
#           headers, TryggConfig.cmake, trygg.pc
# `cmake --install <build> --component sdk --prefix <dir>` installs the SDK
# alone.
include(CMakePackageConfigHelpers)

# --- sdk: libtrygg -----------------------------------------------------------
set(TRYGG_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Trygg)
install(TARGETS trygg_sdk trygg_sdk_static EXPORT TryggTargets
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
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/NOTICE
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT sdk)
set(TRYGG_COMPONENTS sdk)

