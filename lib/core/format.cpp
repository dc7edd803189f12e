#include "attograd/core/format.hpp"

#include <algorithm>
#include <cmath>
#include <ostream>
#include <vector>

#include "core/dispatch.hpp"

namespace attograd {

namespace {

struct Printer {
  const Tensor& t;
  const PrintOptions& options;
  bool summarise = false;
  bool scientific = false;
  std::vector<std::string> cells;  // the shown elements, formatted, in order
  std::size_t width = 0;

  // Is index i of a dim of size n shown, or hidden behind "..."?
  bool shown(std::int64_t i, std::int64_t n) const {
    return !summarise || n <= 2 * options.edge_items || i < options.edge_items || i >= n - options.edge_items;
  }

  template <class T>
  std::string cell(T v) const {
    if constexpr (std::is_same_v<T, bool>) {
      return v ? "true" : "false";
    } else if constexpr (std::is_integral_v<T>) {
      return fmt::format("{}", v);
    } else {
      if (std::isnan(v)) return "nan";
      if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
      return scientific ? fmt::format("{:.{}e}", v, options.precision) : fmt::format("{:.{}f}", v, options.precision);
    }
  }

  // Collects the shown elements in row-major order.
  template <class T>
  void collect(const T* base, int d, std::int64_t offset, std::vector<T>& out) const {
    const Shape& s = t.shape();
    if (d == s.rank()) {
      out.push_back(base[offset]);
      return;
    }
    for (std::int64_t i = 0; i < s[d]; ++i) {
      if (shown(i, s[d])) collect(base, d + 1, offset + i * t.strides()[d], out);
    }
  }

  void render(std::string& out, int d, std::size_t& next, int indent) const {
    const Shape& s = t.shape();
    if (d == s.rank()) {
      const std::string& c = cells[next++];
      out.append(width - c.size(), ' ');
      out += c;
      return;
    }
    // Entries of the last dim are separated by ", "; sub-tensors by a comma, a line break (and a blank
    // line for each further dim they have) and the indent. The "..." for hidden entries is one more entry.
    auto separate = [&] {
      if (d + 1 == s.rank()) {
        out += ", ";
      } else {
        out += ',';
        out.append(static_cast<std::size_t>(s.rank() - d - 1), '\n');
        out.append(static_cast<std::size_t>(indent + 1), ' ');
      }
    };
    out += '[';
    for (std::int64_t i = 0; i < s[d]; ++i) {
      if (!shown(i, s[d])) {
        if (i == options.edge_items) {
          if (i > 0) separate();
          out += "...";
        }
        continue;
      }
      if (i > 0) separate();
      render(out, d + 1, next, indent + 1);
    }
    out += ']';
  }
};

}  // namespace

std::string to_string(const Tensor& t, const PrintOptions& options) {
  if (!t.defined()) return "tensor(undefined)";
  Printer p{t, options, false, false, {}, 0};
  p.summarise = t.numel() > options.threshold;
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* base = static_cast<const T*>(t.impl()->storage->data()) + t.offset();
    std::vector<T> values;
    p.collect(base, 0, 0, values);
    if constexpr (std::is_floating_point_v<T>) {
      // Scientific notation when fixed point would hide the values: very large or very small ones.
      double largest = 0.0, smallest = INFINITY;
      for (T v : values) {
        if (!std::isfinite(v) || v == 0) continue;
        largest = std::max(largest, std::abs(static_cast<double>(v)));
        smallest = std::min(smallest, std::abs(static_cast<double>(v)));
      }
      p.scientific = largest >= 1e8 || (smallest < 1e-4 && largest > 0.0);
    }
    for (T v : values) p.cells.push_back(p.cell(v));
  });
  for (const auto& c : p.cells) p.width = std::max(p.width, c.size());

  std::string out = "tensor(";
  if (t.dim() == 0) {
    out += p.cells[0];
  } else if (t.numel() == 0 && t.dim() > 1) {
    // Nested empty brackets would hide the sizes after the zero ([2, 0] and [2, 0, 3] looked alike):
    // PyTorch's form, with the shape.
    out += fmt::format("[], size={}", t.shape());
  } else {
    std::size_t next = 0;
    p.render(out, 0, next, 7);
  }
  if (t.dtype() != kFloat32) out += fmt::format(", dtype={}", t.dtype());
  if (t.grad_fn()) {
    out += fmt::format(", grad_fn={}", t.grad_fn_name());
  } else if (t.requires_grad()) {
    out += ", requires_grad=true";
  }
  out += ')';
  return out;
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }
std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << fmt::format("{}", s); }
std::ostream& operator<<(std::ostream& os, DType t) { return os << name(t); }

}  // namespace attograd
