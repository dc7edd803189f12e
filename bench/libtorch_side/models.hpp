// The benchmark's four models in LibTorch, op for op as bench/attograd_side/models.hpp computes them
// (functional ops and explicitly held parameters, from the same initial values). This is the peer
// the benchmark measures against; attograd itself never depends on LibTorch.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/workloads.hpp"

namespace bench::lt {

class Params {
 public:
  explicit Params(const Workload& w) {
    for (const ParamSpec& spec : w.params) {
      std::vector<float> values = initial_values(w, spec);
      torch::Tensor t = torch::from_blob(values.data(), spec.shape, torch::kFloat32).clone().requires_grad_(true);
      by_name_.emplace(spec.name, t);
      all_.push_back(t);
    }
  }
  torch::Tensor operator[](const std::string& name) const {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) throw std::out_of_range("no parameter named " + name);
    return it->second;
  }
  const std::vector<torch::Tensor>& all() const { return all_; }

 private:
  std::map<std::string, torch::Tensor> by_name_;
  std::vector<torch::Tensor> all_;
};

struct Linear {
  Linear(const Params& p, const std::string& name, bool bias = true)
      : weight(p[name + ".weight"]), bias(bias ? p[name + ".bias"] : torch::Tensor()) {}
  torch::Tensor operator()(const torch::Tensor& x) const { return torch::linear(x, weight, bias); }
  torch::Tensor weight, bias;
};

struct LayerNorm {
  LayerNorm(const Params& p, const std::string& name) : weight(p[name + ".weight"]), bias(p[name + ".bias"]) {}
  torch::Tensor operator()(const torch::Tensor& x) const {
    return torch::layer_norm(x, {weight.size(0)}, weight, bias, 1e-5);
  }
  torch::Tensor weight, bias;
};

struct Tiny {
  explicit Tiny(const Params& p) : l1(p, "l1"), l2(p, "l2"), l3(p, "l3") {}
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& y) const {
    const torch::Tensor h = torch::tanh(l2(torch::tanh(l1(x))));
    return torch::mse_loss(l3(h), y);
  }
  Linear l1, l2, l3;
};

struct Mlp {
  explicit Mlp(const Params& p) : l1(p, "l1"), l2(p, "l2") {}
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& labels) const {
    return torch::nn::functional::cross_entropy(l2(torch::relu(l1(x))), labels);
  }
  Linear l1, l2;
};

// attograd's scaled_dot_product_attention, as it composes it: matmul, scale, masked_fill(-inf),
// softmax, matmul.
inline torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& mask) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) * scale;
  if (mask.defined()) scores = scores.masked_fill(mask, -std::numeric_limits<double>::infinity());
  return torch::matmul(torch::softmax(scores, -1), v);
}

struct Block {
  Block(const Params& p, const std::string& name, std::int64_t heads)
      : query(p, name + ".attn.query", false), key(p, name + ".attn.key", false),
        value(p, name + ".attn.value", false), out(p, name + ".attn.out"), norm1(p, name + ".norm1"),
        ff0(p, name + ".ff.0"), ff2(p, name + ".ff.2"), norm2(p, name + ".norm2"), H(heads) {}

  torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& mask) const {
    const std::int64_t B = x.size(0), T = x.size(1), C = x.size(2);
    const auto split = [&](const torch::Tensor& t) { return t.view({B, T, H, C / H}).transpose(1, 2); };
    const torch::Tensor heads = attention(split(query(x)), split(key(x)), split(value(x)), mask);
    const torch::Tensor joined = heads.transpose(1, 2).reshape({B, T, C});
    const torch::Tensor a = norm1(x + out(joined));
    return norm2(a + ff2(torch::relu(ff0(a))));
  }

  Linear query, key, value, out;
  LayerNorm norm1;
  Linear ff0, ff2;
  LayerNorm norm2;
  std::int64_t H;
};

struct Transformer {
  Transformer(const Params& p, const Workload& w)
      : tok_emb(p["tok_emb"]), pos_emb(p["pos_emb"]), head(p, "head"), causal(w.causal) {
    for (std::int64_t i = 0; i < w.depth; ++i) blocks.emplace_back(p, "blocks." + std::to_string(i), w.H);
    if (causal) mask = torch::ones({w.T, w.T}, torch::kBool).triu(1);  // true = key after query
  }
  torch::Tensor loss(const torch::Tensor& ids, const torch::Tensor& targets) const {
    torch::Tensor x = torch::embedding(tok_emb, ids) + pos_emb;
    for (const Block& block : blocks) x = block(x, mask);
    if (!causal) return torch::nn::functional::cross_entropy(head(x.mean(1)), targets);
    const torch::Tensor logits = head(x);  // [B, T, V]: PyTorch wants the classes in dim 1, so flatten
    return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
  }

  torch::Tensor tok_emb, pos_emb;
  std::vector<Block> blocks;
  Linear head;
  bool causal;
  torch::Tensor mask;
};

}  // namespace bench::lt
