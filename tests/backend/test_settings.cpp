// Backend settings (lib/backend/settings.cpp): the matmul backend and precision, each a choice of the
// calling thread. (The thread count is tested in test_threads.cpp; what the backend and precision
// change in a product, in test_matmul.cpp and test_matmul_bf16.cpp, beside the dispatch.)
#include "support/test.hpp"

#include <thread>

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(settings)

BOOST_AUTO_TEST_CASE(the_defaults_are_onednn_and_strict_float32) {
  std::thread([] {  // a new thread sees the defaults whatever this one chose
    BOOST_TEST((matmul_backend() == MatmulBackend::Auto));
    BOOST_TEST((matmul_precision() == MatmulPrecision::Strict));
  }).join();
}

BOOST_AUTO_TEST_CASE(guards_choose_for_their_scope_and_their_thread) {
  {
    MatmulBackendGuard reference(MatmulBackend::Reference);
    MatmulPrecisionGuard bf16(MatmulPrecision::BFloat16);
    BOOST_TEST((matmul_backend() == MatmulBackend::Reference));
    BOOST_TEST((matmul_precision() == MatmulPrecision::BFloat16));
    MatmulBackend other_backend = MatmulBackend::Reference;
    MatmulPrecision other_precision = MatmulPrecision::BFloat16;
    std::thread([&] {
      other_backend = matmul_backend();
      other_precision = matmul_precision();
    }).join();
    BOOST_TEST((other_backend == MatmulBackend::Auto));
    BOOST_TEST((other_precision == MatmulPrecision::Strict));
  }
  BOOST_TEST((matmul_backend() == MatmulBackend::Auto));
  BOOST_TEST((matmul_precision() == MatmulPrecision::Strict));
}

BOOST_AUTO_TEST_CASE(an_unknown_precision_is_an_error) {
  BOOST_CHECK_EXCEPTION(set_matmul_precision(static_cast<MatmulPrecision>(7)), ValueError,
                        has_message("set_matmul_precision: unknown precision 7 (Strict is 0, BFloat16 is 1)"));
  BOOST_TEST((matmul_precision() == MatmulPrecision::Strict));  // unchanged by the refused call
}

BOOST_AUTO_TEST_SUITE_END()
