// Grad mode: NoGradGuard and EnableGradGuard nest, restore the previous mode (also when unwinding from
// an exception), and are per thread.
#include "support/test.hpp"

#include <stdexcept>
#include <thread>

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(grad_mode)

BOOST_AUTO_TEST_CASE(on_by_default_and_guards_restore_the_previous_mode) {
  BOOST_TEST(GradMode::is_enabled());
  {
    NoGradGuard outer;
    BOOST_TEST(!GradMode::is_enabled());
    {
      NoGradGuard inner;  // nested: still off, and leaving it keeps it off
      BOOST_TEST(!GradMode::is_enabled());
    }
    BOOST_TEST(!GradMode::is_enabled());
    {
      EnableGradGuard on;
      BOOST_TEST(GradMode::is_enabled());
      {
        NoGradGuard off_again;
        BOOST_TEST(!GradMode::is_enabled());
      }
      BOOST_TEST(GradMode::is_enabled());
    }
    BOOST_TEST(!GradMode::is_enabled());
  }
  BOOST_TEST(GradMode::is_enabled());
  {
    EnableGradGuard already_on;  // enabling when on changes nothing, and leaving keeps it on
    BOOST_TEST(GradMode::is_enabled());
  }
  BOOST_TEST(GradMode::is_enabled());
}

BOOST_AUTO_TEST_CASE(set_enabled_is_the_plain_switch) {
  GradMode::set_enabled(false);
  BOOST_TEST(!GradMode::is_enabled());
  {
    EnableGradGuard on;
    BOOST_TEST(GradMode::is_enabled());
  }
  BOOST_TEST(!GradMode::is_enabled());  // the guard put back what it found
  GradMode::set_enabled(true);
  BOOST_TEST(GradMode::is_enabled());
}

BOOST_AUTO_TEST_CASE(an_exception_unwinds_the_guard) {
  try {
    NoGradGuard guard;
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  BOOST_TEST(GradMode::is_enabled());
  // An op failing inside a guard leaves the mode as it was too.
  Tensor x = ones({2}, {.requires_grad = true});
  try {
    NoGradGuard guard;
    matmul(x, ones({3}));
  } catch (const ShapeError&) {
  }
  BOOST_TEST(GradMode::is_enabled());
  BOOST_TEST((x * 2.0).requires_grad());
}

BOOST_AUTO_TEST_CASE(what_the_mode_changes) {
  Tensor x = tensor({1.0, 2.0}, {.requires_grad = true});
  Tensor y;
  {
    NoGradGuard no_grad;
    y = (x * 3.0).exp();
    // In-place updates of a tensor that requires grad are allowed only here (optimisers).
    x.add_(ones({2}), -0.5);
  }
  BOOST_TEST(!y.requires_grad());
  BOOST_TEST(!y.grad_fn());
  BOOST_TEST(y.is_leaf());
  check_values(x, {0.5, 1.5});
  BOOST_TEST(x.requires_grad());  // the flag of a leaf does not depend on the mode
  // Graphs recorded before a guard still run backward inside one: backward needs no recording.
  Tensor z = (x * x).sum();
  {
    NoGradGuard no_grad;
    z.backward();
  }
  check_values(x.grad(), {1.0, 3.0});
}

BOOST_AUTO_TEST_CASE(the_mode_is_per_thread) {
  NoGradGuard here;
  bool other_enabled = false;
  bool other_recorded = false;
  bool other_after_guard = true;
  std::thread t([&] {
    // A new thread starts with grad mode on, whatever this thread does.
    other_enabled = GradMode::is_enabled();
    Tensor a = ones({1}, {.requires_grad = true});
    other_recorded = (a * 2.0).requires_grad();
    NoGradGuard there;
    other_after_guard = GradMode::is_enabled();
  });
  t.join();
  BOOST_TEST(other_enabled);
  BOOST_TEST(other_recorded);
  BOOST_TEST(!other_after_guard);
  BOOST_TEST(!GradMode::is_enabled());  // this thread's guard is still in force
  {
    EnableGradGuard on;
    bool seen = true;
    std::thread u([&] {
      NoGradGuard g;
      seen = GradMode::is_enabled();
    });
    u.join();
    BOOST_TEST(!seen);
    BOOST_TEST(GradMode::is_enabled());  // the other thread's guard did not reach here
  }
}

BOOST_AUTO_TEST_SUITE_END()
