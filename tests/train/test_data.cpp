// Batches: every row once per epoch, the same rows across tensors, seeded order, the last batch, errors.
#include "support/test.hpp"

#include <set>

#include <attograd/train/data.hpp>

using namespace attograd;
using namespace attograd::train;
using namespace attograd::testing;

BOOST_AUTO_TEST_CASE(an_epoch_visits_every_row_once_and_keeps_tensors_aligned) {
  Tensor x = arange(10.0, {.dtype = kFloat64}).reshape({10, 1}) * 2.0;
  Tensor y = arange(10.0, {.dtype = kInt64});
  Generator gen(1);
  Batches batches({x, y}, 4, gen);
  BOOST_TEST(batches.batches_per_epoch() == 3);
  std::multiset<std::int64_t> seen;
  for (int b = 0; b < 3; ++b) {
    auto [xb, yb] = batches.next2();
    BOOST_TEST(xb.size(0) == (b < 2 ? 4 : 2));  // the last batch holds what is left
    for (std::int64_t i = 0; i < yb.size(0); ++i) {
      seen.insert(yb.at<std::int64_t>({i}));
      BOOST_TEST(xb.at({i, 0}) == 2.0 * yb.at<double>({i}));  // rows stay paired
    }
  }
  BOOST_TEST(seen.size() == 10u);
  BOOST_TEST(std::set<std::int64_t>(seen.begin(), seen.end()).size() == 10u);
  BOOST_TEST(batches.epoch() == 0);
  batches.next();
  BOOST_TEST(batches.epoch() == 1);
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_batches) {
  Tensor y = arange(20.0, {.dtype = kInt64});
  Generator g1(7), g2(7), g3(8);
  Batches a({y}, 5, g1), b({y}, 5, g2), c({y}, 5, g3);
  bool all_same_as_c = true;
  for (int i = 0; i < 8; ++i) {
    const auto va = a.next()[0].to_vector<std::int64_t>();
    BOOST_TEST(va == b.next()[0].to_vector<std::int64_t>());
    all_same_as_c = all_same_as_c && va == c.next()[0].to_vector<std::int64_t>();
  }
  BOOST_TEST(!all_same_as_c);
}

BOOST_AUTO_TEST_CASE(unshuffled_and_drop_last) {
  Tensor y = arange(7.0, {.dtype = kInt64});
  Generator gen(0);
  Batches batches({y}, 3, gen, {.shuffle = false, .drop_last = true});
  BOOST_TEST(batches.batches_per_epoch() == 2);
  BOOST_TEST((batches.next()[0].to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2}));
  BOOST_TEST((batches.next()[0].to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 4, 5}));
  BOOST_TEST((batches.next()[0].to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2}));  // 6 dropped
}

BOOST_AUTO_TEST_CASE(errors) {
  Generator gen(0);
  BOOST_CHECK_EXCEPTION(Batches({ones({4, 2}), ones({3})}, 2, gen), ShapeError,
                        has_message("Batches: tensor 1 has 3 rows (shape [3]) but tensor 0 has 4 (shape [4, 2])"));
  BOOST_CHECK_EXCEPTION(Batches({ones({4})}, 0, gen), ValueError, has_message("batch_size must be >= 1, got 0"));
  BOOST_CHECK_EXCEPTION(Batches({}, 2, gen), ValueError, has_message("needs at least one tensor"));
  BOOST_CHECK_EXCEPTION(Batches({ones({0, 2})}, 2, gen), ShapeError, has_message("the data has no rows"));
  Batches one({ones({4})}, 2, gen);
  BOOST_CHECK_EXCEPTION(one.next2(), ValueError, has_message("next2() needs exactly two tensors, this holds 1"));
}
