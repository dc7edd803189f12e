// Shared parts of the shape fuzz tests: random shapes (ranks 0 to 4, sizes 0 to 5, size 1 often),
// random tensors of those shapes that are sometimes strided views rather than contiguous blocks, index
// arithmetic for reference results computed with plain loops, and a tally of what one fuzz run did.
//
// A fuzz case computes its own verdict first (valid, or the exception the call must throw), then makes
// the call: a valid call must return the reference values, an invalid one must throw an
// attograd::Error of the expected type. Any other exception, or a crash, fails.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <typeindex>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <attograd/attograd.hpp>

#include "reliability/bad_inputs.hpp"

namespace attograd::testing::fuzz {

using Index = std::vector<std::int64_t>;

struct Rng {
  Generator gen;
  explicit Rng(std::uint64_t seed) : gen(seed) {}
  std::int64_t below(std::int64_t n) { return static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(n))); }
  std::int64_t between(std::int64_t lo, std::int64_t hi) { return lo + below(hi - lo + 1); }  // inclusive
  bool chance(double p) { return gen.uniform() < p; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(below(static_cast<std::int64_t>(v.size())))];
  }
};

// Sizes 0 to 5, weighted towards the edge cases 1 and 0.
inline std::int64_t random_size(Rng& rng) {
  static const std::vector<std::int64_t> sizes = {0, 1, 1, 1, 2, 2, 3, 3, 4, 5};
  return rng.pick(sizes);
}

inline Shape random_shape(Rng& rng, int min_rank = 0, int max_rank = 4) {
  Shape s;
  const int rank = static_cast<int>(rng.between(min_rank, max_rank));
  for (int d = 0; d < rank; ++d) s.push_back(random_size(rng));
  return s;
}

inline Index dims_of(const Shape& s) { return Index(s.begin(), s.end()); }

inline std::int64_t numel(const Index& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

// Row-major position <-> multi-index.
inline Index unravel(std::int64_t flat, const Index& shape) {
  Index idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx;
}
inline std::int64_t ravel(const Index& idx, const Index& shape) {
  std::int64_t flat = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + idx[d];
  return flat;
}

// NumPy's broadcasting, written out again as the reference: nullopt where the shapes clash.
inline std::optional<Index> broadcast(const Index& a, const Index& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Index out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t x = i < a.size() ? a[a.size() - 1 - i] : 1;
    const std::int64_t y = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (x != y && x != 1 && y != 1) return std::nullopt;
    out[rank - 1 - i] = x == 1 ? y : x;
  }
  return out;
}
// The element of an input of shape `in` that output index `out` reads after broadcasting.
inline std::int64_t broadcast_source(const Index& out, const Index& in) {
  Index idx(in.size());
  const std::size_t shift = out.size() - in.size();
  for (std::size_t d = 0; d < in.size(); ++d) idx[d] = in[d] == 1 ? 0 : out[d + shift];
  return ravel(idx, in);
}

// A shape that broadcasts with `a` most of the time: a's trailing dims, some set to 1, some dims
// dropped or added in front, and now and then a size that clashes.
inline Shape partner_shape(Rng& rng, const Shape& a) {
  Shape b;
  const int keep = static_cast<int>(rng.between(0, a.rank()));
  const int extra = rng.chance(0.2) && keep + 1 <= 4 ? 1 : 0;
  for (int i = 0; i < extra; ++i) b.push_back(random_size(rng));
  for (int d = a.rank() - keep; d < a.rank(); ++d) {
    const double r = rng.gen.uniform();
    b.push_back(r < 0.7 ? a[d] : r < 0.9 ? 1 : random_size(rng));
  }
  return b;
}

// Values: normals for floating dtypes, small integers for int64, coin flips for bool.
inline Tensor random_values(Rng& rng, const Shape& shape, DType dtype) {
  if (dtype == kBool) return lt(rand(shape, rng.gen), 0.5);
  if (dtype == kInt64) return randint(-4, 5, shape, rng.gen);
  return randn(shape, rng.gen, {.dtype = dtype});
}

// A tensor of `shape` whose memory layout is random too: contiguous, a transpose, every other element
// of a bigger tensor, or a size-1 tensor expanded (stride 0). Ops must read all of them correctly.
inline Tensor random_tensor(Rng& rng, const Shape& shape, DType dtype = kFloat32) {
  const int rank = shape.rank();
  const double r = rng.gen.uniform();
  if (rank >= 2 && r < 0.2) {
    const int i = static_cast<int>(rng.below(rank)), j = static_cast<int>(rng.below(rank));
    Shape swapped = shape;
    std::swap(swapped[i], swapped[j]);
    return random_values(rng, swapped, dtype).transpose(i, j);
  }
  if (rank >= 1 && r < 0.4) {
    const int d = static_cast<int>(rng.below(rank));
    Shape wide = shape;
    wide[d] = 2 * shape[d] + 1;
    return random_values(rng, wide, dtype).slice(d, 1, wide[d], 2);
  }
  if (rank >= 1 && r < 0.5) {
    const int d = static_cast<int>(rng.below(rank));
    Shape narrow = shape;
    narrow[d] = 1;
    return random_values(rng, narrow, dtype).expand(shape);
  }
  return random_values(rng, shape, dtype);
}

// What one fuzz run did, for the log and for a check that it exercised both outcomes.
struct Tally {
  std::string family;
  int calls = 0, valid = 0, refused = 0;
  std::int64_t values_checked = 0;
  ~Tally() {
    BOOST_TEST_MESSAGE(fmt::format("{}: {} calls, {} valid ({} values checked), {} refused", family, calls, valid,
                                   values_checked, refused));
  }
};

// Compares a result with reference values; reports the case and the first differing element.
inline void expect_values(Tally& tally, const std::string& what, const Tensor& result, const Index& shape,
                          const std::vector<double>& expected, double tolerance) {
  BOOST_TEST_REQUIRE(dims_of(result.shape()) == shape,
                     fmt::format("{}: shape {} vs reference [{}]", what, result.shape(), fmt::join(shape, ", ")));
  const std::vector<double> got = result.to_vector<double>();
  BOOST_TEST_REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = expected[i];
    const bool same = (std::isnan(got[i]) && std::isnan(e)) || got[i] == e ||
                      std::abs(got[i] - e) <= tolerance * std::max(1.0, std::abs(e));
    if (!same) {
      BOOST_ERROR(fmt::format("{}: element {} is {} but the reference is {}", what, i, got[i], e));
      return;
    }
  }
  tally.values_checked += static_cast<std::int64_t>(got.size());
}

inline double tolerance_for(DType t) { return t == kFloat64 ? 1e-10 : t == kFloat32 ? 2e-5 : 0.0; }

// Runs a call the reference says must throw `expected` (a type derived from attograd::Error).
template <class F>
void expect_refused(Tally& tally, const std::string& what, std::type_index expected, F call) {
  ++tally.calls;
  ++tally.refused;
  try {
    call();
    BOOST_ERROR(fmt::format("{}: expected {}, but the call returned", what, type_name(expected)));
  } catch (const Error& e) {
    BOOST_TEST((std::type_index(typeid(e)) == expected),
               fmt::format("{}: expected {}, got {}: {}", what, type_name(expected), type_name(typeid(e)), e.what()));
  }
}

// Runs a call the reference says is valid; any exception fails with the case's description.
template <class F>
void expect_valid(Tally& tally, const std::string& what, F call) {
  ++tally.calls;
  ++tally.valid;
  try {
    call();
  } catch (const std::exception& e) {
    BOOST_ERROR(fmt::format("{}: the reference says this is valid, but it threw {}: {}", what,
                            type_name(typeid(e)), e.what()));
  }
}

// A gradient reaches every floating input of a valid call with the input's shape and dtype (run on
// some cases: it exercises each backward on the same odd shapes).
inline void check_backward(const std::string& what, const Tensor& out, const std::vector<Tensor>& inputs) {
  if (!out.requires_grad()) return;
  out.backward(ones_like(out));
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.requires_grad()) continue;
    const Tensor g = x.grad();
    BOOST_TEST_REQUIRE(g.defined(), fmt::format("{}: input {} got no gradient", what, i));
    BOOST_TEST((g.shape() == x.shape() && g.dtype() == x.dtype()),
               fmt::format("{}: input {} is {} {} but its gradient is {} {}", what, i, x.shape(), x.dtype(), g.shape(),
                           g.dtype()));
  }
}

}  // namespace attograd::testing::fuzz
