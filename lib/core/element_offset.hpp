// Internal: where one element of a tensor lives, by its multi-index (Tensor::at reads there,
// Tensor::set writes there). Negative indices count from the end, as in PyTorch.
//
//   const std::int64_t off = element_offset(*t.impl(), "at", {1, -1});  // t[1, last], in elements
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd {

// The offset (elements, from storage start) of one element, with the index checked: an IndexError
// naming `op` for a wrong number of entries or an entry out of range.
inline std::int64_t element_offset(const TensorImpl& t, std::string_view op,
                                   std::initializer_list<std::int64_t> index) {
  if (static_cast<int>(index.size()) != t.shape.rank()) {
    throw IndexError(fmt::format("{}: index has {} entries for a tensor of rank {} (shape {})", op, index.size(),
                                 t.shape.rank(), t.shape));
  }
  std::int64_t offset = t.offset;
  int d = 0;
  for (std::int64_t i : index) {
    const std::int64_t n = t.shape[d];
    if (i < -n || i >= n) {
      throw IndexError(fmt::format("{}: index {} is out of range for dim {} of size {} (shape {})", op, i, d, n,
                                   t.shape));
    }
    offset += (i < 0 ? i + n : i) * t.strides[d];
    ++d;
  }
  return offset;
}

}  // namespace attograd
