/// \file
/// The same starting model on every rank.
///
/// \code
/// dist::Communicator comm;
/// nn::Classifier model(...);       // each rank builds the model the same way
/// dist::broadcast(comm, model);    // every rank now holds rank 0's parameters and buffers
/// \endcode
///
/// Data-parallel training starts from one model: whatever each rank drew at initialisation, after the
/// broadcast they all hold rank 0's values, bit for bit. Collective: every rank calls it.
#pragma once

#include "attograd/dist/communicator.hpp"
#include "attograd/nn/module.hpp"

namespace attograd::dist {

/// Overwrites every parameter and buffer with rank 0's values. First checks that every rank's model has
/// the same parameters and buffers, by name, shape and dtype, in the same order; if not, every rank
/// throws the same DistError naming the first rank and the first entry that differ (and changes
/// nothing), e.g. "broadcast: rank 1's model differs from rank 0's at entry 3: rank 0 has parameter
/// 'head.weight' [2, 8] float64, rank 1 has parameter 'head.weight' [3, 8] float64".
void broadcast(const Communicator& comm, nn::Module& model);

}  // namespace attograd::dist
