// attograd's own kernels on more than one thread (lib/backend/threads.hpp): parallel_for's ranges and
// errors, and, for every kernel that splits its work, the same bits on one thread and on two, with the
// parallel path proven to have run.
#include "support/test.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <mutex>
#include <vector>

#include "backend/threads.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// The values of a float32, float64 or int64 tensor, as raw bytes: "the same" below means bit for bit.
std::vector<unsigned char> bytes(const Tensor& t) {
  const Tensor c = t.contiguous();
  std::vector<unsigned char> out(c.nbytes());
  const void* data = c.dtype() == kFloat32   ? static_cast<const void*>(c.data<float>())
                     : c.dtype() == kFloat64 ? static_cast<const void*>(c.data<double>())
                                             : static_cast<const void*>(c.data<std::int64_t>());
  if (!out.empty()) std::memcpy(out.data(), data, out.size());
  return out;
}

// Runs f on one thread and on two; checks that the two gave the same bits, and that the two-thread
// run went parallel (or, with splits = false, that it stayed on one thread). f makes its own inputs
// from a fixed seed, so that both runs see the same ones.
void check_same_on_two_threads(const std::function<std::vector<Tensor>()>& f, bool splits = true) {
  std::vector<Tensor> one, two;
  {
    ThreadCount t(1);
    const std::uint64_t before = backend::parallel_regions();
    one = f();
    BOOST_TEST(backend::parallel_regions() == before);  // one thread: never a parallel region
  }
  {
    ThreadCount t(2);
    const std::uint64_t before = backend::parallel_regions();
    two = f();
    if (splits) {
      BOOST_TEST(backend::parallel_regions() > before);
    } else {
      BOOST_TEST(backend::parallel_regions() == before);
    }
  }
  BOOST_TEST_REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    BOOST_TEST_INFO("result " << i);
    BOOST_TEST(bytes(one[i]) == bytes(two[i]));
  }
}

// Large enough to be split: 512 x 1024 elements, twice the grain.
constexpr std::int64_t kRows = 512, kCols = 1024;
static_assert(kRows * kCols == 2 * backend::kParallelGrain);

}  // namespace

BOOST_AUTO_TEST_SUITE(parallel)

BOOST_AUTO_TEST_CASE(parallel_for_covers_every_index_once_in_contiguous_ranges) {
  ThreadCount t(2);
  for (std::int64_t n : {2, 3, 7, 1000}) {
    std::mutex m;
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
    const std::uint64_t before = backend::parallel_regions();
    backend::parallel_for(n, backend::kParallelGrain, [&](std::int64_t begin, std::int64_t end) {
      const std::lock_guard lock(m);
      ranges.emplace_back(begin, end);
    });
    BOOST_TEST(backend::parallel_regions() == before + 1);
    std::sort(ranges.begin(), ranges.end());
    BOOST_TEST_INFO("n = " << n);
    // kPartsPerThread ranges per thread (fewer when n is smaller), in order, sizes differing by at most one
    const auto parts = static_cast<std::size_t>(std::min<std::int64_t>(n, 2 * backend::kPartsPerThread));
    BOOST_TEST_REQUIRE(ranges.size() == parts);
    BOOST_TEST(ranges.front().first == 0);
    for (std::size_t i = 1; i < ranges.size(); ++i) BOOST_TEST(ranges[i - 1].second == ranges[i].first);
    BOOST_TEST(ranges.back().second == n);
    BOOST_TEST(ranges.front().second - ranges.front().first - (ranges.back().second - ranges.back().first) <= 1);
  }
}

BOOST_AUTO_TEST_CASE(small_work_and_one_thread_stay_on_the_calling_thread) {
  for (auto [threads, work] : {std::pair{2, backend::kParallelGrain - 1}, std::pair{1, backend::kParallelGrain}}) {
    ThreadCount t(threads);
    int calls = 0;
    std::int64_t seen_begin = -1, seen_end = -1;
    const std::uint64_t before = backend::parallel_regions();
    backend::parallel_for(10, work, [&](std::int64_t begin, std::int64_t end) {
      ++calls;
      seen_begin = begin;
      seen_end = end;
    });
    BOOST_TEST(calls == 1);
    BOOST_TEST(seen_begin == 0);
    BOOST_TEST(seen_end == 10);
    BOOST_TEST(backend::parallel_regions() == before);
  }
  int calls = 0;
  backend::parallel_for(0, backend::kParallelGrain, [&](std::int64_t, std::int64_t) { ++calls; });
  BOOST_TEST(calls == 0);  // nothing to do: no call
}

BOOST_AUTO_TEST_CASE(an_exception_in_a_range_reaches_the_caller) {
  ThreadCount t(2);
  BOOST_CHECK_EXCEPTION(backend::parallel_for(100, backend::kParallelGrain,
                                              [](std::int64_t begin, std::int64_t) {
                                                if (begin > 0) throw ValueError("kernel: the second range failed");
                                              }),
                        ValueError, has_message("kernel: the second range failed"));
}

BOOST_AUTO_TEST_CASE(elementwise_kernels_give_the_same_bits) {
  Generator gen(11);
  for (DType dtype : {kFloat32, kFloat64}) {
    const Tensor a = randn({kRows, kCols}, gen, {.dtype = dtype});
    const Tensor b = randn({kCols}, gen, {.dtype = dtype});
    const Tensor c = randn({kRows, 1}, gen, {.dtype = dtype});
    check_same_on_two_threads([&] {
      return std::vector<Tensor>{exp(a), tanh(a), sigmoid(a), a + b, a * c, where(a > 0.0, a, b), a.transpose(0, 1) * 2.0,
                                 a.to(kFloat64 == dtype ? kFloat32 : kFloat64)};
    });
  }
}

// 65 x 1027 elements: split by elements (exp, tanh) or by rows (the other elementwise loops), the
// second thread's range starts at element 33378 or 33891, off any 4-, 8- or 16-lane vector boundary,
// so that an element computed in one run's vector body falls in a scalar tail in the other (where a
// fused multiply-add once made 1 float32 tanh in 90 differ by an ulp).
BOOST_AUTO_TEST_CASE(elementwise_forward_and_backward_give_the_same_bits_at_any_split) {
  for (DType dtype : {kFloat32, kFloat64}) {
    check_same_on_two_threads([&] {
      Generator gen(17);
      const Tensor x = randn({kRows + 1, kCols + 3}, gen, {.dtype = dtype, .requires_grad = true});
      const Tensor b = randn({kCols + 3}, gen, {.dtype = dtype, .requires_grad = true});
      const Tensor w = randn({kRows + 1, kCols + 3}, gen, {.dtype = dtype});
      const Tensor y = exp(x) + tanh(x) * b + sigmoid(x) - gelu(x) + relu(x) / (abs(x) + 1.0) + sqrt(x * x + 1.0);
      sum(y * w).backward();
      const Tensor t = tanh(x.detach() * 3.0);
      return std::vector<Tensor>{exp(x.detach()), t, y, x.grad(), b.grad()};
    });
  }
}

BOOST_AUTO_TEST_CASE(broadcast_outputs_and_small_tensors_are_not_split) {
  Generator gen(12);
  const Tensor small = randn({16, 16}, gen);
  check_same_on_two_threads([&] { return std::vector<Tensor>{exp(small), small + small}; }, false);
}

BOOST_AUTO_TEST_CASE(sums_along_kept_dims_give_the_same_bits) {
  Generator gen(13);
  for (DType dtype : {kFloat32, kFloat64}) {
    const Tensor x = randn({8, kRows, kCols / 8}, gen, {.dtype = dtype});
    check_same_on_two_threads([&] {
      return std::vector<Tensor>{sum(x, {0}), sum(x, {1}), sum(x, {2}), sum(x, {0, 2}, true), mean(x, {1}),
                                 max(x, {2}), argmax(x, 1)};
    });
  }
  // A sum to one value stays on one thread (splitting it would change the order of its terms).
  const Tensor x = randn({kRows, kCols}, gen);
  check_same_on_two_threads([&] { return std::vector<Tensor>{sum(x)}; }, false);
}

BOOST_AUTO_TEST_CASE(softmax_forward_and_backward_give_the_same_bits) {
  for (DType dtype : {kFloat32, kFloat64}) {
    check_same_on_two_threads([&] {
      Generator gen(14);
      const Tensor x = randn({kRows, kCols}, gen, {.dtype = dtype, .requires_grad = true});
      const Tensor y = softmax(x, -1);
      const Tensor weights = randn({kRows, kCols}, gen, {.dtype = dtype});
      sum(y * weights).backward();
      return std::vector<Tensor>{y, x.grad(), log_softmax(x.detach(), -1), softmax(x.detach().reshape({8, kRows / 8, kCols}), 1)};
    });
    // The attention form: scaled, with a causal mask, on [B, H, T, T] scores.
    check_same_on_two_threads([&] {
      Generator gen(15);
      const Tensor q = randn({2, 2, 256, 16}, gen, {.dtype = dtype, .requires_grad = true});
      const Tensor k = randn({2, 2, 256, 16}, gen, {.dtype = dtype});
      const Tensor v = randn({2, 2, 256, 16}, gen, {.dtype = dtype});
      const AttentionResult r = scaled_dot_product_attention_with_weights(q, k, v, causal_mask(256));
      sum(r.output * r.output).backward();
      return std::vector<Tensor>{r.output, r.weights, q.grad()};
    });
  }
}

BOOST_AUTO_TEST_CASE(layer_norm_forward_and_backward_give_the_same_bits) {
  for (DType dtype : {kFloat32, kFloat64}) {
    check_same_on_two_threads([&] {
      Generator gen(16);
      const Tensor x = randn({kRows, kCols}, gen, {.dtype = dtype, .requires_grad = true});
      const Tensor w = randn({kCols}, gen, {.dtype = dtype, .requires_grad = true});
      const Tensor b = randn({kCols}, gen, {.dtype = dtype, .requires_grad = true});
      const Tensor y = layer_norm(x, {kCols}, w, b);
      sum(y * randn({kRows, kCols}, gen, {.dtype = dtype})).backward();
      return std::vector<Tensor>{y, x.grad(), w.grad(), b.grad()};
    });
  }
}

BOOST_AUTO_TEST_SUITE_END()
