/// \file
/// Checkpoints of a whole training run, so that a stopped run (killed,
/// preempted, out of time) continues exactly where it was: the same losses, bit for bit, as a run that
/// never stopped.
///
/// \code
/// train::TrainingState state{.model = model, .optimizer = &opt, .generator = &gen, .batches = &batches};
/// std::int64_t done = resume ? train::load_training_state("run/ckpt.safetensors", state) : 0;
/// for (std::int64_t step = done + 1; step <= steps; ++step) {
///   ...forward, backward, opt.step()...
///   if (step % 100 == 0) train::save_training_state("run/ckpt.safetensors", state, step);
/// }
/// \endcode
///
/// Continuing exactly needs everything a step reads: the model, the optimiser's state (momentum, Adam's
/// moments and step counts, the lr), a schedule's step count, the generator (dropout masks, shuffles),
/// where the data stream is (this epoch's order of the rows and how far into it), and the curve so far.
/// The program must build the same objects in the same way before it loads (the same seed and flags):
/// loading overwrites their state, it does not make them. Give `config` the settings the numbers depend
/// on (seed, learning rate, thread count, ...): loading refuses a checkpoint made with other settings.
///
/// The file is one checkpoint (io/checkpoint.hpp), written atomically: a run killed during a save, even
/// by SIGKILL, leaves the previous checkpoint whole. Its extra tensors are "train.step", "optim.<...>"
/// (Optimizer::state_tensors), "schedule.<...>", "generator.state" (4 int64 words) and
/// "generator.spare_normal" (shape [1], or [0] when the generator holds none), "batches.order",
/// "batches.position", "batches.epoch", "curve.rows" [rows, columns] (float64), "train.ranks" and, with
/// a rank generator, "rank_generators.state" [ranks, 4] (int64), "rank_generators.has_spare_normal"
/// [ranks] (int64, 0 or 1) and "rank_generators.spare_normal" [ranks] (float64); its metadata
/// "train.config" and "curve.columns".
///
/// A data-parallel run (docs/distributed.md) gives its rank and number of ranks as plain numbers, and
/// each rank's own generator (dropout masks) as rank_generator. One rank writes the file, so it needs
/// every rank's generator state, gathered by the program (dist::gather_generator_states) and passed to
/// save_training_state; on loading, each rank takes its own back. A file saved with another number of
/// ranks is refused: the gradient sums would be grouped differently and the streams would not match
/// the ranks, so the curve would not continue bit for bit.
///
/// \code
/// Generator own(seed + 1 + comm.rank());      // this rank's dropout stream: the model's generator
/// train::TrainingState state{.model = model, ..., .rank = comm.rank(), .ranks = comm.size(),
///                            .rank_generator = &own};
/// const auto all = dist::gather_generator_states(comm, own);  // every rank calls it
/// if (comm.is_root()) train::save_training_state(path, state, step, all);
/// comm.barrier();                             // the file is complete before anyone reads it
/// \endcode
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "attograd/core/random.hpp"
#include "attograd/nn/module.hpp"
#include "attograd/optim/optimizer.hpp"
#include "attograd/optim/schedule.hpp"
#include "attograd/train/curve.hpp"
#include "attograd/train/data.hpp"

namespace attograd::train {

/// The objects whose state a checkpoint keeps. Leave out (nullptr) what a run does not use; loading
/// then expects a file that left out the same things.
struct TrainingState {
  nn::Module& model;  ///< always saved
  optim::Optimizer* optimizer = nullptr;  ///< its state and step counts
  optim::LrSchedule* schedule = nullptr;  ///< its step
  Generator* generator = nullptr;  ///< its stream
  Batches* batches = nullptr;  ///< its epoch, order and position
  Curve* curve = nullptr;  ///< its rows
  std::string config = {};  ///< the settings of the run, e.g. "seed=1 lr=0.01 threads=1"
  int rank = 0;   ///< a data-parallel run: this process's rank, 0 .. ranks-1
  int ranks = 1;  ///< a data-parallel run: the number of ranks (a file saved with another is refused)
  /// A generator of this rank's own, whose stream differs from rank to rank (the dropout masks of a
  /// data-parallel run). Saving it needs every rank's state (save_training_state's last argument).
  Generator* rank_generator = nullptr;
};

/// Writes the state after `step` steps to path, atomically (the previous file stays until the new one
/// is complete). Failing to write is an IoError. With a rank_generator, rank_generators holds every
/// rank's generator state, by rank (in a run of one rank it may stay empty: the generator's own state);
/// a ValueError if they are not `ranks` states or this rank's is not its generator's current state.
void save_training_state(const std::filesystem::path& path, const TrainingState& state, std::int64_t step,
                         const std::vector<Generator::State>& rank_generators = {});

/// Loads path into the objects of state and returns the step it was saved after. A file that does not
/// hold what state asks for (a model that does not match, other parts, another config, other curve
/// columns, an optimiser, schedule or data stream of another shape) is an IoError or ValueError naming
/// the file or the part and the values. Checking goes part by part, so a failed load may leave the
/// earlier parts loaded: build the objects afresh before trying again. A file saved with another number
/// of ranks is refused. One saved before files kept the ranks (no "train.ranks") loads as before, but
/// not into a run of several ranks with a rank_generator: it holds no rank's stream (in a run of one,
/// the rank generator then keeps the state it was built with).
std::int64_t load_training_state(const std::filesystem::path& path, const TrainingState& state);

}  // namespace attograd::train
