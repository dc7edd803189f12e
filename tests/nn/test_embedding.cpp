// Embedding, PositionEmbedding and SinusoidalPositionEncoding: lookups and sums by hand, the sinusoidal
// table against the paper's formula, initial statistics, seeding, gradchecks, errors.
#include "support/test.hpp"

#include <cmath>

#include <attograd/nn/embedding.hpp>

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double variance_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0.0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(embedding_modules)

BOOST_AUTO_TEST_CASE(embedding_looks_up_rows) {
  Embedding emb{4, 2};
  {
    NoGradGuard no_grad;
    emb.weight.copy_(tensor({{0.0, 1.0}, {10.0, 11.0}, {20.0, 21.0}, {30.0, 31.0}}));
  }
  const Tensor ids = tensor_of<std::int64_t>({3, 1, 3, 0, 2, 2}, {2, 3});
  const Tensor y = emb(ids);
  BOOST_TEST((y.shape() == Shape{2, 3, 2}));
  check_values(y, {30, 31, 10, 11, 30, 31, 0, 1, 20, 21, 20, 21}, 0.0);
  BOOST_TEST(emb.vocab_size() == 4);
  BOOST_TEST(emb.dim() == 2);
  BOOST_TEST(emb.parameter_count() == 8);
  BOOST_TEST(emb.named_parameters()[0].first == "weight");
}

BOOST_AUTO_TEST_CASE(embedding_starts_as_a_standard_normal_and_repeats_with_a_seed) {
  Generator gen(1), same(1);
  Embedding a{100, 100, {.generator = &gen}}, b{100, 100, {.generator = &same}};
  const std::vector<double> v = a.weight.to_vector<double>();
  BOOST_TEST(std::abs(mean_of(v)) < 0.03);
  BOOST_TEST(std::abs(variance_of(v) - 1.0) < 0.05);
  check_close(a.weight, b.weight, 0.0);
  Embedding c{3, 2, {.dtype = kFloat64}};
  BOOST_TEST((c.weight.dtype() == kFloat64));
}

BOOST_AUTO_TEST_CASE(embedding_gradcheck_and_repeated_ids) {
  Generator gen(2);
  Embedding emb{5, 3, {.generator = &gen}};
  emb.to(kFloat64);
  // Every row occurs (else its gradient is zero and the check would flag the weight as unused).
  const Tensor ids = tensor_of<std::int64_t>({4, 0, 1, 4, 2, 3, 3, 0}, {2, 4});
  check_module_gradients(emb, [&](const std::vector<Tensor>&) { return tanh(emb(ids)); }, {});
  // An id used twice gets two contributions.
  emb.zero_grad();
  emb(tensor_of<std::int64_t>({1, 1, 2}, {3})).sum().backward();
  check_values(emb.weight.grad(), {0, 0, 0, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0}, 0.0);
}

BOOST_AUTO_TEST_CASE(position_embedding_adds_the_first_T_rows) {
  PositionEmbedding pos{4, 2};
  {
    NoGradGuard no_grad;
    pos.weight.copy_(tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}, {7.0, 8.0}}));
  }
  // x [B=2, T=3, C=2]: positions 0..2 added to both batch entries.
  const Tensor x = tensor(std::vector<double>{0, 0, 0, 0, 0, 0, 10, 10, 20, 20, 30, 30}, {2, 3, 2});
  const Tensor y = pos(x);
  BOOST_TEST((y.shape() == Shape{2, 3, 2}));
  check_values(y, {1, 2, 3, 4, 5, 6, 11, 12, 23, 24, 35, 36}, 0.0);
  // [T, C] without a batch dim, and the full length.
  check_values(pos(zeros({4, 2})), {1, 2, 3, 4, 5, 6, 7, 8}, 0.0);
  BOOST_TEST(pos.parameter_count() == 8);
  BOOST_TEST(pos.max_len() == 4);
  BOOST_TEST(pos.dim() == 2);
}

BOOST_AUTO_TEST_CASE(position_embedding_starts_normal_and_gradchecks) {
  Generator gen(3);
  PositionEmbedding big{200, 50, {.generator = &gen}};
  const std::vector<double> v = big.weight.to_vector<double>();
  BOOST_TEST(std::abs(mean_of(v)) < 0.03);
  BOOST_TEST(std::abs(variance_of(v) - 1.0) < 0.05);

  PositionEmbedding pos{3, 4, {.generator = &gen}};
  pos.to(kFloat64);
  // T = max_len so that every row is used; then a shorter sequence with rows cut off.
  check_module_gradients(pos, [&](const std::vector<Tensor>& in) { return pos(in[0]).pow(2.0); },
                         {rand64({2, 3, 4}, gen)});
  pos.zero_grad();
  pos(ones({2, 2, 4}, {.dtype = kFloat64})).sum().backward();
  // Rows 0 and 1 get one contribution per batch entry; row 2 is never used.
  check_values(pos.weight.grad(), {2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0}, 0.0);
}

BOOST_AUTO_TEST_CASE(sinusoidal_table_matches_the_formula) {
  SinusoidalPositionEncoding pe{50, 6, kFloat64};
  BOOST_TEST(pe.parameter_count() == 0);
  BOOST_TEST(pe.named_buffers().size() == 1u);
  BOOST_TEST(pe.named_buffers()[0].first == "table");
  BOOST_TEST((pe.table.shape() == Shape{50, 6}));
  // Position 0: sin 0 = 0 on even channels, cos 0 = 1 on odd ones.
  check_values(pe.table.select(0, 0), {0, 1, 0, 1, 0, 1}, 0.0);
  // Position 1, C = 6: frequencies 1, 10000^(-2/6) = 1/21.544..., 10000^(-4/6) = 1/464.15...
  const double f1 = 1.0 / std::cbrt(10000.0), f2 = f1 * f1;
  check_values(pe.table.select(0, 1),
               {std::sin(1.0), std::cos(1.0), std::sin(f1), std::cos(f1), std::sin(f2), std::cos(f2)}, 1e-15);
  // A few values written out: PE[1, 0] = sin 1, PE[7, 3] = cos(7 / 10000^(2/6)), PE[49, 4] = sin(49 / 10000^(4/6)).
  BOOST_TEST(pe.table.at({1, 0}) == 0.8414709848078965, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(pe.table.at({7, 3}) == std::cos(7.0 * f1), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(pe.table.at({7, 3}) == 0.9476790714399449, boost::test_tools::tolerance(1e-12));  // Python's math
  BOOST_TEST(pe.table.at({49, 4}) == std::sin(49.0 * f2), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(pe.table.at({49, 4}) == 0.10537132737707179, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(sinusoidal_with_an_odd_width_ends_on_a_sine) {
  SinusoidalPositionEncoding pe{3, 5, kFloat64};
  // Channel 4 is the sine of pair i = 2: sin(t / 10000^(4/5)).
  const double f = std::pow(10000.0, -0.8);
  check_values(pe.table.select(1, 4), {0.0, std::sin(f), std::sin(2.0 * f)}, 1e-15);
  const double g = std::pow(10000.0, -0.4);  // channel 3: the cosine of pair i = 1
  check_values(pe.table.select(1, 3), {1.0, std::cos(g), std::cos(2.0 * g)}, 1e-15);
}

BOOST_AUTO_TEST_CASE(sinusoidal_adds_the_table_and_gradchecks) {
  SinusoidalPositionEncoding pe{8, 4};
  BOOST_TEST((pe.table.dtype() == kFloat32));
  const Tensor x = ones({2, 3, 4});
  const Tensor y = pe(x);
  BOOST_TEST((y.dtype() == kFloat32));
  check_close(y.select(0, 1), pe.table.narrow(0, 0, 3) + 1.0, 0.0);
  // A float64 input gets the table in float64 (its gradient is that of the input alone).
  Generator gen(6);
  const Tensor x64 = rand64({2, 5, 4}, gen);
  BOOST_TEST((pe(x64).dtype() == kFloat64));
  check_module_gradients(pe, [&](const std::vector<Tensor>& in) { return pe(in[0]).pow(2.0); }, {x64});
  // to(kFloat64) converts the buffer; the values stay the formula's.
  pe.to(kFloat64);
  BOOST_TEST((pe.table.dtype() == kFloat64));
  BOOST_TEST(pe.table.at({1, 0}) == std::sin(1.0), boost::test_tools::tolerance(1e-7));
  // ...and a float32 input still gets a float32 output: the table follows the input, not the reverse.
  const Tensor y32 = pe(ones({1, 2, 4}));
  BOOST_TEST((y32.dtype() == kFloat32));
  check_close(y32.select(0, 0), pe.table.narrow(0, 0, 2).to(kFloat32) + 1.0, 0.0);
}

BOOST_AUTO_TEST_CASE(printing) {
  Embedding emb{10, 4};
  PositionEmbedding pos{64, 4};
  SinusoidalPositionEncoding pe{64, 4};
  BOOST_TEST(fmt::format("{}", emb) == "Embedding(vocab=10, dim=4)  weight [10, 4]  [40 parameters]");
  BOOST_TEST(fmt::format("{}", pos) == "PositionEmbedding(max_len=64, dim=4)  weight [64, 4]  [256 parameters]");
  BOOST_TEST(fmt::format("{}", pe) == "SinusoidalPositionEncoding(max_len=64, dim=4)  [0 parameters]");
}

BOOST_AUTO_TEST_CASE(errors_name_the_values) {
  BOOST_CHECK_EXCEPTION(Embedding(0, 4), ValueError,
                        has_message("Embedding: vocab and dim must be at least 1, got vocab=0, dim=4"));
  BOOST_CHECK_EXCEPTION(Embedding(3, 4, {.dtype = kInt64}), DTypeError, has_message("got dtype int64"));
  BOOST_CHECK_EXCEPTION(PositionEmbedding(8, -1), ValueError, has_message("got max_len=8, dim=-1"));
  BOOST_CHECK_EXCEPTION(SinusoidalPositionEncoding(0, 4), ValueError,
                        has_message("SinusoidalPositionEncoding: max_len and dim must be at least 1, got max_len=0"));

  PositionEmbedding pos{64, 8};
  SinusoidalPositionEncoding pe{64, 8};
  BOOST_CHECK_EXCEPTION(pos(zeros({2, 70, 8})), ShapeError,
                        has_message("PositionEmbedding: sequence length 70 exceeds the 64 positions it has"));
  BOOST_CHECK_EXCEPTION(pe(zeros({1, 65, 8})), ShapeError,
                        has_message("SinusoidalPositionEncoding: sequence length 65 exceeds the 64 positions it has"));
  BOOST_CHECK_EXCEPTION(pos(zeros({2, 5, 4})), ShapeError,
                        has_message("PositionEmbedding: expected an input [.., T, 8], got [2, 5, 4]"));
  BOOST_CHECK_EXCEPTION(pe(zeros({8})), ShapeError, has_message("expected an input [.., T, 8], got [8]"));
  // The learned table is a parameter: a float64 input is refused (it was promoted), as linear refuses it;
  // the fixed sinusoidal table above follows the input instead (docs/conventions.md, "Dtypes").
  BOOST_CHECK_EXCEPTION(pos(zeros({2, 5, 8}, {.dtype = kFloat64})), DTypeError,
                        has_message("PositionEmbedding: expected floating-point tensors of one dtype, got input "
                                    "float64 and weight float32; mixed dtypes are not promoted here: convert the "
                                    "model with model.to(kFloat64) or the input with x.to(kFloat32)"));

  Embedding emb{4, 2};
  BOOST_CHECK_EXCEPTION(emb(tensor_of<std::int64_t>({1, 4}, {2})), IndexError, has_message("embedding: id 4"));
  BOOST_CHECK_EXCEPTION(emb(zeros({2})), DTypeError, has_message("embedding: ids must be int64"));
}

BOOST_AUTO_TEST_SUITE_END()
