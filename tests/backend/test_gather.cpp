// backend/gather: row gathers and scatter-adds by id, picking one column per row, and the index
// checks the ops run before them.
#include "support/test.hpp"

#include "backend/gather.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {
Tensor ids_of(const std::vector<std::int64_t>& v, const Shape& shape) { return tensor_of<std::int64_t>(v, shape); }
}  // namespace

BOOST_AUTO_TEST_SUITE(gather)

BOOST_AUTO_TEST_CASE(first_out_of_range_finds_the_first_bad_index_in_row_major_order) {
  const Tensor ids = ids_of({0, 2, 5, -1, 3, 1}, {2, 3});
  BOOST_TEST(backend::first_out_of_range(ids, 6) == 3);   // -1 at [1, 0]
  BOOST_TEST(backend::first_out_of_range(ids, 5) == 2);   // 5 at [0, 2]
  BOOST_TEST(backend::first_out_of_range(ids, 5, -1) == 2);
  BOOST_TEST(backend::first_out_of_range(ids, 6, -1) == -1);  // -1 skipped, everything else < 6
  // A transposed view is read in its own row-major order: [[0, -1], [2, 3], [5, 1]].
  BOOST_TEST(backend::first_out_of_range(ids.transpose(0, 1), 5) == 1);
  BOOST_TEST(backend::first_out_of_range(ids_of({}, {0}), 3) == -1);
  BOOST_TEST(backend::first_out_of_range(ids_of({7}, {}), 3) == 0);
}

BOOST_AUTO_TEST_CASE(unravel_index_counts_row_major) {
  BOOST_TEST((backend::unravel_index(5, {2, 3}) == Shape{1, 2}));
  BOOST_TEST((backend::unravel_index(0, {2, 3}) == Shape{0, 0}));
  BOOST_TEST((backend::unravel_index(7, {2, 2, 2}) == Shape{1, 1, 1}));
  BOOST_TEST((backend::unravel_index(0, {}) == Shape{}));
}

BOOST_AUTO_TEST_CASE(gather_rows_copies_the_chosen_rows) {
  const Tensor table = tensor({{0.0, 1.0}, {10.0, 11.0}, {20.0, 21.0}}, {.dtype = kFloat64});
  Tensor out = empty({4, 2}, kFloat64);
  backend::gather_rows(table, ids_of({2, 0, 2, 1}, {4}), out);
  check_values(out, {20, 21, 0, 1, 20, 21, 10, 11}, 0.0);

  // A transposed table (strided columns) and strided ids.
  const Tensor t = tensor({{0.0, 10.0, 20.0}, {1.0, 11.0, 21.0}}).transpose(0, 1);  // the same [3, 2] values
  const Tensor ids = ids_of({1, 9, 2, 9}, {4}).slice(0, 0, 4, 2);                   // [1, 2]
  Tensor out32 = empty({2, 2}, kFloat32);
  backend::gather_rows(t, ids, out32);
  check_values(out32, {10, 11, 20, 21}, 0.0);
}

BOOST_AUTO_TEST_CASE(scatter_add_rows_accumulates_repeated_ids) {
  Tensor table = zeros({3, 2}, {.dtype = kFloat64});
  const Tensor src = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}, {7.0, 8.0}}, {.dtype = kFloat64});
  backend::scatter_add_rows(src, ids_of({2, 0, 2, 2}, {4}), table);
  // row 0 gets src[1]; row 1 nothing; row 2 gets src[0] + src[2] + src[3]
  check_values(table, {3, 4, 0, 0, 13, 16}, 0.0);
  // It adds to what is there, and reads a strided (transposed) source.
  backend::scatter_add_rows(tensor({{1.0, 2.0}, {10.0, 20.0}}, {.dtype = kFloat64}).transpose(0, 1),
                            ids_of({1, 1}, {2}), table);
  // src rows are [1, 10] and [2, 20]: both into row 1
  check_values(table, {3, 4, 3, 30, 13, 16}, 0.0);
}

BOOST_AUTO_TEST_CASE(pick_columns_takes_one_element_per_row_and_skips_ignored_rows) {
  const Tensor x = tensor({{0.5, 1.5, 2.5}, {3.5, 4.5, 5.5}, {6.5, 7.5, 8.5}}, {.dtype = kFloat64});
  Tensor out = empty({3}, kFloat64);
  backend::pick_columns(x, ids_of({2, -100, 0}, {3}), -100, out);
  check_values(out, {2.5, 0.0, 6.5}, 0.0);
  // strided x: columns of the transpose are rows of x
  backend::pick_columns(x.transpose(0, 1), ids_of({1, 1, 2}, {3}), -100, out);
  check_values(out, {3.5, 4.5, 8.5}, 0.0);
}

BOOST_AUTO_TEST_CASE(add_at_columns_is_the_adjoint_of_pick_columns) {
  Tensor dx = zeros({3, 3}, {.dtype = kFloat64});
  const Tensor g = tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64});
  backend::add_at_columns(g, ids_of({2, 7, 2}, {3}), 7, dx);
  check_values(dx, {0, 0, 1, 0, 0, 0, 0, 0, 3}, 0.0);
  // a broadcast (stride-0) gradient, as sum's backward hands over
  backend::add_at_columns(scalar_tensor(0.5, {.dtype = kFloat64}).expand({3}), ids_of({0, 0, 1}, {3}), 7, dx);
  check_values(dx, {0.5, 0, 1, 0.5, 0, 0, 0, 0.5, 3}, 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
