// [login_shield]: how failed mail logins are counted and when they are slowed down or refused.
// Filled by proxy/config/; read by routing::LoginShield.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "routing/cidr.h"

namespace routing {

// What a failure is counted against. The order is the order of the checks and of the arrays
// indexed by it.
enum class ShieldDimension : uint8_t { Address, Network, User, Country };
inline constexpr size_t kShieldDimensions = 4;

// "address", "network", "user", "country": config tables, metric labels, API fields.
std::string_view shield_dimension_name(ShieldDimension d);

// The thresholds of one dimension, in failures counted within `window`. 0 turns the step off.
struct ShieldThresholds {
  uint32_t delay_after = 0;   // from this many failures on, answers are slowed down
  uint32_t refuse_after = 0;  // reaching this many failures refuses logins for `block`
};

struct LoginShieldSettings {
  bool enabled = true;
  // Failures are counted over a sliding window of this length (two fixed buckets, weighted).
  std::chrono::milliseconds window = std::chrono::minutes(10);
  // How long logins stay refused once a key reached its refuse_after.
  std::chrono::milliseconds block = std::chrono::minutes(10);
  // The delay at delay_after failures; it doubles with each further failure, up to max_delay.
  std::chrono::milliseconds first_delay = std::chrono::seconds(1);
  std::chrono::milliseconds max_delay = std::chrono::seconds(10);
  // Entries kept at most (one per key and dimension); the least recently failed go first.
  uint32_t table_size = 100'000;
  // Sources that log many users in (a webmail node): the address they announce is the client's.
  std::vector<Cidr> trusted_clients;
  // Indexed by ShieldDimension.
  std::array<ShieldThresholds, kShieldDimensions> thresholds = {{
      {3, 10},   // address
      {10, 50},  // network: /24 (IPv4) or /64 (IPv6)
      {5, 30},   // user
      {0, 0},    // country: off unless configured
  }};

  const ShieldThresholds& of(ShieldDimension d) const { return thresholds[static_cast<size_t>(d)]; }
};

}  // namespace routing
