/// \file
/// Seedable random numbers that are the same on every machine.
///
/// \code
/// Generator gen(42);
/// Tensor w = randn({3, 4}, gen);   // the same numbers for seed 42 everywhere
/// manual_seed(7);                  // reseeds the default generator
/// Tensor u = rand({2});            // uses the default generator
/// \endcode
///
/// The engine is xoshiro256** (Blackman and Vigna, https://prng.di.unimi.it/), seeded through
/// SplitMix64; normals come from Marsaglia's polar method, which needs only log and sqrt. The standard
/// library's distributions are not used because their output differs between implementations.
#pragma once

#include <array>
#include <cstdint>

namespace attograd {

class Generator {
 public:
  /// Everything needed to continue the same stream later (checkpoints store it).
  struct State {
    std::array<std::uint64_t, 4> s{};
    bool has_spare_normal = false;
    double spare_normal = 0.0;
    friend bool operator==(const State&, const State&) = default;
  };

  explicit Generator(std::uint64_t seed = 0) { manual_seed(seed); }

  void manual_seed(std::uint64_t seed);

  std::uint64_t next_u64();
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();
  /// Standard normal.
  double normal();
  /// Uniform integer in [0, n), without modulo bias; ValueError if n is 0.
  std::uint64_t below(std::uint64_t n);

  State state() const { return state_; }
  void set_state(const State& s) { state_ = s; }

 private:
  State state_;
};

/// The generator used when none is passed. Not synchronised: give each thread its own Generator.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

}  // namespace attograd
