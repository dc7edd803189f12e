// The fixed model and optimiser setup the fuzz targets load into, shared with the seed generator so
// that the committed seeds are valid files for exactly these.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <attograd/attograd.hpp>
#include <attograd/nn/module.hpp>

namespace attograd::fuzzing {

// Every kind of tensor a checkpoint holds: float32 parameters of ranks 1 and 2, an int64 buffer and a
// bool buffer. ids [5] -> embedding [5, 3] -> linear [5, 4] -> layer norm -> masked.
struct FuzzModel : nn::Module {
  Generator gen{7};
  nn::Embedding emb{5, 3, {.generator = &gen}};
  nn::Linear fc{3, 4, {.generator = &gen}};
  nn::LayerNorm norm{4};
  Tensor steps, mask;

  FuzzModel() : Module("FuzzModel") {
    register_module("emb", emb);
    register_module("fc", fc);
    register_module("norm", norm);
    steps = register_buffer("steps", tensor_of<std::int64_t>({3}, {1}));
    mask = register_buffer("mask", tensor_of<bool>({true, false, true, true}, {4}));
  }

  Tensor forward(const Tensor& ids) const { return norm(fc(emb(ids))) * mask.to(fc.weight.dtype()); }
};

// The parameters an optimiser state belongs to: two groups, float32 and float64, ranks 1 and 2.
struct FuzzParams {
  Tensor a = ones({2, 3}, {.requires_grad = true});
  Tensor b = full({3}, 0.5, {.requires_grad = true});
  Tensor c = full({2}, -1.0, {.dtype = kFloat64, .requires_grad = true});

  std::vector<optim::ParamGroup> groups() const { return {{.params = {a, b}}, {.params = {c}, .lr = 0.01}}; }
  // Fixed gradients, so that a step always has something to do.
  void set_grads() {
    a.set_grad(full({2, 3}, 0.1));
    b.set_grad(full({3}, -0.2));
    c.set_grad(full({2}, 0.3, {.dtype = kFloat64}));
  }
};

// The optimiser a state belongs to: SGD with Nesterov momentum, or AdamW with AMSGrad (every kind of
// per-parameter state the library saves). The fuzz target and the seed generator both build it here.
inline std::unique_ptr<optim::Optimizer> make_optimizer(const FuzzParams& params, bool sgd) {
  if (sgd) return std::make_unique<optim::SGD>(params.groups(), optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
  return std::make_unique<optim::AdamW>(params.groups(), optim::AdamWOptions{.lr = 0.01, .amsgrad = true});
}

inline constexpr std::string_view kOptimPrefix = "optim.";
inline constexpr std::string_view kSchedulePrefix = "sched.";

}  // namespace attograd::fuzzing
