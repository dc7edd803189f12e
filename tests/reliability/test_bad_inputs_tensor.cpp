// Bad-input table for Tensor's own methods (element access, in-place updates, autograd state), the
// factories, backward and gradcheck: each invalid call, the exception it must throw, and the names and
// values its message must hold.
#include "support/test.hpp"

#include <cmath>
#include <limits>

#include "reliability/bad_inputs.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

Tensor leaf(const Shape& s) { return ones(s, {.requires_grad = true}); }

}  // namespace

BOOST_AUTO_TEST_SUITE(bad_inputs_tensor)

BOOST_AUTO_TEST_CASE(element_access) {
  BOOST_TEST(check_bad_inputs({
      bad<IndexError>("at index out of range", [] { f32({2, 3}).at({1, 3}); },
                      {"at: index 3 is out of range for dim 1 of size 3 (shape [2, 3])"}),
      bad<IndexError>("at too negative", [] { f32({2}).at({-3}); }, {"at: index -3", "size 2"}),
      bad<IndexError>("at too many indices", [] { f32({2}).at({0, 0}); },
                      {"at: index has 2 entries for a tensor of rank 1 (shape [2])"}),
      bad<IndexError>("set index out of range", [] { f32({2}).set({2}, 1.0); }, {"set: index 2", "size 2"}),
      bad<ValueError>("item of two elements", [] { f32({2}).item(); },
                      {"item: a tensor with 2 elements (shape [2]) has no single value"}),
      bad<ValueError>("item of none", [] { f32({0}).item(); }, {"item", "0 elements", "[0]"}),
      bad<IndexError>("size of a scalar", [] { f32({}).size(0); }, {"size: a tensor of rank 0 has no dims"}),
      bad<IndexError>("size dim out of range", [] { f32({2}).size(1); }, {"size: dim 1", "rank 1"}),
      bad<DTypeError>("data of another type", [] { f32({2}).data<double>(); },
                      {"data: asked for float64 elements of a float32 tensor"}),
      bad<ValueError>("shape of undefined", [] { kUndefined.shape(); }, {"this tensor is undefined"}),
      // A float int64 cannot hold is refused: its plain cast is undefined behaviour.
      bad<ValueError>("set NaN into int64", [] { i64({2}).set({0}, std::nan("")); }, {"set", "nan", "int64"}),
      bad<ValueError>("set 1e30 into int64", [] { i64({2}).set({0}, 1e30); }, {"set", "1e+30", "int64"}),
      bad<ValueError>("item<int64> of 1e30", [] { full({}, 1e30).item<std::int64_t>(); }, {"item", "1e+30", "int64"}),
      bad<ValueError>("to_vector<int64> of inf", [] { full({1}, kInf).to_vector<std::int64_t>(); },
                      {"to_vector", "inf", "int64"}),
  }));
}

BOOST_AUTO_TEST_CASE(in_place_updates) {
  BOOST_TEST(check_bad_inputs({
      bad<AutogradError>("fill_ of a leaf that requires grad", [] { leaf({2}).fill_(1.0); },
                         {"fill_: in-place update of a leaf that requires grad (shape [2])", "NoGradGuard"}),
      bad<AutogradError>("add_ of a leaf that requires grad", [] { leaf({2}).add_(f32({2})); }, {"add_", "[2]"}),
      bad<AutogradError>("set of a leaf that requires grad", [] { leaf({2}).set({0}, 1.0); },
                         {"set: in-place update of a leaf that requires grad (shape [2])", "NoGradGuard"}),
      bad<AutogradError>("set of an op's output", [] { (leaf({2}) * 2.0).set({0}, 1.0); },
                         {"set: in-place update of the output of 'mul' (shape [2])", "detach().clone()"}),
      bad<ValueError>("fill_ of an expanded view", [] { f32({1}).expand({3}).fill_(1.0); },
                      {"fill_: the tensor (shape [3], strides [0]) has several elements sharing one memory location"}),
      bad<ValueError>("set of an expanded view", [] { f32({1}).expand({3}).set({2}, 1.0); },
                      {"set: the tensor (shape [3], strides [0]) has several elements sharing one memory location"}),
      bad<ShapeError>("copy_ of a bigger source", [] { f32({2}).copy_(f32({3})); },
                      {"copy_: shapes [3] and [2] cannot be broadcast"}),
      bad<ShapeError>("copy_ of a source that only broadcasts the other way", [] { f32({1}).copy_(f32({2})); },
                      {"copy_: source of shape [2] does not broadcast to the destination's shape [1]"}),
      bad<DTypeError>("add_ of another dtype", [] { f32({2}).add_(i64({2})); },
                      {"add_: dtypes differ: tensor float32 vs other int64"}),
      bad<ValueError>("add_ fractional alpha into int64", [] { i64({2}).add_(i64({2}), 0.5); },
                      {"add_: alpha 0.5 is not a whole number"}),
      bad<ValueError>("mul_ int64 by inf", [] { i64({2}).mul_(kInf); }, {"mul_", "inf"}),
      bad<ValueError>("fill_ int64 with NaN", [] { i64({2}).fill_(std::nan("")); },
                      {"fill_: value nan does not fit in int64"}),
      bad<ValueError>("zero_ of undefined", [] { Tensor t; t.zero_(); }, {"undefined"}),
  }));
}

BOOST_AUTO_TEST_CASE(autograd_state_and_backward) {
  BOOST_TEST(check_bad_inputs({
      bad<DTypeError>("requires_grad_ on int64", [] { i64({2}).requires_grad_(); },
                      {"requires_grad_: only floating-point tensors can require gradients, got int64"}),
      bad<AutogradError>("requires_grad_ on a non-leaf", [] { (leaf({2}) * 2.0).requires_grad_(false); },
                         {"requires_grad_: only leaf tensors can change requires_grad"}),
      bad<AutogradError>("retain_grad without requires_grad", [] { f32({2}).retain_grad(); },
                         {"retain_grad: the tensor does not require grad"}),
      bad<ShapeError>("set_grad of another shape", [] { leaf({2}).set_grad(f32({3})); },
                      {"set_grad: gradient [3] float32 does not match the tensor [2] float32"}),
      bad<DTypeError>("set_grad of another dtype", [] { leaf({2}).set_grad(zeros({2}, {.dtype = kFloat64})); },
                      {"set_grad", "float64", "float32"}),
      bad<ValueError>("set_grad of an expanded view", [] { leaf({3}).set_grad(f32({1}).expand({3})); },
                      {"set_grad: the gradient (shape [3], strides [0])"}),
      bad<AutogradError>("backward of a non-scalar", [] { (leaf({2}) * 2.0).backward(); },
                         {"backward: a gradient can be created implicitly only for a tensor with one element, this "
                          "one has shape [2]"}),
      bad<AutogradError>("backward without requires_grad", [] { f32({}).backward(); },
                         {"backward: the tensor (shape []) does not require grad"}),
      bad<ShapeError>("backward with a gradient of another shape", [] { (leaf({2}) * 2.0).backward(f32({3})); },
                      {"backward: the gradient is [3] float32 but the tensor is [2] float32"}),
      // Only the dtype differs: a DTypeError, as from set_grad.
      bad<DTypeError>("backward with a gradient of another dtype",
                      [] { (leaf({2}) * 2.0).backward(zeros({2}, {.dtype = kFloat64})); },
                      {"backward", "float64", "float32"}),
      bad<AutogradError>("backward with create_graph", [] { (leaf({}) * 2.0).backward({}, {.create_graph = true}); },
                         {"backward: create_graph", "not supported"}),
      bad<AutogradError>("backward twice through a freed graph",
                         [] {
                           Tensor x = leaf({2});
                           Tensor y = (x * x).sum();
                           y.backward();
                           y.backward();
                         },
                         {"backward: the graph through 'sum'", "already freed", "retain_graph"}),
      bad<AutogradError>("backward after a saved tensor was modified",
                         [] {
                           Tensor x = leaf({2});
                           Tensor h = x * 2.0;
                           Tensor y = (h * h).sum();
                           {
                             NoGradGuard no_grad;
                             h.add_(ones({2}));
                           }
                           y.backward();
                         },
                         {"backward: tensor 0 saved by 'mul'", "modified in place", "version 1 now, 0 when saved"}),
  }));
}

BOOST_AUTO_TEST_CASE(factories) {
  BOOST_TEST(check_bad_inputs({
      bad<ShapeError>("zeros with a negative size", [] { zeros({2, -1}); }, {"negative size in shape [2, -1]"}),
      bad<ShapeError>("tensor values that do not fill the shape", [] { tensor({1.0, 2.0, 3.0}, {2, 2}); },
                      {"tensor: 3 values cannot fill shape [2, 2] (4 elements)"}),
      bad<ShapeError>("tensor ragged rows", [] { tensor({{1.0, 2.0}, {3.0}}); },
                      {"tensor: row 1 has 1 values but row 0 has 2"}),
      bad<ShapeError>("tensor_of values that do not fill the shape", [] { tensor_of<std::int64_t>({1, 2}, {3}); },
                      {"tensor_of: 2 values cannot fill shape [3] (3 elements)"}),
      bad<ShapeError>("Shape of rank 9", [] { Shape{1, 2, 3, 4, 5, 6, 7, 8, 9}; },
                      {"shape: rank 9 exceeds the maximum rank 8"}),
      bad<ValueError>("arange step 0", [] { arange(0.0, 5.0, 0.0); }, {"arange: start 0, end 5 and step 0"}),
      bad<ValueError>("arange NaN end", [] { arange(0.0, std::nan(""), 1.0); }, {"arange", "nan"}),
      bad<ValueError>("arange step away from the end", [] { arange(0.0, 5.0, -1.0); },
                      {"arange: step -1 goes away from end 5 when starting at 0"}),
      bad<ValueError>("arange too many elements", [] { arange(0.0, 1e300, 1e-300); }, {"arange", "too many elements"}),
      bad<ValueError>("linspace negative steps", [] { linspace(0.0, 1.0, -1); },
                      {"linspace: steps must be >= 0, got -1"}),
      bad<ValueError>("eye negative n", [] { eye(-2); }, {"eye: n must be >= 0, got -2"}),
      bad<ValueError>("eye negative m", [] { eye(2, -3); }, {"eye: m must be >= 0", "got -3"}),
      bad<DTypeError>("rand of int64", [] { rand({2}, {.dtype = kInt64}); },
                      {"rand: random values need a floating-point dtype, got int64"}),
      bad<DTypeError>("randn of bool", [] { randn({2}, {.dtype = kBool}); }, {"randn", "bool"}),
      bad<ValueError>("uniform low above high", [] { Generator g(1); uniform({2}, 1.0, 0.0, g); },
                      {"uniform: needs finite low <= high, got low 1 and high 0"}),
      bad<ValueError>("normal negative std", [] { Generator g(1); normal({2}, 0.0, -1.0, g); },
                      {"normal: needs a finite mean and std >= 0, got mean 0 and std -1"}),
      bad<ValueError>("randint empty range", [] { Generator g(1); randint(3, 3, {2}, g); },
                      {"randint: needs low < high, got low 3 and high 3"}),
      bad<ValueError>("randperm negative", [] { Generator g(1); randperm(-1, g); },
                      {"randperm: n must be >= 0, got -1"}),
      bad<ValueError>("Generator::below(0)", [] { Generator g(1); g.below(0); },
                      {"Generator::below: n must be > 0, got 0"}),
      bad<DTypeError>("requires_grad on an int64 factory", [] { zeros({2}, {.dtype = kInt64, .requires_grad = true}); },
                      {"requires_grad_", "int64"}),
      bad<ValueError>("full int64 with NaN", [] { full({2}, std::nan(""), {.dtype = kInt64}); },
                      {"full", "nan", "int64"}),
      bad<ValueError>("tensor int64 with 1e30", [] { tensor({1e30}, {.dtype = kInt64}); },
                      {"tensor", "1e+30", "int64"}),
  }));
}

BOOST_AUTO_TEST_CASE(gradcheck_inputs) {
  const GradcheckFn square = [](const std::vector<Tensor>& in) { return (in[0] * in[0]).sum(); };
  BOOST_TEST(check_bad_inputs({
      bad<DTypeError>("gradcheck of float32", [square] { gradcheck(square, {leaf({2})}); },
                      {"gradcheck: input 0 is float32; finite differences need float64"}),
      bad<ValueError>("gradcheck of undefined", [square] { gradcheck(square, {kUndefined}); },
                      {"gradcheck: input 0 is undefined"}),
      bad<ValueError>("gradcheck with nothing requiring grad",
                      [square] { gradcheck(square, {zeros({2}, {.dtype = kFloat64})}); },
                      {"gradcheck: no input requires grad"}),
      bad<DTypeError>("gradcheck of a float32 result",
                      [] {
                        gradcheck([](const std::vector<Tensor>& in) { return in[0].sum().to(kFloat32); },
                                  {ones({2}, {.dtype = kFloat64, .requires_grad = true})});
                      },
                      {"gradcheck: the function must return a float64 tensor, got float32"}),
  }));
}

BOOST_AUTO_TEST_SUITE_END()
