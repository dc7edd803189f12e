// Checking an MPI call: MPI_COMM_WORLD is set to return error codes (not to abort, MPI's default), and
// each call's code goes through check(), which turns a failure into a DistError naming the call.
#pragma once

#include <string_view>

#include <mpi.h>

namespace attograd::dist::detail {

// Throws DistError("<what>: <MPI's description of code>") unless code is MPI_SUCCESS.
void check(int code, std::string_view what);

}  // namespace attograd::dist::detail
