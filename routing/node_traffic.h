// What happened on the way to one node, counted per worker (see local_counters.h), and what
// its health checks saw. Plain counters: proxy/ exports them as Prometheus metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "routing/local_counters.h"

namespace routing {

enum class ConnectError : uint8_t { Refused, Timeout, Tls, Other };
inline constexpr size_t kConnectErrorKinds = 4;

// What a node answered to a mail login Passeur replayed: accepted, refused (a wrong password),
// or the dialogue broke.
enum class MailLogin : uint8_t { Ok, Refused, Failed };
inline constexpr size_t kMailLoginResults = 3;

// One worker's share; its own cache lines.
struct alignas(64) NodeTraffic {
  std::array<LocalCounter, 5> responses;  // by status class, see status_class()
  LocalCounter sent_bytes;                // request bytes sent to the node
  LocalCounter received_bytes;            // response bytes relayed from it
  LocalCounter retries;                   // requests sent again after a failure on this node
  std::array<LocalCounter, kConnectErrorKinds> connect_errors;
  LocalGauge connections;        // open connections to the node
  LocalGauge idle;               // of which kept idle for reuse
  LatencyHistogram header_time;  // request start to response head
  LatencyHistogram total_time;   // request start to its last byte
  ConnectHistogram connect_time;
  SessionHistogram session_time;                            // TCP sessions: from accept to close
  std::array<LocalCounter, kMailLoginResults> mail_logins;  // by MailLogin
};

enum class CheckOutcome : uint8_t { Ok, Failed, Timeout };
inline constexpr size_t kCheckOutcomes = 3;

// Written by the health checker only (one thread).
struct CheckStats {
  std::array<LocalCounter, kCheckOutcomes> results;
  ConnectHistogram duration;
  std::atomic<int64_t> last_unix_ms{0};  // 0: never checked
  std::atomic<CheckOutcome> last_outcome{CheckOutcome::Ok};
  std::atomic<std::shared_ptr<const std::string>> last_detail;

  void record(CheckOutcome outcome, std::string detail, std::chrono::nanoseconds took,
              int64_t unix_ms) {
    results[static_cast<size_t>(outcome)].add();
    duration.observe(took);
    last_outcome.store(outcome, std::memory_order_relaxed);
    last_detail.store(std::make_shared<const std::string>(std::move(detail)));
    last_unix_ms.store(unix_ms, std::memory_order_release);
  }
};

}  // namespace routing
