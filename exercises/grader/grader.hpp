// exercises/grader/grader.hpp: what the grader knows about each exercise.
//
// An exercise is a list of cases. A case is one call of a student's op on inputs chosen to catch a
// mistake (a broadcast input, a value used twice, a saturated softmax), together with the same maths
// written with the library's own ops: the reference, whose forward values and gradients the student's
// must match. grade.cpp runs them; cases.cpp lists them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <attograd/attograd.hpp>

namespace course::grader {

using attograd::GradcheckFn;
using attograd::Tensor;

struct Case {
  std::string op;         // the custom op under test, as its node is named: "my_add"
  std::string what;       // what this case is about: "A [2, 3] + B [3]: B broadcast over the rows"
  std::vector<Tensor> inputs;  // float64; the student's gradient is checked for those that require grad
  GradcheckFn yours;      // the student's op on the inputs
  GradcheckFn reference;  // the same from the library's own ops
};

struct Exercise {
  std::string id;          // "02_add_broadcast": the file name, and --only's argument
  std::string title;       // "add with broadcasting"
  std::string derivation;  // the page to open afterwards: "docs/derivations/elementwise.md"
  std::function<std::vector<Case>(attograd::Generator&)> cases;
};

// Every exercise, in the course's order.
std::vector<Exercise> exercises();

}  // namespace course::grader
