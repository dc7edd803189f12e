/// \file
/// Ending every rank when one of them fails.
///
/// \code
/// int main(int argc, char** argv) {
///   return dist::run_or_abort([&] {
///     dist::Communicator comm;
///     ...train...
///     return 0;
///   });
/// }
/// \endcode
///
/// When one rank throws (bad input on that rank only, a file it cannot read), the others are waiting in
/// a collective for it and would wait forever. The library never aborts (docs/architecture.md); the
/// program decides, and this helper is how: it runs the program's body, and if that throws, prints
/// "rank <r> of <n>: <the exception's message>" to stderr and calls MPI_Abort, which ends every rank
/// of the run with a non-zero exit. Only main should call it (docs/distributed.md).
#pragma once

#include <functional>

namespace attograd::dist {

/// Returns what `program` returns. If it throws: with more than one rank, prints "rank <r> of <n>:
/// <message>" and calls MPI_Abort(MPI_COMM_WORLD, 1) (it does not return); in a world of one (or before
/// MPI started) prints the message alone and returns 1.
int run_or_abort(const std::function<int()>& program);

}  // namespace attograd::dist
