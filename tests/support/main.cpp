// Boost.Test generates main() in the one file that defines the module name.
#define BOOST_TEST_MODULE attograd
#include <boost/test/unit_test.hpp>
