// The reduction kernels (lib/backend/reduce.cpp) on their own: every layout they must read (contiguous,
// transposed, broadcast with stride 0, offset views), against plain loops; accumulation precision;
// the tie and NaN rules of arg_reduce; the special rows of softmax.
#include "support/test.hpp"

#include <cstring>

#include "backend/reduce.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The reference: x [A, B, C] summed over dim, with plain loops over at().
std::vector<double> loop_sum(const Tensor& x, int dim) {
  const Shape s = x.shape();
  Shape out = s;
  out[dim] = 1;
  std::vector<double> acc(static_cast<std::size_t>(out.numel()), 0.0);
  for (std::int64_t i = 0; i < s[0]; ++i) {
    for (std::int64_t j = 0; j < s[1]; ++j) {
      for (std::int64_t k = 0; k < s[2]; ++k) {
        const std::int64_t oi = dim == 0 ? 0 : i, oj = dim == 1 ? 0 : j, ok = dim == 2 ? 0 : k;
        acc[static_cast<std::size_t>((oi * out[1] + oj) * out[2] + ok)] += x.at({i, j, k});
      }
    }
  }
  return acc;
}

// The layouts a kernel meets: the tensor itself, a transposed copy viewed back, a broadcast view and
// an offset view. Each has shape [3, 4, 5].
std::vector<std::pair<std::string, Tensor>> layouts(Generator& gen, DType dtype) {
  const Tensor base = randn({3, 4, 5}, gen, {.dtype = dtype});
  const Tensor wide = randn({3, 6, 5}, gen, {.dtype = dtype});
  return {
      {"contiguous", base},
      {"permuted", base.permute({2, 0, 1}).contiguous().permute({1, 2, 0})},
      {"expanded", randn({3, 1, 5}, gen, {.dtype = dtype}).expand({3, 4, 5})},
      {"narrowed", wide.narrow(1, 1, 4)},
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sum_kernel)

BOOST_AUTO_TEST_CASE(matches_plain_loops_on_every_layout) {
  Generator gen(31);
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const auto& [name, x] : layouts(gen, dtype)) {
      for (int dim = 0; dim < 3; ++dim) {
        BOOST_TEST_CONTEXT(name << " " << fmt::format("{}", dtype) << " dim " << dim) {
          Shape kept = x.shape();
          kept[dim] = 1;
          Tensor out = empty(kept, dtype);
          backend::sum_into(x, out);
          check_values(out, loop_sum(x, dim), dtype == kFloat32 ? 1e-5 : 1e-12);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(several_dims_at_once_and_all_of_them) {
  const Tensor x = arange(24.0, {.dtype = kFloat64}).reshape({2, 3, 4});
  Tensor out = empty({1, 3, 1}, kFloat64);
  backend::sum_into(x, out);
  check_values(out, {60, 92, 124}, 0.0);
  Tensor all = empty({1, 1, 1}, kFloat64);
  backend::sum_into(x.transpose(0, 2), all);
  BOOST_TEST(all.item() == 276.0);
  Tensor none = empty({2, 3, 4}, kFloat64);  // nothing reduced: a copy
  backend::sum_into(x.transpose(1, 2).contiguous().transpose(1, 2), none);
  check_close(none, x, 0.0);
}

BOOST_AUTO_TEST_CASE(rank_zero_and_empty) {
  Tensor out = empty({}, kFloat64);
  backend::sum_into(scalar_tensor(2.5, {.dtype = kFloat64}), out);
  BOOST_TEST(out.item() == 2.5);
  Tensor zero = empty({1, 3}, kFloat32);
  backend::sum_into(zeros({0, 3}), zero);
  check_values(zero, {0, 0, 0}, 0.0);
}

BOOST_AUTO_TEST_CASE(int64_is_summed_in_int64) {
  const std::int64_t big = std::int64_t{1} << 60;
  const Tensor x = tensor_of<std::int64_t>({big, 1, 3, big, 1, 5}, {3, 2});  // a double would drop the small ones
  Tensor out = empty({1, 2}, kInt64);
  backend::sum_into(x, out);
  BOOST_TEST(out.to_vector<std::int64_t>() == (std::vector<std::int64_t>{big + 4, big + 6}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(float32_accumulates_in_double_on_both_loop_shapes) {
  // 2^20 copies of 0.1f: exact in double; a float accumulator stalls far from the answer.
  const std::int64_t n = std::int64_t{1} << 20;
  const double expected = static_cast<double>(static_cast<float>(static_cast<double>(n / 2) * static_cast<double>(0.1f)));
  const Tensor x = full({n}, 0.1);
  // The summed elements adjacent: one run per output element.
  Tensor rows = empty({2, 1}, kFloat32);
  backend::sum_into(x.reshape({2, n / 2}), rows);
  check_values(rows, {expected, expected}, 0.0);
  // The summed elements a row apart: every run adds into both outputs.
  Tensor cols = empty({1, 2}, kFloat32);
  backend::sum_into(x.reshape({n / 2, 2}), cols);
  check_values(cols, {expected, expected}, 0.0);
}

BOOST_AUTO_TEST_CASE(bool_is_refused) {
  Tensor out = empty({1}, kBool);
  BOOST_CHECK_EXCEPTION(backend::sum_into(tensor_of<bool>({true}, {1}), out), DTypeError,
                        has_message("sum: expected a numeric (float32, float64 or int64) tensor, got bool"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(arg_reduce_kernel)

BOOST_AUTO_TEST_CASE(values_and_indices_along_each_dim_of_every_layout) {
  Generator gen(32);
  for (const auto& [name, x] : layouts(gen, kFloat64)) {
    for (int dim = 0; dim < 3; ++dim) {
      for (bool is_max : {true, false}) {
        BOOST_TEST_CONTEXT(name << " dim " << dim << (is_max ? " max" : " min")) {
          Shape kept = x.shape();
          kept[dim] = 1;
          Tensor values = empty(kept, kFloat64);
          Tensor indices = empty(kept, kInt64);
          backend::arg_reduce(x, dim, is_max, &values, indices);
          // Against a plain scan of each line along dim.
          const std::vector<double> v = values.to_vector();
          const std::vector<std::int64_t> idx = indices.to_vector<std::int64_t>();
          for (std::int64_t o = 0; o < kept.numel(); ++o) {
            std::int64_t at[3] = {o / (kept[1] * kept[2]), o / kept[2] % kept[1], o % kept[2]};
            std::int64_t best_r = 0;
            double best = 0.0;
            for (std::int64_t r = 0; r < x.size(dim); ++r) {
              at[dim] = r;
              const double e = x.at({at[0], at[1], at[2]});
              if (r == 0 || (is_max ? e > best : e < best)) {
                best = e;
                best_r = r;
              }
            }
            BOOST_TEST(v[static_cast<std::size_t>(o)] == best);
            BOOST_TEST(idx[static_cast<std::size_t>(o)] == best_r);
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(indices_only) {
  const Tensor x = tensor({{1.0, 5.0, 5.0}, {-2.0, -7.0, -7.0}});
  Tensor indices = empty({2, 1}, kInt64);
  backend::arg_reduce(x, 1, true, nullptr, indices);
  BOOST_TEST(indices.to_vector<std::int64_t>() == (std::vector<std::int64_t>{1, 0}), boost::test_tools::per_element());
  backend::arg_reduce(x, 1, false, nullptr, indices);
  BOOST_TEST(indices.to_vector<std::int64_t>() == (std::vector<std::int64_t>{0, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(first_of_ties_and_first_nan) {
  const Tensor x = tensor({{3.0, kNaN, kNaN, 9.0}, {4.0, 4.0, -kInf, 4.0}, {-kInf, -kInf, -kInf, -kInf}});
  Tensor values = empty({3, 1}, kFloat32);
  Tensor indices = empty({3, 1}, kInt64);
  backend::arg_reduce(x, 1, true, &values, indices);
  check_values(values, {kNaN, 4.0, -kInf}, 0.0);
  BOOST_TEST(indices.to_vector<std::int64_t>() == (std::vector<std::int64_t>{1, 0, 0}), boost::test_tools::per_element());
  backend::arg_reduce(x, 1, false, &values, indices);
  check_values(values, {kNaN, -kInf, -kInf}, 0.0);
  BOOST_TEST(indices.to_vector<std::int64_t>() == (std::vector<std::int64_t>{1, 2, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(int64_rank_zero_and_bool) {
  const std::int64_t big = std::int64_t{1} << 62;
  Tensor values = empty({1}, kInt64);
  Tensor indices = empty({1}, kInt64);
  backend::arg_reduce(tensor_of<std::int64_t>({big - 1, big, big}, {3}), 0, true, &values, indices);
  BOOST_TEST(values.item<std::int64_t>() == big);
  BOOST_TEST(indices.item<std::int64_t>() == 1);
  Tensor v0 = empty({}, kFloat64);
  Tensor i0 = empty({}, kInt64);
  backend::arg_reduce(scalar_tensor(-3.0, {.dtype = kFloat64}), 0, false, &v0, i0);
  BOOST_TEST(v0.item() == -3.0);
  BOOST_TEST(i0.item<std::int64_t>() == 0);
  BOOST_CHECK_EXCEPTION(backend::arg_reduce(tensor_of<bool>({true}, {1}), 0, true, nullptr, indices), DTypeError,
                        has_message("max: expected a numeric (float32, float64 or int64) tensor, got bool"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(softmax_kernel)

BOOST_AUTO_TEST_CASE(matches_the_formula_along_each_dim_of_every_layout) {
  Generator gen(33);
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const auto& [name, x] : layouts(gen, dtype)) {
      for (int dim = 0; dim < 3; ++dim) {
        BOOST_TEST_CONTEXT(name << " " << fmt::format("{}", dtype) << " dim " << dim) {
          Tensor y = empty(x.shape(), dtype);
          Tensor ly = empty(x.shape(), dtype);
          backend::softmax(x, dim, false, y);
          backend::softmax(x, dim, true, ly);
          // e^x / sum e^x straight from the definition (the inputs are small: no overflow).
          const Tensor ex = exp(x.to(kFloat64));
          const Tensor reference = ex / sum(ex, {dim}, true);
          const double tol = dtype == kFloat32 ? 1e-6 : 1e-14;
          check_close(y, reference, tol);
          check_close(ly, log(reference), tol);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(special_rows) {
  // One row each: ordinary, partly masked, fully masked, +inf, NaN with -inf.
  const Tensor x = tensor({{1.0, 2.0, 3.0}, {-kInf, 0.0, -kInf}, {-kInf, -kInf, -kInf}, {kInf, 5.0, kInf},
                           {-kInf, kNaN, -kInf}},
                          {.dtype = kFloat64});
  Tensor y = empty({5, 3}, kFloat64);
  backend::softmax(x, 1, false, y);
  check_values(y, {0.09003057317038046, 0.24472847105479767, 0.6652409557748219, 0, 1, 0, 0, 0, 0, 0.5, 0, 0.5,
                   kNaN, kNaN, kNaN},
               1e-15);
  backend::softmax(x, 1, true, y);
  check_values(y, {-2.4076059644443806, -1.4076059644443804, -0.4076059644443803, -kInf, 0, -kInf, -kInf, -kInf,
                   -kInf, std::log(0.5), -kInf, std::log(0.5), kNaN, kNaN, kNaN},
               1e-15);
}

BOOST_AUTO_TEST_CASE(integers_are_refused) {
  Tensor out = empty({2}, kInt64);
  BOOST_CHECK_EXCEPTION(backend::softmax(tensor_of<std::int64_t>({1, 2}, {2}), 0, false, out), DTypeError,
                        has_message("softmax: expected a floating-point (float32 or float64) tensor, got int64"));
  BOOST_CHECK_EXCEPTION(backend::softmax(tensor_of<std::int64_t>({1, 2}, {2}), 0, true, out), DTypeError,
                        has_message("log_softmax: expected a floating-point (float32 or float64) tensor, got int64"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(relu_grad_kernel)

namespace {

// The same values, bit for bit (NaN matching NaN).
bool bits_equal(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(relu_mask_and_column_sums_match_where_and_sum_bit_for_bit) {
  // linear_relu's backward: dZ = dY where Y > 0, db = dZ summed over the rows, in one pass; the bits
  // of the two-op composite at any thread count (columns split into blocks of 128: 300 gives a partial
  // block), a NaN in dY passed on where Y > 0, and dZ written over dY.
  Generator gen(31);
  for (const DType dtype : {kFloat32, kFloat64}) {
    for (const Shape& shape : {Shape{7, 5}, Shape{300, 300}, Shape{1024, 512}}) {
      Tensor dy = randn(shape, gen, {.dtype = dtype});
      const Tensor y = randn(shape, gen, {.dtype = dtype});
      if (dtype == kFloat32) dy.data<float>()[3] = std::numeric_limits<float>::quiet_NaN();
      const Tensor expected_dz = where(gt(y, 0.0), dy, zeros({}, {.dtype = dtype}));
      const Tensor expected_db = sum(expected_dz, {0});
      for (int threads : {1, 2}) {
        ThreadCount guard(threads);
        BOOST_TEST_CONTEXT(dtype << " " << shape << ", " << threads << " threads") {
          Tensor dz = empty(shape, dtype), db = empty({shape[1]}, dtype);
          backend::relu_mask_and_column_sums(dy, y, dz, db);
          BOOST_TEST(bits_equal(dz, expected_dz));
          BOOST_TEST(bits_equal(db, expected_db));
          Tensor over = dy.clone();
          backend::relu_mask_and_column_sums(over, y, over, db);
          BOOST_TEST(bits_equal(over, expected_dz));
          BOOST_TEST(bits_equal(db, expected_db));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
