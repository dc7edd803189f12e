// A product as oneDNN computes it (lib/backend/onednn_problem.cpp): how it is cut into pieces, and that
// the pieces cover the output exactly once. (That the pieces compute the right values, and the same bits
// at any thread count, is tested through matmul in test_onednn.cpp.)
#include "support/test.hpp"

#include <vector>

#include "backend/onednn_problem.hpp"
#include "backend/threads.hpp"

using namespace attograd;
using namespace attograd::backend::onednn;
using Along = Split::Along;

BOOST_AUTO_TEST_SUITE(onednn_problem)

BOOST_AUTO_TEST_CASE(a_small_product_is_one_piece) {
  const Split s = choose_split(1, 64, 2 * 64 * 64 * 64, 16);
  BOOST_TEST((s.along == Along::None));
  BOOST_TEST(s.count == 1);
}

BOOST_AUTO_TEST_CASE(a_large_product_is_cut_by_its_flops_and_never_by_threads) {
  const std::int64_t grain = backend::kMatmulGrainFlops;
  // Rows first when there is no batch: 2048 rows, 3 grains of work -> 4 pieces of 512 rows.
  Split s = choose_split(1, 2048, 3 * grain, 16);
  BOOST_TEST((s.along == Along::Rows));
  BOOST_TEST(s.count == 4);
  BOOST_TEST(s.size == 512);
  // The same at any thread setting: the cut reads the shapes only.
  for (int threads : {1, 2, 7}) {
    attograd::testing::ThreadCount guard(threads);
    const Split t = choose_split(1, 2048, 3 * grain, 16);
    BOOST_TEST((t.along == s.along && t.count == s.count && t.size == s.size));
  }
  // Never more than the machine's most, itself 2 to 16 (its processors).
  BOOST_TEST(choose_split(1, 1 << 20, 1000 * grain, 16).count == 16);
  BOOST_TEST(choose_split(1, 1 << 20, 1000 * grain, 2).count == 2);
  BOOST_TEST(max_pieces() >= 2);
  BOOST_TEST(max_pieces() <= 16);
}

BOOST_AUTO_TEST_CASE(the_batch_dim_is_cut_first_then_rows) {
  const std::int64_t work = 8 * backend::kMatmulGrainFlops;  // 9 pieces wanted
  BOOST_TEST((choose_split(128, 64, work, 16).along == Along::Batch));
  BOOST_TEST((choose_split(4, 1024, work, 16).along == Along::Rows));  // 4 batches are too few
  // Neither takes 9: the one that takes more, as many as it takes (320 rows: 5 pieces of 64).
  const Split s = choose_split(3, 320, work, 16);
  BOOST_TEST((s.along == Along::Rows));
  BOOST_TEST(s.count == 5);
  BOOST_TEST((choose_split(1, 127, work, 16).along == Along::None));  // fewer than 2 pieces of 64 rows
}

BOOST_AUTO_TEST_CASE(an_uneven_cut_has_a_shorter_last_piece) {
  const Split s = choose_split(1, 1000, 2 * 1000LL * 1000 * 1000, 16);
  BOOST_TEST((s.along == Along::Rows));
  std::int64_t covered = 0;
  for (std::int64_t i = 0; i < s.count; ++i) {
    BOOST_TEST(s.length(i) >= 1);
    BOOST_TEST(s.length(i) <= s.size);
    covered += s.length(i);
  }
  BOOST_TEST(covered == 1000);
  BOOST_TEST(s.length(s.count - 1) < s.size);  // 1000 rows in 15 pieces of 67: the last has 62
}

BOOST_AUTO_TEST_CASE(pieces_cover_the_output_once_and_read_the_right_operand_parts) {
  // c [6, 40, 30] = a [6, 40, 50]·b^T (b [6, 30, 50] transposed): cut along the batch; the bias [30] is
  // not cut.
  const Shape a_shape{6, 40, 50}, c_shape{6, 40, 30};
  const Strides a_strides{2000, 50, 1}, b_strides{1500, 1, 50};
  const std::int64_t flops = 2 * 6 * 40 * 30 * 50 * 1000;  // as if large, to force pieces
  const Problem p = make_problem(a_shape, a_strides, Shape{6, 50, 30}, b_strides, c_shape, flops);
  BOOST_TEST_REQUIRE((p.split.along == Along::Batch));
  std::vector<int> written(6 * 40 * 30, 0);
  for (std::int64_t i = 0; i < p.split.count; ++i) {
    const Piece piece = p.piece(i);
    const std::int64_t first = i * p.split.size;
    BOOST_TEST(piece.lhs_offset == first * 2000);
    BOOST_TEST(piece.rhs_offset == first * 1500);
    BOOST_TEST(piece.out_offset == first * 1200);
    BOOST_TEST(piece.bias_offset == 0);
    BOOST_TEST(piece.out.dims()[0] == p.split.length(i));
    for (std::int64_t e = 0; e < p.split.length(i) * 1200; ++e) ++written[static_cast<std::size_t>(piece.out_offset + e)];
  }
  for (int w : written) BOOST_TEST_REQUIRE(w == 1);
}

BOOST_AUTO_TEST_CASE(a_cut_along_rows_leaves_the_rhs_and_the_bias_whole) {
  // [4, 64, 100] folded into [256, 100] rows (b broadcasts along the batch), cut into pieces of rows.
  const Problem p = make_problem(Shape{4, 64, 100}, Strides{6400, 100, 1}, Shape{100, 300}, Strides{1, 100},
                                 Shape{4, 64, 300}, 100 * backend::kMatmulGrainFlops);
  BOOST_TEST_REQUIRE((p.split.along == Along::Rows));
  BOOST_TEST(p.rows == 256);
  const Piece second = p.piece(1);
  BOOST_TEST(second.lhs_offset == p.split.size * 100);
  BOOST_TEST(second.lhs_bf16_offset == p.split.size * 100);
  BOOST_TEST(second.out_offset == p.split.size * 300);
  BOOST_TEST(second.rhs_offset == 0);
  BOOST_TEST(second.rhs_bf16_offset == 0);
  BOOST_TEST(second.bias_offset == 0);
}

BOOST_AUTO_TEST_SUITE_END()
