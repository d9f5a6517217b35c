// The brute-force shield's memory: one entry per (dimension, key) with its failure counts,
// bounded to `capacity` entries. When full, the least recently failed entry goes, except that
// an entry whose block still runs gets a second chance (it moves to the front) while up to
// kSecondChances others are looked at: a flood of new keys cannot lift a block early.
// Not thread-safe: routing::LoginShield holds it under its lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "routing/health_clock.h"
#include "routing/login_shield_settings.h"

namespace routing {

struct ShieldEntry {
  std::string id;  // the dimension's byte, then the key
  // Failures in the sliding window: the bucket that started at bucket_start (`current`) and
  // the one before it (`previous`), which counts as much as it still overlaps the window.
  Clock::time_point bucket_start;
  uint32_t current = 0;
  uint32_t previous = 0;
  Clock::time_point blocked_until{};  // time_point{}: never blocked
  bool delay_logged = false;          // "starts being delayed" was logged since the last drop

  ShieldDimension dimension() const { return static_cast<ShieldDimension>(id.front()); }
  // "192.0.2.7", "192.0.2.0/24", "alice", "DE".
  std::string_view key() const { return std::string_view(id).substr(1); }
  bool blocked(Clock::time_point now) const { return blocked_until > now; }
};

class ShieldTable {
 public:
  static constexpr int kSecondChances = 8;

  explicit ShieldTable(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}
  ShieldTable(const ShieldTable&) = delete;
  ShieldTable& operator=(const ShieldTable&) = delete;

  // The entry if there is one; the recency order does not change.
  ShieldEntry* find(ShieldDimension d, std::string_view key);
  // The entry, created (evicting one when full) if missing, made the most recent.
  ShieldEntry& touch(ShieldDimension d, std::string_view key, Clock::time_point now);
  bool erase(ShieldDimension d, std::string_view key);
  // Drops every entry; returns how many there were.
  size_t clear();
  // A smaller capacity evicts down to it at once.
  void set_capacity(size_t capacity, Clock::time_point now);

  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }
  uint64_t evictions() const { return evictions_; }
  // Most recent first.
  const std::list<ShieldEntry>& entries() const { return lru_; }

 private:
  static std::string make_id(ShieldDimension d, std::string_view key);
  void evict_one(Clock::time_point now);

  size_t capacity_;
  uint64_t evictions_ = 0;
  std::list<ShieldEntry> lru_;  // front: most recently touched
  // Keys view the ids held by the list's nodes, which never move.
  std::unordered_map<std::string_view, std::list<ShieldEntry>::iterator> map_;
};

}  // namespace routing
