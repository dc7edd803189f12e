// Attention's float32 softmax rows (lib/backend/softmax_rows.cpp) against the plain loops they
// replaced, written here one operation per pass: the same bits, for every row length from 1 to 40 (the
// vector body and every tail), with no mask, a causal mask, masks with holes, fully masked rows, and
// the rows the fast loop hands back (NaN, +inf).
#include "support/test.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "backend/fast_math.hpp"
#include "backend/row_sum.hpp"
#include "backend/softmax_rows.hpp"

using namespace attograd;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::size_t at(std::int64_t r) { return static_cast<std::size_t>(r); }

// The general loop's steps: q = c s, -inf where masked; max; q - max; exp; sum on four chains; scale.
std::vector<float> plain_forward(const std::vector<float>& s, const std::vector<char>& mask, float c) {
  const std::int64_t n = static_cast<std::int64_t>(s.size());
  std::vector<float> q(s.size());
  for (std::size_t r = 0; r < s.size(); ++r) q[r] = mask[r] ? -kInf : s[r] * c;
  float m = -kInf;
  for (const float v : q) m = v > m ? v : m;
  if (m == -kInf) return std::vector<float>(s.size(), 0.0f);
  for (float& v : q) v -= m;
  backend::exp_f32(q.data(), q.data(), n);
  const double total = backend::row_sum(n, [&](std::int64_t r) { return static_cast<double>(q[at(r)]); });
  const float inv = static_cast<float>(1.0 / total);
  for (float& v : q) v *= inv;
  return q;
}

std::vector<float> plain_backward(const std::vector<float>& a, const std::vector<float>& da, float c) {
  const std::int64_t n = static_cast<std::int64_t>(a.size());
  const double sum = backend::row_sum(n, [&](std::int64_t r) { return static_cast<double>(da[at(r)] * a[at(r)]); });
  const float t = static_cast<float>(sum);
  std::vector<float> ds(a.size());
  for (std::size_t r = 0; r < a.size(); ++r) ds[r] = a[r] * (da[r] - t) * c;
  return ds;
}

bool same_bits(const std::vector<float>& x, const std::vector<float>& y) {
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(softmax_rows_f32)

BOOST_AUTO_TEST_CASE(forward_and_backward_give_the_plain_loops_bits) {
  Generator gen(21);
  int rows = 0;
  for (std::int64_t n = 1; n <= 40; ++n) {
    const Tensor values = randn({4, n}, gen) * 5.0;
    for (int kind = 0; kind < 4; ++kind) {  // none, causal at a few queries, holes, all masked
      for (std::int64_t query : {std::int64_t{0}, n / 3, n - 1}) {
        std::vector<float> s(static_cast<std::size_t>(n)), da(s.size());
        std::vector<char> mask(s.size(), 0);
        for (std::int64_t r = 0; r < n; ++r) {
          s[static_cast<std::size_t>(r)] = static_cast<float>(values.at({0, r}));
          da[static_cast<std::size_t>(r)] = static_cast<float>(values.at({1, r}));
          const bool holes = values.at({2, r}) > 0.5;
          mask[static_cast<std::size_t>(r)] = kind == 1 ? r > query : kind == 2 ? holes : kind == 3;
        }
        std::unique_ptr<bool[]> m(new bool[s.size()]);
        for (std::size_t r = 0; r < s.size(); ++r) m[r] = mask[r] != 0;
        const float c = 0.35f;
        std::vector<float> a(s.size(), 123.0f);
        BOOST_TEST_REQUIRE(backend::scaled_masked_row_f32(s.data(), kind == 0 ? nullptr : m.get(), 1, c, a.data(), n));
        BOOST_TEST_INFO("n " << n << ", mask kind " << kind << ", query " << query);
        BOOST_TEST(same_bits(a, plain_forward(s, mask, c)));
        std::vector<float> ds(s.size());
        backend::softmax_backward_row_f32(a.data(), da.data(), c, ds.data(), n);
        BOOST_TEST(same_bits(ds, plain_backward(a, da, c)));
        ++rows;
      }
    }
  }
  BOOST_TEST(rows == 40 * 4 * 3);
}

BOOST_AUTO_TEST_CASE(reads_the_mask_with_its_step_and_hands_back_nan_and_inf_rows) {
  // A row of a mask read with a step of 3 (a column of a row-major [3, 3]): keys 1 and 2 masked.
  const bool column_major[9] = {false, false, false, true, false, true, true, false, true};
  const float s[3] = {1.0f, 2.0f, 3.0f};
  float a[3];
  BOOST_TEST_REQUIRE(backend::scaled_masked_row_f32(s, column_major, 3, 1.0f, a, 3));
  BOOST_TEST(a[0] == 1.0f);
  BOOST_TEST(a[1] == 0.0f);
  BOOST_TEST(a[2] == 0.0f);
  const float with_nan[3] = {1.0f, std::numeric_limits<float>::quiet_NaN(), 3.0f};
  BOOST_TEST(!backend::scaled_masked_row_f32(with_nan, nullptr, 1, 1.0f, a, 3));
  const float with_inf[3] = {1.0f, kInf, 3.0f};
  BOOST_TEST(!backend::scaled_masked_row_f32(with_inf, nullptr, 1, 1.0f, a, 3));
  // A NaN under the mask is never read as a score.
  const bool last_masked[3] = {false, false, true};
  const float nan_masked[3] = {1.0f, 1.0f, std::numeric_limits<float>::quiet_NaN()};
  BOOST_TEST_REQUIRE(backend::scaled_masked_row_f32(nan_masked, last_masked, 1, 1.0f, a, 3));
  BOOST_TEST(a[0] == 0.5f);
  BOOST_TEST(a[2] == 0.0f);
}

BOOST_AUTO_TEST_CASE(row_max_and_row_sum_match_the_scalar_loops) {
  // Every length from 0 to 40 (the vector body and every tail), with a NaN, an infinity or -inf
  // planted at each position in turn: the max is the scalar loop's (NaN winning), the sum row_sum's bits.
  Generator gen(22);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), kInf, -kInf, 1e30f};
  for (std::int64_t n = 0; n <= 40; ++n) {
    const Tensor values = randn({n == 0 ? 1 : n}, gen) * 3.0;
    for (const float special : specials) {
      for (std::int64_t at_r = -1; at_r < n; ++at_r) {
        std::vector<float> p(static_cast<std::size_t>(n));
        for (std::int64_t r = 0; r < n; ++r) p[at(r)] = r == at_r ? special : static_cast<float>(values.at({r}));
        float m = -kInf;
        bool nan = false;
        for (const float v : p) {
          m = v > m ? v : m;
          nan |= v != v;
        }
        const float got = backend::row_max_f32(p.data(), n);
        BOOST_TEST_INFO("n " << n << ", special " << special << " at " << at_r);
        BOOST_TEST((nan ? got != got : got == m));
        const double want = backend::row_sum(n, [&](std::int64_t r) { return static_cast<double>(p[at(r)]); });
        const double sum = backend::row_sum_f32(p.data(), n);
        BOOST_TEST((std::memcmp(&sum, &want, sizeof sum) == 0 || (sum != sum && want != want)));
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
