# Every third-party package attograd builds against, each from Debian (see docs/dependencies.md for
# why each one is here). `./dev` installs them; a plain CMake build expects them present.

find_package(fmt 9 CONFIG REQUIRED)        # libfmt-dev: all text formatting, public (Shape/Tensor formatters)
find_package(dnnl 2.6 CONFIG REQUIRED)     # libdnnl-dev: float32 matmuls, private to lib/backend
find_package(nlohmann_json 3 CONFIG REQUIRED)  # nlohmann-json3-dev: the checkpoint header, private to lib/io
# libopenmpi-dev: data-parallel training (lib/dist, the attograd_dist library), built only when found.
# The C bindings are all it uses (MPI's C++ bindings are gone from the standard); FindMPI looks for them
# with the C compiler, so C is enabled for that alone (attograd has no C sources).
enable_language(C)
find_package(MPI COMPONENTS C)
find_package(ZLIB REQUIRED)                # zlib1g-dev: gzip-compressed data files, private to lib/train

if(ATTOGRAD_BUILD_TESTS)
  # The shared library build of Boost.Test: the header-only variant compiles several times slower per
  # test file, and attograd has one executable per test file.
  find_package(Boost 1.74 CONFIG REQUIRED COMPONENTS unit_test_framework)
endif()
