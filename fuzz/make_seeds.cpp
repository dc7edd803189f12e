// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/): small valid files for exactly
// the model and optimisers the targets load into, and near misses. The files are committed; run this
// again only when FuzzModel or FuzzParams change:
//   build/fuzz/fuzz/fuzz_make_seeds fuzz/corpus
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include <attograd/attograd.hpp>

#include "fuzz_model.hpp"

using namespace attograd;
using namespace attograd::optim;
using namespace attograd::fuzzing;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  io::write_file_atomically(dir / name, bytes);
  fmt::print("{} ({} bytes)\n", (dir / name).string(), bytes.size());
}

io::NamedTensors model_state(const nn::Module& m, const std::string& prefix) {
  io::NamedTensors out;
  for (const auto& [name, t] : m.named_parameters()) out.emplace_back(prefix + name, t);
  for (const auto& [name, t] : m.named_buffers()) out.emplace_back(prefix + name, t);
  return out;
}

void add_all(io::NamedTensors& to, const io::NamedTensors& from, const std::string& prefix) {
  for (const auto& [name, t] : from) to.emplace_back(prefix + name, t);
}

// An optimiser and schedule after three steps, as a training run would save them.
io::NamedTensors trained_state(bool sgd) {
  FuzzParams params;
  const std::unique_ptr<Optimizer> opt = fuzzing::make_optimizer(params, sgd);
  WarmupCosine schedule(*opt, 2, 10);
  for (int i = 0; i < 3; ++i) {
    params.set_grads();
    opt->step();
    schedule.step();
  }
  io::NamedTensors out;
  add_all(out, opt->state_tensors(), std::string(kOptimPrefix));
  add_all(out, schedule.state_tensors(), std::string(kSchedulePrefix));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: {} <corpus folder>\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  const fs::path ckpt = root / "checkpoint", optim = root / "optimizer_state";

  FuzzModel model;
  io::NamedTensors full = model_state(model, "model.");
  full.emplace_back("optim.0.lr", scalar_tensor(0.1, {.dtype = kFloat64}));
  write(ckpt, "valid_with_extras.safetensors", io::serialize_tensors(full, {{"step", "120"}, {"note", "seed"}}));
  write(ckpt, "valid.safetensors", io::serialize_tensors(model_state(model, "model.")));
  write(ckpt, "plain_state_dict.safetensors", io::serialize_tensors(model_state(model, "")));
  write(ckpt, "one_buffer.safetensors", io::serialize_tensors({{"model.steps", model.steps}}));
  write(ckpt, "metadata_only.safetensors", io::serialize_tensors({}, {{"format", "pt"}}));
  write(ckpt, "empty_tensor.safetensors", io::serialize_tensors({{"model.x", zeros({0, 3})}}));
  // The model's weights as shared checkpoints often hold them: 16-bit floats, read as float32.
  write(ckpt, "valid_f16.safetensors",
        io::serialize_tensors(model_state(model, "model."), {}, {.float32_as = io::HalfFormat::F16}));
  write(ckpt, "valid_bf16.safetensors",
        io::serialize_tensors(model_state(model, "model."), {}, {.float32_as = io::HalfFormat::BF16}));
  nn::Linear other{3, 5};
  write(ckpt, "other_model.safetensors", io::serialize_tensors(model_state(other, "model.fc.")));

  write(optim, "adamw.safetensors", io::serialize_tensors(trained_state(false), {{"optimizer", "adamw"}}));
  write(optim, "sgd.safetensors", io::serialize_tensors(trained_state(true), {{"optimizer", "sgd"}}));
  write(optim, "lrs_only.safetensors",
        io::serialize_tensors({{"optim.0.lr", scalar_tensor(0.01, {.dtype = kFloat64})},
                               {"optim.1.lr", scalar_tensor(0.01, {.dtype = kFloat64})},
                               {"sched.step", scalar_tensor(0, {.dtype = kInt64})},
                               {"sched.0.base_lr", scalar_tensor(0.01, {.dtype = kFloat64})},
                               {"sched.1.base_lr", scalar_tensor(0.01, {.dtype = kFloat64})}}));
  return 0;
}
