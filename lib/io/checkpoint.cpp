#include "attograd/io/checkpoint.hpp"

#include <map>

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/io/errors.hpp"
#include "io/safetensors_header.hpp"
#include "io/text.hpp"

namespace attograd::io {

namespace {

// The tensors a module saves and loads: its parameters, then its buffers, each under its dotted path.
NamedTensors state_of(const nn::Module& model) {
  NamedTensors state = model.named_parameters();
  for (auto& entry : model.named_buffers()) state.push_back(std::move(entry));
  return state;
}

std::string describe(const Tensor& t) { return fmt::format("{} {}", t.shape(), t.dtype()); }

// An expand() view has several elements in one memory location and cannot take loaded values.
bool writable(const Tensor& t) {
  for (int d = 0; d < t.dim(); ++d) {
    if (t.strides()[d] == 0 && t.shape()[d] > 1) return false;
  }
  return true;
}

// Problems of one kind, listed up to a point: a hostile file may name a million unexpected tensors.
class ProblemList {
 public:
  void add(std::string line) {
    if (lines_.size() < kShown) lines_.push_back(std::move(line));
    ++count_;
  }
  std::size_t count() const { return count_; }
  void append_to(std::string& out) const {
    for (const std::string& line : lines_) out += "\n  " + line;
    if (count_ > lines_.size()) out += fmt::format("\n  ... and {} more", count_ - lines_.size());
  }

 private:
  static constexpr std::size_t kShown = 20;
  std::vector<std::string> lines_;
  std::size_t count_ = 0;
};

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const nn::Module& model, const CheckpointExtras& extras,
                     const SaveCheckpointOptions& options) {
  const std::string& prefix = options.model_prefix;
  NamedTensors all;
  for (auto& [name, t] : state_of(model)) all.emplace_back(prefix + name, t);
  if (prefix.empty() && !extras.tensors.empty()) {
    throw ValueError(fmt::format("save_checkpoint: with model_prefix '' every tensor in the file is the model's, so "
                                 "there can be no extra tensors (got {}, the first '{}')",
                                 extras.tensors.size(), detail::printable(extras.tensors[0].first)));
  }
  for (const auto& [name, t] : extras.tensors) {
    if (name.starts_with(prefix)) {
      throw ValueError(fmt::format("save_checkpoint: extra tensor '{}' starts with the model prefix '{}'; give extras "
                                   "names of their own, such as 'optim.{}'",
                                   detail::printable(name), prefix, detail::printable(name)));
    }
    all.emplace_back(name, t);
  }
  detail::save_tensors_as("save_checkpoint", path, all, extras.metadata);
}

CheckpointExtras load_checkpoint(const std::filesystem::path& path, nn::Module& model,
                                 const LoadCheckpointOptions& options) {
  SafetensorsFile file = detail::load_tensors_as("load_checkpoint", path, options.limits);
  const std::string& prefix = options.model_prefix;

  // Split the file: the model's tensors (by name without the prefix) and the extras.
  CheckpointExtras extras{.tensors = {}, .metadata = std::move(file.metadata)};
  std::map<std::string, const Tensor*> in_file;
  for (const auto& [name, t] : file.tensors) {
    if (name.starts_with(prefix)) {
      in_file.emplace(name.substr(prefix.size()), &t);
    } else {
      extras.tensors.emplace_back(name, t);
    }
  }

  // Compare everything before changing anything.
  ProblemList missing, unexpected, mismatched;
  std::vector<std::pair<Tensor, const Tensor*>> copies;  // model tensor, value from the file
  for (const auto& [name, target] : state_of(model)) {
    const auto found = in_file.find(name);
    if (found == in_file.end()) {
      if (options.strict) missing.add(fmt::format("missing: '{}{}' ({})", prefix, name, describe(target)));
      continue;
    }
    const Tensor& source = *found->second;
    if (source.shape() != target.shape() || source.dtype() != target.dtype()) {
      mismatched.add(fmt::format("mismatch: '{}{}' is {} in the model but {} in the file", prefix, name,
                                 describe(target), describe(source)));
    } else if (!writable(target)) {
      mismatched.add(fmt::format("cannot load: '{}{}' ({}) is an expand() view in the model, with several elements "
                                 "sharing one memory location",
                                 prefix, name, describe(target)));
    } else {
      copies.emplace_back(target, &source);
    }
    in_file.erase(found);
  }
  if (options.strict) {
    for (const auto& [name, t] : in_file) {
      unexpected.add(fmt::format("unexpected: '{}{}' ({})", prefix, detail::printable(name), describe(*t)));
    }
  }
  const std::size_t problems = missing.count() + unexpected.count() + mismatched.count();
  if (problems > 0) {
    std::string message = fmt::format("load_checkpoint: '{}' does not match the model {} ({} problem{}; the model "
                                      "is unchanged):",
                                      path.string(), model.type_name(), problems, problems == 1 ? "" : "s");
    missing.append_to(message);
    unexpected.append_to(message);
    mismatched.append_to(message);
    throw MismatchError(message);
  }

  // Into the existing tensors, so that every handle (members, an optimiser) sees the loaded values.
  NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(*source);
  return extras;
}

}  // namespace attograd::io
