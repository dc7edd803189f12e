# `cmake --install` puts the library, the headers and a package config in place, so that another
# project can say find_package(attograd CONFIG REQUIRED) and link attograd::attograd
# (tests/consumer checks exactly that).
include(CMakePackageConfigHelpers)

# attograd_dist (attograd::dist) joins the same export when MPI was found (lib/dist/CMakeLists.txt).
set(ATTOGRAD_INSTALL_TARGETS attograd)
set(ATTOGRAD_DIST_NEEDS_MPI OFF)  # a static attograd_dist: its consumers link MPI themselves
if(TARGET attograd_dist)
  list(APPEND ATTOGRAD_INSTALL_TARGETS attograd_dist)
  get_target_property(dist_type attograd_dist TYPE)
  if(dist_type STREQUAL "STATIC_LIBRARY")
    set(ATTOGRAD_DIST_NEEDS_MPI ON)
  endif()
endif()
install(TARGETS ${ATTOGRAD_INSTALL_TARGETS} EXPORT attogradTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/attograd DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(ATTOGRAD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/attograd)
install(EXPORT attogradTargets NAMESPACE attograd:: DESTINATION ${ATTOGRAD_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/attogradConfig.cmake.in
  ${PROJECT_BINARY_DIR}/attogradConfig.cmake INSTALL_DESTINATION ${ATTOGRAD_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/attogradConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/attogradConfig.cmake ${PROJECT_BINARY_DIR}/attogradConfigVersion.cmake
  DESTINATION ${ATTOGRAD_CMAKE_DIR})
