// Bad-input table for the modules: invalid constructor arguments and invalid inputs to forward, each
// with the exception it must throw and the module (or op) and values its message must name.
#include "support/test.hpp"

#include <cmath>

#include "reliability/bad_inputs.hpp"

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

// A module that registers whatever it is told to, to reach Module's protected registration checks.
struct Registering : Module {
  Registering() : Module("Registering") {}
  void parameter(const std::string& name, Tensor t) { register_parameter(name, std::move(t)); }
  void buffer(const std::string& name, Tensor t) { register_buffer(name, std::move(t)); }
  void module(const std::string& name, Module& m) { register_module(name, m); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(bad_inputs_nn)

BOOST_AUTO_TEST_CASE(constructors) {
  BOOST_TEST(check_bad_inputs({
      bad<ValueError>("Linear with in 0", [] { Linear(0, 3); },
                      {"Linear: in and out must be at least 1, got in=0, out=3"}),
      bad<ValueError>("Linear with negative out", [] { Linear(2, -1); }, {"Linear", "out=-1"}),
      bad<DTypeError>("Linear of int64", [] { Linear(2, 3, {.dtype = kInt64}); },
                      {"Linear: parameters must be floating point, got dtype int64"}),
      bad<ValueError>("Embedding with vocab 0", [] { Embedding(0, 4); },
                      {"Embedding", "must be at least 1", "=0", "dim=4"}),
      bad<ValueError>("Embedding with dim 0", [] { Embedding(5, 0); }, {"Embedding", "dim=0"}),
      bad<DTypeError>("Embedding of bool", [] { Embedding(5, 4, {.dtype = kBool}); },
                      {"Embedding: the table must be floating point, got dtype bool"}),
      bad<ValueError>("PositionEmbedding with max_len 0", [] { PositionEmbedding(0, 4); },
                      {"PositionEmbedding", "max_len", "=0"}),
      bad<ValueError>("SinusoidalPositionEncoding with dim -1", [] { SinusoidalPositionEncoding(8, -1); },
                      {"SinusoidalPositionEncoding", "dim=-1"}),
      bad<DTypeError>("SinusoidalPositionEncoding of int64", [] { SinusoidalPositionEncoding(8, 4, kInt64); },
                      {"SinusoidalPositionEncoding", "int64"}),
      bad<ValueError>("LayerNorm of an empty shape", [] { LayerNorm(Shape{}); },
                      {"LayerNorm: normalized_shape needs at least one dim, each at least 1, got []"}),
      bad<ValueError>("LayerNorm with a zero dim", [] { LayerNorm(Shape{4, 0}); }, {"LayerNorm", "[4, 0]"}),
      bad<ValueError>("LayerNorm negative eps", [] { LayerNorm(4, {.eps = -1.0}); },
                      {"LayerNorm: eps must be finite and >= 0, got -1"}),
      bad<ValueError>("LayerNorm NaN eps", [] { LayerNorm(4, {.eps = std::nan("")}); }, {"LayerNorm", "nan"}),
      bad<DTypeError>("LayerNorm of int64", [] { LayerNorm(4, {.dtype = kInt64}); }, {"LayerNorm", "int64"}),
      bad<ValueError>("Dropout p above 1", [] { Dropout(1.5); }, {"Dropout: p must be between 0 and 1, got 1.5"}),
      bad<ValueError>("Dropout negative p with a seed", [] { Dropout(-0.5, std::uint64_t{3}); }, {"Dropout", "-0.5"}),
      bad<ValueError>("Dropout NaN p", [] { Dropout(std::nan("")); }, {"Dropout", "nan"}),
      bad<ValueError>("MultiHeadSelfAttention emb % heads != 0", [] { MultiHeadSelfAttention(10, 3); },
                      {"MultiHeadSelfAttention: emb 10 is not divisible by heads 3"}),
      bad<ValueError>("MultiHeadSelfAttention heads 0", [] { MultiHeadSelfAttention(8, 0); },
                      {"MultiHeadSelfAttention: emb and heads must be positive, got emb 8 and heads 0"}),
      bad<ValueError>("MultiHeadSelfAttention negative emb", [] { MultiHeadSelfAttention(-4, 2); },
                      {"MultiHeadSelfAttention", "emb -4"}),
      bad<ValueError>("FeedForward emb 0", [] { FeedForward(0); }, {"FeedForward: emb must be at least 1, got 0"}),
      bad<ValueError>("FeedForward hidden_mult 0", [] { FeedForward(4, {.hidden_mult = 0}); },
                      {"FeedForward: hidden_mult must be at least 1", "0"}),
      bad<ValueError>("FeedForward hidden_mult that overflows",
                      [] { FeedForward(1 << 30, {.hidden_mult = std::int64_t{1} << 40}); },
                      {"FeedForward: hidden_mult", "1099511627776"}),
      bad<ValueError>("FeedForward dropout above 1", [] { FeedForward(4, {.dropout = 2.0}); },
                      {"FeedForward: dropout must be between 0 and 1, got 2"}),
  }));
}

BOOST_AUTO_TEST_CASE(forward_inputs) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("Linear input of the wrong width", [] { Linear(4, 3)(f32({2, 5})); },
                      {"linear: input [2, 5] has 5 features but weight [3, 4] expects 4"}),
      bad<ShapeError>("Linear of a scalar", [] { Linear(4, 3)(f32({})); }, {"linear", "[3, 4]"}),
      bad<DTypeError>("Linear of float64 input", [] { Linear(4, 3)(f64({2, 4})); },
                      {"linear: expected floating-point tensors of one dtype, got input float64, weight float32 and "
                       "bias float32",
                       "convert the model with model.to(kFloat64) or the input with x.to(kFloat32)"}),
      bad<DTypeError>("float64 Linear of float32 input", [] { Linear(4, 3, {.dtype = kFloat64})(f32({2, 4})); },
                      {"linear", "input float32, weight float64", "model.to(kFloat32)", "x.to(kFloat64)"}),
      bad<DTypeError>("Linear of int64 input", [] { Linear(4, 3)(i64({2, 4})); }, {"linear", "int64"}),
      bad<IndexError>("Embedding id out of range", [] { Embedding(5, 3)(ids({1, 5}, {1, 2})); },
                      {"embedding: id 5 at position [0, 1] is out of range for a vocabulary of 5"}),
      bad<IndexError>("Embedding negative id", [] { Embedding(5, 3)(ids({-1}, {1})); }, {"embedding: id -1"}),
      bad<DTypeError>("Embedding of float ids", [] { Embedding(5, 3)(f32({2})); },
                      {"embedding: ids must be int64, got float32"}),
      bad<ShapeError>("PositionEmbedding sequence longer than the table",
                      [] { PositionEmbedding(4, 3)(f32({2, 5, 3})); },
                      {"PositionEmbedding: sequence length 5 exceeds the 4 positions it has"}),
      bad<ShapeError>("PositionEmbedding of the wrong width", [] { PositionEmbedding(4, 3)(f32({2, 4, 2})); },
                      {"PositionEmbedding: expected an input [.., T, 3], got [2, 4, 2]"}),
      bad<ShapeError>("PositionEmbedding of rank 1", [] { PositionEmbedding(4, 3)(f32({3})); },
                      {"PositionEmbedding", "[3]"}),
      bad<ShapeError>("SinusoidalPositionEncoding sequence too long",
                      [] { SinusoidalPositionEncoding(4, 2)(f32({9, 2})); },
                      {"SinusoidalPositionEncoding: sequence length 9 exceeds the 4 positions it has"}),
      bad<ShapeError>("LayerNorm of the wrong width", [] { LayerNorm(4)(f32({2, 3})); },
                      {"layer_norm: normalized_shape [4] expects an input of shape", "got [2, 3]"}),
      bad<DTypeError>("LayerNorm of int64", [] { LayerNorm(3)(i64({2, 3})); }, {"layer_norm", "int64"}),
      bad<DTypeError>("LayerNorm of float64 input", [] { LayerNorm(3)(f64({2, 3})); },
                      {"layer_norm: expected floating-point tensors of one dtype, got input float64, weight float32 "
                       "and bias float32",
                       "model.to(kFloat64)", "x.to(kFloat32)"}),
      bad<DTypeError>("PositionEmbedding of float64 input", [] { PositionEmbedding(4, 3)(f64({2, 4, 3})); },
                      {"PositionEmbedding: expected floating-point tensors of one dtype, got input float64 and weight "
                       "float32",
                       "model.to(kFloat64)", "x.to(kFloat32)"}),
      bad<DTypeError>("PositionEmbedding of int64 input", [] { PositionEmbedding(4, 3)(i64({4, 3})); },
                      {"PositionEmbedding", "input int64"}),
      bad<DTypeError>("Dropout of int64", [] { Dropout(0.5)(i64({3})); }, {"dropout", "int64"}),
      bad<DTypeError>("ReLU of int64", [] { ReLU()(i64({3})); }, {"relu", "int64"}),
      bad<DTypeError>("GELU of bool", [] { GELU()(zeros({3}, {.dtype = kBool})); }, {"gelu", "bool"}),
      bad<DTypeError>("Tanh of int64", [] { Tanh()(i64({3})); }, {"tanh", "int64"}),
      bad<DTypeError>("Sigmoid of int64", [] { Sigmoid()(i64({3})); }, {"sigmoid", "int64"}),
      bad<ShapeError>("SelfAttention of rank 1", [] { SelfAttention()(f32({4})); },
                      {"SelfAttention: expected an input [T, C] or [B, T, C], got shape [4]"}),
      bad<ShapeError>("SelfAttention of rank 4", [] { SelfAttention()(f32({1, 2, 3, 4})); },
                      {"SelfAttention", "[1, 2, 3, 4]"}),
      bad<DTypeError>("SelfAttention of int64", [] { SelfAttention()(i64({2, 3})); },
                      {"SelfAttention: expected a floating-point input, got int64"}),
      bad<ShapeError>("scaled SelfAttention of empty vectors", [] { SelfAttention({.scaled = true})(f32({3, 0})); },
                      {"SelfAttention: the vectors of input [3, 0] are empty"}),
      bad<ShapeError>("MultiHeadSelfAttention of the wrong width", [] { MultiHeadSelfAttention(8, 2)(f32({2, 3, 6})); },
                      {"MultiHeadSelfAttention: expected inputs of 8 features (emb), got shape [2, 3, 6]"}),
      bad<ShapeError>("MultiHeadSelfAttention of rank 4", [] { MultiHeadSelfAttention(8, 2)(f32({1, 2, 3, 8})); },
                      {"MultiHeadSelfAttention", "[1, 2, 3, 8]"}),
      bad<DTypeError>("MultiHeadSelfAttention of float64 input", [] { MultiHeadSelfAttention(8, 2)(f64({3, 8})); },
                      {"MultiHeadSelfAttention: expected floating-point tensors of one dtype, got input float64 and "
                       "parameters float32",
                       "model.to(kFloat64)", "x.to(kFloat32)"}),
      bad<ShapeError>("FeedForward of the wrong width", [] { FeedForward(4)(f32({2, 5})); }, {"linear", "[2, 5]"}),
      bad<DTypeError>("FeedForward of float64 input", [] { FeedForward(4)(f64({2, 4})); },
                      {"linear", "input float64, weight float32", "model.to(kFloat64)"}),
      // An undefined tensor is refused by the op that got it, by name (require_defined).
      bad<ValueError>("Linear of undefined", [] { Linear(4, 3)(kUndefined); }, {"linear", "undefined"}),
  }));
}

BOOST_AUTO_TEST_CASE(containers_registration_and_init) {
  BOOST_TEST(check_bad_inputs({
      bad<IndexError>("Sequential index out of range",
                      [] {
                        Sequential net;
                        net.add<Linear>(2, 3);
                        net[1];
                      },
                      {"Sequential: index 1 is out of range for 1 module"}),
      bad<IndexError>("ModuleList index of an empty list", [] { ModuleList().operator[](0); },
                      {"ModuleList: index 0 is out of range for 0 modules"}),
      bad<ValueError>("Sequential at<> of the wrong type",
                      [] {
                        Sequential net;
                        net.add<ReLU>();
                        net.at<Linear>(0);
                      },
                      {"Sequential: module 0 is a ReLU, not the type asked for"}),
      bad<ShapeError>("Sequential layers that do not fit",
                      [] {
                        Sequential net;
                        net.add<Linear>(2, 3);
                        net.add<Linear>(4, 1);
                        net(f32({1, 2}));
                      },
                      {"linear: input [1, 3] has 3 features but weight '1.weight' [1, 4] expects 4"}),
      bad<ValueError>("register a parameter with an empty name", [] { Registering().parameter("", f32({1})); },
                      {"Registering: parameter name '' must be non-empty and contain no dot"}),
      bad<ValueError>("register a parameter with a dot", [] { Registering().parameter("a.b", f32({1})); },
                      {"Registering", "'a.b'"}),
      bad<ValueError>("register a name twice",
                      [] {
                        Registering m;
                        m.parameter("w", f32({1}));
                        m.buffer("w", f32({1}));
                      },
                      {"Registering: the name 'w' is already registered"}),
      bad<ValueError>("register an undefined parameter", [] { Registering().parameter("w", kUndefined); },
                      {"Registering: parameter 'w' is undefined"}),
      bad<ValueError>("register an undefined buffer", [] { Registering().buffer("b", kUndefined); },
                      {"Registering: buffer 'b' is undefined"}),
      bad<DTypeError>("register an int64 parameter", [] { Registering().parameter("w", i64({1})); }, {"int64"}),
      bad<ValueError>("register a module in itself",
                      [] {
                        Registering m;
                        m.module("self", m);
                      },
                      {"Registering: a module cannot contain itself"}),
      bad<DTypeError>("Module::to(int64)", [] { Linear(2, 3).to(kInt64); },
                      {"Linear: to(int64): parameters must stay floating point"}),
      bad<DTypeError>("init::uniform_ of int64", [] { init::uniform_(i64({2}), 0.0, 1.0); },
                      {"init::uniform_: expected a floating-point tensor, got int64"}),
      bad<ValueError>("init::uniform_ low above high", [] { init::uniform_(f32({2}), 1.0, -1.0); },
                      {"uniform: needs finite low <= high, got low 1 and high -1"}),
      bad<ValueError>("init::normal_ negative std", [] { init::normal_(f32({2}), 0.0, -0.02); },
                      {"normal", "std -0.02"}),
      bad<ValueError>("init::constant_ of int64 with NaN", [] { init::constant_(i64({2}), std::nan("")); },
                      {"fill_: value nan does not fit in int64"}),
  }));
}

BOOST_AUTO_TEST_SUITE_END()
