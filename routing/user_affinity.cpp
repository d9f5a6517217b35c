#include "routing/user_affinity.h"

#include <algorithm>

#include "routing/rendezvous.h"

namespace routing {

std::string user_key(std::string_view name, UserKey mode) {
  if (mode == UserKey::LocalPart) {
    const size_t at = name.rfind('@');
    if (at != std::string_view::npos) name = name.substr(0, at);
  }
  std::string out(name);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string user_node_identity(const Node& node) {
  const NodeSettings& s = node.settings();
  if (s.resolved()) return s.ip.to_string();
  return s.address;
}

std::string_view to_string(UserChoice c) {
  switch (c) {
    case UserChoice::OpenSessions:
      return "open sessions";
    case UserChoice::Rendezvous:
      return "rendezvous";
    case UserChoice::LoadBound:
      return "load bound";
    case UserChoice::None:
      break;
  }
  return "none";
}

// --- UserLease -------------------------------------------------------------------------------

UserLease::UserLease(UserLease&& o) noexcept
    : table_(o.table_),
      node_(o.node_),
      user_(std::move(o.user_)),
      identity_(std::move(o.identity_)),
      load_(std::move(o.load_)),
      reason_(o.reason_) {
  o.table_ = nullptr;
  o.node_ = nullptr;
  o.reason_ = UserChoice::None;
}

UserLease& UserLease::operator=(UserLease&& o) noexcept {
  if (this != &o) {
    release();
    table_ = o.table_;
    node_ = o.node_;
    user_ = std::move(o.user_);
    identity_ = std::move(o.identity_);
    load_ = std::move(o.load_);
    reason_ = o.reason_;
    o.table_ = nullptr;
    o.node_ = nullptr;
    o.reason_ = UserChoice::None;
  }
  return *this;
}

void UserLease::release() {
  if (table_) table_->release(user_, identity_);
  table_ = nullptr;
  node_ = nullptr;
  load_.release();
}

// --- UserAffinity ----------------------------------------------------------------------------

UserAffinity::Decision UserAffinity::decide(std::string_view user, std::span<Node* const> nodes,
                                            double balance_factor,
                                            UserAffinityExplanation* explain) const {
  const double factor = std::max(balance_factor, 1.0);
  std::vector<std::string> ids;
  ids.reserve(nodes.size());
  for (const Node* n : nodes) ids.push_back(user_node_identity(*n));

  const auto it = table_.find(user);
  const Entry* entry = it == table_.end() ? nullptr : &it->second;
  auto user_sessions_on = [&](std::string_view id) -> uint32_t {
    if (!entry) return 0;
    for (const Open& o : *entry)
      if (o.identity == id) return o.sessions;
    return 0;
  };

  // The pool's load per unit of weight, over the usable nodes.
  double total_load = 0;
  double total_weight = 0;
  for (const Node* n : nodes) {
    if (!n->usable()) continue;
    total_load += n->in_flight();
    total_weight += n->weight();
  }
  const double average = total_weight > 0 ? total_load / total_weight : 0;
  const double bound = factor * average;

  std::vector<rendezvous::Candidate> candidates;
  candidates.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) candidates.push_back({ids[i], nodes[i]->weight()});
  const std::vector<size_t> order = rendezvous::order(user, candidates);

  Decision d;
  size_t place = 0;
  // 1. Open sessions on a usable node of this pool: the most recently given one.
  if (entry) {
    for (auto o = entry->rbegin(); o != entry->rend() && !d.node; ++o) {
      for (size_t k = 0; k < order.size(); ++k) {
        Node* n = nodes[order[k]];
        if (ids[order[k]] == o->identity && n->usable()) {
          d = {n, UserChoice::OpenSessions};
          place = k + 1;
          break;
        }
      }
    }
  }
  // 2. The user's order: the first usable node within the load bound.
  if (!d.node) {
    bool skipped_for_load = false;
    for (size_t k = 0; k < order.size(); ++k) {
      Node* n = nodes[order[k]];
      if (!n->usable()) continue;
      const double per_weight = static_cast<double>(n->in_flight()) / n->weight();
      if (per_weight > bound) {
        skipped_for_load = true;
        continue;
      }
      d = {n, skipped_for_load ? UserChoice::LoadBound : UserChoice::Rendezvous};
      place = k + 1;
      break;
    }
  }

  if (explain) {
    explain->user = std::string(user);
    explain->node = d.node;
    explain->reason = d.reason;
    explain->choice = d.node ? place : 0;
    explain->open_sessions = 0;
    if (entry)
      for (const Open& o : *entry) explain->open_sessions += o.sessions;
    explain->average = average;
    explain->bound = bound;
    explain->order.clear();
    for (size_t k : order) {
      const Node* n = nodes[k];
      UserNodeView v;
      v.node = nodes[k];
      v.identity = ids[k];
      v.health = n->health();
      v.admin = n->admin();
      v.usable = n->usable();
      v.weight = n->weight();
      v.load = n->in_flight();
      v.load_per_weight = static_cast<double>(v.load) / v.weight;
      v.within_bound = v.usable && v.load_per_weight <= bound;
      v.user_sessions = user_sessions_on(ids[k]);
      explain->order.push_back(std::move(v));
    }
  }
  return d;
}

UserLease UserAffinity::choose(std::string_view user, std::span<Node* const> nodes,
                               double balance_factor) {
  std::lock_guard lock(mu_);
  const Decision d = decide(user, nodes, balance_factor, nullptr);
  UserLease lease;
  if (!d.node) return lease;
  lease.table_ = this;
  lease.user_ = std::string(user);
  lease.identity_ = user_node_identity(*d.node);
  lease.node_ = d.node;
  lease.load_ = NodeLease(d.node);
  lease.reason_ = d.reason;
  auto it = table_.find(user);
  if (it == table_.end()) it = table_.emplace(std::string(user), Entry{}).first;
  Entry& e = it->second;
  auto o = std::find_if(e.begin(), e.end(),
                        [&](const Open& x) { return x.identity == lease.identity_; });
  Open open{lease.identity_, 1};
  if (o != e.end()) {
    open.sessions = o->sessions + 1;
    e.erase(o);
  }
  e.push_back(std::move(open));  // the most recently given last
  return lease;
}

UserAffinityExplanation UserAffinity::where(std::string_view user, std::span<Node* const> nodes,
                                            double balance_factor) const {
  UserAffinityExplanation out;
  std::lock_guard lock(mu_);
  decide(user, nodes, balance_factor, &out);
  return out;
}

void UserAffinity::release(const std::string& user, const std::string& identity) {
  std::lock_guard lock(mu_);
  auto it = table_.find(user);
  if (it == table_.end()) return;
  Entry& e = it->second;
  auto o = std::find_if(e.begin(), e.end(), [&](const Open& x) { return x.identity == identity; });
  if (o == e.end()) return;
  if (--o->sessions == 0) e.erase(o);
  if (e.empty()) table_.erase(it);
}

uint32_t UserAffinity::sessions(std::string_view user) const {
  std::lock_guard lock(mu_);
  auto it = table_.find(user);
  if (it == table_.end()) return 0;
  uint32_t n = 0;
  for (const Open& o : it->second) n += o.sessions;
  return n;
}

size_t UserAffinity::users() const {
  std::lock_guard lock(mu_);
  return table_.size();
}

UserAffinity::IdentityLoad UserAffinity::on_identity(std::string_view identity,
                                                     size_t names) const {
  IdentityLoad out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [user, entry] : table_) {
      for (const Open& o : entry) {
        if (o.identity != identity) continue;
        ++out.users;
        out.sessions += o.sessions;
        if (names) out.names.push_back(user);
      }
    }
  }
  const size_t keep = std::min(names, out.names.size());
  std::partial_sort(out.names.begin(), out.names.begin() + static_cast<ptrdiff_t>(keep),
                    out.names.end());
  out.names.resize(keep);
  return out;
}

}  // namespace routing
