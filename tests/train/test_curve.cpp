// Curve: CSV text, SVG series, files, errors.
#include "support/test.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <attograd/train/curve.hpp>

using namespace attograd;
using namespace attograd::train;
using namespace attograd::testing;

BOOST_AUTO_TEST_CASE(csv_has_a_header_and_empty_fields_for_nan) {
  Curve c({"step", "loss", "accuracy"});
  c.add({1, 0.5, NAN});
  c.add({2, 0.25, 0.75});
  BOOST_TEST(c.csv() == "step,loss,accuracy\n1,0.5,\n2,0.25,0.75\n");
}

BOOST_AUTO_TEST_CASE(svg_draws_the_chosen_series) {
  Curve c({"step", "loss", "accuracy"});
  for (int i = 1; i <= 5; ++i) c.add({double(i), 1.0 / i, i % 2 ? NAN : 0.1 * i});
  const std::string all = c.svg({.title = "run"});
  BOOST_TEST(all.find(">loss</text>") != std::string::npos);
  BOOST_TEST(all.find(">accuracy</text>") != std::string::npos);
  const std::string only = c.svg({}, {"loss"});
  BOOST_TEST(only.find(">accuracy</text>") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(files_are_written) {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("attograd-curve-{}", ::getpid());
  std::filesystem::create_directories(dir);
  Curve c({"step", "loss"});
  c.add({1, 2.0});
  c.write_csv(dir / "curve.csv");
  c.write_svg(dir / "curve.svg");
  std::ifstream in(dir / "curve.csv");
  std::stringstream text;
  text << in.rdbuf();
  BOOST_TEST(text.str() == "step,loss\n1,2\n");
  BOOST_TEST(std::filesystem::file_size(dir / "curve.svg") > 100u);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(errors) {
  BOOST_CHECK_EXCEPTION(Curve({}), ValueError, has_message("Curve: needs at least one column"));
  BOOST_CHECK_EXCEPTION(Curve({"a,b"}), ValueError, has_message("column name 'a,b'"));
  Curve c({"step", "loss"});
  BOOST_CHECK_EXCEPTION(c.add({1.0}), ValueError, has_message("Curve: a row of 1 values for 2 columns (step, loss)"));
}
