// The brute-force shield of mail logins: failures counted per client address, per network
// (/24 for IPv4, /64 for IPv6), per user and per country; past each dimension's thresholds
// logins are first slowed down, then refused for a while, before any node is contacted.
//
// Counting: each key's failures are counted over a sliding window of `window`, estimated from
// two fixed buckets the way sliding-window rate limiters do it: the failures of the current
// bucket plus those of the previous one, weighted by how much of it still overlaps the window
// (rounded up). A failure therefore counts fully for `window`, then fades out over the next.
//   - from delay_after failures on, before_login() answers Delay: first_delay, doubling with
//     each further failure, at most max_delay (the largest of the dimensions');
//   - the failure that reaches refuse_after blocks the key for `block`: before_login() answers
//     Refuse until then. Once the block ends, a key still over delay_after is slowed down, and
//     one more failure blocks it again.
//   - a success resets the client address's and the user's entries (not the network's or the
//     country's: one member's success does not clear a botnet's record).
// A dimension whose two thresholds are 0 is not counted at all.
//
// A mail session uses the process's instance (proxy::WorkerContext::login_shield()):
//   LoginSource src{.client = shield.client_address(peer, x_originating_ip),
//                   .user = user, .country = country};
//   ShieldVerdict v = shield.before_login(src);      // once the user is known, before the node
//   Refuse: the protocol's temporary failure, no node contacted, no record();
//   Delay:  wait v.delay on a timer (never blocking the worker), then go on;
//   then, with the node's answer to the login: shield.record(src, accepted).
//
// Thread-safe: one lock around the table (a few microseconds per call, for logins that
// cost the node milliseconds). The clock is injected; the log callback gets one line when a key
// starts being delayed and when it is refused, outside the lock.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "routing/health_clock.h"
#include "routing/login_shield_settings.h"
#include "routing/login_source.h"
#include "routing/shield_table.h"

namespace routing {

struct ShieldVerdict {
  enum class Kind : uint8_t { Allow, Delay, Refuse };
  Kind kind = Kind::Allow;
  // Delay: how long to wait before going on with the login (or before answering a refusal).
  Clock::duration delay{};
  // Refuse: when logins from this source are let through again.
  Clock::time_point until{};
  // Delay, Refuse: the dimension that decided (the longest delay, the latest block).
  ShieldDimension dimension = ShieldDimension::Address;

  bool allowed() const { return kind != Kind::Refuse; }
};

// One entry as the admin API shows it.
struct ShieldEntryView {
  enum class State : uint8_t { Counting, Delayed, Refused };
  ShieldDimension dimension = ShieldDimension::Address;
  std::string key;
  uint32_t failures = 0;  // in the window, as the thresholds see them
  State state = State::Counting;
  Clock::duration delay{};    // Delayed: the delay a login gets now
  Clock::time_point until{};  // Refused: the end of the block
};
std::string_view shield_state_name(ShieldEntryView::State s);  // "counting", "delayed", "refused"

struct ShieldStats {
  std::array<uint64_t, kShieldDimensions> failures{};  // failures counted, per dimension
  std::array<uint64_t, kShieldDimensions> delays{};    // Delay verdicts, by deciding dimension
  std::array<uint64_t, kShieldDimensions> refusals{};  // Refuse verdicts, by deciding dimension
  uint64_t successes = 0;                              // successes recorded
  uint64_t evictions = 0;
  size_t entries = 0;
  size_t capacity = 0;
};

class LoginShield {
 public:
  using Log = std::function<void(std::string_view)>;

  LoginShield(LoginShieldSettings settings, const Clock& clock, Log log = {});
  LoginShield(const LoginShield&) = delete;
  LoginShield& operator=(const LoginShield&) = delete;

  // New settings (a reload): the entries stay and the new thresholds apply to them from now
  // on; a smaller table_size evicts down to it.
  void configure(const LoginShieldSettings& settings);
  LoginShieldSettings settings() const;
  bool enabled() const;

  // counted_client() with the configured trusted_clients: the address to put in LoginSource.
  std::optional<boost::asio::ip::address> client_address(
      const boost::asio::ip::address& connecting,
      const std::optional<boost::asio::ip::address>& announced) const;

  // Before the node is contacted. Allow when disabled.
  ShieldVerdict before_login(const LoginSource& source);
  // After the node's verdict on the login (not for logins that before_login refused, nor for
  // logins that never reached a verdict).
  void record(const LoginSource& source, bool success);

  // The `limit` entries with the most failures (refused ones first on a tie); entries whose
  // failures have faded and whose block ended are left out.
  std::vector<ShieldEntryView> top(size_t limit) const;
  // Clears one entry; `key` as shield_key() reads it. nullopt: the key is not one of that
  // dimension; false: no such entry.
  std::optional<bool> clear(ShieldDimension d, std::string_view key);
  size_t clear_all();

  ShieldStats stats() const;

 private:
  struct Keys;
  void keys_of(const LoginSource& source, Keys& out) const;
  uint32_t failures_at(const ShieldEntry& e, Clock::time_point now) const;
  Clock::duration delay_for(ShieldDimension d, uint32_t failures) const;

  const Clock& clock_;
  Log log_;
  mutable std::mutex mutex_;
  LoginShieldSettings settings_;
  ShieldTable table_;
  std::array<std::atomic<uint64_t>, kShieldDimensions> failures_{};
  std::array<std::atomic<uint64_t>, kShieldDimensions> delays_{};
  std::array<std::atomic<uint64_t>, kShieldDimensions> refusals_{};
  std::atomic<uint64_t> successes_{0};
};

}  // namespace routing
