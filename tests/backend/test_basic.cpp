// The untemplated kernels under the engine and the in-place ops: copy, copy_into, fill, add_into,
// scale_into, add. They work on values only, on any layout.
#include "support/test.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend/basic.hpp"

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(backend_basic)

BOOST_AUTO_TEST_CASE(copy_makes_contiguous_storage_of_any_view) {
  const Tensor base = arange(12.0).reshape({3, 4});
  const Tensor view = base.mT().slice(0, 1, 4, 2);  // rows 1 and 3 of the transpose: [[1, 5, 9], [3, 7, 11]]
  Tensor c = backend::copy(view, kFloat32);
  BOOST_TEST((c.shape() == Shape{2, 3}));
  BOOST_TEST(c.is_contiguous());
  BOOST_TEST(c.offset() == 0);
  BOOST_TEST(c.impl()->storage != base.impl()->storage);
  BOOST_TEST(c.impl()->storage->bytes() == 24u);
  BOOST_TEST((std::vector<float>(c.data<float>(), c.data<float>() + 6) == std::vector<float>{1, 5, 9, 3, 7, 11}));
  Tensor e = backend::copy(tensor({2.0}).expand({2, 3}), kFloat64);
  BOOST_TEST((e.strides() == Strides{3, 1}));
  check_values(e, {2, 2, 2, 2, 2, 2});
}

BOOST_AUTO_TEST_CASE(copy_converts_dtypes) {
  const Tensor f = tensor({-2.75, -0.5, 0.0, 0.5, 3.9}, {.dtype = kFloat64});
  // To int64: truncation toward zero, as a C++ cast and PyTorch do.
  BOOST_TEST((backend::copy(f, kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{-2, 0, 0, 0, 3}));
  // To bool: non-zero is true.
  BOOST_TEST((backend::copy(f, kBool).to_vector<bool>() == std::vector<bool>{true, true, false, true, true}));
  // float64 to float32 rounds to nearest.
  const Tensor third = backend::copy(tensor({1.0 / 3.0}, {.dtype = kFloat64}), kFloat32);
  BOOST_TEST((third.dtype() == kFloat32));
  BOOST_TEST(third.data<float>()[0] == static_cast<float>(1.0 / 3.0));
  // Back up: float32 values are exact in float64.
  const Tensor up = backend::copy(tensor({0.1}), kFloat64);
  BOOST_TEST(up.data<double>()[0] == static_cast<double>(0.1f));
  // From bool and int64.
  check_values(backend::copy(tensor_of<bool>({true, false}, {2}), kFloat32), {1.0, 0.0});
  const std::int64_t big = (std::int64_t{1} << 53) + 1;  // not a double: rounds to 2^53
  BOOST_TEST(backend::copy(tensor_of<std::int64_t>({big}, {1}), kFloat64).data<double>()[0] == 0x1.0p53);
  BOOST_TEST(backend::copy(tensor_of<std::int64_t>({big}, {1}), kInt64).data<std::int64_t>()[0] == big);
}

BOOST_AUTO_TEST_CASE(a_float_without_an_int64_value_is_refused) {
  // Casting NaN, infinity or a float beyond 2^63 to int64 is undefined behaviour in C++ (on x86 it gave
  // INT64_MIN); the conversion now says so instead.
  BOOST_CHECK_EXCEPTION(backend::copy(tensor({1.0, NAN}), kInt64), ValueError,
                        has_message("conversion to int64: nan does not fit in int64 (NaN, infinite, or beyond 2^63)"));
  BOOST_CHECK_EXCEPTION(backend::copy(tensor({-INFINITY}, {.dtype = kFloat64}), kInt64), ValueError,
                        has_message("conversion to int64: -inf does not fit in int64"));
  BOOST_CHECK_EXCEPTION(tensor({1e19}, {.dtype = kFloat64}).to(kInt64), ValueError,
                        has_message("conversion to int64: 1e+19 does not fit in int64"));
  // The extremes that fit are converted.
  const Tensor edge = tensor({-0x1p63, 0x1p62}, {.dtype = kFloat64});
  BOOST_TEST((backend::copy(edge, kInt64).to_vector<std::int64_t>() ==
              std::vector<std::int64_t>{INT64_MIN, std::int64_t{1} << 62}));
  // NaN to bool is defined (true), and stays allowed.
  BOOST_TEST(backend::copy(tensor({NAN}), kBool).item<bool>());
}

BOOST_AUTO_TEST_CASE(copy_into_broadcasts_converts_and_writes_through_views) {
  // dst: the transpose of a [3, 2] buffer, so a strided [2, 3] view; src: one row, broadcast.
  Tensor buffer = zeros({3, 2}, {.dtype = kFloat64});
  Tensor dst = buffer.mT();
  backend::copy_into(dst, tensor({1.0, 2.0, 3.0}));  // float32 into float64
  check_values(dst, {1, 2, 3, 1, 2, 3});
  check_values(buffer, {1, 1, 2, 2, 3, 3});

  // A column into every column, as int64.
  Tensor ints = zeros({2, 3}, {.dtype = kInt64});
  backend::copy_into(ints, tensor_of<std::int64_t>({7, -8}, {2, 1}));
  BOOST_TEST((ints.to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 7, 7, -8, -8, -8}));

  // A scalar into a slice: only the slice changes.
  Tensor row = arange(6.0);
  Tensor odd = row.slice(0, 1, 6, 2);
  backend::copy_into(odd, scalar_tensor(-1.0, {.dtype = kInt64}));
  check_values(row, {0, -1, 2, -1, 4, -1});

  // Into a bool mask.
  Tensor mask = zeros({3}, {.dtype = kBool});
  backend::copy_into(mask, tensor({0.0, 0.25, -3.0}));
  BOOST_TEST((mask.to_vector<bool>() == std::vector<bool>{false, true, true}));
}

BOOST_AUTO_TEST_CASE(fill_sets_every_element_of_the_view_only) {
  Tensor m = zeros({3, 4});
  Tensor col = m.select(1, 2);
  backend::fill(col, 5.5);
  check_values(m, {0, 0, 5.5, 0, 0, 0, 5.5, 0, 0, 0, 5.5, 0});
  Tensor block = m.mT().narrow(0, 0, 2).narrow(1, 1, 2);  // m[1:3, 0:2], seen transposed
  backend::fill(block, -1.0);
  check_values(m, {0, 0, 5.5, 0, -1, -1, 5.5, 0, -1, -1, 5.5, 0});

  Tensor i = zeros({2}, {.dtype = kInt64});
  backend::fill(i, 3.0);
  BOOST_TEST((i.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 3}));
  Tensor b = zeros({2}, {.dtype = kBool});
  backend::fill(b, 1.0);
  BOOST_TEST((b.to_vector<bool>() == std::vector<bool>{true, true}));
  Tensor s = scalar_tensor(0.0, {.dtype = kFloat64});
  backend::fill(s, 0.125);
  BOOST_TEST(s.item() == 0.125);
  Tensor none = zeros({0, 3});
  backend::fill(none, 1.0);  // nothing to do, and nothing goes wrong
  BOOST_TEST(none.numel() == 0);
}

BOOST_AUTO_TEST_CASE(fill_writes_without_reading) {
  // Fresh storage holds whatever bytes were there (the engine fills a fresh seed gradient). Reading a
  // bool byte other than 0 or 1 is undefined behaviour, which the sanitizer build (./dev test
  // --sanitize) reports; fill used to read every element before overwriting it.
  Tensor b = empty({4}, kBool);
  std::memset(b.impl()->storage->data(), 0x7f, 4);
  backend::fill(b, 0.0);
  BOOST_TEST((b.to_vector<bool>() == std::vector<bool>{false, false, false, false}));
}

BOOST_AUTO_TEST_CASE(add_into_with_alpha_on_strided_views) {
  // dst: every other column of a [2, 4] buffer; src: a transposed view; alpha scales src.
  Tensor buffer = full({2, 4}, 10.0, {.dtype = kFloat64});
  Tensor dst = buffer.slice(1, 0, 4, 2);  // [2, 2], strides [4, 2]
  const Tensor src = tensor({{1.0, 2.0}, {3.0, 4.0}}, {.dtype = kFloat64}).mT();  // [[1, 3], [2, 4]]
  backend::add_into(dst, src, 0.5);
  check_values(buffer, {10.5, 10, 11.5, 10, 11, 10, 12, 10});
  backend::add_into(dst, src);  // alpha 1
  check_values(buffer, {11.5, 10, 14.5, 10, 13, 10, 16, 10});
  backend::add_into(dst, src, -2.0);
  check_values(buffer, {9.5, 10, 8.5, 10, 9, 10, 8, 10});

  // src broadcast: a row added to every row, in float32.
  Tensor m = zeros({3, 2});
  backend::add_into(m, tensor({1.0, -1.0}), 3.0);
  check_values(m, {3, -3, 3, -3, 3, -3});
  // int64 with an integral alpha.
  Tensor i = tensor_of<std::int64_t>({1, 2}, {2});
  backend::add_into(i, tensor_of<std::int64_t>({10, 20}, {2}), 2.0);
  BOOST_TEST((i.to_vector<std::int64_t>() == std::vector<std::int64_t>{21, 42}));
}

BOOST_AUTO_TEST_CASE(add_into_and_scale_into_refuse_what_they_cannot_do) {
  Tensor f = zeros({2});
  BOOST_CHECK_EXCEPTION(backend::add_into(f, zeros({2}, {.dtype = kFloat64})), DTypeError,
                        has_message("asked for float32 elements of a float64 tensor"));
  Tensor b = zeros({2}, {.dtype = kBool});
  BOOST_CHECK_EXCEPTION(backend::add_into(b, b), DTypeError,
                        has_message("add_: expected a numeric (float32, float64 or int64) tensor, got bool"));
  BOOST_CHECK_EXCEPTION(backend::scale_into(b, 2.0), DTypeError, has_message("mul_: expected a numeric"));
  // An int64 tensor cannot hold alpha * src or x * factor for a fractional alpha or factor: the
  // kernels used to cast 0.5 to 0 and silently add nothing, or zero the tensor.
  Tensor i = tensor_of<std::int64_t>({4, 6}, {2});
  BOOST_CHECK_EXCEPTION(backend::add_into(i, i.clone(), 0.5), ValueError,
                        has_message("add_: alpha 0.5 is not a whole number, and the tensor is int64"));
  BOOST_CHECK_EXCEPTION(backend::scale_into(i, 0.5), ValueError,
                        has_message("mul_: factor 0.5 is not a whole number, and the tensor is int64"));
  BOOST_TEST((i.to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 6}));
  // Through the public in-place ops.
  BOOST_CHECK_EXCEPTION(i.mul_(0.5), ValueError, has_message("factor 0.5 is not a whole number"));
  BOOST_CHECK_EXCEPTION(i.add_(i.clone(), 1.5), ValueError, has_message("alpha 1.5 is not a whole number"));
}

BOOST_AUTO_TEST_CASE(scale_into_and_add) {
  Tensor t = arange(6.0).reshape({2, 3});
  Tensor col = t.select(1, 0);
  backend::scale_into(col, -2.0);
  check_values(t, {0, 1, 2, -6, 4, 5});
  Tensor i = tensor_of<std::int64_t>({3, -4}, {2});
  backend::scale_into(i, 3.0);
  BOOST_TEST((i.to_vector<std::int64_t>() == std::vector<std::int64_t>{9, -12}));

  const Tensor a = tensor({{1.0, 2.0}, {3.0, 4.0}}, {.dtype = kFloat64});
  const Tensor sum = backend::add(a.mT(), a);
  BOOST_TEST(sum.is_contiguous());
  BOOST_TEST(sum.impl()->storage != a.impl()->storage);
  check_values(sum, {2, 5, 5, 8});
  check_values(a, {1, 2, 3, 4});  // the inputs are untouched
}

BOOST_AUTO_TEST_SUITE_END()
