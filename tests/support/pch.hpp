// Precompiled for every test: Boost.Test and all of attograd's public headers.
#pragma once
#include <boost/test/unit_test.hpp>

#include <attograd/attograd.hpp>
