/// \file
/// Saving a model (its parameters and buffers), optionally with other state
/// such as an optimiser's, and loading it back into a model of the same architecture.
///
/// \code
/// save_checkpoint("ckpt.safetensors", model, {.tensors = {{"optim.step", step}}, .metadata = {{"epoch", "3"}}});
/// Model fresh;
/// CheckpointExtras extras = load_checkpoint("ckpt.safetensors", fresh);  // fresh now computes as model did
/// extras.metadata.at("epoch");                                           // "3"
/// load_checkpoint("ckpt.safetensors", fresh, {.strict = false});         // tolerate missing/unexpected names
/// \endcode
///
/// The file is a safetensors file (io/safetensors.hpp): each model tensor named "model." followed by its
/// path ("model.blocks.0.attn.query.weight"), the extra tensors under the names you give them (which
/// must not start with "model."), and the metadata as given. The "model." prefix keeps the model apart
/// from the extras without a second file; `model_prefix = ""` reads and writes a plain state dict
/// whose every tensor is the model's.
///
/// Loading checks the whole file first (load_tensors), then compares it with the model: every missing,
/// unexpected, mis-shaped or mis-typed tensor is reported in one IoError. Only when all match is the
/// data copied, into the model's existing tensors (so every handle to a parameter, such as an
/// optimiser's, sees the new values). A float32 model does not load float64 data: convert the model
/// with to(kFloat64) first. A failed load leaves the model exactly as it was.
#pragma once

#include <filesystem>
#include <string>

#include "attograd/io/safetensors.hpp"
#include "attograd/nn/module.hpp"

namespace attograd::io {

/// The prefix of the model's tensor names in a checkpoint, beside the extras' own names.
inline constexpr std::string_view kModelPrefix = "model.";

/// What a checkpoint holds besides the model: extra named tensors (an optimiser's state, a generator's
/// state) and string metadata (the step, the configuration).
struct CheckpointExtras {
  NamedTensors tensors;  ///< extra tensors, by name
  Metadata metadata;  ///< string metadata, by key
};

/// How save_checkpoint names the model's tensors.
struct SaveCheckpointOptions {
  std::string model_prefix{kModelPrefix};  ///< "" writes a plain state dict (then there can be no extras)
};

/// How load_checkpoint matches the file against the model.
struct LoadCheckpointOptions {
  /// When false, names in the model but not the file (they keep their values) and names in the file but
  /// not the model (they are ignored) are allowed. Shapes and dtypes must match either way.
  bool strict = true;
  std::string model_prefix{kModelPrefix};  ///< "" reads a plain state dict: every tensor is the model's
  LoadLimits limits{};  ///< caps on what the file may claim (LoadLimits)
};

/// Writes the model's named parameters and buffers and the extras atomically. A name used twice, or an
/// extra named under the model prefix, is a ValueError; failing to write is an IoError and leaves any
/// previous file at path as it was.
void save_checkpoint(const std::filesystem::path& path, const nn::Module& model, const CheckpointExtras& extras = {},
                     const SaveCheckpointOptions& options = {});

/// Loads path into model (see above) and returns the extra tensors and the metadata.
CheckpointExtras load_checkpoint(const std::filesystem::path& path, nn::Module& model,
                                 const LoadCheckpointOptions& options = {});

}  // namespace attograd::io
