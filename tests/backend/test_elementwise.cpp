// The elementwise kernels map, map2 and map3 on strided and broadcast operands, against a reference
// computed element by element through at() (which walks no runs and coalesces nothing).
#include "support/test.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

#include "backend/elementwise.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// Every index of a shape, row-major.
std::vector<std::vector<std::int64_t>> indices(const Shape& shape) {
  std::vector<std::vector<std::int64_t>> out;
  if (shape.numel() == 0) return out;
  std::vector<std::int64_t> i(shape.size(), 0);
  while (true) {
    out.push_back(i);
    int d = shape.rank() - 1;
    for (; d >= 0; --d) {
      if (++i[static_cast<std::size_t>(d)] < shape[d]) break;
      i[static_cast<std::size_t>(d)] = 0;
    }
    if (d < 0) return out;
  }
}

// Element `index` of t read as if broadcast to a shape of rank index.size().
double read_broadcast(const Tensor& t, const std::vector<std::int64_t>& index) {
  std::vector<std::int64_t> own;
  const std::size_t shift = index.size() - t.shape().size();
  for (int d = 0; d < t.dim(); ++d) own.push_back(t.shape()[d] == 1 ? 0 : index[shift + static_cast<std::size_t>(d)]);
  // at() takes a braced list, so compute the offset here.
  std::int64_t offset = t.offset();
  for (int d = 0; d < t.dim(); ++d) offset += own[static_cast<std::size_t>(d)] * t.strides()[d];
  return static_cast<double>(static_cast<const double*>(t.impl()->storage->data())[offset]);
}

double read(const Tensor& t, const std::vector<std::int64_t>& index) { return read_broadcast(t, index); }

}  // namespace

BOOST_AUTO_TEST_SUITE(backend_elementwise)

BOOST_AUTO_TEST_CASE(map_over_a_permuted_view_into_a_strided_output) {
  const Tensor x = arange(24.0, {.dtype = kFloat64}).reshape({2, 3, 4}).permute({2, 0, 1});  // [4, 2, 3]
  Tensor buffer = zeros({3, 2, 4}, {.dtype = kFloat64});
  Tensor out = buffer.permute({2, 1, 0});  // [4, 2, 3], strided too
  backend::map<double, double>(x, out, [](double v) { return v * v + 1.0; });
  for (const auto& i : indices(out.shape())) {
    const double v = read(x, i);
    BOOST_TEST_REQUIRE(read(out, i) == v * v + 1.0);
  }
  // And the buffer holds out's values where out put them.
  BOOST_TEST(buffer.at({2, 1, 3}) == out.at({3, 1, 2}));
}

BOOST_AUTO_TEST_CASE(map_broadcasts_its_input) {
  const Tensor row = tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64});
  Tensor out = empty({2, 3}, kFloat64);
  backend::map<double, double>(row, out, [](double v) { return -v; });
  check_values(out, {-1, -2, -3, -1, -2, -3});
  const Tensor col = tensor(std::vector<double>{5, 7}, {2, 1}, {.dtype = kFloat64});
  backend::map<double, double>(col, out, [](double v) { return v / 2; });
  check_values(out, {2.5, 2.5, 2.5, 3.5, 3.5, 3.5});
  const Tensor s = scalar_tensor(4.0, {.dtype = kFloat64});
  backend::map<double, double>(s, out, [](double v) { return std::sqrt(v); });
  check_values(out, {2, 2, 2, 2, 2, 2});
}

BOOST_AUTO_TEST_CASE(map_converts_between_types) {
  const Tensor f = tensor({-1.5, 0.0, 2.5});
  Tensor mask = empty({3}, kBool);
  backend::map<bool, float>(f, mask, [](float v) { return v > 0; });
  BOOST_TEST((mask.to_vector<bool>() == std::vector<bool>{false, false, true}));
  Tensor ids = empty({3}, kInt64);
  backend::map<std::int64_t, float>(f, ids, [](float v) { return static_cast<std::int64_t>(std::floor(v)); });
  BOOST_TEST((ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{-2, 0, 2}));
  // The wrong element type is a DTypeError, not a reinterpretation of the bytes.
  BOOST_CHECK_EXCEPTION((backend::map<double, double>(f, ids, [](double v) { return v; })), DTypeError,
                        has_message("data: asked for float64 elements of a float32 tensor"));
}

BOOST_AUTO_TEST_CASE(map2_every_stride_pattern) {
  // One output shape, operands in every layout the kernel has a path for: both unit stride, one
  // broadcast along the run (stride 0) on either side, and general strides.
  const Shape shape{3, 4};
  const Tensor full_a = arange(12.0, {.dtype = kFloat64}).reshape({3, 4});
  const Tensor full_b = arange(12.0, {.dtype = kFloat64}).reshape({4, 3}).mT();  // transposed
  const Tensor col = tensor(std::vector<double>{10, 20, 30}, {3, 1}, {.dtype = kFloat64});
  const Tensor row = tensor({0.5, 1.5, 2.5, 3.5}, {.dtype = kFloat64});
  const Tensor scalar = scalar_tensor(-1.0, {.dtype = kFloat64});
  const Tensor cut = arange(15.0, {.dtype = kFloat64}).reshape({3, 5}).narrow(1, 1, 4);  // rows with gaps
  const std::vector<Tensor> operands{full_a, full_b, col, row, scalar, cut};
  auto f = [](double x, double y) { return 3.0 * x - y * y; };
  for (std::size_t ia = 0; ia < operands.size(); ++ia) {
    for (std::size_t ib = 0; ib < operands.size(); ++ib) {
      const Tensor& a = operands[ia];
      const Tensor& b = operands[ib];
      Tensor out = empty(shape, kFloat64);
      backend::map2<double, double, double>(a, b, out, f);
      for (const auto& i : indices(shape)) {
        BOOST_TEST_REQUIRE(read(out, i) == f(read_broadcast(a, i), read_broadcast(b, i)),
                           fmt::format("operands {} and {}, index [{}]", ia, ib, fmt::join(i, ", ")));
      }
      // The same into a transposed output.
      Tensor buffer = empty({4, 3}, kFloat64);
      Tensor out_t = buffer.mT();
      backend::map2<double, double, double>(a, b, out_t, f);
      for (const auto& i : indices(shape)) BOOST_TEST_REQUIRE(read(out_t, i) == read(out, i));
    }
  }
}

BOOST_AUTO_TEST_CASE(map2_with_mixed_types_and_in_place) {
  const Tensor x = tensor({1.0, 2.0, 3.0});
  const Tensor mask = tensor_of<bool>({true, false, true}, {3});
  Tensor out = empty({3}, kFloat32);
  backend::map2<float, float, bool>(x, mask, out, [](float v, bool m) { return m ? v : 0.0f; });
  check_values(out, {1, 0, 3});
  // out aliasing an input (what add_into does): each element reads before it writes.
  Tensor acc = tensor({1.0, 1.0, 1.0});
  backend::map2<float, float, float>(acc, x, acc, [](float a, float b) { return a + b; });
  check_values(acc, {2, 3, 4});
}

BOOST_AUTO_TEST_CASE(map3_on_broadcast_and_strided_inputs) {
  // where(cond, a, b) with cond a column, a a transposed matrix, b a scalar, out a slice of a buffer.
  const Tensor cond = tensor_of<bool>({true, false}, {2, 1});
  const Tensor a = arange(6.0, {.dtype = kFloat64}).reshape({3, 2}).mT();  // [[0, 2, 4], [1, 3, 5]]
  const Tensor b = scalar_tensor(-9.0, {.dtype = kFloat64});
  Tensor buffer = zeros({2, 6}, {.dtype = kFloat64});
  Tensor out = buffer.slice(1, 0, 6, 2);
  backend::map3<double, bool, double, double>(cond, a, b, out, [](bool c, double x, double y) { return c ? x : y; });
  check_values(out, {0, 2, 4, -9, -9, -9});
  check_values(buffer, {0, 0, 2, 0, 4, 0, -9, 0, -9, 0, -9, 0});

  // A fused multiply-add over three differently laid out [2, 3, 4] operands.
  const Tensor p = arange(24.0, {.dtype = kFloat64}).reshape({4, 3, 2}).permute({2, 1, 0});
  const Tensor q = tensor({1.0, 2.0, 3.0, 4.0}, {.dtype = kFloat64});
  const Tensor r = tensor(std::vector<double>{100, 200}, {2, 1, 1}, {.dtype = kFloat64});
  Tensor fma = empty({2, 3, 4}, kFloat64);
  backend::map3<double, double, double, double>(p, q, r, fma, [](double x, double y, double z) { return x * y + z; });
  for (const auto& i : indices(fma.shape())) {
    BOOST_TEST_REQUIRE(read(fma, i) == read_broadcast(p, i) * read_broadcast(q, i) + read_broadcast(r, i));
  }
}

BOOST_AUTO_TEST_CASE(empty_and_rank_zero_outputs) {
  Tensor none = empty({0, 3}, kFloat64);
  int calls = 0;
  backend::map<double, double>(zeros({3}, {.dtype = kFloat64}), none, [&](double v) { ++calls; return v; });
  BOOST_TEST(calls == 0);
  Tensor one = empty({}, kFloat64);
  backend::map2<double, double, double>(scalar_tensor(2.0, {.dtype = kFloat64}), scalar_tensor(5.0, {.dtype = kFloat64}),
                                        one, [](double x, double y) { return x * y; });
  BOOST_TEST(one.item() == 10.0);
}

BOOST_AUTO_TEST_SUITE_END()
