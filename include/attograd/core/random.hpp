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

/// A random number generator (xoshiro256**): the same seed gives the same numbers on every machine and at any
/// thread count. Not synchronised: one per thread.
class Generator {
 public:
  /// Everything needed to continue the same stream later (checkpoints store it).
  struct State {
    std::array<std::uint64_t, 4> s{};  ///< the four words of xoshiro256**'s state
    bool has_spare_normal = false;  ///< whether a second normal value from the last pair is waiting
    double spare_normal = 0.0;  ///< that value
    friend bool operator==(const State&, const State&) = default;  ///< same state, same stream from here on
  };

  /// a stream seeded with `seed` (the same seed, the same numbers)
  explicit Generator(std::uint64_t seed = 0) { manual_seed(seed); }

  void manual_seed(std::uint64_t seed);  ///< restarts the stream from `seed`

  std::uint64_t next_u64();  ///< the next 64 random bits
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();
  /// Standard normal.
  double normal();
  /// Uniform integer in [0, n), without modulo bias; ValueError if n is 0.
  std::uint64_t below(std::uint64_t n);

  State state() const { return state_; }  ///< everything needed to continue this stream later
  void set_state(const State& s) { state_ = s; }  ///< continues from a state() taken earlier

 private:
  State state_;
};

/// The generator used when none is passed. Not synchronised: give each thread its own Generator.
Generator& default_generator();
/// Reseeds the default generator.
void manual_seed(std::uint64_t seed);

}  // namespace attograd
