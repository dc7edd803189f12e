// Recorded attention as SVG heatmaps: one cell per (query, key) pair with token labels, the chosen
// batch element and head, grey masked scores, gradients after backward, and clear errors.
#include "support/test.hpp"

#include <filesystem>

#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::viz;
using namespace attograd::testing;

namespace {

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

const std::vector<std::string> kTokens{"the", "<cat>", "sat", "down"};

}  // namespace

BOOST_AUTO_TEST_SUITE(viz_attention)

BOOST_AUTO_TEST_CASE(a_recorded_map_becomes_t_by_t_labelled_cells) {
  Generator gen(30);
  MultiHeadSelfAttention m(6, 3, {.generator = &gen});
  m.record();
  m(randn({2, 4, 6}, gen));
  const std::string svg = attention_heatmap(m.recorded(), AttentionPart::weights, kTokens, {.batch = 1, .head = 2});
  BOOST_TEST(count(svg, "<title>") == 16u);  // T * T cells, each with its tooltip
  BOOST_TEST(svg.find(">weights, batch 1, head 2</text>") != std::string::npos);
  for (const char* label : {">the</text>", ">&lt;cat&gt;</text>", ">sat</text>", ">down</text>"}) {
    BOOST_TEST(count(svg, label) == 2u, label);  // once as a row label, once as a column label
  }
  // The cell for query "sat" and key "the" holds weights[1, 2, 2, 0].
  const double w = m.recorded().weights.at({1, 2, 2, 0});
  BOOST_TEST(svg.find(fmt::format("<title>sat, the: {:.4g}</title>", w)) != std::string::npos);
  // Another head draws another map.
  BOOST_TEST(attention_heatmap(m.recorded(), AttentionPart::weights, kTokens, {.batch = 1, .head = 0}) != svg);
  // Without tokens, indices label the cells; a title replaces the default one.
  const std::string plain = attention_heatmap(m.recorded(), AttentionPart::weights, {}, {.title = "layer 0"});
  BOOST_TEST(plain.find(fmt::format("<title>3, 1: {:.4g}</title>", m.recorded().weights.at({0, 0, 3, 1}))) !=
             std::string::npos);
  BOOST_TEST(plain.find(">layer 0</text>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(masked_scores_are_grey_and_gradients_need_a_backward) {
  Generator gen(31);
  SelfAttention sa({.scaled = true, .causal = true});
  sa.record();
  const Tensor x = randn({4, 3}, gen, {.dtype = kFloat64}).requires_grad_();
  const Tensor y = sa(x);
  const std::string scores = attention_heatmap(sa.recorded(), AttentionPart::scores, kTokens);
  BOOST_TEST(count(scores, "fill=\"#bbbbbb\"") == 6u);  // the 6 masked cells above the diagonal are -inf
  BOOST_TEST(scores.find("<title>the, &lt;cat&gt;: -inf</title>") != std::string::npos);
  BOOST_CHECK_EXCEPTION(attention_heatmap(sa.recorded(), AttentionPart::weights_grad, kTokens), ValueError,
                        has_message("attention_heatmap: no weights_grad recorded: run backward through the recorded "
                                    "forward"));
  y.sum().backward();
  const std::string grads = attention_heatmap(sa.recorded(), AttentionPart::scores_grad, kTokens);
  BOOST_TEST(count(grads, "<title>") == 16u);
  BOOST_TEST(grads.find(">scores_grad, batch 0, head 0</text>") != std::string::npos);
  const double g = sa.recorded().scores_grad().at({0, 0, 3, 1});
  BOOST_TEST(g != 0.0);
  BOOST_TEST(grads.find(fmt::format("<title>down, &lt;cat&gt;: {:.4g}</title>", g)) != std::string::npos);
  BOOST_TEST(count(attention_heatmap(sa.recorded(), AttentionPart::weights_grad, kTokens), "<title>") == 16u);
}

BOOST_AUTO_TEST_CASE(writes_the_heatmap_to_a_file) {
  Generator gen(32);
  SelfAttention sa;
  sa.record();
  sa(randn({4, 2}, gen));
  TempDir dir;
  const std::filesystem::path path = dir / "attention.svg";
  write_attention_heatmap(path, sa.recorded(), AttentionPart::weights, kTokens, {.title = "basic"});
  BOOST_TEST(read_bytes(path) == attention_heatmap(sa.recorded(), AttentionPart::weights, kTokens, {.title = "basic"}));
}

BOOST_AUTO_TEST_CASE(attention_map_picks_one_map) {
  const Tensor maps = arange(2.0 * 3 * 2 * 2).reshape({2, 3, 2, 2});
  check_values(attention_map(maps, {1, 2}), {20, 21, 22, 23});
  check_values(attention_map(maps.select(0, 0), {1}), {4, 5, 6, 7});
  check_values(attention_map(maps.select(0, 0).select(0, 0)), {0, 1, 2, 3});
  BOOST_CHECK_EXCEPTION(attention_map(maps, {1}), IndexError,
                        has_message("attention_map: maps of shape [2, 3, 2, 2] need 2 indices (one per leading dim), "
                                    "got [1]"));
  BOOST_CHECK_EXCEPTION(attention_map(maps, {1, 3}), IndexError,
                        has_message("attention_map: index 3 is out of range for dim 1 of size 3 (maps [2, 3, 2, 2])"));
  BOOST_CHECK_EXCEPTION(attention_map(maps, {-1, 0}), IndexError, has_message("index -1 is out of range for dim 0"));
  BOOST_CHECK_EXCEPTION(attention_map(ones({2, 3}), {}), ShapeError,
                        has_message("attention_map: expected maps [.., T, T], got shape [2, 3]"));
}

BOOST_AUTO_TEST_CASE(bad_requests_are_clear_errors) {
  Generator gen(33);
  MultiHeadSelfAttention m(4, 2, {.generator = &gen});
  BOOST_CHECK_EXCEPTION(attention_heatmap(m.recorded(), AttentionPart::weights, kTokens), ValueError,
                        has_message("attention_heatmap: nothing recorded: call record(true) on the module before its "
                                    "forward"));
  m.record();
  m(randn({2, 4, 4}, gen));
  BOOST_CHECK_EXCEPTION(attention_heatmap(m.recorded(), AttentionPart::weights, kTokens, {.batch = 2}), IndexError,
                        has_message("attention_heatmap: batch 2 is out of range: 2 sequences recorded"));
  BOOST_CHECK_EXCEPTION(attention_heatmap(m.recorded(), AttentionPart::weights, kTokens, {.head = -1}), IndexError,
                        has_message("attention_heatmap: head -1 is out of range: 2 heads recorded"));
  BOOST_CHECK_EXCEPTION(attention_heatmap(m.recorded(), AttentionPart::weights, {"a", "b", "c"}), ShapeError,
                        has_message("attention_heatmap: 3 tokens for a recorded sequence of length 4"));
  BOOST_TEST(to_string(AttentionPart::scores_grad) == "scores_grad");
}

BOOST_AUTO_TEST_SUITE_END()
