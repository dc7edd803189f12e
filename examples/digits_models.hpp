// examples/digits_models.hpp: example 10's models and the bookkeeping of choosing among them on
// validation. The MLP, the attention model over the image's 8 rows, a model's best weights kept and put
// back, and a candidate: one model or several whose probabilities are averaged (an ensemble).
//
//   Mlp mlp({256, 128}, gen);                        // 64 -> 256 -> 128 -> 10, ReLU between
//   RowAttention att(32, 4, 1, {.dropout = 0.1}, gen);
//   Candidate both{"ensemble", {&mlp_run, &att_run}};  both.predict(x_val);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <attograd/attograd.hpp>

namespace examples {

// The image as a sequence of its 8 rows, each row a token of 8 pixels:
// pixels [B, 64] as 8 rows [B, 8, 8] -> Linear(8 -> C) + a learned position per row
//   -> transformer block(s) -> mean over the rows -> Linear(C -> 10)
class RowAttention : public attograd::nn::Module {
 public:
  RowAttention(std::int64_t emb, std::int64_t heads, std::int64_t depth, attograd::nn::TransformerBlockOptions block,
               attograd::Generator& gen)
      : Module("RowAttention"), embed(8, emb, {.generator = &gen}), head(emb, 10, {.generator = &gen}) {
    register_module("embed", embed);
    // Small random vectors, one per row, as GPT-2 starts its position embeddings (std 0.02).
    position = register_parameter("position", attograd::nn::init::normal_(attograd::zeros({8, emb}), 0.0, 0.02, gen));
    block.generator = &gen;
    for (std::int64_t d = 0; d < depth; ++d) blocks.add<attograd::nn::TransformerBlock>(emb, heads, block);
    register_module("blocks", blocks);
    register_module("head", head);
  }

  attograd::Tensor forward(const attograd::Tensor& images) const {
    attograd::Tensor x = embed(images.reshape({-1, 8, 8})) + position;  // [B, 8 rows, 8 pixels] -> [B, 8, C]
    for (std::size_t i = 0; i < blocks.size(); ++i) x = block(i)(x);    // [B, 8, C]
    return head(attograd::mean(x, {1}));                                 // [B, C] -> [B, 10]
  }
  attograd::Tensor operator()(const attograd::Tensor& images) const { return forward(images); }
  const attograd::nn::TransformerBlock& block(std::size_t i) const { return blocks.at<attograd::nn::TransformerBlock>(i); }
  attograd::nn::TransformerBlock& block(std::size_t i) { return blocks.at<attograd::nn::TransformerBlock>(i); }

  attograd::nn::Linear embed;
  attograd::Tensor position;  // [8, C]
  attograd::nn::ModuleList blocks;
  attograd::nn::Linear head;
};

// pixels [B, 64] -> Linear(64 -> H1) -> ReLU -> ... -> Linear(Hk -> 10), one hidden layer per width.
class Mlp : public attograd::nn::Module {
 public:
  Mlp(const std::vector<std::int64_t>& widths, attograd::Generator& gen) : Module("Mlp") {
    std::int64_t in = 64;
    for (const std::int64_t w : widths) {
      layers.add<attograd::nn::Linear>(in, w, attograd::nn::LinearOptions{.generator = &gen});
      in = w;
    }
    layers.add<attograd::nn::Linear>(in, 10, attograd::nn::LinearOptions{.generator = &gen});
    register_module("layers", layers);
  }
  attograd::Tensor forward(const attograd::Tensor& images) const {  // [B, 64] -> [B, 10]
    attograd::Tensor x = images;
    for (std::size_t i = 0; i + 1 < layers.size(); ++i) x = attograd::relu(layers.at<attograd::nn::Linear>(i)(x));
    return layers.at<attograd::nn::Linear>(layers.size() - 1)(x);
  }
  attograd::Tensor operator()(const attograd::Tensor& images) const { return forward(images); }

  attograd::nn::ModuleList layers;
};

// A model's parameter values, to keep the best ones seen on validation and put them back later.
inline std::vector<attograd::Tensor> snapshot(const attograd::nn::Module& model) {
  attograd::NoGradGuard no_grad;
  std::vector<attograd::Tensor> values;
  for (const attograd::Tensor& p : model.parameters()) values.push_back(p.detach().clone());
  return values;
}
inline void restore(const attograd::nn::Module& model, const std::vector<attograd::Tensor>& values) {
  attograd::NoGradGuard no_grad;
  auto params = model.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(values[i]);
}

using Forward = std::function<attograd::Tensor(const attograd::Tensor&)>;  // images [B, 64] -> logits [B, 10]

inline std::vector<std::int64_t> predict(const Forward& model, const attograd::Tensor& images) {
  attograd::NoGradGuard no_grad;
  return attograd::argmax(model(images), -1).to_vector<std::int64_t>();
}

inline double accuracy_of(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& labels) {
  std::int64_t right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i] ? 1 : 0;
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

// A model in training: its optimiser, its best validation accuracy so far and the weights that got it.
struct Contender {
  std::string name;  // "mlp_0", "attention_3", ...
  attograd::nn::Module& model;
  Forward forward;
  std::unique_ptr<attograd::optim::Adam> opt;  // Adam or AdamW
  double best_validation = -1;
  std::int64_t best_step = 0;
  std::vector<attograd::Tensor> best_weights;
};

// What the test may judge: one model or several, whose probabilities are averaged.
struct Candidate {
  std::string name;
  std::vector<const Contender*> members;
  double validation = 0, test = 0;
  std::vector<std::int64_t> test_predictions;

  attograd::Tensor probabilities(const attograd::Tensor& images) const {  // [B, 64] -> [B, 10]
    attograd::Tensor sum = attograd::softmax(members[0]->forward(images), -1);
    for (std::size_t i = 1; i < members.size(); ++i) sum = sum + attograd::softmax(members[i]->forward(images), -1);
    return sum / static_cast<double>(members.size());
  }
  std::vector<std::int64_t> predict(const attograd::Tensor& images) const {
    attograd::NoGradGuard no_grad;
    return attograd::argmax(probabilities(images), -1).to_vector<std::int64_t>();
  }
};

}  // namespace examples
