// Small models for the checkpoint tests: a two-layer net with an int64 and a bool buffer, seeded so
// that two nets made with different seeds differ in every value.
#pragma once

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <attograd/attograd.hpp>
#include <attograd/nn/module.hpp>

namespace attograd::testing {

struct Affine : nn::Module {
  Tensor weight, bias;
  Affine(std::int64_t in, std::int64_t out, Generator& gen) : Module("Affine") {
    weight = register_parameter("weight", randn({out, in}, gen));
    bias = register_parameter("bias", randn({out}, gen));
  }
  Tensor forward(const Tensor& x) const { return matmul(x, weight.mT()) + bias; }
};

// x [B, 3] -> tanh(first(x)) * mask -> second -> [B, 2]
struct Net : nn::Module {
  Generator gen;
  Affine first, second;
  Tensor steps, mask;
  explicit Net(std::uint64_t seed, std::int64_t hidden = 4)
      : Module("Net"), gen(seed), first(3, hidden, gen), second(hidden, 2, gen) {
    register_module("first", first);
    register_module("second", second);
    steps = register_buffer("steps", tensor_of<std::int64_t>({static_cast<std::int64_t>(seed)}, {1}));
    std::vector<bool> on(static_cast<std::size_t>(hidden));
    for (std::size_t i = 0; i < on.size(); ++i) on[i] = (i + seed) % 4 != 0;
    mask = register_buffer("mask", tensor_of<bool>(on, {hidden}));
  }
  Tensor forward(const Tensor& x) const { return second.forward(tanh(first.forward(x)) * mask.to(x.dtype())); }
};

// Every parameter's and buffer's values by name, to compare a model before and after.
inline std::map<std::string, std::vector<double>> snapshot(const nn::Module& m) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& [name, t] : m.named_parameters()) out[name] = t.to_vector<double>();
  for (const auto& [name, t] : m.named_buffers()) out[name] = t.to_vector<double>();
  return out;
}

// Snapshots equal bit for bit (unlike ==, this holds for NaN values too).
inline bool identical(const std::map<std::string, std::vector<double>>& a,
                      const std::map<std::string, std::vector<double>>& b) {
  if (a.size() != b.size()) return false;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
    if (i->first != j->first || i->second.size() != j->second.size() ||
        std::memcmp(i->second.data(), j->second.data(), i->second.size() * sizeof(double)) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace attograd::testing
