// Progress: plain lines off a terminal (the mode tests and CI see), their count and content.
#include "support/test.hpp"

#include <attograd/train/progress.hpp>

using namespace attograd;
using namespace attograd::train;
using namespace attograd::testing;

namespace {
std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
  return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(plain_mode_prints_a_few_lines_with_step_loss_rate_and_time_left) {
  std::FILE* f = std::tmpfile();
  BOOST_TEST_REQUIRE(f != nullptr);
  Progress p(100, {.label = "demo", .out = f, .plain_lines = 4});
  BOOST_TEST(!p.is_bar());  // a file is not a terminal
  for (int step = 1; step <= 100; ++step) p.update(step, 1.0 / step, "acc 0.50");
  p.finish();
  const std::string text = read_all(f);
  std::fclose(f);
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  BOOST_TEST(lines == 4u, text);
  BOOST_TEST(text.find("demo: step 25/100 loss 0.0400 acc 0.50 | ") != std::string::npos, text);
  BOOST_TEST(text.find("demo: step 100/100 loss 0.0100 acc 0.50 | ") != std::string::npos, text);
  BOOST_TEST(text.find("steps/s | ") != std::string::npos, text);
  BOOST_TEST(text.find(" left\n") != std::string::npos, text);
  BOOST_TEST(text.find('\r') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_last_step_is_always_printed) {
  std::FILE* f = std::tmpfile();
  Progress p(7, {.out = f, .plain_lines = 3});
  for (int step = 1; step <= 7; ++step) p.update(step, 0.5);
  const std::string text = read_all(f);
  std::fclose(f);
  BOOST_TEST(text.find("step 7/7 loss 0.5000") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(only_rank_0_of_a_data_parallel_run_prints) {
  std::FILE* f = std::tmpfile();
  Progress quiet(5, {.out = f, .rank = 1});
  for (int step = 1; step <= 5; ++step) quiet.update(step, 0.5);
  quiet.finish();
  BOOST_TEST(read_all(f).empty());
  Progress root(5, {.out = f, .rank = 0});
  root.update(5, 0.5);
  BOOST_TEST(read_all(f).find("step 5/5") != std::string::npos);
  std::fclose(f);
}

BOOST_AUTO_TEST_CASE(a_small_loss_keeps_its_significant_digits) {
  BOOST_TEST(loss_text(0.2627) == "0.2627");
  BOOST_TEST(loss_text(0.04631) == "0.0463");
  BOOST_TEST(loss_text(0.0046) == "0.00460");
  BOOST_TEST(loss_text(0.000012345) == "0.0000123");
  BOOST_TEST(loss_text(1.2345e-7) == "1.23e-07");
  BOOST_TEST(loss_text(0.0) == "0");
  BOOST_TEST(loss_text(12.5) == "12.5000");
  std::FILE* f = std::tmpfile();
  Progress p(1, {.out = f});
  p.update(1, 3e-5);
  const std::string text = read_all(f);
  std::fclose(f);
  BOOST_TEST(text.find("step 1/1 loss 0.0000300 | ") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(bad_totals_are_refused) {
  BOOST_CHECK_EXCEPTION(Progress(0), ValueError, has_message("Progress: total must be >= 1, got 0"));
}
