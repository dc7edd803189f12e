// Internal: the sum of n terms in double, with four running sums rather than one. A single chain of
// double additions waits on each addition (3-4 cycles); four independent chains keep the adder busy.
// This was the hottest loop of attention's softmax and of layer norm (docs/performance.md, "What made
// the difference").
//
//   double s = row_sum(n, [&](std::int64_t i) { return static_cast<double>(x[i]); });
#pragma once

#include <cstdint>

namespace attograd::backend {

template <class Term>
double row_sum(std::int64_t n, Term term) {
  double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a0 += term(i);
    a1 += term(i + 1);
    a2 += term(i + 2);
    a3 += term(i + 3);
  }
  for (; i < n; ++i) a0 += term(i);
  return (a0 + a1) + (a2 + a3);
}

}  // namespace attograd::backend
