// Which failures on the way to a node may move a piece of work to another node, and how often.
// Pure rules, shared by every front (HTTP/1.1, TCP relay) through the connector:
//
// - A connect that fails (refused, timed out, TLS handshake to the node failed) sent nothing:
//   another node is tried, up to kMaxTries nodes for one request or session.
// - A reused keep-alive connection that the node closed before answering most likely went
//   stale: the request goes again on a fresh connection, to the same node first.
// - A fresh connection that died before any response byte says the node itself is failing
//   (stopping, crashing): a request that may be sent twice goes once to another node.
//   A request may be sent twice when its method is idempotent (GET, HEAD) or when its head
//   never left whole (the node never saw a request).
// - Anything else (a body already streamed, a response begun) is never replayed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace proxy::upstream {

// Nodes tried for one request (or TCP session) when connects fail.
inline constexpr size_t kMaxTries = 8;

enum class Recovery : uint8_t {
  FreshOnSameNode,  // a stale pooled connection: reconnect to the same node
  OtherNode,        // the node failed: the one replay, on another node
  GiveUp,           // answer the client with the failure
};

struct FailureFacts {
  bool reused = false;           // the connection came from the keep-alive pool
  bool replayed = false;         // the one replay on another node was spent already
  bool whole_head_sent = false;  // the node may have seen the request
  bool idempotent = false;       // GET or HEAD
};

// After a connection failed before any byte of the answer (a request without a body).
constexpr Recovery after_failure(const FailureFacts& f) {
  if (f.reused) return Recovery::FreshOnSameNode;
  const bool may_repeat = f.idempotent || !f.whole_head_sent;
  if (may_repeat && !f.replayed) return Recovery::OtherNode;
  return Recovery::GiveUp;
}

// What the client is told when no connection could be had.
enum class NoConnection : uint8_t {
  NoUsableNode,  // 503: none usable, or every one refused
  Timeout,       // 504: a connect timed out
};

}  // namespace proxy::upstream
