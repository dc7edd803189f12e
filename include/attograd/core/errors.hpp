/// \file
/// The exceptions attograd throws. Every message names the op or parameter
/// and the values involved, for example
/// \code
/// matmul: inner dimensions differ: lhs [2, 3] vs rhs [4, 5]
///
/// try { matmul(a, b); }
/// catch (const attograd::ShapeError& e) { fmt::print("{}\n", e.what()); }
/// catch (const attograd::Error& e) { /* any attograd error */ }
/// \endcode
#pragma once

#include <stdexcept>
#include <string>

namespace attograd {

/// The base of everything attograd throws on bad input. Derives from std::runtime_error so that a
/// program that already catches standard exceptions catches these too.
class Error : public std::runtime_error {
 public:
  /// the message, naming the op or parameter and the values
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Shapes that do not fit together: ranks, inner dimensions, broadcasting, reshape sizes.
class ShapeError : public Error { using Error::Error; };
/// A tensor of the wrong element type for an op (int64 ids given where floats are needed, ...).
class DTypeError : public Error { using Error::Error; };
/// An index out of range: a dim, an element index, a token id, a class target.
class IndexError : public Error { using Error::Error; };
/// A value a parameter cannot take: a negative learning rate, eps <= 0, dropout p outside [0, 1).
class ValueError : public Error { using Error::Error; };
/// Misuse of the autograd engine: backward on a non-scalar without a gradient, a freed graph, a tensor
/// saved for backward that was modified in place.
class AutogradError : public Error { using Error::Error; };
/// Files: cannot open, cannot write, malformed content.
class IoError : public Error { using Error::Error; };

}  // namespace attograd
