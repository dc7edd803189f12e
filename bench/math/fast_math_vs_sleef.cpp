// attograd's float32 exp and tanh (lib/backend/fast_math.cpp) against SLEEF's, the vector math library
// PyTorch uses (Debian's libsleef-dev), and glibc's scalar expf and tanhf: the error of each on every
// one of the 2^32 float32 inputs, whether SLEEF's builds for different CPUs give the same bits, and
// the time per element on one thread. `./dev bench math` runs it; docs/performance.md keeps a run.
//
//   fast_math_vs_sleef [--threads N] [--out FILE]
//
// Error: against glibc's double-precision exp and tanh of the same input (themselves within one double
// ulp), in units of the float32 ulp at the true value; "not correctly rounded" counts results other than
// that double rounded to float (a double so close to a midpoint that rounding it twice misleads is
// possible but needs it within about 2^-29 ulp of one). Special: a NaN, infinity or overflow the true
// value does not have, or the other way round.
#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "backend/fast_math.hpp"
#include "math/sleef_variants.hpp"

using namespace bench::math;

namespace {

struct Candidate {
  std::string function;
  std::string name;
  ArrayFn fn;
  bool baseline = false;  // the build the others' bits are compared with
};

void glibc_expf(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
void glibc_tanhf(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

bool cpu_runs(const SleefVariant& v) {
  if (v.needs_avx2 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return false;
  if (v.needs_avx && !__builtin_cpu_supports("avx")) return false;
  if (v.needs_sse4 && !__builtin_cpu_supports("sse4.1")) return false;
  return true;
}

// The float32 ulp at the magnitude of v (2^-149 among the subnormals), from v's exponent bits: frexp
// and ldexp calls here were most of the sweep's time.
double float_ulp(double v) {
  const auto exponent = static_cast<int>((std::bit_cast<std::uint64_t>(v) >> 52) & 0x7ff) - 1023;  // |v| in [2^e, 2^(e+1))
  const int k = std::max(exponent - 23, -149);
  return std::bit_cast<double>(static_cast<std::uint64_t>(k + 1023) << 52);
}

struct Stats {
  double max_ulp = 0;
  float worst_input = 0;
  std::uint64_t not_correctly_rounded = 0;
  std::uint64_t special = 0;
  float first_special_input = 0;
  std::uint64_t bits_differ = 0;  // from the baseline's results; two NaNs are alike

  void merge(const Stats& o) {
    if (o.max_ulp > max_ulp) max_ulp = o.max_ulp, worst_input = o.worst_input;
    if (special == 0 && o.special > 0) first_special_input = o.first_special_input;
    not_correctly_rounded += o.not_correctly_rounded;
    special += o.special;
    bits_differ += o.bits_differ;
  }
};

bool same_bits(float a, float b) {
  return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b) || (std::isnan(a) && std::isnan(b));
}

// The result of one candidate on a block, scored against the double reference.
void score(const Candidate& cand, const std::vector<float>& x, const std::vector<double>& ref, const std::vector<double>& ulp,
           const std::vector<float>& base, std::vector<float>& y, Stats& s) {
  const auto n = static_cast<std::int64_t>(x.size());
  cand.fn(x.data(), y.data(), n);
  for (std::int64_t i = 0; i < n; ++i) {
    const double r = ref[i];
    const float rf = static_cast<float>(r);
    const float v = y[i];
    if (!same_bits(v, base[i])) ++s.bits_differ;
    const bool bad_special = std::isnan(r) != std::isnan(v) || (!std::isnan(r) && std::isinf(rf) != std::isinf(v));
    if (bad_special) {
      if (s.special++ == 0) s.first_special_input = x[i];
      continue;
    }
    if (std::isnan(r) || std::isinf(rf)) continue;  // both NaN, or both overflow to the same infinity
    if (std::bit_cast<std::uint32_t>(v) != std::bit_cast<std::uint32_t>(rf)) ++s.not_correctly_rounded;
    const double err = std::fabs(static_cast<double>(v) - r) / ulp[i];
    if (err > s.max_ulp) s.max_ulp = err, s.worst_input = x[i];
  }
}

// Every candidate for one function on a block; base is the function's baseline's results (SLEEF's
// AVX2 build), which the other builds' bits are compared with.
void score_block(const std::vector<Candidate>& cands, const std::vector<float>& x, const std::vector<double>& ref,
                 const std::string& function, std::vector<double>& ulp, std::vector<float>& base, std::vector<float>& y,
                 std::vector<Stats>& stats) {
  const auto n = static_cast<std::int64_t>(x.size());
  for (std::int64_t i = 0; i < n; ++i) ulp[i] = float_ulp(ref[i]);
  for (const auto& c : cands)
    if (c.function == function && c.baseline) c.fn(x.data(), base.data(), n);
  for (std::size_t c = 0; c < cands.size(); ++c)
    if (cands[c].function == function) score(cands[c], x, ref, ulp, base, y, stats[c]);
}

// Every float32 bit pattern, in blocks taken by `threads` workers; stats[c] for candidate c.
std::vector<Stats> sweep(const std::vector<Candidate>& cands, unsigned threads) {
  constexpr std::uint64_t kBlock = 1u << 16;
  constexpr std::uint64_t kBlocks = (std::uint64_t{1} << 32) / kBlock;
  std::atomic<std::uint64_t> next{0};
  std::vector<std::vector<Stats>> per_thread(threads, std::vector<Stats>(cands.size()));
  auto work = [&](unsigned t) {
    std::vector<float> x(kBlock), y(kBlock), base(kBlock);
    std::vector<double> ref(kBlock), ulp(kBlock);
    for (std::uint64_t b; (b = next.fetch_add(1)) < kBlocks;) {
      for (std::uint64_t i = 0; i < kBlock; ++i) x[i] = std::bit_cast<float>(static_cast<std::uint32_t>(b * kBlock + i));
      for (std::uint64_t i = 0; i < kBlock; ++i) ref[i] = std::exp(static_cast<double>(x[i]));
      score_block(cands, x, ref, "exp", ulp, base, y, per_thread[t]);
      for (std::uint64_t i = 0; i < kBlock; ++i) ref[i] = std::tanh(static_cast<double>(x[i]));
      score_block(cands, x, ref, "tanh", ulp, base, y, per_thread[t]);
      if ((b + 1) % (kBlocks / 16) == 0) fmt::print(stderr, "fast_math_vs_sleef: {}/16 of the inputs\n", (b + 1) / (kBlocks / 16));
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work, t);
  for (auto& th : pool) th.join();
  std::vector<Stats> total(cands.size());
  for (const auto& pt : per_thread)
    for (std::size_t c = 0; c < cands.size(); ++c) total[c].merge(pt[c]);
  return total;
}

// Nanoseconds per element over 4,096 inputs (in L1), the fastest of 15 rounds of about 20 ms each.
double ns_per_element(ArrayFn fn, const std::vector<float>& x) {
  using Clock = std::chrono::steady_clock;
  std::vector<float> y(x.size());
  const auto n = static_cast<std::int64_t>(x.size());
  std::int64_t reps = 1;
  for (;;) {
    const auto t0 = Clock::now();
    for (std::int64_t r = 0; r < reps; ++r) fn(x.data(), y.data(), n);
    if (std::chrono::duration<double>(Clock::now() - t0).count() > 0.02) break;
    reps *= 2;
  }
  double best = 1e30;
  for (int round = 0; round < 15; ++round) {
    const auto t0 = Clock::now();
    for (std::int64_t r = 0; r < reps; ++r) {
      fn(x.data(), y.data(), n);
      asm volatile("" : : "r"(y.data()) : "memory");  // the results count: keep every call
    }
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(reps * n));
  }
  return best * 1e9;
}

std::vector<float> uniform(float lo, float hi) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(4096);
  for (float& f : v) f = d(gen);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = static_cast<unsigned>(std::max(1, std::atoi(argv[++i])));
    } else if (a == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else {
      fmt::print(stderr, "fast_math_vs_sleef: unknown argument '{}'; usage: fast_math_vs_sleef [--threads N] [--out FILE]\n", a);
      return 2;
    }
  }
  std::vector<Candidate> cands = {{"exp", "attograd backend::exp_f32", attograd::backend::exp_f32},
                                  {"tanh", "attograd backend::tanh_f32", attograd::backend::tanh_f32},
                                  {"exp", "glibc expf (scalar)", glibc_expf},
                                  {"tanh", "glibc tanhf (scalar)", glibc_tanhf}};
  std::vector<std::string> skipped;
  for (const auto& v : sleef_variants()) {
    const bool baseline = v.name == "Sleef_expf8_u10avx2" || v.name == "Sleef_tanhf8_u10avx2";
    if (cpu_runs(v)) cands.push_back({v.function, v.name, v.fn, baseline});
    else if (baseline) {
      fmt::print(stderr, "fast_math_vs_sleef: this CPU lacks AVX2 and FMA, which SLEEF's builds are compared against\n");
      return 1;
    }
    else skipped.push_back(v.name);
  }
  const bool avx512 = __builtin_cpu_supports("avx512f");

  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<Stats> stats = sweep(cands, threads);
  const double sweep_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const std::vector<float> exp_in = uniform(-20.0f, 0.0f), tanh_in = uniform(-3.0f, 3.0f);
  std::string report = fmt::format(
      "All 2^32 float32 inputs ({} threads, {:.0f} s); time per element on one thread, 4,096 inputs in L1 "
      "(exp on [-20, 0], as softmax calls it; tanh on [-3, 3]), fastest of 15 rounds.\n"
      "Bits differ: inputs whose result is not the same bits as SLEEF's AVX2 build of the same function at 1.0 ulp "
      "(Sleef_expf8_u10avx2, Sleef_tanhf8_u10avx2; two NaNs count as alike).\n\n"
      "| function | implementation | max error (ulp) | at x | not correctly rounded | special wrong | bits differ from SLEEF AVX2 u10 | ns per element |\n"
      "|---|---|---|---|---|---|---|---|\n",
      threads, sweep_s);
  for (std::size_t c = 0; c < cands.size(); ++c) {
    const Stats& s = stats[c];
    const double ns = ns_per_element(cands[c].fn, cands[c].function == "exp" ? exp_in : tanh_in);
    report += fmt::format("| {} | {} | {:.3f} | {:.9g} | {} | {}{} | {} | {:.3f} |\n", cands[c].function, cands[c].name,
                          s.max_ulp, s.worst_input, s.not_correctly_rounded, s.special,
                          s.special ? fmt::format(" (first at x = {:.9g})", s.first_special_input) : "", s.bits_differ, ns);
  }
  if (!skipped.empty()) report += fmt::format("\nNot run (this CPU lacks their instructions): {}.\n", fmt::join(skipped, ", "));
  if (!avx512) report += "SLEEF's AVX-512 builds (Sleef_expf16_u10avx512f, ...) not run: this CPU has no AVX-512F.\n";
  fmt::print("{}", report);
  if (!out.empty()) {
    std::ofstream f(out);
    f << report;
    if (!f) {
      fmt::print(stderr, "fast_math_vs_sleef: cannot write '{}'\n", out);
      return 1;
    }
  }
  return 0;
}
