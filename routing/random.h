// Randomness injected into the pure parts (balancers), so tests and benchmarks are deterministic.
#pragma once

#include <cstdint>

namespace routing {

class Random {
 public:
  virtual ~Random() = default;
  // A value uniformly drawn from [0, bound); bound > 0.
  virtual uint32_t below(uint32_t bound) = 0;
};

// xorshift64*: fast, good enough for tie-breaking, one per worker (not thread-safe).
class FastRandom final : public Random {
 public:
  explicit FastRandom(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  uint32_t below(uint32_t bound) override {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    uint64_t r = (state_ * 0x2545F4914F6CDD1Dull) >> 32;
    return static_cast<uint32_t>((r * bound) >> 32);
  }

 private:
  uint64_t state_;
};

}  // namespace routing
