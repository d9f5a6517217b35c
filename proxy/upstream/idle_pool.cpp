#include "proxy/upstream/idle_pool.h"

namespace proxy::upstream {

std::unique_ptr<Connection> IdlePool::take(const routing::Node* node) {
  auto it = idle_.find(node);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  // Most recently used first: it is the least likely to have been closed by the backend.
  auto conn = std::move(it->second.back());
  it->second.pop_back();
  conn->set_idle(false);
  return conn;
}

void IdlePool::give_back(const routing::Node* node, std::unique_ptr<Connection> conn,
                         uint32_t max_idle, Clock::time_point now) {
  auto& v = idle_[node];
  if (v.size() >= max_idle) return;  // dropping conn closes it
  conn->idle_since = now;
  conn->buffer.clear();
  conn->set_idle(true);
  v.push_back(std::move(conn));
}

size_t IdlePool::idle_count() const {
  size_t n = 0;
  for (const auto& [node, v] : idle_) n += v.size();
  return n;
}

}  // namespace proxy::upstream
