// libFuzzer target: optimiser and schedule state read back from a checkpoint's extra tensors, as a
// resumed training run does.
//
//   bytes -> parse_tensors                  a SafetensorsFile or an IoError
//         -> "optim.*" tensors -> Optimizer::load_state_tensors      (AdamW with amsgrad, or SGD with
//                                                                     Nesterov momentum: metadata
//                                                                     "optimizer" = "sgd" picks SGD)
//         -> "sched.*" tensors -> WarmupCosine::load_state_tensors
// Each load either succeeds or throws a ValueError that leaves the state as it was. A state that was
// accepted must then work: state_tensors() gives back what was loaded, and step() runs on it (twice,
// for the optimiser and for the schedule) without any exception or sanitizer report. Values are not
// judged (a loaded lr of 1e300 is a valid, if silly, state).
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include <attograd/attograd.hpp>

#include "fuzz_model.hpp"

using namespace attograd;
using namespace attograd::optim;
using attograd::fuzzing::FuzzParams;

namespace {

[[noreturn]] void fail(const std::string& what) {
  fmt::print(stderr, "fuzz_optimizer_state: {}\n", what);
  std::abort();
}

// Names and bytes of a state, to compare states exactly (NaN payloads included).
std::map<std::string, std::string> bytes_by_name(const NamedTensors& named) {
  std::map<std::string, std::string> out;
  for (const auto& [name, t] : named) {
    const Tensor c = t.contiguous();
    out[name] = fmt::format("{} {} ", c.shape(), c.dtype()) +
                std::string(static_cast<const char*>(c.impl()->storage->data()) + c.offset() * element_size(c.dtype()),
                            c.nbytes());
  }
  return out;
}

// The tensors under `prefix`, with the prefix removed.
NamedTensors under(const NamedTensors& all, std::string_view prefix) {
  NamedTensors out;
  for (const auto& [name, t] : all) {
    if (name.starts_with(prefix)) out.emplace_back(name.substr(prefix.size()), t);
  }
  return out;
}

// Loads `state` into `target`; returns whether it was accepted. A refusal must be a ValueError that
// changed nothing; an acceptance must read back exactly.
template <class Target>
bool load(Target& target, const NamedTensors& state, const char* what) {
  const auto before = bytes_by_name(target.state_tensors());
  try {
    target.load_state_tensors(state);
  } catch (const ValueError&) {
    if (bytes_by_name(target.state_tensors()) != before) fail(fmt::format("a refused {} state changed it", what));
    return false;
  }
  const auto loaded = bytes_by_name(state), now = bytes_by_name(target.state_tensors());
  for (const auto& [name, bytes] : loaded) {
    // The schedule recomputes lrs from its step, so only the optimiser's state reads back verbatim.
    if (std::string_view(what) == "optimiser" && now.at(name) != bytes) {
      fail(fmt::format("optimiser state '{}' does not read back as loaded", name));
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  io::SafetensorsFile file;
  try {
    file = io::parse_tensors(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz input");
  } catch (const IoError&) {
    return 0;
  }
  const auto kind = file.metadata.find("optimizer");
  const bool sgd = kind != file.metadata.end() && kind->second == "sgd";

  FuzzParams params;
  const std::unique_ptr<Optimizer> opt = fuzzing::make_optimizer(params, sgd);
  WarmupCosine schedule(*opt, 2, 10);

  if (load(*opt, under(file.tensors, fuzzing::kOptimPrefix), "optimiser")) {
    for (int i = 0; i < 2; ++i) {
      params.set_grads();
      opt->step();
    }
  }
  if (load(schedule, under(file.tensors, fuzzing::kSchedulePrefix), "schedule")) {
    for (int i = 0; i < 2; ++i) schedule.step();
  }
  return 0;
}
