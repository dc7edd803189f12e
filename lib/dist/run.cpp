#include "attograd/dist/run.hpp"

#include <cstdio>
#include <exception>
#include <string>

#include <fmt/format.h>

#include "dist/mpi_call.hpp"

namespace attograd::dist {

namespace {

// MPI's world, if it is running: {rank, size}, else {0, 1}.
std::pair<int, int> world() {
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return {0, 1};
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return {rank, size};
}

int fail(const std::string& message) {
  const auto [rank, size] = world();
  // One write, flushed before the abort, so that the message is whole and is not lost. In a world of
  // one the rank says nothing.
  if (size > 1) fmt::print(stderr, "rank {} of {}: {}\n", rank, size, message);
  else fmt::print(stderr, "{}\n", message);
  std::fflush(stderr);
  if (size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
  return 1;
}

}  // namespace

int run_or_abort(const std::function<int()>& program) {
  try {
    return program();
  } catch (const std::exception& e) {
    return fail(e.what());
  } catch (...) {
    return fail("an exception that is not a std::exception");
  }
}

}  // namespace attograd::dist
