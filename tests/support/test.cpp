#include "support/test.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace attograd::testing {

CheckTarget::CheckTarget()
    : hook_([this](const autograd::BackwardStep& s) {
              if (s.step != 0 || s.node.op_info() == nullptr) return;
              key_ = s.node.op_info()->key();
              for (std::size_t i = 0; i < s.node.inputs().size(); ++i) {
                if (s.node.inputs()[i] != nullptr) slots_.insert(i);
              }
            },
            {.reads_grad_output = false}) {}

namespace {

// Adds the target of a passing gradient check to this test program's file in the directory CTest
// names in ATTOGRAD_GRADCHECK_COVERAGE_DIR (tests/CMakeLists.txt), <program>.txt. Its first line is
// the run's token, which the fixture that cleans the directory before each ctest run writes to .run
// (tests/tools/gradcheck_coverage_run.cmake); then one line per op: its key, a tab, and the input slots
// checked ("matmul\t0,1"). The op manifest's gradcheck column comes from these files
// (tests/tools/ops_manifest.cpp), which ignores and reports a file from another run, never from a flag
// set by hand. A program run by hand, outside CTest, writes nothing.
void note_gradchecked(const CheckTarget& target) {
  static std::map<std::string, std::set<std::size_t>> all;
  const char* dir = std::getenv("ATTOGRAD_GRADCHECK_COVERAGE_DIR");
  const auto& suite = boost::unit_test::framework::master_test_suite();
  if (dir == nullptr || *dir == '\0' || suite.argc < 1 || target.key().empty()) return;
  all[target.key()].insert(target.slots().begin(), target.slots().end());
  const std::filesystem::path folder(dir);
  std::ifstream token(folder / ".run");
  std::string run;
  std::getline(token, run);
  std::filesystem::create_directories(folder);
  std::ofstream out(folder / (std::filesystem::path(suite.argv[0]).filename().string() + ".txt"));
  out << "run " << run << '\n';
  for (const auto& [key, slots] : all) out << key << '\t' << fmt::format("{}", fmt::join(slots, ",")) << '\n';
}

}  // namespace

void check_gradients(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  CheckTarget target;
  const GradcheckResult r = gradcheck(f, inputs, options);
  BOOST_TEST(r.ok, r.message);
  BOOST_TEST(r.checked > 0, "gradcheck compared no elements");
  if (r.ok && r.checked > 0) note_gradchecked(target);
}

void check_module_gradients(nn::Module& module, const GradcheckFn& f, const std::vector<Tensor>& inputs,
                            GradcheckOptions options) {
  std::vector<Tensor> all = inputs;
  const auto params = module.named_parameters();
  for (const auto& [name, p] : params) {
    BOOST_TEST_REQUIRE(p.dtype() == kFloat64, name + " is not float64: call module.to(kFloat64) first");
    all.push_back(p);
  }
  options.in_place = true;
  CheckTarget target;
  const GradcheckResult r = gradcheck(f, all, options);
  BOOST_TEST(r.ok, r.message);
  if (r.ok && r.checked > 0) note_gradchecked(target);
  // A parameter f does not depend on was not checked at all: that is a broken test, not a pass.
  for (std::size_t i : r.unused_inputs) {
    BOOST_TEST(i < inputs.size(), fmt::format("gradcheck: the output does not depend on parameter {}",
                                              i >= inputs.size() ? params[i - inputs.size()].first : ""));
  }
}

Tensor rand64(const Shape& shape, Generator& gen, double scale) {
  Tensor t = randn(shape, gen, {.dtype = kFloat64});
  if (scale != 1.0) t = t * scale;
  return t.requires_grad_();
}

Tensor rand64_away_from_zero(const Shape& shape, Generator& gen, double margin) {
  std::vector<double> v = randn(shape, gen, {.dtype = kFloat64}).to_vector<double>();
  for (double& x : v) x = x >= 0 ? x + margin : x - margin;
  return tensor(v, shape, {.dtype = kFloat64, .requires_grad = true});
}

std::function<bool(const std::exception&)> has_message(std::string part) {
  return [part = std::move(part)](const std::exception& e) {
    const std::string what = e.what();
    const bool found = what.find(part) != std::string::npos;
    if (!found) BOOST_TEST_MESSAGE(fmt::format("expected the message to contain \"{}\", got \"{}\"", part, what));
    BOOST_TEST(found, fmt::format("message \"{}\" lacks \"{}\"", what, part));
    return found;
  };
}

void check_close(const Tensor& actual, const Tensor& expected, double tolerance) {
  BOOST_TEST_REQUIRE(actual.shape() == expected.shape(),
                     fmt::format("shape {} vs expected {}", actual.shape(), expected.shape()));
  check_values(actual, expected.to_vector<double>(), tolerance);
}

void check_values(const Tensor& actual, const std::vector<double>& expected, double tolerance) {
  const std::vector<double> a = actual.to_vector<double>();
  BOOST_TEST_REQUIRE(a.size() == expected.size(), fmt::format("{} values vs {} expected", a.size(), expected.size()));
  for (std::size_t i = 0; i < a.size(); ++i) {
    const bool same = (std::isnan(a[i]) && std::isnan(expected[i])) || a[i] == expected[i] ||
                      std::abs(a[i] - expected[i]) <= tolerance * std::max(1.0, std::abs(expected[i]));
    if (!same) {
      BOOST_TEST(same, fmt::format("element {}: {} vs expected {} (tolerance {})", i, a[i], expected[i], tolerance));
      return;
    }
  }
}

}  // namespace attograd::testing
