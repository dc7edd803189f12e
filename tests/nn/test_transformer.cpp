// TransformerBlock in both orders: shapes, parameters, the lecture's behaviours (permutation
// equivariance, the causal mask), both orders against hand-composed versions, dropout, gradchecks of
// the input and every parameter, printing and errors.
#include "support/test.hpp"

#include "nn/attention_support.hpp"

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

constexpr NormOrder kOrders[] = {NormOrder::PostNorm, NormOrder::PreNorm};

double max_abs_diff(const Tensor& a, const Tensor& b) { return abs(a - b).max().item(); }

// The permutation that reverses T positions: R[i, T-1-i] = 1. float64.
Tensor reversal_matrix(std::int64_t T) {
  std::vector<double> r(static_cast<std::size_t>(T * T), 0.0);
  for (std::int64_t i = 0; i < T; ++i) r[static_cast<std::size_t>(i * T + (T - 1 - i))] = 1.0;
  return tensor(r, {T, T}, {.dtype = kFloat64});
}

// Random scales and shifts for both layer norms: new ones are all 1 and 0, which would make norm1 and
// norm2 interchangeable and hide a block that uses one for the other.
void randomise_norms(TransformerBlock& block, Generator& gen) {
  for (LayerNorm* n : {&block.norm1, &block.norm2}) {
    init::normal_(n->weight, 1.0, 0.5, gen);
    init::normal_(n->bias, 0.0, 0.5, gen);
  }
}

// A float64 block with random norms.
void prepare(TransformerBlock& block, Generator& gen) {
  block.to(kFloat64);
  randomise_norms(block, gen);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transformer_block)

BOOST_AUTO_TEST_CASE(output_shape_equals_input_shape) {
  Generator gen(1);
  for (NormOrder order : kOrders) {
    for (bool causal : {false, true}) {
      TransformerBlock block(8, 2, {.order = order, .causal = causal, .generator = &gen});
      for (const Shape& shape : {Shape{2, 5, 8}, Shape{5, 8}, Shape{1, 1, 8}}) {
        BOOST_TEST((block(randn(shape, gen)).shape() == shape), to_string(order) << " " << causal);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(parameter_counts_by_hand) {
  // C = 8, h = 4: attention 4C² + C (Q, K, V without bias, out with), feed-forward C->4C->C
  // 2·4C² + 4C + C, two layer norms 2C each: 12C² + 10C = 848.
  for (NormOrder order : kOrders) {
    TransformerBlock block(8, 2, {.order = order});
    BOOST_TEST(block.parameter_count() == 12 * 64 + 10 * 8);
    BOOST_TEST(block.attn.parameter_count() == 4 * 64 + 8);
    BOOST_TEST(block.ff.parameter_count() == 8 * 64 + 4 * 8 + 8);
  }
  // Biases on Q, K, V add 3C; no bias on the output projection takes C away; hidden_mult 2 gives
  // 2·2C² + 2C + C for the feed-forward.
  TransformerBlock other(8, 4, {.hidden_mult = 2, .attention_bias = true, .attention_out_bias = false});
  BOOST_TEST(other.parameter_count() == (4 * 64 + 3 * 8) + (4 * 64 + 2 * 8 + 8) + 4 * 8);
  std::vector<std::string> names;
  for (const auto& [name, p] : TransformerBlock(8, 2).named_parameters()) names.push_back(name);
  BOOST_TEST(names == (std::vector<std::string>{"attn.query.weight", "attn.key.weight", "attn.value.weight",
                                                "attn.out.weight", "attn.out.bias", "norm1.weight", "norm1.bias",
                                                "ff.hidden.weight", "ff.hidden.bias", "ff.output.weight",
                                                "ff.output.bias", "norm2.weight", "norm2.bias"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(is_permutation_equivariant_without_a_mask) {
  // Block(P X) = P Block(X): attention is equivariant, and the norms and the feed-forward act on each
  // position alone (lecture: without position information a transformer cannot see order).
  Generator gen(2);
  for (NormOrder order : kOrders) {
    TransformerBlock block(8, 2, {.order = order, .generator = &gen});
    prepare(block, gen);
    const Tensor x = randn({2, 6, 8}, gen, {.dtype = kFloat64});
    const Tensor P = permutation_matrix(6, gen);
    BOOST_TEST(max_abs_diff(P, eye(6, -1, {.dtype = kFloat64})) == 1.0);  // not the identity
    check_close(block(matmul(P, x)), matmul(P, block(x)), 1e-12);
    // The mask breaks it: which inputs a position sees depends on where it is.
    TransformerBlock causal(8, 2, {.order = order, .causal = true, .generator = &gen});
    causal.to(kFloat64);
    const Tensor reversed = reversal_matrix(6);
    BOOST_TEST(max_abs_diff(causal(matmul(reversed, x)), matmul(reversed, causal(x))) > 1e-3);
  }
}

BOOST_AUTO_TEST_CASE(causal_output_does_not_depend_on_later_inputs) {
  // dY_i/dX_j is exactly 0 for j > i, and not for j <= i.
  Generator gen(3);
  const std::int64_t T = 5;
  for (NormOrder order : kOrders) {
    TransformerBlock block(4, 2, {.order = order, .causal = true, .generator = &gen});
    prepare(block, gen);
    for (std::int64_t i = 0; i < T; ++i) {
      const Tensor x = rand64({2, T, 4}, gen);
      block(x).select(1, i).sum().backward();
      for (std::int64_t j = 0; j < T; ++j) {
        const double g = abs(x.grad().select(1, j)).max().item();
        if (j > i) {
          BOOST_TEST(g == 0.0, to_string(order) << ": output " << i << ", input " << j);
        } else {
          BOOST_TEST(g > 1e-6, to_string(order) << ": output " << i << ", input " << j);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(both_orders_match_hand_composed_versions_and_differ) {
  // The same seed gives both blocks the same parameters; only where the norms sit differs.
  Generator a(4), b(4), norms_a(5), norms_b(5), gen(6);
  TransformerBlock post(8, 2, {.order = NormOrder::PostNorm, .generator = &a});
  TransformerBlock pre(8, 2, {.order = NormOrder::PreNorm, .generator = &b});
  prepare(post, norms_a);
  prepare(pre, norms_b);
  const Tensor x = randn({2, 5, 8}, gen, {.dtype = kFloat64});
  // The companion code: each residual sum is normalised.
  const Tensor h_post = post.norm1(x + post.attn(x));
  check_close(post(x), post.norm2(h_post + post.ff(h_post)), 0.0);
  // The lecture's block slide: each sublayer gets a normalised input, the residual path is a plain sum.
  const Tensor h_pre = x + pre.attn(pre.norm1(x));
  check_close(pre(x), h_pre + pre.ff(pre.norm2(h_pre)), 0.0);
  // The two orders are different functions of the same parameters.
  for (std::size_t i = 0; i < post.parameters().size(); ++i) {
    check_close(post.parameters()[i], pre.parameters()[i], 0.0);
  }
  BOOST_TEST(max_abs_diff(post(x), pre(x)) > 0.1);
  // Swapping the norms in a hand-composed version gives something else (the norms are not alike).
  BOOST_TEST(max_abs_diff(post(x), post.norm1(h_post + post.ff(h_post))) > 0.1);
  // Post-norm's output is normalised (then scaled by norm2); pre-norm's is not.
  const Tensor unscaled = (post(x) - post.norm2.bias) / post.norm2.weight;
  check_close(mean(unscaled, {-1}), zeros({2, 5}, {.dtype = kFloat64}), 1e-12);
}

// The block's output and the gradients of its input and every parameter, as float32 values, for a loss
// that weighs each output element differently (so that every element's gradient matters). As doubles,
// which hold float32 and float64 values exactly.
std::vector<std::vector<double>> outputs_and_gradients(TransformerBlock& block, const Tensor& x0, const Tensor& w,
                                                      const std::function<Tensor(const Tensor&)>& f) {
  const Tensor x = x0.detach().clone().requires_grad_();
  block.zero_grad();
  const Tensor y = f(x);
  sum(y * w).backward();
  std::vector<std::vector<double>> r{y.to_vector(), x.grad().to_vector()};
  for (const Tensor& p : block.parameters()) r.push_back(p.grad().to_vector());
  return r;
}

BOOST_AUTO_TEST_CASE(residuals_added_by_the_products_give_the_sums_bits) {
  // While dropout is inactive the block adds each residual inside the product before it (linear_add);
  // the output and every gradient must be those of the plain sums, bit for bit, in float32 (oneDNN) and
  // float64, batched and not, in both orders, in training with p = 0 and in evaluation with p > 0.
  Generator gen(11);
  for (NormOrder order : kOrders) {
    for (bool causal : {false, true}) {
      for (FeedForwardActivation act : {FeedForwardActivation::ReLU, FeedForwardActivation::GELU}) {
        for (double p : {0.0, 0.25}) {
          TransformerBlock block(16, 2, {.order = order, .causal = causal, .activation = act, .dropout = p,
                                         .generator = &gen});
          randomise_norms(block, gen);
          if (p > 0) block.eval();
          const auto sums = [&](const Tensor& x) {
            if (order == NormOrder::PostNorm) {
              const Tensor h = block.norm1(x + block.dropout(block.attn(x)));
              return block.norm2(h + block.ff(h));
            }
            const Tensor h = x + block.dropout(block.attn(block.norm1(x)));
            return h + block.ff(block.norm2(h));
          };
          for (DType dtype : {kFloat32, kFloat64}) {
            if (dtype == kFloat64) block.to(kFloat64);
            for (const Shape& shape : {Shape{2, 7, 16}, Shape{7, 16}}) {
              BOOST_TEST_CONTEXT(to_string(order) << ", causal " << causal << ", gelu "
                                                  << (act == FeedForwardActivation::GELU) << ", p " << p << ", "
                                                  << dtype << ", " << shape) {
                const Tensor x = randn(shape, gen, {.dtype = dtype});
                const Tensor w = randn(shape, gen, {.dtype = dtype});
                const auto fused = outputs_and_gradients(block, x, w, [&](const Tensor& in) { return block(in); });
                const auto plain = outputs_and_gradients(block, x, w, sums);
                // The fused path is the one taken: pre-norm's output is the feed-forward's linear_add,
                // post-norm's is norm2 of it.
                const Tensor y = block(x.detach().clone().requires_grad_());
                const auto& last = order == NormOrder::PreNorm ? y.grad_fn() : y.grad_fn()->inputs()[0];
                BOOST_TEST(last->op() == "linear_add");
                BOOST_TEST(fused.size() == plain.size());
                for (std::size_t i = 0; i < fused.size(); ++i) BOOST_TEST(fused[i] == plain[i], "tensor " << i);
              }
            }
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(dropout_drops_each_sublayer_before_its_residual_add) {
  Generator gen(7);
  const Tensor x = randn({2, 4, 8}, gen, {.dtype = kFloat64});
  for (NormOrder order : kOrders) {
    // p = 1 in training drops both sublayers entirely: pre-norm is then the identity, post-norm just
    // the two norms.
    TransformerBlock all(8, 2, {.order = order, .dropout = 1.0, .generator = &gen});
    prepare(all, gen);
    const Tensor expected = order == NormOrder::PreNorm ? x : all.norm2(all.norm1(x));
    check_close(all(x), expected, 1e-12);
    // In evaluation mode the same block keeps both sublayers.
    all.eval();
    BOOST_TEST(!all.dropout.is_training());
    BOOST_TEST(!all.ff.dropout.is_training());
    const Tensor h = order == NormOrder::PreNorm ? x + all.attn(all.norm1(x)) : all.norm1(x + all.attn(x));
    check_close(all(x), order == NormOrder::PreNorm ? h + all.ff(all.norm2(h)) : all.norm2(h + all.ff(h)), 0.0);
  }
  // p = 0.5 draws its masks from the block's generator: the same state gives the same output.
  Generator g(8);
  TransformerBlock half(8, 2, {.dropout = 0.5, .generator = &g});
  half.to(kFloat64);
  const Generator::State state = g.state();
  const Tensor y1 = half(x);
  g.set_state(state);
  check_close(half(x), y1, 0.0);
  BOOST_TEST(max_abs_diff(half(x), y1) > 1e-3);  // a fresh mask
  BOOST_CHECK_EXCEPTION(TransformerBlock(8, 2, {.dropout = 1.5}), ValueError,
                        has_message("TransformerBlock: dropout must be between 0 and 1, got 1.5"));
}

BOOST_AUTO_TEST_CASE(gradchecks_the_input_and_every_parameter) {
  Generator gen(9);
  for (NormOrder order : kOrders) {
    for (bool causal : {false, true}) {
      for (FeedForwardActivation act : {FeedForwardActivation::ReLU, FeedForwardActivation::GELU}) {
        const bool bias = act == FeedForwardActivation::GELU;
        TransformerBlock block(4, 2, {.order = order, .causal = causal, .hidden_mult = 2, .activation = act,
                                      .attention_bias = bias, .generator = &gen});
        prepare(block, gen);
        BOOST_TEST_CONTEXT(to_string(order) << ", causal " << causal << ", gelu " << bias) {
          check_module_gradients(block, [&](const auto& in) { return block(in[0]); }, {rand64({2, 3, 4}, gen)});
          check_module_gradients(block, [&](const auto& in) { return block(in[0]); }, {rand64({3, 4}, gen)});
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(float32_and_float64_agree) {
  Generator gen(10);
  for (NormOrder order : kOrders) {
    TransformerBlock block(8, 2, {.order = order, .causal = true, .generator = &gen});
    const Tensor x = randn({2, 5, 8}, gen);
    const Tensor y32 = block(x);
    BOOST_TEST((y32.dtype() == kFloat32));
    block.to(kFloat64);
    check_close(y32.to(kFloat64), block(x.to(kFloat64)), 1e-5);
  }
}

BOOST_AUTO_TEST_CASE(prints_its_tree) {
  TransformerBlock block(4, 2, {.order = NormOrder::PreNorm, .causal = true});
  const std::string text = fmt::format("{}", block);
  BOOST_TEST(text.starts_with("TransformerBlock(emb=4, heads=2, pre-norm, causal=true)  [232 parameters]\n"
                              "  attn: MultiHeadSelfAttention(emb=4, heads=2, head_size=2, bias=false, "
                              "out_bias=true, causal=true)  [68 parameters]\n"
                              "    query: Linear(in=4, out=4, bias=false)  weight [4, 4]  [16 parameters]\n"),
             text);
  BOOST_TEST(text.find("\n  norm1: LayerNorm(") != std::string::npos, text);
  BOOST_TEST(text.find("\n  ff: FeedForward(emb=4, hidden=16, activation=relu, dropout=0)  [148 parameters]\n") !=
                 std::string::npos,
             text);
  BOOST_TEST(text.find("\n  norm2: LayerNorm(") != std::string::npos, text);
  BOOST_TEST(text.ends_with("\n  dropout: Dropout(p=0)  [0 parameters]"), text);
  BOOST_TEST(fmt::format("{}", TransformerBlock(4, 1)).starts_with("TransformerBlock(emb=4, heads=1, post-norm, "
                                                                   "causal=false)"));
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_clear_errors) {
  BOOST_CHECK_EXCEPTION(TransformerBlock(10, 3), ValueError,
                        has_message("MultiHeadSelfAttention: emb 10 is not divisible by heads 3"));
  BOOST_CHECK_EXCEPTION(TransformerBlock(8, 2, {.hidden_mult = 0}), ValueError,
                        has_message("FeedForward: hidden_mult must be at least 1"));
  BOOST_CHECK_EXCEPTION(TransformerBlock(8, 2, {.dropout = -0.1}), ValueError,
                        has_message("TransformerBlock: dropout must be between 0 and 1, got -0.1"));
  TransformerBlock post(8, 2), pre(8, 2, {.order = NormOrder::PreNorm});
  BOOST_CHECK_EXCEPTION(post(ones({2, 5, 6})), ShapeError,
                        has_message("MultiHeadSelfAttention: expected inputs of 8 features (emb), got shape [2, 5, 6]"));
  BOOST_CHECK_EXCEPTION(pre(ones({2, 5, 6})), ShapeError, has_message("[2, 5, 6]"));
  BOOST_CHECK_EXCEPTION(post(ones({2, 8}, {.dtype = kFloat64})), DTypeError,
                        has_message("MultiHeadSelfAttention: expected floating-point tensors of one dtype, got input "
                                    "float64 and parameters float32"));
}

BOOST_AUTO_TEST_SUITE_END()
