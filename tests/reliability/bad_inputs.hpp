// Bad-input tables: each row is one invalid call, the exception type it must throw and the pieces of
// text its message must hold (the op's name and the values involved). A row fails when the call
// returns, throws another type (a std::out_of_range from a container, a plain attograd::Error, ...)
// or throws a message that lacks a piece; the failure names the row.
//
//   check_bad_inputs({
//       bad<ShapeError>("matmul inner dims", [] { matmul(zeros({2, 3}), zeros({4, 5})); },
//                       {"matmul", "[2, 3]", "[4, 5]"}),
//   });
#pragma once

#include <exception>
#include <functional>
#include <limits>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <vector>

#include <boost/core/demangle.hpp>
#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <attograd/attograd.hpp>
#include <attograd/core/errors.hpp>

namespace attograd::testing {

struct BadInput {
  std::string name;               // what the row tries; failures are reported under it
  std::function<void()> call;     // the invalid call
  std::type_index expected;       // the exact type it must throw
  std::vector<std::string> says;  // every one of these must appear in the message
};

template <class E>
BadInput bad(std::string name, std::function<void()> call, std::vector<std::string> says) {
  static_assert(std::is_base_of_v<Error, E>, "a bad input must end in one of attograd's errors");
  return {std::move(name), std::move(call), std::type_index(typeid(E)), std::move(says)};
}

// Inputs the tables are written with: an undefined tensor, infinity, and zeros of each dtype.
inline const Tensor kUndefined;
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline Tensor f32(const Shape& s) { return zeros(s); }
inline Tensor f64(const Shape& s) { return zeros(s, {.dtype = kFloat64}); }
inline Tensor i64(const Shape& s) { return zeros(s, {.dtype = kInt64}); }
inline Tensor mask(const Shape& s) { return zeros(s, {.dtype = kBool}); }
inline Tensor ids(const std::vector<std::int64_t>& v, const Shape& s) { return tensor_of<std::int64_t>(v, s); }

inline std::string type_name(std::type_index t) {
  std::string name = boost::core::demangle(t.name());
  const std::string ns = "attograd::";
  return name.starts_with(ns) ? name.substr(ns.size()) : name;
}

// Runs every row (one failing row does not stop the others) and fails once per broken row. Returns
// whether every row threw as expected, for the table's own assertion:
//   BOOST_TEST(check_bad_inputs({bad<ShapeError>(...), ...}));
inline bool check_bad_inputs(const std::vector<BadInput>& rows) {
  BOOST_TEST_REQUIRE(!rows.empty(), "an empty table checks nothing");
  std::size_t broken = 0;
  for (const BadInput& row : rows) {
    BOOST_TEST_CONTEXT(fmt::format("row \"{}\"", row.name)) {
      bool ok = true;
      try {
        row.call();
        BOOST_ERROR(fmt::format("expected {}, but the call returned", type_name(row.expected)));
        ok = false;
      } catch (const std::exception& e) {
        const std::type_index got(typeid(e));
        ok = got == row.expected;
        BOOST_TEST(ok, fmt::format("expected {}, got {}: \"{}\"", type_name(row.expected), type_name(got), e.what()));
        const std::string what = e.what();
        for (const std::string& part : row.says) {
          const bool says = what.find(part) != std::string::npos;
          BOOST_TEST(says, fmt::format("message \"{}\" lacks \"{}\"", what, part));
          ok = ok && says;
        }
      } catch (...) {
        BOOST_ERROR(fmt::format("expected {}, got something that is not a std::exception", type_name(row.expected)));
        ok = false;
      }
      broken += ok ? 0 : 1;
    }
  }
  BOOST_TEST_MESSAGE(fmt::format("{} bad inputs tried, {} broken", rows.size(), broken));
  return broken == 0;
}

}  // namespace attograd::testing
