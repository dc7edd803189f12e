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

// Log axes are labelled at 1, 2 and 5 times powers of ten, never at 10^0.5 = 3.16228.
BOOST_AUTO_TEST_CASE(log_ticks_are_one_two_five_times_a_power_of_ten) {
  const std::string svg = line_chart({{"loss", {0, 1, 2}, {4.0, 0.3, 0.02}}}, {.log_y = true});
  for (const char* label : {">0.05</text>", ">0.1</text>", ">0.2</text>", ">0.5</text>", ">1</text>", ">2</text>"}) {
    BOOST_TEST(svg.find(label) != std::string::npos, label);
  }
  BOOST_TEST(svg.find("3.16") == std::string::npos);
  // Within one decade: linear ticks, 1-2-5 numbers too.
  const std::string narrow = line_chart({{"loss", {0, 1}, {0.31, 0.34}}}, {.log_y = true});
  BOOST_TEST(narrow.find("3.16") == std::string::npos);
  BOOST_TEST(narrow.find(">0.32</text>") != std::string::npos, narrow);
}

// Every chart names its y axis, and the legend stands right of the plot, never over the lines.
BOOST_AUTO_TEST_CASE(charts_have_a_y_label_and_the_legend_beside_the_plot) {
  const std::string one = line_chart({{"bits_per_char", {0, 1}, {2.0, 1.0}}});
  BOOST_TEST(one.find("rotate(-90 16 ") != std::string::npos);
  BOOST_TEST(one.find(">bits_per_char</text>") != std::string::npos);
  const std::string two = line_chart({{"train", {0, 1}, {2.0, 1.0}}, {"held out", {0, 1}, {2.5, 1.5}}});
  BOOST_TEST(two.find(">value</text>") != std::string::npos);
  // The plot's frame ends at 700 (the default width less 20); the legend's text starts past it.
  BOOST_TEST(two.find("<rect x=\"70\" y=\"40\" width=\"630\"") != std::string::npos, two);
  BOOST_TEST(two.find("<text x=\"734\" y=\"48.0\" font-size=\"11\">train</text>") != std::string::npos, two);
}

// A map narrower than its title is widened to hold it.
BOOST_AUTO_TEST_CASE(a_long_title_is_never_clipped) {
  const std::string title = "06_word_order, positions, head 0: row attends to column";
  const std::string svg = heatmap(ones({2, 2}), {}, {}, {.title = title});
  const auto at = svg.find("width=\"") + 7;
  const int width = std::stoi(svg.substr(at));
  BOOST_TEST(width >= static_cast<int>(0.6 * 15 * title.size()), width);
}

// Gradients: white at zero, blue below, red above, on a scale symmetric about zero.
BOOST_AUTO_TEST_CASE(a_diverging_scale_is_centred_on_zero) {
  const std::string svg = heatmap(tensor({{-2.0, 0.0, 1.0}}), {}, {}, {.diverging = true});
  BOOST_TEST(svg.find("fill=\"#2166ac\"><title>0, 0: -2</title>") != std::string::npos, svg);
  BOOST_TEST(svg.find("fill=\"#f7f7f7\"><title>0, 1: 0</title>") != std::string::npos, svg);
  BOOST_TEST(svg.find("fill=\"#d48791\"><title>0, 2: 1</title>") != std::string::npos, svg);  // half way to red
  BOOST_TEST(svg.find(">-2</text>") != std::string::npos);  // the scale's ends: -2 and 2
  BOOST_TEST(svg.find(">2</text>") != std::string::npos);
  // Values too long for their cells are not written in any cell; the tooltips keep them.
  const std::string tiny = heatmap(tensor({{-4.7e-7, 2.5e-5}}), {}, {}, {.diverging = true});
  BOOST_TEST(tiny.find("text-anchor=\"middle\" fill=") == std::string::npos, tiny);
  BOOST_TEST(tiny.find("<title>0, 0: -4.7e-07</title>") != std::string::npos, tiny);
}

// A 60 x 60 map with small cells labels every second row and column, in a font that fits the cell.
BOOST_AUTO_TEST_CASE(large_maps_thin_their_labels) {
  const std::string svg = heatmap(zeros({60, 60}), {}, {}, {.cell = 8});
  BOOST_TEST(count(svg, "text-anchor=\"end\">") == 30u);
  BOOST_TEST(count(svg, "transform=\"rotate(-60") == 30u);
  BOOST_TEST(svg.find("font-size=\"12\"") == std::string::npos);
  BOOST_TEST(heatmap(zeros({4, 4}), {}, {}).find("font-size=\"12\"") != std::string::npos);  // large cells keep 12
}
