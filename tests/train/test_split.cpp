// stratified_split: every row in one part, each class split in proportion, the same indices for the same
// seed (and pinned: the documented algorithm, which other tools reproduce, must not drift), rows_of,
// write_split's file, bad arguments.
#include "support/test.hpp"

#include <algorithm>
#include <map>

#include <attograd/train/split.hpp>

#include "io/temp_dir.hpp"

using namespace attograd;
using namespace attograd::train;
using namespace attograd::testing;

namespace {

// 10 rows of class 0, 20 of class 1, 5 of class 7, interleaved.
Tensor some_labels() {
  std::vector<std::int64_t> y;
  for (int i = 0; i < 35; ++i) y.push_back(i < 15 ? i % 3 == 0 ? 7 : 1 : i % 2 == 0 ? 0 : 1);
  return tensor_of<std::int64_t>(y, {35});
}

std::map<std::int64_t, int> count(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& y) {
  std::map<std::int64_t, int> counts;
  for (const std::int64_t r : rows) ++counts[y[static_cast<std::size_t>(r)]];
  return counts;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_row_once_and_each_class_in_proportion) {
  const Tensor labels = some_labels();
  const auto y = labels.to_vector<std::int64_t>();
  BOOST_TEST_REQUIRE((count({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
                             25, 26, 27, 28, 29, 30, 31, 32, 33, 34},
                            y) == std::map<std::int64_t, int>{{0, 10}, {1, 20}, {7, 5}}));
  const Split s = stratified_split(labels, 3, {.validation = 0.2, .test = 0.3});
  std::vector<std::int64_t> all;
  for (const auto* part : {&s.train, &s.validation, &s.test}) {
    BOOST_TEST(std::is_sorted(part->begin(), part->end()));
    all.insert(all.end(), part->begin(), part->end());
  }
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> expected(35);
  for (std::int64_t i = 0; i < 35; ++i) expected[static_cast<std::size_t>(i)] = i;
  BOOST_TEST(all == expected);
  // round(n * f) = floor(n * f + 0.5) per class: test 3, 6, 1.5 -> 2; validation 2, 4, 1.
  BOOST_TEST((count(s.test, y) == std::map<std::int64_t, int>{{0, 3}, {1, 6}, {7, 2}}));
  BOOST_TEST((count(s.validation, y) == std::map<std::int64_t, int>{{0, 2}, {1, 4}, {7, 1}}));
  BOOST_TEST((count(s.train, y) == std::map<std::int64_t, int>{{0, 5}, {1, 10}, {7, 2}}));
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_documented_indices) {
  const Tensor labels = some_labels();
  const Split a = stratified_split(labels, 3, {.validation = 0.2, .test = 0.3});
  const Split b = stratified_split(labels, 3, {.validation = 0.2, .test = 0.3});
  const Split c = stratified_split(labels, 4, {.validation = 0.2, .test = 0.3});
  BOOST_TEST(a.test == b.test);
  BOOST_TEST(a.validation == b.validation);
  BOOST_TEST(a.test != c.test);
  // Pinned: these are what docs/data.md's Python reference prints for the same labels and seed. A change
  // here breaks every split written before it.
  BOOST_TEST(a.test == (std::vector<std::int64_t>{3, 7, 8, 9, 11, 15, 22, 25, 28, 30, 33}), "test part: " << fmt::format("{}", fmt::join(a.test, ", ")));
  BOOST_TEST(a.validation == (std::vector<std::int64_t>{2, 4, 10, 12, 23, 24, 26}),
             "validation part: " << fmt::format("{}", fmt::join(a.validation, ", ")));
}

BOOST_AUTO_TEST_CASE(fractions_at_the_edges) {
  const Tensor labels = some_labels();
  const Split none = stratified_split(labels, 0, {.validation = 0, .test = 0});
  BOOST_TEST(none.train.size() == 35u);
  BOOST_TEST(none.test.empty());
  // A class of one row goes to test when round(1 * test) = 1; the others take nothing from it.
  const Split one = stratified_split(tensor_of<std::int64_t>({5, 6, 6, 6}, {4}), 0, {.validation = 0.4, .test = 0.5});
  BOOST_TEST(std::count(one.test.begin(), one.test.end(), 0) == 1);
  BOOST_TEST(one.test.size() + one.validation.size() + one.train.size() == 4u);
}

BOOST_AUTO_TEST_CASE(rows_of_and_write_split) {
  const Tensor x = arange(12.0).reshape({6, 2});
  check_values(rows_of(x, {4, 0}), {8, 9, 0, 1}, 0);
  TempDir dir;
  const Tensor labels = tensor_of<std::int64_t>({1, 0, 1, 0}, {4});
  write_split(dir / "split.csv", Split{.train = {0, 1}, .validation = {3}, .test = {2}}, labels);
  BOOST_TEST(read_bytes(dir / "split.csv") == "index,label,part\n0,1,train\n1,0,train\n2,1,test\n3,0,validation\n");
  BOOST_CHECK_EXCEPTION(write_split(dir / "s.csv", Split{.train = {0, 1}, .validation = {3}, .test = {}}, labels),
                        ValueError, has_message("write_split: row 2 is in no part of the split"));
  BOOST_CHECK_EXCEPTION(write_split(dir / "s.csv", Split{.train = {0, 1, 2}, .validation = {3}, .test = {1}}, labels),
                        ValueError, has_message("write_split: row 1 is in train and in test"));
  BOOST_CHECK_EXCEPTION(write_split(dir / "s.csv", Split{.train = {0, 1, 2, 3, 4}}, labels), ValueError,
                        has_message("write_split: train holds row 4, outside the 4 labels"));
}

BOOST_AUTO_TEST_CASE(bad_arguments) {
  const Tensor labels = some_labels();
  BOOST_CHECK_EXCEPTION(stratified_split(labels, 0, {.validation = 0.5, .test = 0.5}), ValueError,
                        has_message("fractions must be >= 0 with validation + test < 1 (train gets the rest), got "
                                    "validation 0.5 and test 0.5"));
  BOOST_CHECK_EXCEPTION(stratified_split(labels, 0, {.validation = -0.1}), ValueError, has_message("validation -0.1"));
  BOOST_CHECK_EXCEPTION(stratified_split(labels, 0, {.test = std::nan("")}), ValueError, has_message("test nan"));
  BOOST_CHECK_EXCEPTION(stratified_split(labels.to(kFloat32), 0), DTypeError,
                        has_message("stratified_split: labels must be int64 class labels, got float32"));
  BOOST_CHECK_EXCEPTION(stratified_split(labels.reshape({5, 7}), 0), ShapeError,
                        has_message("stratified_split: labels must be [N], got [5, 7]"));
}
