// One node per mailbox: which node of a mail pool a user's new session goes to.
//
// Mail nodes that share one mail store (Dovecot on GlusterFS) must not open the same mailbox
// from two machines at once: its index files get corrupted. A UserAffinity keeps, for the whole
// process, the table of open sessions, user key -> (node identity, open session count), and
// chooses for each new session:
//
//   1. "open sessions": the user has open sessions on a node of this pool that is usable: that
//      node. With sessions on several (after their node went down and came back), the node
//      given most recently. A user with open sessions on a usable node never gets a second one.
//   2. otherwise the usable nodes in the user's weighted rendezvous order (routing/
//      rendezvous.h, key: the user key, identity: the node's IP address text): the first whose
//      load per unit of weight is not above balance_factor times the pool's average load per
//      unit of weight ("rendezvous" when it is the first, "load bound" when the first ones
//      were too loaded). Load: Node::in_flight(), every session held on the node in this pool
//      (the lease's NodeLease counts one); weight: the configured weight. Since at least one
//      node is at or under the average, a usable node is always found.
//
// A node's identity is its IP address (NodeSettings::ip, its text without the port), so that an
// IMAP pool node 10.0.0.1:143 and a POP3 pool node 10.0.0.1:110 are one machine: a user with an
// IMAP session open on 10.0.0.1 gets 10.0.0.1 for POP3 too. With no session open, two processes
// with the same nodes and weights choose the same node for a user (no shared state), and the
// user's order is the same in every pool of the same machines.
//
// When the user's node goes down, is drained or put in maintenance, new sessions go to the next
// node of their order; when it comes back, the user returns to it only once all their sessions
// through this process have ended.
//
// Thread safety: choose(), where() and the leases' release may run on every worker at once (one
// mutex around the table; a choice reads the nodes' loads under it, so two choices made at the
// same moment see each other). Nothing is global: the front owns one UserAffinity for the
// process and passes it where sessions start. It must outlive every lease it gave.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "routing/node.h"
#include "routing/settings.h"

namespace routing {

// A user name as the nodes compare it (the pool's `user_key`, routing/settings.h): `Whole` (the
// default) lower-cases the whole name ("Alice@Example.COOP" -> "alice@example.coop", Dovecot's
// %Lu); `LocalPart` also drops everything from the last '@' ("alice@example.coop" -> "alice",
// %Ln). Only ASCII letters are lower-cased; other bytes are kept as they are.
std::string user_key(std::string_view name, UserKey mode = UserKey::Whole);

// A node's identity for user affinity: its IP address text ("10.0.0.1", "2001:db8::1"); the
// configured address when it was not resolved.
std::string user_node_identity(const Node& node);

enum class UserChoice : uint8_t {
  None,          // no usable node
  OpenSessions,  // the node the user has open sessions on
  Rendezvous,    // the first usable node of the user's order
  LoadBound,     // a later one: those before it carry more than balance_factor x the average
};
std::string_view to_string(UserChoice c);  // "none", "open sessions", "rendezvous", "load bound"

class UserAffinity;

// One session of a user on a node: counted in the open-session table and as one unit of the
// node's load while held. Move-only; released on destruction or by release().
class UserLease {
 public:
  UserLease() = default;
  UserLease(UserLease&& o) noexcept;
  UserLease& operator=(UserLease&& o) noexcept;
  UserLease(const UserLease&) = delete;
  UserLease& operator=(const UserLease&) = delete;
  ~UserLease() { release(); }

  Node* node() const { return node_; }
  explicit operator bool() const { return node() != nullptr; }
  UserChoice reason() const { return reason_; }
  const std::string& user() const { return user_; }
  void release();
  // Hands the unit of load on the node to whoever holds the connection (a connector's
  // NodeLease), so that the session is counted once; the open session stays in the table
  // until this lease is released.
  NodeLease take_load() { return std::move(load_); }

 private:
  friend class UserAffinity;
  UserAffinity* table_ = nullptr;
  Node* node_ = nullptr;
  std::string user_;
  std::string identity_;
  NodeLease load_;
  UserChoice reason_ = UserChoice::None;
};

// What where() says of one node of the pool, in the user's rendezvous order.
struct UserNodeView {
  Node* node = nullptr;
  std::string identity;
  Health health = Health::Up;
  Admin admin = Admin::Active;
  bool usable = false;
  uint32_t weight = 1;
  uint32_t load = 0;           // sessions held on it in this pool (Node::in_flight())
  double load_per_weight = 0;  // load / weight
  bool within_bound = false;   // load_per_weight <= bound (usable nodes only)
  uint32_t user_sessions = 0;  // the user's open sessions on this identity
};

// Which node a user is on or would get, and why (for `passeur ctl where USER`).
struct UserAffinityExplanation {
  std::string user;      // the user key
  Node* node = nullptr;  // null when no node is usable
  UserChoice reason = UserChoice::None;
  size_t choice = 0;                // the node's place in the order, 1 = first; 0 without a node
  uint32_t open_sessions = 0;       // the user's open sessions, all nodes together
  double average = 0;               // the pool's load per unit of weight, over usable nodes
  double bound = 0;                 // balance_factor x average
  std::vector<UserNodeView> order;  // every node of the pool, best first
};

class UserAffinity {
 public:
  static constexpr double kDefaultBalanceFactor = 1.25;

  UserAffinity() = default;
  UserAffinity(const UserAffinity&) = delete;
  UserAffinity& operator=(const UserAffinity&) = delete;

  // A lease on the node for the user's new session; an empty lease (reason None) when no node
  // of `nodes` is usable. `user` is a user key (user_key()). balance_factor below 1 counts as 1.
  UserLease choose(std::string_view user, std::span<Node* const> nodes,
                   double balance_factor = kDefaultBalanceFactor);

  // What choose() would do now, without doing it.
  UserAffinityExplanation where(std::string_view user, std::span<Node* const> nodes,
                                double balance_factor = kDefaultBalanceFactor) const;

  // The user's open sessions, all nodes together.
  uint32_t sessions(std::string_view user) const;
  // Users with at least one open session.
  size_t users() const;
  // Open sessions per node identity, and the users that hold them (for drain status): their
  // count, and the first `names` of them in alphabetical order.
  struct IdentityLoad {
    uint32_t users = 0;
    uint32_t sessions = 0;
    std::vector<std::string> names;
  };
  IdentityLoad on_identity(std::string_view identity, size_t names = 0) const;

 private:
  friend class UserLease;
  struct Open {
    std::string identity;
    uint32_t sessions = 0;
  };
  // A user's nodes with open sessions, the most recently given last (one, but for a while
  // after a node went down).
  using Entry = std::vector<Open>;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Table = std::unordered_map<std::string, Entry, Hash, std::equal_to<>>;

  struct Decision {
    Node* node = nullptr;
    UserChoice reason = UserChoice::None;
  };
  Decision decide(std::string_view user, std::span<Node* const> nodes, double balance_factor,
                  UserAffinityExplanation* explain) const;
  void release(const std::string& user, const std::string& identity);

  mutable std::mutex mu_;
  Table table_;
};

}  // namespace routing
