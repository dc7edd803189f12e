// RunReport: one self-contained page per run. What the page holds, that nothing in it is fetched, and
// base64, by which its pictures travel. tests/train/test_run_report_browser.cpp opens one in Chromium.
#include "support/test.hpp"

#include <attograd/train/run_report.hpp>

#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::train;
using namespace attograd::testing;

namespace {
std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}
}  // namespace

BOOST_AUTO_TEST_CASE(base64_of_the_rfc_4648_examples) {
  BOOST_TEST(base64("") == "");
  BOOST_TEST(base64("f") == "Zg==");
  BOOST_TEST(base64("fo") == "Zm8=");
  BOOST_TEST(base64("foo") == "Zm9v");
  BOOST_TEST(base64("foob") == "Zm9vYg==");
  BOOST_TEST(base64("fooba") == "Zm9vYmE=");
  BOOST_TEST(base64("foobar") == "Zm9vYmFy");
  BOOST_TEST(base64(std::string("\xff\x00\x80", 3)) == "/wCA");  // bytes above 127, and a zero byte
}

BOOST_AUTO_TEST_CASE(the_page_holds_settings_result_pictures_and_timings) {
  Curve curve({"step", "loss", "accuracy"});
  for (int s = 1; s <= 5; ++s) curve.add({double(s), 1.0 / s, 0.2 * s});
  RunReport report("demo <run> & co");
  report.setting("lr", "0.01").setting("steps", "5");
  report.curve(curve, {.title = "loss and accuracy"});
  report.note("a plain paragraph");
  report.result("result: accuracy=1.000").timing("training", 1.25).timing("evaluation", 12.5);
  const std::string page = report.html();
  BOOST_TEST(page.starts_with("<!DOCTYPE html>"));
  BOOST_TEST(page.find("<title>demo &lt;run&gt; &amp; co</title>") != std::string::npos);
  BOOST_TEST(page.find("<tr><td>lr</td><td>0.01</td></tr>") != std::string::npos);
  BOOST_TEST(page.find("<pre class=\"result\">result: accuracy=1.000</pre>") != std::string::npos);
  BOOST_TEST(page.find("<tr><td>training</td><td>1.250 s</td></tr>") != std::string::npos);
  BOOST_TEST(page.find("<tr><td>evaluation</td><td>12.5 s</td></tr>") != std::string::npos);
  BOOST_TEST(page.find("<p>a plain paragraph</p>") != std::string::npos);
  // The curve is inside the page, as base64 of the very SVG that Curve draws.
  BOOST_TEST(count(page, "<img ") == 1u);
  BOOST_TEST(page.find(base64(curve.svg({.title = "loss and accuracy"}))) != std::string::npos);
  // Nothing to fetch: no scripts, no links, no address anywhere outside the base64 pictures.
  BOOST_TEST(page.find("<script") == std::string::npos);
  BOOST_TEST(page.find("<link") == std::string::npos);
  BOOST_TEST(page.find("http") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(attention_weights_and_their_gradients) {
  Generator gen(2);
  nn::MultiHeadSelfAttention attn(4, 2, {.generator = &gen});
  attn.record(true);
  const Tensor x = randn({1, 3, 4}, gen);
  {
    NoGradGuard no_grad;
    attn(x);
  }
  RunReport before("no backward");
  before.attention(attn.recorded(), {"a", "b", "c"}, "layer 0");
  BOOST_TEST(count(before.html(), "<img ") == 2u);  // the weights of both heads
  BOOST_TEST(before.html().find("layer 0: no gradients of the weights") != std::string::npos);

  attn(x).pow(2.0).sum().backward();
  RunReport after("after backward");
  after.attention(attn.recorded(), {"a", "b", "c"}, "layer 0");
  const std::string page = after.html();
  BOOST_TEST(count(page, "<img ") == 4u);  // weights and gradients, two heads
  BOOST_TEST(page.find("layer 0, head 1: dL/d(weights)") != std::string::npos);

  RunReport empty("nothing recorded");
  empty.attention(nn::AttentionRecord{}, {});
  BOOST_TEST(empty.html().find("nothing was recorded") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_small_graph_is_drawn_and_a_large_one_is_not) {
  Tensor w = tensor({0.5, -1.0}, {.dtype = kFloat64, .requires_grad = true}).set_name("w");
  Tensor loss;
  {
    viz::GraphCapture capture;
    loss = tanh(sum(w * 2.0));
    loss.backward();
  }
  RunReport small("small");
  small.graph(loss, "one step", 10);
  RunReport large("large");
  large.graph(loss, "one step", 2);
  BOOST_TEST(large.html().find("one step: the graph has 4 boxes, more than the 2 a readable picture holds") !=
             std::string::npos);
  if (viz::graphviz_available()) {
    BOOST_TEST(count(small.html(), "<img ") == 1u);
  } else {
    BOOST_TEST(small.html().find("Graphviz's dot is not installed") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(write_is_the_page_and_bad_pictures_are_refused) {
  TempDir dir;
  RunReport report("written");
  report.result("result: x=1");
  report.write(dir / "report.html");
  BOOST_TEST(read_bytes(dir / "report.html") == report.html());
  BOOST_CHECK_EXCEPTION(report.picture("a PNG", "\x89PNG"), ValueError,
                        has_message("RunReport: the picture 'a PNG' is not SVG (no <svg> element)"));
}
