/// \file
/// Data-parallel training on MPI, in one include (docs/distributed.md). Not part of
/// attograd/attograd.hpp: it needs the attograd_dist library (CMake: attograd::dist), built where MPI is.
///
/// \code
/// #include <attograd/attograd.hpp>
/// #include <attograd/dist/dist.hpp>
/// dist::Communicator comm;  dist::broadcast(comm, model);  dist::DataParallel ddp(comm, model);
/// \endcode
#pragma once

#include "attograd/dist/broadcast.hpp"
#include "attograd/dist/communicator.hpp"
#include "attograd/dist/data_parallel.hpp"
#include "attograd/dist/run.hpp"
