/// \file
/// The processes of one data-parallel run, on MPI.
///
/// \code
/// dist::Communicator comm;                         // every process started by mpirun (or srun)
/// fmt::print("rank {} of {}\n", comm.rank(), comm.size());
/// double global = comm.sum(local_loss * share);    // every rank gets the same sum
/// comm.barrier();                                  // wait until every rank is here
/// \endcode
///
/// A Communicator stands for MPI's world: all processes of the run. The first one made starts MPI (if
/// the program has not) and MPI stops when the program ends. A program started without mpirun is a
/// world of one: rank 0 of 1, and everything below works unchanged. Every call is collective unless
/// said otherwise: all ranks must make it, in the same order (docs/distributed.md).
///
/// This header, like all of attograd/dist/, needs the attograd_dist library (CMake: attograd::dist),
/// which only exists where MPI was found; libattograd itself never links MPI.
#pragma once

#include <string>
#include <vector>

#include "attograd/core/errors.hpp"
#include "attograd/core/random.hpp"

namespace attograd::dist {

/// An MPI call that failed, or ranks that disagree (models that differ at the broadcast). Derives from
/// attograd::Error, so `catch (const attograd::Error&)` catches it too.
class DistError : public Error {
  using Error::Error;
};

/// The processes of an MPI run (MPI_COMM_WORLD): this process's rank among them, and the few collective
/// operations data-parallel training needs. Every rank must make the same collective calls in the same order.
class Communicator {
 public:
  /// Starts MPI if the program has not (MPI_Init_thread: only the thread that made it calls MPI).
  /// MPI's errors come back as DistError, never as an abort.
  Communicator();

  int rank() const { return rank_; }              ///< 0 .. size()-1; rank 0 prints and writes files
  int size() const { return size_; }              ///< the number of processes
  int local_rank() const { return local_rank_; }  ///< the rank among the processes on this machine
  int local_size() const { return local_size_; }  ///< how many of them run on this machine
  bool is_root() const { return rank_ == 0; }  ///< rank 0

  void barrier() const;  ///< waits until every rank reaches it
  /// The sum over all ranks of each rank's value; every rank receives it.
  double sum(double value) const;
  /// Every rank's text, by rank: the same vector on every rank.
  std::vector<std::string> all_gather(const std::string& text) const;

 private:
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
};

/// Every rank's state of its own generator `gen` (the dropout stream of a data-parallel run), by rank:
/// the same vector on every rank, so that whichever rank writes the checkpoint has them all
/// (train::save_training_state's last argument; docs/distributed.md, "Checkpoints"). Collective.
std::vector<Generator::State> gather_generator_states(const Communicator& comm, const Generator& gen);

}  // namespace attograd::dist
