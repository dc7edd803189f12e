// Shape: construction, rank limits, indexing, editing, strides, dim normalisation, broadcasting, printing.
#include "support/test.hpp"

#include <array>
#include <vector>

using namespace attograd;
using namespace attograd::testing;

namespace {
std::vector<std::int64_t> dims_of(const Shape& s) { return {s.begin(), s.end()}; }
}  // namespace

BOOST_AUTO_TEST_SUITE(shape)

BOOST_AUTO_TEST_CASE(construction_and_numel) {
  const Shape scalar;
  BOOST_TEST(scalar.rank() == 0);
  BOOST_TEST(scalar.empty());
  BOOST_TEST(scalar.numel() == 1);  // a rank-0 tensor holds one value

  const Shape s{2, 3, 4};
  BOOST_TEST(s.rank() == 3);
  BOOST_TEST(s.size() == 3u);
  BOOST_TEST(!s.empty());
  BOOST_TEST(s.numel() == 24);
  BOOST_TEST((dims_of(s) == std::vector<std::int64_t>{2, 3, 4}));

  const std::array<std::int64_t, 2> raw{5, 7};
  const Shape from_span{std::span<const std::int64_t>(raw)};
  BOOST_TEST((from_span == Shape{5, 7}));
  BOOST_TEST(from_span.numel() == 35);

  BOOST_TEST((Shape{3, 0, 2}.numel() == 0));
}

BOOST_AUTO_TEST_CASE(ranks_zero_to_eight_and_the_rank_nine_error) {
  Shape s;
  for (int r = 1; r <= kMaxRank; ++r) {
    s.push_back(r);
    BOOST_TEST(s.rank() == r);
  }
  BOOST_TEST(s.numel() == 40320);  // 8!
  BOOST_TEST(s[7] == 8);
  BOOST_CHECK_EXCEPTION(s.push_back(9), ShapeError, has_message("shape: rank 9 exceeds the maximum rank 8"));
  BOOST_TEST(s.rank() == 8);  // the failed push left the shape as it was

  const Shape eight{1, 2, 3, 4, 5, 6, 7, 8};
  BOOST_TEST(eight.rank() == 8);
  BOOST_CHECK_EXCEPTION((Shape{1, 2, 3, 4, 5, 6, 7, 8, 9}), ShapeError,
                        has_message("shape: rank 9 exceeds the maximum rank 8"));
  const std::array<std::int64_t, 9> nine{};
  BOOST_CHECK_EXCEPTION(Shape{std::span<const std::int64_t>(nine)}, ShapeError, has_message("rank 9"));

  Shape copy = eight;
  BOOST_CHECK_EXCEPTION(copy.insert(0, 1), ShapeError, has_message("rank 9 exceeds"));
  BOOST_CHECK_EXCEPTION(copy.resize(9), ShapeError, has_message("rank 9 exceeds"));
  BOOST_TEST((copy == eight));
}

BOOST_AUTO_TEST_CASE(negative_indices_count_from_the_end) {
  Shape s{2, 3, 4};
  BOOST_TEST(s[-1] == 4);
  BOOST_TEST(s[-2] == 3);
  BOOST_TEST(s[-3] == 2);
  BOOST_TEST(s[0] == 2);
  s[-1] = 9;
  BOOST_TEST(s[2] == 9);
  s[0] = 7;
  BOOST_TEST((s == Shape{7, 3, 9}));
}

BOOST_AUTO_TEST_CASE(insert_erase_resize) {
  Shape s{2, 3};
  s.insert(0, 5);
  BOOST_TEST((s == Shape{5, 2, 3}));
  s.insert(3, 7);  // at the end
  BOOST_TEST((s == Shape{5, 2, 3, 7}));
  s.insert(2, 1);  // in the middle
  BOOST_TEST((s == Shape{5, 2, 1, 3, 7}));
  s.erase(0);
  BOOST_TEST((s == Shape{2, 1, 3, 7}));
  s.erase(3);
  BOOST_TEST((s == Shape{2, 1, 3}));
  s.erase(1);
  BOOST_TEST((s == Shape{2, 3}));

  s.resize(4);  // new dims take the fill value, 1 by default
  BOOST_TEST((s == Shape{2, 3, 1, 1}));
  s.resize(5, 6);
  BOOST_TEST((s == Shape{2, 3, 1, 1, 6}));
  s.resize(1);
  BOOST_TEST((s == Shape{2}));
  s.resize(0);
  BOOST_TEST(s.empty());
}

BOOST_AUTO_TEST_CASE(equality_compares_rank_and_every_dim) {
  BOOST_TEST((Shape{2, 3} == Shape{2, 3}));
  BOOST_TEST(!(Shape{2, 3} == Shape{3, 2}));
  BOOST_TEST(!(Shape{2, 3} == Shape{2, 3, 1}));
  BOOST_TEST(!(Shape{1} == Shape{}));
  BOOST_TEST((Shape{} == Shape{}));
  // Dims past the rank do not count: a shape shrunk back equals a fresh one.
  Shape shrunk{4, 5, 6};
  shrunk.resize(1);
  BOOST_TEST((shrunk == Shape{4}));
  BOOST_TEST((Shape{2, 3} != Shape{2, 4}));
}

BOOST_AUTO_TEST_CASE(contiguous_strides_are_row_major) {
  BOOST_TEST((contiguous_strides(Shape{2, 3, 4}) == Strides{12, 4, 1}));
  BOOST_TEST((contiguous_strides(Shape{5}) == Strides{1}));
  BOOST_TEST(contiguous_strides(Shape{}).rank() == 0);
  BOOST_TEST((contiguous_strides(Shape{3, 1, 2}) == Strides{2, 2, 1}));
  // A size-0 dim counts as 1, as in PyTorch, so that the other strides stay meaningful.
  BOOST_TEST((contiguous_strides(Shape{2, 0, 3}) == Strides{3, 3, 1}));
}

BOOST_AUTO_TEST_CASE(normalize_dim_accepts_minus_rank_to_rank_minus_one) {
  BOOST_TEST(normalize_dim("sum", 0, 2) == 0);
  BOOST_TEST(normalize_dim("sum", 1, 2) == 1);
  BOOST_TEST(normalize_dim("sum", -1, 2) == 1);
  BOOST_TEST(normalize_dim("sum", -2, 2) == 0);
  // Rank 0 accepts 0 and -1, as in PyTorch.
  BOOST_TEST(normalize_dim("sum", 0, 0) == 0);
  BOOST_TEST(normalize_dim("sum", -1, 0) == 0);

  BOOST_CHECK_EXCEPTION(normalize_dim("sum", 3, 2), IndexError,
                        has_message("sum: dim 3 is out of range for a tensor of rank 2 (expected -2..1)"));
  BOOST_CHECK_EXCEPTION(normalize_dim("sum", 2, 2), IndexError, has_message("sum: dim 2 is out of range"));
  BOOST_CHECK_EXCEPTION(normalize_dim("softmax", -3, 2), IndexError,
                        has_message("softmax: dim -3 is out of range for a tensor of rank 2 (expected -2..1)"));
  BOOST_CHECK_EXCEPTION(normalize_dim("mean", 1, 0), IndexError,
                        has_message("mean: dim 1 is out of range for a tensor of rank 0 (expected -1..0)"));
}

BOOST_AUTO_TEST_CASE(broadcast_shapes_follows_numpy) {
  BOOST_TEST((broadcast_shapes("add", Shape{2, 3}, Shape{2, 3}) == Shape{2, 3}));
  BOOST_TEST((broadcast_shapes("add", Shape{2, 3}, Shape{3}) == Shape{2, 3}));
  BOOST_TEST((broadcast_shapes("add", Shape{3}, Shape{2, 3}) == Shape{2, 3}));
  BOOST_TEST((broadcast_shapes("add", Shape{2, 1}, Shape{1, 3}) == Shape{2, 3}));
  BOOST_TEST((broadcast_shapes("add", Shape{4, 1, 5}, Shape{3, 1}) == Shape{4, 3, 5}));
  BOOST_TEST((broadcast_shapes("add", Shape{}, Shape{2, 3}) == Shape{2, 3}));
  BOOST_TEST((broadcast_shapes("add", Shape{2, 3}, Shape{}) == Shape{2, 3}));
  BOOST_TEST((broadcast_shapes("add", Shape{1}, Shape{}) == Shape{1}));
  // A size-1 dim broadcasts to 0; 0 against 0 is 0.
  BOOST_TEST((broadcast_shapes("add", Shape{0, 3}, Shape{1, 3}) == Shape{0, 3}));
  BOOST_TEST((broadcast_shapes("mul", Shape{1, 0}, Shape{5, 1}) == Shape{5, 0}));
}

BOOST_AUTO_TEST_CASE(broadcast_error_names_op_shapes_and_dim) {
  BOOST_CHECK_EXCEPTION(broadcast_shapes("add", Shape{2, 3}, Shape{4}), ShapeError,
                        has_message("add: shapes [2, 3] and [4] cannot be broadcast: dim -1 is 3 vs 4"));
  BOOST_CHECK_EXCEPTION(broadcast_shapes("mul", Shape{5, 2, 3}, Shape{4, 3}), ShapeError,
                        has_message("mul: shapes [5, 2, 3] and [4, 3] cannot be broadcast: dim -2 is 2 vs 4"));
  // The first clashing dim from the right is named.
  BOOST_CHECK_EXCEPTION(broadcast_shapes("where", Shape{2, 3}, Shape{4, 5}), ShapeError,
                        has_message("dim -1 is 3 vs 5"));
  BOOST_CHECK_EXCEPTION(broadcast_shapes("sub", Shape{0}, Shape{2}), ShapeError, has_message("dim -1 is 0 vs 2"));
}

BOOST_AUTO_TEST_CASE(fmt_prints_brackets_and_commas) {
  BOOST_TEST(fmt::format("{}", Shape{2, 3}) == "[2, 3]");
  BOOST_TEST(fmt::format("{}", Shape{7}) == "[7]");
  BOOST_TEST(fmt::format("{}", Shape{}) == "[]");
  BOOST_TEST(fmt::format("{}", Shape{1, 2, 3, 4, 5, 6, 7, 8}) == "[1, 2, 3, 4, 5, 6, 7, 8]");
  BOOST_TEST(fmt::format("shape {} here", Shape{0, 1}) == "shape [0, 1] here");
  BOOST_TEST(fmt::format("{}", kFloat64) == "float64");
  BOOST_TEST(fmt::format("{} {} {}", kFloat32, kInt64, kBool) == "float32 int64 bool");
}

BOOST_AUTO_TEST_SUITE_END()
