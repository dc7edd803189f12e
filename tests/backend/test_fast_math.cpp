// The vectorised float32 exp and tanh (lib/backend/fast_math.cpp) against libm in double precision,
// rounded to float: at most 1 ulp apart on a dense sample of each range, exact at the special values,
// the same bits wherever an element sits in the array, no fused multiply-add anywhere in the library,
// and what softmax and tanh compute with them.
#include "support/test.hpp"

#include <bit>
#include <cmath>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <dlfcn.h>

#include "backend/fast_math.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// Distance in units in the last place between two finite floats of the same sign (or zeros).
std::int64_t ulps(float a, float b) {
  auto key = [](float f) {
    const auto i = std::bit_cast<std::int32_t>(f);
    return i < 0 ? std::int64_t{std::numeric_limits<std::int32_t>::min()} - i : std::int64_t{i};
  };
  return std::llabs(key(a) - key(b));
}

// About 2^20 floats from lo to hi, evenly spaced in their bit patterns (so every binade is sampled
// as densely), plus lo and hi.
std::vector<float> sample(float lo, float hi) {
  auto key = [](float f) {
    const auto i = std::bit_cast<std::int32_t>(f);
    return i < 0 ? std::int64_t{std::numeric_limits<std::int32_t>::min()} - i : std::int64_t{i};
  };
  auto from_key = [](std::int64_t k) {
    const auto i = static_cast<std::int32_t>(k < 0 ? std::int64_t{std::numeric_limits<std::int32_t>::min()} - k : k);
    return std::bit_cast<float>(i);
  };
  std::vector<float> v{lo, hi};
  const std::int64_t a = key(lo), b = key(hi);
  const std::int64_t step = std::max<std::int64_t>(1, (b - a) >> 20);
  for (std::int64_t k = a; k < b; k += step) v.push_back(from_key(k));
  return v;
}

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

}  // namespace

BOOST_AUTO_TEST_SUITE(fast_math)

BOOST_AUTO_TEST_CASE(exp_is_within_one_ulp_of_libm_double) {
  const std::vector<float> x = sample(-103.0f, 88.7f);
  std::vector<float> y(x.size());
  backend::exp_f32(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  std::int64_t worst = 0;
  float at = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto ref = static_cast<float>(std::exp(static_cast<double>(x[i])));
    const std::int64_t u = ulps(y[i], ref);
    if (u > worst) {
      worst = u;
      at = x[i];
    }
  }
  BOOST_TEST(worst <= 1, "worst " << worst << " ulp at x = " << at);
}

BOOST_AUTO_TEST_CASE(exp_special_values) {
  const std::vector<float> x{0.0f, -0.0f, 1.0f, -kInf, kInf, -200.0f, 100.0f, kNaN, -104.5f};
  std::vector<float> y(x.size());
  backend::exp_f32(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  BOOST_TEST(y[0] == 1.0f);
  BOOST_TEST(y[1] == 1.0f);
  BOOST_TEST(y[2] == static_cast<float>(std::exp(1.0)));
  BOOST_TEST(y[3] == 0.0f);
  BOOST_TEST(y[4] == kInf);
  BOOST_TEST(y[5] == 0.0f);
  BOOST_TEST(y[6] == kInf);
  BOOST_TEST(std::isnan(y[7]));
  BOOST_TEST(y[8] == 0.0f);
}

BOOST_AUTO_TEST_CASE(tanh_is_within_one_ulp_of_libm_double) {
  for (auto [lo, hi] : {std::pair{-12.0f, -1e-3f}, std::pair{1e-3f, 12.0f}, std::pair{-1e-3f, 1e-3f}}) {
    const std::vector<float> x = sample(lo, hi);
    std::vector<float> y(x.size());
    backend::tanh_f32(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
    std::int64_t worst = 0;
    float at = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const auto ref = static_cast<float>(std::tanh(static_cast<double>(x[i])));
      const std::int64_t u = ulps(y[i], ref);
      if (u > worst) {
        worst = u;
        at = x[i];
      }
    }
    BOOST_TEST(worst <= 1, "worst " << worst << " ulp at x = " << at);
  }
}

BOOST_AUTO_TEST_CASE(tanh_special_values) {
  const std::vector<float> x{0.0f, kInf, -kInf, 50.0f, -50.0f, kNaN, 1e-20f};
  std::vector<float> y(x.size());
  backend::tanh_f32(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  BOOST_TEST(y[0] == 0.0f);
  BOOST_TEST(y[1] == 1.0f);
  BOOST_TEST(y[2] == -1.0f);
  BOOST_TEST(y[3] == 1.0f);
  BOOST_TEST(y[4] == -1.0f);
  BOOST_TEST(std::isnan(y[5]));
  BOOST_TEST(y[6] == 1e-20f);
}

// An element's bits may not depend on where it sits: in the vector body of the loop or in its scalar
// tail (a thread's range can start anywhere). Each start offset 0..16 is checked against the element
// computed alone, which the scalar tail does.
BOOST_AUTO_TEST_CASE(every_position_gives_the_same_bits) {
  Generator gen(3);
  const Tensor values = randn({307}, gen) * 6.0;
  const std::vector<float> x(values.data<float>(), values.data<float>() + values.numel());
  const auto n = static_cast<std::int64_t>(x.size());
  for (auto [name, kernel] : {std::pair{"exp_f32", &backend::exp_f32}, std::pair{"tanh_f32", &backend::tanh_f32}}) {
    std::vector<float> alone(x.size());
    for (std::int64_t i = 0; i < n; ++i) kernel(&x[i], &alone[i], 1);
    for (std::int64_t start = 0; start <= 16; ++start) {
      std::vector<float> y(x.size());
      kernel(x.data() + start, y.data() + start, n - start);
      std::int64_t differ = 0, first = -1;
      for (std::int64_t i = start; i < n; ++i) {
        if (std::bit_cast<std::uint32_t>(y[i]) != std::bit_cast<std::uint32_t>(alone[i])) {
          ++differ;
          if (first < 0) first = i;
        }
      }
      BOOST_TEST(differ == 0, name << " from offset " << start << ": " << differ << " elements differ, first at "
                                   << first << " (x = " << (first < 0 ? 0.0f : x[first]) << ")");
    }
  }
}

// exp_f32 takes blocks of 32 inputs that all lie in [-87, 88] through a shorter path (exp_in_range):
// its results must be those of the general one, which an element computed alone takes. A dense sample
// of that range and its edges, in blocks; then the same blocks with one input outside the range (a
// NaN, an infinity, -100, 89), which sends the whole block through the general path.
BOOST_AUTO_TEST_CASE(exps_short_path_gives_the_general_paths_bits) {
  std::vector<float> x = sample(-87.0f, 88.0f);
  for (const float edge : {-87.0f, -86.99999f, 88.0f, 87.99999f, 0.0f, -0.0f, 1e-30f, -1e-30f}) x.push_back(edge);
  x.resize(x.size() / 32 * 32);
  const auto n = static_cast<std::int64_t>(x.size());
  std::vector<float> alone(x.size()), blocks(x.size());
  for (std::int64_t i = 0; i < n; ++i) backend::exp_f32(&x[i], &alone[i], 1);
  backend::exp_f32(x.data(), blocks.data(), n);
  std::int64_t differ = 0;
  for (std::int64_t i = 0; i < n; ++i) differ += std::bit_cast<std::uint32_t>(blocks[i]) != std::bit_cast<std::uint32_t>(alone[i]);
  BOOST_TEST(differ == 0, differ << " of " << n << " differ");
  for (const float outside : {kNaN, kInf, -kInf, -100.0f, 89.0f}) {
    std::vector<float> y(x.begin(), x.begin() + 64);
    y[37] = outside;
    backend::exp_f32(y.data(), y.data(), 64);  // in place, as softmax calls it
    for (std::size_t i = 0; i < y.size(); ++i) {
      if (i != 37) BOOST_TEST(std::bit_cast<std::uint32_t>(y[i]) == std::bit_cast<std::uint32_t>(alone[i]));
    }
  }
}

#if defined(__x86_64__)
// The reason positions and clones agree: no multiply-add in the library is fused into one FMA
// instruction, which rounds once where a multiply and an add round twice (lib/CMakeLists.txt,
// -ffp-contract=off). The AVX-512 clone cannot run on every machine, but its code can be read on any.
BOOST_AUTO_TEST_CASE(the_library_holds_no_fused_multiply_add) {
  Dl_info info{};
  BOOST_TEST_REQUIRE(dladdr(reinterpret_cast<void*>(&backend::tanh_f32), &info) != 0);
  const std::string command = fmt::format("objdump -d --no-show-raw-insn '{}' 2>&1", info.dli_fname);
  const std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  BOOST_TEST_REQUIRE(pipe != nullptr);
  std::map<std::string, int> fused;  // function -> FMA instructions in it
  std::string function, line;
  std::int64_t lines = 0;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe.get()) != nullptr) {
    line = buffer;
    ++lines;
    if (line.ends_with(">:\n")) function = line.substr(line.find('<'));
    for (const char* op : {"\tvfmadd", "\tvfmsub", "\tvfnmadd", "\tvfnmsub"}) {
      if (line.find(op) != std::string::npos) ++fused[function];
    }
  }
  BOOST_TEST_REQUIRE(lines > 1000, "objdump (binutils) did not disassemble " << info.dli_fname << ": " << line);
  std::string found;
  for (const auto& [where, count] : fused) found += fmt::format("{} in {}; ", count, where);
  BOOST_TEST(fused.empty(), "FMA instructions in " << info.dli_fname << ": " << found);
}
#endif

BOOST_AUTO_TEST_CASE(the_float32_ops_that_use_them_agree_with_float64) {
  Generator gen(2);
  const Tensor x = randn({7, 33}, gen, {.dtype = kFloat64}) * 4.0;
  check_close(tanh(x.to(kFloat32)), tanh(x), 2e-7);
  check_close(softmax(x.to(kFloat32), -1), softmax(x, -1), 1e-6);
  // tanh's one-pass backward: dX = dY (1 - Y^2).
  Tensor xf = x.to(kFloat32).requires_grad_();
  tanh(xf).sum().backward();
  const Tensor t = tanh(x);
  check_close(xf.grad(), 1.0 - t * t, 1e-6);
}

BOOST_AUTO_TEST_SUITE_END()
