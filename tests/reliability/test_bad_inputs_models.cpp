// Bad-input table for the composite modules and sampling: TransformerBlock, Classifier, LanguageModel,
// next_token and sample. Each row is an invalid call, the exception it must throw and the module (or
// function) and values its message must name.
#include "support/test.hpp"

#include <cmath>
#include <limits>

#include "reliability/bad_inputs.hpp"

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

// Small models: vocabulary 5, width 4, 2 heads, 1 block, at most 3 positions.
Classifier classifier(ClassifierOptions options = {}) { return Classifier(5, 4, 2, 1, 3, 2, options); }
LanguageModel language_model() { return LanguageModel(5, 4, 2, 1, 3); }

// sample() from a fresh small language model.
Tensor sample_from(const Tensor& prompt, std::int64_t new_tokens, const SampleOptions& options = {}) {
  Generator g(1);
  LanguageModel lm = language_model();
  return sample(lm, prompt, new_tokens, g, options);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bad_inputs_models)

BOOST_AUTO_TEST_CASE(transformer_block) {
  BOOST_TEST(check_bad_inputs({
      bad<ValueError>("TransformerBlock emb % heads != 0", [] { TransformerBlock(6, 4); },
                      {"MultiHeadSelfAttention: emb 6 is not divisible by heads 4"}),
      bad<ValueError>("TransformerBlock heads 0", [] { TransformerBlock(4, 0); },
                      {"MultiHeadSelfAttention: emb and heads must be positive, got emb 4 and heads 0"}),
      bad<ValueError>("TransformerBlock emb 0", [] { TransformerBlock(0, 2); },
                      {"MultiHeadSelfAttention", "emb 0"}),
      bad<ValueError>("TransformerBlock dropout above 1", [] { TransformerBlock(4, 2, {.dropout = 1.5}); },
                      {"TransformerBlock: dropout must be between 0 and 1, got 1.5"}),
      bad<ValueError>("TransformerBlock NaN dropout", [] { TransformerBlock(4, 2, {.dropout = std::nan("")}); },
                      {"TransformerBlock: dropout must be between 0 and 1, got nan"}),
      bad<ValueError>("TransformerBlock hidden_mult 0", [] { TransformerBlock(4, 2, {.hidden_mult = 0}); },
                      {"FeedForward: hidden_mult must be at least 1", "0"}),
      bad<ShapeError>("TransformerBlock input of the wrong width", [] { TransformerBlock(4, 2)(f32({2, 3, 6})); },
                      {"MultiHeadSelfAttention: expected inputs of 4 features (emb), got shape [2, 3, 6]"}),
      bad<ShapeError>("TransformerBlock input of rank 1", [] { TransformerBlock(4, 2)(f32({4})); },
                      {"MultiHeadSelfAttention", "[4]"}),
      bad<ShapeError>("TransformerBlock input of rank 4", [] { TransformerBlock(4, 2)(f32({1, 2, 3, 4})); },
                      {"MultiHeadSelfAttention", "[1, 2, 3, 4]"}),
      bad<DTypeError>("TransformerBlock float64 input", [] { TransformerBlock(4, 2)(f64({3, 4})); },
                      {"MultiHeadSelfAttention: expected floating-point tensors of one dtype, got input float64 and "
                       "parameters float32"}),
      bad<DTypeError>("pre-norm TransformerBlock float64 input",
                      [] { TransformerBlock(4, 2, {.order = NormOrder::PreNorm})(f64({3, 4})); },
                      {"layer_norm", "input float64, weight float32 and bias float32", "model.to(kFloat64)"}),
      bad<DTypeError>("TransformerBlock int64 input",
                      [] { TransformerBlock(4, 2)(zeros({3, 4}, {.dtype = kInt64})); },
                      {"MultiHeadSelfAttention", "int64"}),
  }));
}

BOOST_AUTO_TEST_CASE(classifier_and_language_model_constructors) {
  BOOST_TEST(check_bad_inputs({
      bad<ValueError>("Classifier emb % heads != 0", [] { Classifier(5, 6, 4, 1, 3, 2); },
                      {"MultiHeadSelfAttention: emb 6 is not divisible by heads 4"}),
      bad<ValueError>("Classifier negative depth", [] { Classifier(5, 4, 2, -1, 3, 2); },
                      {"Classifier: depth must be at least 0, got -1"}),
      bad<ValueError>("Classifier max_len 0", [] { Classifier(5, 4, 2, 1, 0, 2); },
                      {"Classifier: max_len must be at least 1, got 0"}),
      bad<ValueError>("Classifier dropout below 0", [] { Classifier(5, 4, 2, 1, 3, 2, {.dropout = -0.1}); },
                      {"Classifier: dropout must be between 0 and 1, got -0.1"}),
      bad<ValueError>("Classifier vocabulary 0", [] { Classifier(0, 4, 2, 1, 3, 2); },
                      {"Embedding", "must be at least 1", "=0"}),
      bad<ValueError>("Classifier emb 0", [] { Classifier(5, 0, 2, 1, 3, 2); }, {"Embedding", "dim=0"}),
      bad<ValueError>("Classifier classes 0", [] { Classifier(5, 4, 2, 1, 3, 0); },
                      {"Linear: in and out must be at least 1, got in=4, out=0"}),
      bad<ValueError>("LanguageModel emb % heads != 0", [] { LanguageModel(5, 6, 4, 1, 3); },
                      {"MultiHeadSelfAttention: emb 6 is not divisible by heads 4"}),
      bad<ValueError>("LanguageModel negative depth", [] { LanguageModel(5, 4, 2, -2, 3); },
                      {"LanguageModel: depth must be at least 0, got -2"}),
      bad<ValueError>("LanguageModel negative max_len", [] { LanguageModel(5, 4, 2, 1, -3); },
                      {"LanguageModel: max_len must be at least 1, got -3"}),
      bad<ValueError>("LanguageModel NaN dropout", [] { LanguageModel(5, 4, 2, 1, 3, {.dropout = std::nan("")}); },
                      {"LanguageModel: dropout must be between 0 and 1, got nan"}),
      bad<ValueError>("LanguageModel vocabulary 0", [] { LanguageModel(0, 4, 2, 1, 3); },
                      {"Embedding", "must be at least 1", "=0"}),
  }));
}

BOOST_AUTO_TEST_CASE(classifier_and_language_model_forward) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("Classifier ids of rank 1", [] { classifier()(ids({1, 2}, {2})); },
                      {"Classifier: expected token ids [B, T], got shape [2]"}),
      bad<ShapeError>("Classifier ids of rank 3", [] { classifier()(ids({1, 2}, {1, 1, 2})); },
                      {"Classifier: expected token ids [B, T], got shape [1, 1, 2]"}),
      bad<ShapeError>("Classifier empty sequence", [] { classifier()(ids({}, {2, 0})); },
                      {"Classifier: cannot pool an empty sequence: token ids of shape [2, 0]"}),
      bad<ShapeError>("Classifier sequence longer than the position table",
                      [] { classifier()(ids({1, 2, 3, 4}, {1, 4})); },
                      {"PositionEmbedding: sequence length 4 exceeds the 3 positions it has"}),
      bad<IndexError>("Classifier id out of range", [] { classifier()(ids({1, 5}, {1, 2})); },
                      {"embedding: id 5 at position [0, 1] is out of range for a vocabulary of 5"}),
      bad<IndexError>("Classifier negative id", [] { classifier({.pool = Pool::Max})(ids({-1, 0}, {2, 1})); },
                      {"embedding: id -1 at position [0, 0]"}),
      bad<DTypeError>("Classifier float ids", [] { classifier()(f32({1, 2})); },
                      {"embedding: ids must be int64, got float32"}),
      bad<ShapeError>("LanguageModel ids of rank 1", [] { language_model()(ids({1, 2}, {2})); },
                      {"LanguageModel: expected token ids [B, T], got shape [2]"}),
      bad<ShapeError>("LanguageModel sequence longer than the position table",
                      [] { language_model()(ids({1, 2, 3, 4, 0}, {1, 5})); },
                      {"PositionEmbedding: sequence length 5 exceeds the 3 positions it has"}),
      bad<IndexError>("LanguageModel id out of range", [] { language_model()(ids({0, 7}, {2, 1})); },
                      {"embedding: id 7 at position [1, 0] is out of range for a vocabulary of 5"}),
      bad<DTypeError>("LanguageModel float64 ids", [] { language_model()(f64({1, 2})); },
                      {"embedding: ids must be int64, got float64"}),
  }));
}

BOOST_AUTO_TEST_CASE(sampling) {
  BOOST_TEST(check_bad_inputs({
      bad<ValueError>("next_token negative temperature",
                      [] { Generator g(1); next_token(f32({4}), g, {.temperature = -1.0}); },
                      {"next_token: temperature must be finite and >= 0 (0 takes the argmax), got -1"}),
      bad<ValueError>("next_token infinite temperature",
                      [] { Generator g(1); next_token(f32({4}), g, {.temperature = kInf}); },
                      {"next_token: temperature", "got inf"}),
      bad<ValueError>("next_token negative top_k", [] { Generator g(1); next_token(f32({4}), g, {.top_k = -2}); },
                      {"next_token: top_k must be >= 0 (0 keeps every token), got -2"}),
      bad<ShapeError>("next_token of a scalar", [] { Generator g(1); next_token(f32({}), g); },
                      {"next_token: expected logits [V] or [B, V] with V >= 1, got shape []"}),
      bad<ShapeError>("next_token of rank 3", [] { Generator g(1); next_token(f32({1, 2, 3}), g); },
                      {"next_token", "[1, 2, 3]"}),
      bad<ShapeError>("next_token of no tokens", [] { Generator g(1); next_token(f32({2, 0}), g); },
                      {"next_token", "V >= 1", "[2, 0]"}),
      bad<DTypeError>("next_token of int64 logits",
                      [] { Generator g(1); next_token(zeros({3}, {.dtype = kInt64}), g); },
                      {"next_token: expected floating-point logits, got int64"}),
      bad<ValueError>("next_token of a NaN logit",
                      [] { Generator g(1); next_token(tensor({0.0, std::nan(""), 1.0}), g); },
                      {"next_token: logit 1 of row 0 is nan"}),
      bad<ValueError>("next_token of an infinite logit",
                      [] { Generator g(1); next_token(tensor({{0.0, 1.0}, {2.0, kInf}}), g); },
                      {"next_token: logit 1 of row 1 is inf"}),
      // A row whose logits are all -inf has no distribution (draw() used to compute exp(-inf - -inf) = NaN
      // for every token and return token 0).
      bad<ValueError>("next_token of a row that is all -inf",
                      [] { Generator g(1); next_token(tensor({-kInf, -kInf, -kInf}), g); },
                      {"next_token", "row 0", "-inf"}),
      bad<ValueError>("sample negative new_tokens", [] { sample_from(ids({1}, {1}), -1); },
                      {"sample: new_tokens must be >= 0, got -1"}),
      bad<ValueError>("sample negative temperature", [] { sample_from(ids({1}, {1}), 2, {.temperature = -0.5}); },
                      {"sample: temperature", "got -0.5"}),
      bad<ValueError>("sample negative top_k", [] { sample_from(ids({1}, {1}), 2, {.top_k = -1}); },
                      {"sample: top_k must be >= 0", "got -1"}),
      bad<DTypeError>("sample float prompt", [] { sample_from(f32({2}), 2); },
                      {"sample: the prompt must be int64 token ids, got float32"}),
      bad<ShapeError>("sample prompt of rank 3", [] { sample_from(ids({1}, {1, 1, 1}), 2); },
                      {"sample: expected a prompt [T] or [B, T], got shape [1, 1, 1]"}),
      bad<ValueError>("sample empty prompt", [] { sample_from(ids({}, {2, 0}), 2); },
                      {"sample: the prompt is empty (shape [2, 0])"}),
      bad<IndexError>("sample prompt id out of range", [] { sample_from(ids({1, 5}, {2}), 2); },
                      {"sample: prompt token 5 (element 1 of the prompt) is outside the vocabulary [0, 5)"}),
      bad<IndexError>("sample negative prompt id", [] { sample_from(ids({-3}, {1, 1}), 2); },
                      {"sample: prompt token -3"}),
  }));
}

BOOST_AUTO_TEST_SUITE_END()
