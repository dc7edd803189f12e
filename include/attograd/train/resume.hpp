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
/// "batches.position", "batches.epoch" and "curve.rows" [rows, columns] (float64); its metadata
/// "train.config" and "curve.columns".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

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
};

/// Writes the state after `step` steps to path, atomically (the previous file stays until the new one
/// is complete). Failing to write is an IoError.
void save_training_state(const std::filesystem::path& path, const TrainingState& state, std::int64_t step);

/// Loads path into the objects of state and returns the step it was saved after. A file that does not
/// hold what state asks for (a model that does not match, other parts, another config, other curve
/// columns, an optimiser, schedule or data stream of another shape) is an IoError or ValueError naming
/// the file or the part and the values. Checking goes part by part, so a failed load may leave the
/// earlier parts loaded: build the objects afresh before trying again.
std::int64_t load_training_state(const std::filesystem::path& path, const TrainingState& state);

}  // namespace attograd::train
