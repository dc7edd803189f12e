// The strided walk under every elementwise kernel: coalesce() and for_each_run() must visit exactly the
// offsets a naive row-major index loop visits, for any layout (permuted, sliced, broadcast, size 0/1).
#include "support/test.hpp"

#include <array>
#include <cstdint>
#include <vector>

#include "core/strided.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// Offsets of each operand, element by element in row-major order of shape: the reference.
template <int N>
std::array<std::vector<std::int64_t>, N> naive(const Shape& shape, const std::array<Strides, N>& strides) {
  std::array<std::vector<std::int64_t>, N> out;
  if (shape.numel() == 0) return out;
  std::vector<std::int64_t> index(shape.size(), 0);
  while (true) {
    for (int k = 0; k < N; ++k) {
      std::int64_t off = 0;
      for (int d = 0; d < shape.rank(); ++d) off += index[static_cast<std::size_t>(d)] * strides[k][d];
      out[k].push_back(off);
    }
    int d = shape.rank() - 1;
    for (; d >= 0; --d) {
      if (++index[static_cast<std::size_t>(d)] < shape[d]) break;
      index[static_cast<std::size_t>(d)] = 0;
    }
    if (d < 0) return out;
  }
}

// The same offsets as for_each_run hands them out, one run at a time.
template <int N>
std::array<std::vector<std::int64_t>, N> walked(const Shape& shape, const std::array<Strides, N>& strides,
                                                int* runs = nullptr) {
  std::array<std::vector<std::int64_t>, N> out;
  int count = 0;
  for_each_run<N>(shape, strides, [&](const auto& off, std::int64_t n, const auto& step) {
    ++count;
    for (int k = 0; k < N; ++k) {
      for (std::int64_t i = 0; i < n; ++i) out[k].push_back(off[k] + i * step[k]);
    }
  });
  if (runs) *runs = count;
  return out;
}

template <int N>
void check_walk(const Shape& shape, const std::array<Strides, N>& strides) {
  const auto expected = naive<N>(shape, strides);
  const auto actual = walked<N>(shape, strides);
  for (int k = 0; k < N; ++k) {
    BOOST_TEST(actual[k] == expected[k], boost::test_tools::per_element());
    if (actual[k] != expected[k]) {
      BOOST_TEST_MESSAGE(fmt::format("shape {} operand {} strides {}", shape, k, strides[k]));
      return;
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(strided)

BOOST_AUTO_TEST_CASE(contiguous_data_is_one_run) {
  const Loop<1> loop = coalesce<1>(Shape{2, 3, 4}, {Strides{12, 4, 1}});
  BOOST_TEST((loop.shape == Shape{24}));
  BOOST_TEST((loop.strides[0] == Strides{1}));
  int runs = 0;
  walked<1>(Shape{2, 3, 4}, {Strides{12, 4, 1}}, &runs);
  BOOST_TEST(runs == 1);
}

BOOST_AUTO_TEST_CASE(coalesce_drops_size_one_dims_and_merges_only_where_every_operand_allows) {
  // Size-1 dims vanish whatever their stride.
  const Loop<1> a = coalesce<1>(Shape{1, 3, 1, 2}, {Strides{99, 2, 77, 1}});
  BOOST_TEST((a.shape == Shape{6}));
  BOOST_TEST((a.strides[0] == Strides{1}));

  // A transpose cannot merge.
  const Loop<1> t = coalesce<1>(Shape{3, 2}, {Strides{1, 3}});
  BOOST_TEST((t.shape == Shape{3, 2}));
  BOOST_TEST((t.strides[0] == Strides{1, 3}));

  // Two operands: the output is contiguous, the input is broadcast along dim 0 (stride 0). Dims 1 and
  // 2 merge in both; dim 0 does not merge with them in the input.
  const Loop<2> b = coalesce<2>(Shape{4, 2, 3}, {Strides{6, 3, 1}, Strides{0, 3, 1}});
  BOOST_TEST((b.shape == Shape{4, 6}));
  BOOST_TEST((b.strides[0] == Strides{6, 1}));
  BOOST_TEST((b.strides[1] == Strides{0, 1}));

  // Broadcast along two neighbouring dims: stride 0 next to stride 0 merges.
  const Loop<2> c = coalesce<2>(Shape{2, 3, 5}, {Strides{15, 5, 1}, Strides{0, 0, 1}});
  BOOST_TEST((c.shape == Shape{6, 5}));
  BOOST_TEST((c.strides[1] == Strides{0, 1}));

  // Every dim of size 1: a single element, rank 0.
  BOOST_TEST(coalesce<1>(Shape{1, 1}, {Strides{5, 9}}).shape.rank() == 0);
}

BOOST_AUTO_TEST_CASE(rank_zero_is_one_element_and_size_zero_is_none) {
  int runs = 0;
  const auto one = walked<2>(Shape{}, {Strides{}, Strides{}}, &runs);
  BOOST_TEST(runs == 1);
  BOOST_TEST((one[0] == std::vector<std::int64_t>{0}));
  BOOST_TEST((one[1] == std::vector<std::int64_t>{0}));

  for (const Shape& s : {Shape{0}, Shape{2, 0, 3}, Shape{3, 1, 0}}) {
    walked<1>(s, {contiguous_strides(s)}, &runs);
    BOOST_TEST(runs == 0);
  }
  // A size-0 dim next to a broadcast dim (stride 0, which would merge with it).
  walked<2>(Shape{0, 4}, {Strides{4, 1}, Strides{0, 0}}, &runs);
  BOOST_TEST(runs == 0);
}

BOOST_AUTO_TEST_CASE(permuted_and_sliced_layouts_match_a_naive_loop) {
  check_walk<1>(Shape{3, 2}, {Strides{1, 3}});                       // transpose
  check_walk<1>(Shape{2, 3, 4}, {Strides{1, 8, 2}});                 // permute(2, 0, 1) of [3, 4, 2]
  check_walk<1>(Shape{2, 2}, {Strides{10, 2}});                      // slice with step 2 of [2, 10]
  check_walk<1>(Shape{3, 4}, {Strides{5, 1}});                       // narrow of [3, 5] rows
  check_walk<1>(Shape{2, 1, 3}, {Strides{3, 1, 1}});                 // size-1 dim with odd stride
  check_walk<2>(Shape{3, 4}, {Strides{4, 1}, Strides{1, 3}});        // contiguous out, transposed in
  check_walk<3>(Shape{2, 3, 4}, {Strides{12, 4, 1}, Strides{0, 4, 1}, Strides{4, 0, 1}});  // broadcasts
  check_walk<2>(Shape{5, 6, 7}, {Strides{42, 7, 1}, Strides{-42, 7, -1}});  // reversed (negative strides)
  check_walk<1>(Shape{2, 2, 2, 2, 2, 2, 2, 2}, {Strides{1, 2, 4, 8, 16, 32, 64, 128}});  // rank 8, reversed
}

BOOST_AUTO_TEST_CASE(random_layouts_match_a_naive_loop) {
  // Random shapes (sizes 0..4, rank 0..6), each operand a random permutation, step and broadcast of a
  // contiguous base: every combination the kernels meet.
  Generator gen(77);
  for (int trial = 0; trial < 400; ++trial) {
    const int rank = static_cast<int>(gen.below(7));
    const bool allow_empty = trial % 10 == 0;
    Shape shape;
    for (int d = 0; d < rank; ++d) {
      shape.push_back(static_cast<std::int64_t>(allow_empty ? gen.below(5) : 1 + gen.below(4)));
    }
    std::array<Strides, 3> strides;
    for (auto& st : strides) {
      // Dims laid out in a random memory order, each stepped by 1 or 2 (a slice), one in five broadcast.
      std::vector<int> order;
      for (int d = 0; d < rank; ++d) order.push_back(d);
      for (std::size_t d = order.size(); d > 1; --d) std::swap(order[d - 1], order[gen.below(d)]);
      st.resize(rank, 0);
      std::int64_t step = 1;
      for (int d : order) {
        const auto skip = static_cast<std::int64_t>(1 + gen.below(2));
        st[d] = gen.below(5) == 0 ? 0 : step * skip;
        step *= std::max<std::int64_t>(shape[d], 1) * skip;
      }
    }
    check_walk<3>(shape, strides);
  }
}

BOOST_AUTO_TEST_CASE(tensor_views_read_through_for_each_run) {
  // The same check on real views: to_vector() walks with for_each_run<1>.
  const Tensor base = arange(120.0, {.dtype = kFloat64}).reshape({2, 3, 4, 5});
  const Tensor v = base.permute({3, 1, 0, 2}).slice(0, 1, 5, 2).narrow(3, 1, 2);
  const std::vector<double> values = v.to_vector();
  std::vector<double> expected;
  for (std::int64_t a = 0; a < v.size(0); ++a) {
    for (std::int64_t b = 0; b < v.size(1); ++b) {
      for (std::int64_t c = 0; c < v.size(2); ++c) {
        for (std::int64_t d = 0; d < v.size(3); ++d) expected.push_back(v.at({a, b, c, d}));
      }
    }
  }
  BOOST_TEST(values == expected, boost::test_tools::per_element());
  // And at() agrees with the base: v[a, b, c, d] = base[c, b, d + 1, 2a + 1].
  BOOST_TEST(v.at({1, 2, 0, 1}) == base.at({0, 2, 2, 3}));
}

BOOST_AUTO_TEST_CASE(broadcast_strides_zero_the_broadcast_dims) {
  // [3] read as [2, 3]: a new leading dim of stride 0.
  BOOST_TEST((broadcast_strides(Shape{3}, Strides{1}, Shape{2, 3}) == Strides{0, 1}));
  // [2, 1] read as [4, 2, 5]: the size-1 dim gets stride 0 whatever its stride was.
  BOOST_TEST((broadcast_strides(Shape{2, 1}, Strides{7, 1}, Shape{4, 2, 5}) == Strides{0, 7, 0}));
  // The same shape keeps its strides, including a transpose's.
  BOOST_TEST((broadcast_strides(Shape{3, 2}, Strides{1, 3}, Shape{3, 2}) == Strides{1, 3}));
  BOOST_TEST((broadcast_strides(Shape{}, Strides{}, Shape{2, 2}) == Strides{0, 0}));
}

BOOST_AUTO_TEST_SUITE_END()
