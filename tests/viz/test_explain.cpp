// Explain mode: the trace of a small backward pass, exactly; a value used twice; a leaf's .grad that
// already held a gradient; large gradients summarised; both sinks.
#include "support/test.hpp"

#include <cstdio>

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(explain)

// y = tanh(w·x + b), w = [0.5, -1], x = [1, 2], b = 0.25 (docs/teaching.md shows the same trace).
// Saved for backward: mul keeps A and B (2 x 16 B), tanh its output Y (8 B): 40 B in all.
BOOST_AUTO_TEST_CASE(the_trace_of_a_neuron) {
  Tensor w = tensor({0.5, -1.0}, {.dtype = kFloat64, .requires_grad = true}).set_name("w");
  Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64});
  Tensor b = scalar_tensor(0.25, {.dtype = kFloat64, .requires_grad = true}).set_name("b");
  Tensor y = tanh(sum(w * x) + b);
  std::string trace;
  {
    viz::Explain explain(trace);
    y.backward();
  }
  BOOST_TEST(trace ==
             "backward from tanh [] float64, value -0.8483: 4 ops, 2 leaves, 40 B kept for backward\n"
             "step 0  tanh  [] -> []\n"
             "        rule   dX = dY * (1 - Y²)   docs/derivations/elementwise.md#functions-of-one-tensor\n"
             "        gets   dY = 1\n"
             "        sends  dX = 0.2804 to add\n"
             "        kept   8 B of 40 B\n"
             "step 1  add (A + B)  [], [] -> []\n"
             "        rule   dA = dC   dB = dC   (each summed to its input's shape)   "
             "docs/derivations/elementwise.md#the-four-operations\n"
             "        gets   dC = 0.2804\n"
             "        sends  dA = 0.2804 to sum, dB = 0.2804 to b\n"
             "        kept   0 B of 40 B\n"
             "step 2  leaf b []: b.grad = 0.2804\n"
             "step 3  sum  [2] -> []\n"
             "        rule   dX = dY expanded back over the summed dims   docs/derivations/reduction.md#sum\n"
             "        gets   dY = 0.2804\n"
             "        sends  dX = [0.2804, 0.2804] to mul\n"
             "        kept   0 B of 40 B\n"
             "step 4  mul (A * B)  [2], const -> [2]\n"
             "        rule   dA = dC * B   dB = dC * A   (each summed to its input's shape)   "
             "docs/derivations/elementwise.md#the-four-operations\n"
             "        gets   dC = [0.2804, 0.2804]\n"
             "        sends  dA = [0.2804, 0.5608] to w\n"
             "        kept   32 B of 40 B\n"
             "step 5  leaf w [2]: w.grad = [0.2804, 0.5608]\n");
  // The guard is gone: a second backward adds nothing to the trace.
  const std::size_t length = trace.size();
  tanh(sum(w * x) + b).backward();
  BOOST_TEST(trace.size() == length);
}

// L = x·x: the mul sends x to both of its inputs, the same leaf, so the second is added to the first.
BOOST_AUTO_TEST_CASE(a_value_used_twice_is_added) {
  Tensor x = scalar_tensor(3.0, {.dtype = kFloat64, .requires_grad = true}).set_name("x");
  Tensor L = x * x;
  std::string trace;
  viz::Explain explain(trace);
  L.backward();
  BOOST_TEST(trace.find("        sends  dA = 3 to x, dB = 3 to x (added: used more than once)\n") != std::string::npos,
             trace);
  BOOST_TEST(trace.find("step 1  leaf x []: x.grad = 6\n") != std::string::npos, trace);
  // A second backward adds into the .grad already there.
  (x * 2.0).backward();
  BOOST_TEST(trace.find("step 1  leaf x []: x.grad = 8 (added 2 to the .grad it had)\n") != std::string::npos, trace);
  BOOST_TEST(
      trace.find("backward from mul [] float64, value 6: 1 op, 1 leaf, 0 B kept for backward\n") != std::string::npos,
      trace);
}

BOOST_AUTO_TEST_CASE(scalar_constants_are_shown_with_the_op) {
  Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = sum(sub(pow(x, 3.0), 0.5));
  std::string trace;
  viz::Explain explain(trace);
  y.backward();
  BOOST_TEST(trace.find("step 1  sub (A - s) with s = 0.5  [2] -> [2]\n") != std::string::npos, trace);
  BOOST_TEST(trace.find("step 2  pow with p = 3  [2] -> [2]\n") != std::string::npos, trace);
}

BOOST_AUTO_TEST_CASE(large_gradients_and_constant_inputs) {
  Tensor w = (arange(6.0, {.dtype = kFloat64}).reshape({2, 3})).requires_grad_();
  Tensor x = ones({3, 4}, {.dtype = kFloat64});
  Tensor y = matmul(w, x);  // [2, 4]: 8 gradient values, summarised beyond max_values
  std::string trace;
  viz::Explain explain(trace, {.max_values = 4});
  y.backward(ones({2, 4}, {.dtype = kFloat64}));
  BOOST_TEST(trace ==
             "backward from matmul [2, 4] float64, value min 3, max 12, mean 7.5, norm 24.74: 1 op, 1 leaf, 144 B kept "
             "for backward\n"
             "step 0  matmul  [2, 3], const -> [2, 4]\n"
             "        rule   dA = dC·Bᵀ   dB = Aᵀ·dC   (each summed over broadcast batch dims)   "
             "docs/derivations/matmul.md#two-matrices\n"
             "        gets   dC = min 1, max 1, mean 1, norm 2.828\n"
             "        sends  dA = min 4, max 4, mean 4, norm 9.798 to a leaf [2, 3]\n"
             "        kept   144 B of 144 B\n"
             "step 1  leaf [2, 3]: .grad = min 4, max 4, mean 4, norm 9.798\n");
}

BOOST_AUTO_TEST_CASE(a_file_sink_gets_the_same_text) {
  Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true}).set_name("x");
  std::string expected;
  {
    viz::Explain explain(expected);
    sum(exp(x)).backward();
  }
  x.zero_grad();
  std::FILE* file = std::tmpfile();
  BOOST_TEST_REQUIRE(file != nullptr);
  {
    viz::Explain explain(file);
    sum(exp(x)).backward();
  }
  std::rewind(file);
  std::string written(expected.size() + 10, '\0');
  written.resize(std::fread(written.data(), 1, written.size(), file));
  std::fclose(file);
  BOOST_TEST(written == expected);
  BOOST_TEST(expected.find("        sends  dX = [2.718, 7.389] to x\n") != std::string::npos, expected);
}

BOOST_AUTO_TEST_SUITE_END()
