// The benchmark's four models in attograd, written with ops and explicitly held parameters. Each
// struct mirrors the module that will replace it (Linear, LayerNorm, a post-norm transformer block):
// the same parameters under the same names, the same composite of ops.
//
//   Params params(w);                       // every parameter of workload w, from its ParamSpec
//   Transformer model(params, w);           // handles to the parameters, by name
//   Tensor loss = model.loss(ids, labels);  // forward + loss; loss.backward() fills params' grads
//
// bench/libtorch_side/models.hpp computes the same thing, op for op, in LibTorch.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <attograd/attograd.hpp>

#include "common/workloads.hpp"

namespace bench::ag {

using attograd::Tensor;

// Every parameter of a workload, made from its initial values, in ParamSpec order.
class Params {
 public:
  explicit Params(const Workload& w) {
    for (const ParamSpec& spec : w.params) {
      const std::vector<float> values = initial_values(w, spec);
      Tensor t = attograd::empty(attograd::Shape(std::span<const std::int64_t>(spec.shape)));
      std::copy(values.begin(), values.end(), t.data<float>());
      t.requires_grad_();
      t.set_name(spec.name);
      by_name_.emplace(spec.name, t);
      all_.push_back(t);
    }
  }
  Tensor operator[](const std::string& name) const {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) throw std::out_of_range("no parameter named " + name);
    return it->second;
  }
  const std::vector<Tensor>& all() const { return all_; }

 private:
  std::map<std::string, Tensor> by_name_;
  std::vector<Tensor> all_;
};

// nn::Linear: Y = X·Wᵀ + b
struct Linear {
  Linear(const Params& p, const std::string& name, bool bias = true)
      : weight(p[name + ".weight"]), bias(bias ? p[name + ".bias"] : Tensor()) {}
  Tensor operator()(const Tensor& x) const { return attograd::linear(x, weight, bias); }
  Tensor weight, bias;
};

// nn::LayerNorm over the last dim C, with weight and bias.
struct LayerNorm {
  LayerNorm(const Params& p, const std::string& name) : weight(p[name + ".weight"]), bias(p[name + ".bias"]) {}
  Tensor operator()(const Tensor& x) const { return attograd::layer_norm(x, {weight.size(0)}, weight, bias); }
  Tensor weight, bias;
};

// tiny: 2 -> 16 -> tanh -> 16 -> tanh -> 1, MSE.    x [B, 2]  y [B, 1]
struct Tiny {
  explicit Tiny(const Params& p) : l1(p, "l1"), l2(p, "l2"), l3(p, "l3") {}
  Tensor loss(const Tensor& x, const Tensor& y) const {
    const Tensor h = attograd::tanh(l2(attograd::tanh(l1(x))));
    return attograd::mse_loss(l3(h), y);
  }
  Linear l1, l2, l3;
};

// mlp: 784 -> 256 -> ReLU -> 10, cross-entropy.    x [B, 784]  labels [B]
struct Mlp {
  explicit Mlp(const Params& p) : l1(p, "l1"), l2(p, "l2") {}
  Tensor loss(const Tensor& x, const Tensor& labels) const {
    return attograd::cross_entropy(l2(attograd::relu(l1(x))), labels);
  }
  Linear l1, l2;
};

// One post-norm block:  X = LN1(X + Attn(X))    X = LN2(X + FF(X))
// Attn: q, k, v = X·Wqᵀ, X·Wkᵀ, X·Wvᵀ split into H heads of D = C / H, softmax(q kᵀ / sqrt(D)) v
// (causal: key j > query i masked), heads joined, then the out Linear. FF: C -> F -> ReLU -> C.
struct Block {
  Block(const Params& p, const std::string& name, std::int64_t heads, const std::string& attention)
      : query(p, name + ".attn.query", false), key(p, name + ".attn.key", false),
        value(p, name + ".attn.value", false), out(p, name + ".attn.out"), norm1(p, name + ".norm1"),
        ff0(p, name + ".ff.0"), ff2(p, name + ".ff.2"), norm2(p, name + ".norm2"), H(heads), attention(attention) {}

  // x [B, T, C], mask [T, T] bool (true = masked) or undefined -> [B, T, C]
  Tensor operator()(const Tensor& x, const Tensor& mask) const {
    const std::int64_t B = x.size(0), T = x.size(1), C = x.size(2);
    const auto split = [&](const Tensor& t) { return t.view({B, T, H, C / H}).transpose(1, 2); };  // [B, H, T, D]
    // "auto": what scaled_dot_product_attention picks (fused from 128 keys on, 6·D for larger heads);
    // the long sweep asks for "fused" (the weights never stored, at any T) or "unfused" (they are kept).
    const Tensor q = split(query(x)), k = split(key(x)), v = split(value(x));
    const Tensor heads = attention == "unfused" ? attograd::scaled_dot_product_attention_with_weights(q, k, v, mask).output
                         : attention == "fused" ? attograd::fused_attention(q, k, v, mask)
                                                : attograd::scaled_dot_product_attention(q, k, v, mask);
    const Tensor joined = heads.transpose(1, 2).reshape({B, T, C});
    // x + out(joined) and a + ff2(h), each residual added by its product's kernel (ops/linalg.hpp:
    // linear_add, the same values bit for bit).
    const Tensor a = norm1(attograd::linear_add(joined, out.weight, out.bias, x));
    // ff0 and ReLU as one op, as nn::FeedForward does (ops/linalg.hpp: linear_relu).
    return norm2(attograd::linear_add(attograd::linear_relu(a, ff0.weight, ff0.bias), ff2.weight, ff2.bias, a));
  }

  Linear query, key, value, out;
  LayerNorm norm1;
  Linear ff0, ff2;
  LayerNorm norm2;
  std::int64_t H;
  std::string attention;  // "auto", "fused" or "unfused" (StepOptions::attention)
};

// ctrans and gpt: token embedding + learned positions, the blocks, then the head on the mean over
// positions (ctrans: ids [B, T], labels [B]) or on every position (gpt: ids [B, T], targets [B, T]).
struct Transformer {
  Transformer(const Params& p, const Workload& w, const std::string& attention = "auto")
      : tok_emb(p["tok_emb"]), pos_emb(p["pos_emb"]), head(p, "head"), causal(w.causal) {
    for (std::int64_t i = 0; i < w.depth; ++i) blocks.emplace_back(p, "blocks." + std::to_string(i), w.H, attention);
    if (causal) mask = attograd::causal_mask(w.T);
  }
  Tensor loss(const Tensor& ids, const Tensor& targets) const {
    Tensor x = attograd::embedding(tok_emb, ids) + pos_emb;  // [B, T, C]
    for (const Block& block : blocks) x = block(x, mask);
    const Tensor logits = causal ? head(x) : head(x.mean({1}));  // [B, T, V] or [B, K]
    return attograd::cross_entropy(logits, targets);
  }

  Tensor tok_emb, pos_emb;
  std::vector<Block> blocks;
  Linear head;
  bool causal;
  Tensor mask;
};

}  // namespace bench::ag
