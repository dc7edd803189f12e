/// \file
/// A tensor's values in a few words, for pictures and traces.
///
/// \code
/// summarize(tensor({0.5, -1.0}))         // "[0.5, -1]"
/// summarize(randn({64, 64}, gen))        // "min -3.62, max 3.91, mean 0.0127, norm 64.3"
/// \endcode
///
/// Numbers have 4 significant digits, so that a student can check them by hand.
#pragma once

#include <cstdint>
#include <string>

#include "attograd/core/tensor.hpp"

namespace attograd::viz {

/// One number as the tools print it: 4 significant digits, "inf", "nan".
std::string format_number(double value);

/// Every value, nested by dims, when the tensor has at most `max_values` elements; otherwise its
/// minimum, maximum, mean and norm (and how many NaN and infinite values, if any).
std::string summarize(const Tensor& t, std::int64_t max_values = 6);

}  // namespace attograd::viz
