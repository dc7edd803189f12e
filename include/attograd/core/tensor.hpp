/// \file
/// The N-d array that records the graph it was computed by.
///
/// \code
/// Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
/// Tensor y = (x * x).sum();          // y = sum of x_i^2, the graph is recorded as it computes
/// y.backward();                      // dy/dx = 2x
/// fmt::print("{}\n", x.grad());      // tensor([2.0000, 4.0000, 6.0000])
/// \endcode
///
/// A Tensor is a handle: copying one shares the data (as in PyTorch); clone() copies it. Shape ops such
/// as transpose, narrow and expand return views of the same storage (docs/architecture.md).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "attograd/core/dtype.hpp"
#include "attograd/core/shape.hpp"

namespace attograd {

namespace autograd {
class Node;
}

/// A block of bytes, 64-byte aligned, shared by a tensor and its views. The version counts in-place
/// writes, so that autograd can refuse a gradient computed from a value that was overwritten.
class Storage {
 public:
  /// allocates `bytes` bytes (from the per-thread cache), 64-byte aligned
  explicit Storage(std::size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }  ///< the first byte
  const void* data() const { return data_; }  ///< \overload
  std::size_t bytes() const { return bytes_; }  ///< the size in bytes
  std::uint64_t version() const { return version_; }  ///< how many in-place writes it has had
  void bump_version() { ++version_; }  ///< counts one more in-place write
  /// Whether a leaf tensor viewing these bytes was marked requires_grad_() (a parameter, usually):
  /// the bf16 mode keeps such an operand's converted copy until the version changes.
  bool holds_leaf_requiring_grad() const { return leaf_requiring_grad_; }
  void mark_leaf_requiring_grad() { leaf_requiring_grad_ = true; }  ///< set by Tensor::requires_grad_()

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  std::uint64_t version_ = 0;
  bool leaf_requiring_grad_ = false;
};

class Tensor;

/// The C++ types that Tensor::item(), at() and to_vector() read values as, and that tensor_of() makes
/// tensors from: float, double, std::int64_t, bool, and int (read with a range check; tensor_of<int>
/// stores int64, attograd's one integer dtype). Another type is a compile error at the call, not an
/// undefined reference when linking.
template <class T>
concept ElementValue = std::same_as<T, float> || std::same_as<T, double> || std::same_as<T, std::int64_t> ||
                       std::same_as<T, int> || std::same_as<T, bool>;

/// What a Tensor handle points to. Ops read and build these; user code goes through Tensor.
struct TensorImpl {
  std::shared_ptr<Storage> storage;  ///< the bytes, shared with views
  Shape shape;  ///< sizes
  Strides strides;          ///< in elements
  std::int64_t offset = 0;  ///< in elements, from the start of storage
  DType dtype = DType::Float32;  ///< element type

  /// Autograd. A leaf has no grad_fn; requires_grad marks the leaves whose gradient is wanted.
  bool requires_grad = false;
  bool retains_grad = false;  ///< keep the gradient of this intermediate (retain_grad())
  /// Computed from tensors that require grad while a NoGradGuard was alive (or from such a tensor):
  /// no graph was recorded, and backward() says so instead of suggesting requires_grad_().
  bool computed_under_no_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;           ///< the node that produced this tensor
  std::weak_ptr<autograd::Node> grad_accumulator;    ///< a leaf's node in the graphs using it
  std::shared_ptr<TensorImpl> grad;                  ///< accumulated gradient (leaves, retain_grad)
  std::string name;                                  ///< parameter path, for pictures and errors
};

/// How to make a new tensor: `zeros({2, 3}, {.dtype = kFloat64, .requires_grad = true})`.
struct TensorOptions {
  DType dtype = DType::Float32;  ///< element type (float32 unless given)
  bool requires_grad = false;  ///< make a leaf that needs a gradient (floating dtypes only)
};

/// Options for Tensor::backward.
struct BackwardOptions {
  bool retain_graph = false;  ///< keep saved values so backward can run through this graph again
  bool create_graph = false;  ///< differentiate the backward pass itself: not supported, an error
};

/// The N-d array of attograd, and the handle through which the graph is recorded: ops on tensors that require
/// grad record how they were computed, and backward() fills the leaves' grad(). Copying a Tensor shares its
/// data and its graph; clone() copies.
class Tensor {
 public:
  Tensor() = default;  ///< an undefined tensor: defined() is false
  /// wraps an impl (for ops and kernels)
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  /// \name What it is
  /// @{
  bool defined() const { return impl_ != nullptr; }  ///< false for a default-constructed tensor
  const Shape& shape() const { return checked().shape; }  ///< sizes, one per dim
  const Strides& strides() const { return checked().strides; }  ///< strides in elements, one per dim
  int dim() const { return shape().rank(); }  ///< rank
  std::int64_t size(std::int64_t dim) const;  ///< dim may be negative
  std::int64_t numel() const { return shape().numel(); }  ///< number of elements
  DType dtype() const { return checked().dtype; }  ///< element type
  bool is_floating_point() const { return is_floating(dtype()); }  ///< float32 or float64
  bool is_contiguous() const;  ///< whether the elements lie in row-major order without gaps
  /// position of element [0, ...] in the storage, in elements
  std::int64_t offset() const { return checked().offset; }
  /// numel() times the element size
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * element_size(dtype()); }

  /// Pointer to element [0, 0, ...] (for kernels and tests). Throws DTypeError if T is not the dtype.
  /// A write through it is not counted as an in-place write: neither autograd's check of saved
  /// tensors nor the bf16 mode's kept copy of a parameter sees it. Update a parameter with the
  /// in-place ops (copy_, add_, ...) under a NoGradGuard instead.
  template <class T> T* data();
  template <class T> const T* data() const;  ///< \overload

  /// @}
  /// \name Reading values
  /// @{

  /// The one value of a tensor with one element, converted to T (an ElementValue: double, float,
  /// std::int64_t, int, bool). A value T cannot hold (NaN or 1e30 as an integer, 2^40 as an int) is a
  /// ValueError.
  template <ElementValue T = double> T item() const;
  /// One element by index (negative indices count from the end), converted to T.
  template <ElementValue T = double> T at(std::initializer_list<std::int64_t> index) const;
  /// All elements in row-major order, converted to T.
  template <ElementValue T = double> std::vector<T> to_vector() const;

  /// @}
  /// \name Copies, conversions and views
  ///
  /// (lib/ops/join.cpp, lib/ops/shape_ops.cpp; detach: lib/core/tensor.cpp)
  /// @{
  Tensor clone() const;  ///< a copy of the data (recorded: gradients flow back)
  Tensor contiguous() const;  ///< this tensor if contiguous, else a contiguous copy
  Tensor to(DType dtype) const;  ///< converted to dtype (recorded for floating dtypes)
  Tensor detach() const;  ///< same storage, no graph
  Tensor reshape(const Shape& shape) const;  ///< a view when strides allow, else a copy; one dim may be -1
  Tensor view(const Shape& shape) const;     ///< a view, or ShapeError when strides forbid it
  /// dims start_dim..end_dim merged into one (a view when possible)
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;  ///< dims dim0 and dim1 swapped (a view)
  Tensor mT() const;  ///< transpose of the last two dims
  Tensor permute(const Shape& dims) const;  ///< dims reordered: result dim i is dim dims[i] (a view)
  /// `length` entries of dim from start (a view)
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  /// entries start, start+step, ... before end, of one dim (a view)
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  /// one index of dim, removing that dim (a view)
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor squeeze() const;  ///< without its size-1 dims (a view)
  Tensor squeeze(std::int64_t dim) const;  ///< without dim if its size is 1 (a view)
  Tensor unsqueeze(std::int64_t dim) const;  ///< a size-1 dim inserted at dim (a view)
  Tensor expand(const Shape& shape) const;  ///< -1 keeps a size

  /// @}
  /// \name Common maths as methods
  ///
  /// (free functions in attograd/ops/*.hpp)
  /// @{
  Tensor sum() const;  ///< sum(*this): all elements
  Tensor sum(const Shape& dims, bool keepdim = false) const;  ///< sum(*this, dims, keepdim)
  /// sum(*this, {dim}, keepdim): `x.sum(-1)`
  template <DimIndex I>
  Tensor sum(I dim, bool keepdim = false) const { return sum(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  Tensor mean() const;  ///< mean(*this)
  Tensor mean(const Shape& dims, bool keepdim = false) const;  ///< mean(*this, dims, keepdim)
  /// mean(*this, {dim}, keepdim): `x.mean(-1)`
  template <DimIndex I>
  Tensor mean(I dim, bool keepdim = false) const { return mean(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  Tensor max() const;  ///< max(*this): the largest element
  Tensor min() const;  ///< min(*this)
  Tensor max(const Shape& dims, bool keepdim = false) const;  ///< max(*this, dims, keepdim)
  Tensor min(const Shape& dims, bool keepdim = false) const;  ///< min(*this, dims, keepdim)
  /// max(*this, {dim}, keepdim): the values along one dim
  template <DimIndex I>
  Tensor max(I dim, bool keepdim = false) const { return max(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  /// min(*this, {dim}, keepdim): the values along one dim
  template <DimIndex I>
  Tensor min(I dim, bool keepdim = false) const { return min(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  Tensor argmax(std::int64_t dim, bool keepdim = false) const;  ///< argmax(*this, dim, keepdim)
  Tensor exp() const;  ///< exp(*this)
  Tensor log() const;  ///< log(*this)
  Tensor sqrt() const;  ///< sqrt(*this)
  Tensor abs() const;  ///< abs(*this)
  Tensor tanh() const;  ///< tanh(*this)
  Tensor sigmoid() const;  ///< sigmoid(*this)
  Tensor relu() const;  ///< relu(*this)
  Tensor pow(double exponent) const;  ///< pow(*this, exponent)
  Tensor softmax(std::int64_t dim) const;  ///< softmax(*this, dim)
  Tensor log_softmax(std::int64_t dim) const;  ///< log_softmax(*this, dim)
  Tensor matmul(const Tensor& other) const;  ///< matmul(*this, other)

  /// @}
  /// \name In-place updates
  ///
  /// (optimisers, initialisers; lib/ops/inplace.cpp). Not recorded by autograd: a tensor that requires
  /// grad may only be updated inside a NoGradGuard, and an expand() view never. Each bumps the version
  /// counter.
  /// @{
  void set(std::initializer_list<std::int64_t> index, double value);  ///< one element, by index
  Tensor& zero_();  ///< every element 0
  Tensor& fill_(double value);  ///< every element `value`
  Tensor& copy_(const Tensor& src);        ///< src broadcast to this shape
  Tensor& add_(const Tensor& other, double alpha = 1.0);  ///< this += alpha * other
  Tensor& add_(double value);  ///< this += value (every element)
  Tensor& mul_(double factor);  ///< this *= factor

  /// @}
  /// \name Autograd
  /// @{

  /// whether backward computes a gradient for it
  bool requires_grad() const { return checked().requires_grad; }
  Tensor& requires_grad_(bool on = true);  ///< leaves of floating dtype only
  /// made by the user, not computed by a recorded op
  bool is_leaf() const { return checked().grad_fn == nullptr; }
  /// the node of the op that made it (null for a leaf)
  const std::shared_ptr<autograd::Node>& grad_fn() const { return checked().grad_fn; }
  std::string grad_fn_name() const;  ///< the op that computed this tensor ("" for a leaf)
  /// The gradient backward() left here: undefined until a backward reaches this tensor. An
  /// intermediate (the output of an op) keeps none unless retain_grad() was called on it before
  /// backward(): asking for it anyway is an AutogradError that says so.
  Tensor grad() const;
  void set_grad(const Tensor& g);  ///< sets the gradient (it must have this tensor's shape and dtype)
  void zero_grad();            ///< drops the gradient (grad() becomes undefined)
  Tensor& retain_grad();       ///< keep the gradient of a non-leaf after backward
  /// Runs backward from this tensor: grad is the upstream gradient, needed unless it has one element.
  void backward(const Tensor& grad = {}, BackwardOptions options = {}) const;

  const std::string& name() const { return checked().name; }  ///< the parameter path (set by modules), or ""
  Tensor& set_name(std::string name);  ///< names it (graph pictures and errors show the name)

  /// @}
  /// \name Identity
  /// @{
  TensorImpl* impl() const { return impl_.get(); }  ///< the shared state (for ops and kernels)
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }  ///< \overload
  /// whether both handles share one impl
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  /// @}
 private:
  TensorImpl& checked() const;

  std::shared_ptr<TensorImpl> impl_;
};

/// A new tensor with fresh, uninitialised, contiguous storage. For kernels and factories.
Tensor empty(const Shape& shape, DType dtype = kFloat32);

/// The first check of an op: a default-constructed tensor, or x.grad() before any backward reached x,
/// is refused with a ValueError naming the op and which argument it is ("lhs", "weight", "tensor 1"):
/// \code
/// matmul: lhs is an undefined tensor (default-constructed, or a gradient not computed yet)
/// \endcode
void require_defined(std::string_view op, const Tensor& x, std::string_view which = "input");

}  // namespace attograd

namespace attograd {

namespace detail {
[[noreturn]] void throw_undefined_tensor();
[[noreturn]] void throw_dtype_mismatch(DType wanted, DType actual);
}  // namespace detail

inline TensorImpl& Tensor::checked() const {
  if (!impl_) [[unlikely]] detail::throw_undefined_tensor();
  return *impl_;
}

template <class T>
T* Tensor::data() {
  TensorImpl& t = checked();
  if (t.dtype != dtype_of_v<T>) [[unlikely]] detail::throw_dtype_mismatch(dtype_of_v<T>, t.dtype);
  return static_cast<T*>(t.storage->data()) + t.offset;
}

template <class T>
const T* Tensor::data() const {
  const TensorImpl& t = checked();
  if (t.dtype != dtype_of_v<T>) [[unlikely]] detail::throw_dtype_mismatch(dtype_of_v<T>, t.dtype);
  return static_cast<const T*>(t.storage->data()) + t.offset;
}

}  // namespace attograd
