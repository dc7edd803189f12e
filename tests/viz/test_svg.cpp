// The SVG writer: structure of charts and heatmaps, escaping, and bad input.
#include "support/test.hpp"

#include <attograd/viz/svg.hpp>

using namespace attograd;
using namespace attograd::viz;
using namespace attograd::testing;

namespace {
std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}
}  // namespace

BOOST_AUTO_TEST_CASE(escapes_markup) {
  BOOST_TEST(xml_escape("a<b & \"c\" > 'd'") == "a&lt;b &amp; &quot;c&quot; &gt; &apos;d&apos;");
}

BOOST_AUTO_TEST_CASE(line_chart_draws_one_polyline_per_series) {
  const std::string svg = line_chart({{"train", {0, 1, 2}, {3.0, 2.0, 1.0}}, {"test <held out>", {0, 2}, {3.5, 1.5}}},
                                     {.title = "loss & accuracy", .y_label = "loss"});
  BOOST_TEST(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0u);
  BOOST_TEST(svg.find("</svg>") != std::string::npos);
  BOOST_TEST(count(svg, "<polyline") == 2u);
  BOOST_TEST(svg.find("test &lt;held out&gt;") != std::string::npos);
  BOOST_TEST(svg.find("loss &amp; accuracy") != std::string::npos);
  // Three points of the first series, two of the second.
  const auto first = svg.find("points=\"");
  const auto end = svg.find('"', first + 8);
  BOOST_TEST(count(svg.substr(first, end - first), ",") == 3u);
}

BOOST_AUTO_TEST_CASE(line_chart_skips_points_it_cannot_draw) {
  const std::string svg = line_chart({{"s", {0, 1, 2, 3}, {1.0, -1.0, NAN, 10.0}}}, {.log_y = true});
  const auto first = svg.find("points=\"");
  const auto end = svg.find('"', first + 8);
  BOOST_TEST(count(svg.substr(first, end - first), ",") == 2u);  // -1 and NaN left out on a log scale
  BOOST_TEST(svg.find("(log scale)") != std::string::npos);
  BOOST_TEST(line_chart({}).find("</svg>") != std::string::npos);  // no data: empty axes, no crash
}

BOOST_AUTO_TEST_CASE(line_chart_rejects_mismatched_series) {
  BOOST_CHECK_EXCEPTION(line_chart({{"bad", {0, 1}, {1.0}}}), ValueError,
                        has_message("line_chart: series 'bad' has 2 x values but 1 y values"));
}

BOOST_AUTO_TEST_CASE(heatmap_has_a_cell_per_element_with_labels) {
  Tensor w = tensor({{0.7, 0.2, 0.1}, {0.0, 1.0, 0.0}});
  const std::string svg = heatmap(w, {"the", "<cat>"}, {"a", "b", "c"}, {.title = "weights"});
  BOOST_TEST(count(svg, "<title>") == 6u);
  BOOST_TEST(svg.find("&lt;cat&gt;, b: 1</title>") != std::string::npos);
  BOOST_TEST(svg.find(">0.70</text>") != std::string::npos);
  BOOST_TEST(svg.find("</svg>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(heatmap_rejects_bad_shapes_and_labels) {
  BOOST_CHECK_EXCEPTION(heatmap(ones({2, 2, 2}), {}, {}), ShapeError,
                        has_message("heatmap: expected a 2-D tensor, got shape [2, 2, 2]"));
  BOOST_CHECK_EXCEPTION(heatmap(ones({2, 3}), {"x"}, {}), ShapeError, has_message("heatmap: 1 row labels for 2 rows"));
}
