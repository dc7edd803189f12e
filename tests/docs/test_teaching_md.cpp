// docs/teaching.md shows real runs: this test runs them (tests/docs/teaching_examples.hpp) and compares
// each with the page's block after its "<!-- teaching: name -->" marker.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "docs/teaching_examples.hpp"
#include "support/test.hpp"

namespace {

std::string read(const std::string& path) {
  std::ifstream in(ATTOGRAD_SOURCE_DIR "/" + path);
  BOOST_TEST_REQUIRE(in.good(), "cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string page() { return read("docs/teaching.md"); }

// The lines of every label in DOT text, as Graphviz writes them into SVG <text> elements.
std::vector<std::string> svg_texts(const std::string& dot) {
  std::vector<std::string> texts;
  for (auto at = dot.find("label=\""); at != std::string::npos; at = dot.find("label=\"", at)) {
    at += 7;
    const auto end = dot.find("\"", at);
    std::string label = dot.substr(at, end - at);
    std::string line;
    for (std::size_t i = 0; i <= label.size(); ++i) {
      if (i == label.size() || label.compare(i, 2, "\\n") == 0) {
        texts.push_back(">" + line + "</text>");
        line.clear();
        ++i;
      } else if (label[i] == '-') {
        line += "&#45;";
      } else if (label[i] == '&') {
        line += "&amp;";
      } else {
        line += label[i];
      }
    }
    at = end;
  }
  return texts;
}

// A committed Graphviz picture must show the run's every label line: it was drawn from this run.
void check_picture(const std::string& path, const std::string& dot) {
  const std::string svg = read(path);
  const std::vector<std::string> texts = svg_texts(dot);
  BOOST_TEST(texts.size() > 10u);
  for (const std::string& text : texts) {
    BOOST_TEST(svg.find(text) != std::string::npos, path << " lacks " << text << "; redraw it (docs/teaching.md)");
  }
}

std::string block(const std::string& name) {
  const std::string text = page();
  const std::string marker = "<!-- teaching: " + name + " -->";
  const auto at = text.find(marker);
  BOOST_TEST_REQUIRE(at != std::string::npos, "docs/teaching.md lacks " + marker);
  const auto body = text.find('\n', text.find("```", at)) + 1;
  return text.substr(body, text.find("\n```", body) - body + 1);
}

// The run's text with the checkout's path removed, as the page shows it.
std::string relative(std::string text) {
  const std::string root = ATTOGRAD_SOURCE_DIR "/";
  for (auto at = text.find(root); at != std::string::npos; at = text.find(root)) text.erase(at, root.size());
  return text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(teaching_md)

BOOST_AUTO_TEST_CASE(the_neuron_picture_and_trace) {
  const teaching::Run run = teaching::neuron();
  BOOST_TEST(run.dot == block("neuron-dot"));
  BOOST_TEST(run.trace == block("neuron-trace"));
  // The page's opening quotes the trace's first lines, then "...".
  const std::string start = block("neuron-trace-start");
  BOOST_TEST_REQUIRE(start.ends_with("\n...\n"));
  BOOST_TEST(start.size() > 100u);
  BOOST_TEST(run.trace.starts_with(start.substr(0, start.size() - 4)), start);
}

BOOST_AUTO_TEST_CASE(the_neuron_with_matmul) {
  BOOST_TEST(teaching::neuron_matmul().trace == block("neuron-matmul-trace"));
}

BOOST_AUTO_TEST_CASE(the_committed_graph_pictures_show_these_runs) {
  check_picture("docs/images/neuron.svg", teaching::neuron().dot);
  check_picture("docs/images/neuron_matmul.svg", teaching::neuron_matmul().dot);
  check_picture("docs/images/mlp.svg", teaching::mlp().dot);
  // The check can fail: the neuron's picture is not the MLP's.
  const std::string neuron_svg = read("docs/images/neuron.svg");
  BOOST_TEST(neuron_svg.find(">hidden.weight</text>") == std::string::npos);
}

// attograd writes the heatmaps itself, so the committed files must be exactly what the run writes.
BOOST_AUTO_TEST_CASE(the_committed_attention_heatmaps_are_this_run) {
  const teaching::AttentionRun run = teaching::attention();
  BOOST_TEST(run.weights_svg == read("docs/images/attention_weights.svg"));
  BOOST_TEST(run.weights_grad_svg == read("docs/images/attention_weights_grad.svg"));
  BOOST_TEST(run.weights_svg != run.weights_grad_svg);
}

BOOST_AUTO_TEST_CASE(the_mlp_trace_fits_on_a_screen) {
  const std::string trace = teaching::mlp().trace;
  BOOST_TEST(trace == block("mlp-trace"));
  BOOST_TEST(std::count(trace.begin(), trace.end(), '\n') <= 50);
}

BOOST_AUTO_TEST_CASE(the_anomaly_message) {
  BOOST_TEST(teaching::wrap(relative(teaching::anomaly())) == block("anomaly"));
}

BOOST_AUTO_TEST_CASE(the_refusal_of_an_op_without_a_backward) {
  const attograd::autograd::Op floor_op(
      {.name = "floor", .gradient = attograd::autograd::Gradient::None, .rule = "not derived yet"});
  attograd::Tensor x = attograd::tensor({1.5, -0.5}, {.requires_grad = true});
  attograd::Tensor y = x.detach();
  std::string message;
  try {
    attograd::autograd::record(floor_op, y, {x});
  } catch (const attograd::AutogradError& e) {
    message = e.what();
  }
  BOOST_TEST(teaching::wrap(message) == block("no-backward"));
}

BOOST_AUTO_TEST_SUITE_END()
