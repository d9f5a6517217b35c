#include "routing/shield_table.h"

namespace routing {

std::string ShieldTable::make_id(ShieldDimension d, std::string_view key) {
  std::string id;
  id.reserve(key.size() + 1);
  id += static_cast<char>(d);
  id += key;
  return id;
}

ShieldEntry* ShieldTable::find(ShieldDimension d, std::string_view key) {
  auto it = map_.find(make_id(d, key));
  return it == map_.end() ? nullptr : &*it->second;
}

ShieldEntry& ShieldTable::touch(ShieldDimension d, std::string_view key, Clock::time_point now) {
  std::string id = make_id(d, key);
  if (auto it = map_.find(id); it != map_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return lru_.front();
  }
  while (map_.size() >= capacity_) evict_one(now);
  lru_.push_front(ShieldEntry{.id = std::move(id), .bucket_start = now});
  map_.emplace(std::string_view(lru_.front().id), lru_.begin());
  return lru_.front();
}

bool ShieldTable::erase(ShieldDimension d, std::string_view key) {
  auto it = map_.find(make_id(d, key));
  if (it == map_.end()) return false;
  auto node = it->second;
  map_.erase(it);
  lru_.erase(node);
  return true;
}

size_t ShieldTable::clear() {
  size_t n = map_.size();
  map_.clear();
  lru_.clear();
  return n;
}

void ShieldTable::set_capacity(size_t capacity, Clock::time_point now) {
  capacity_ = capacity < 1 ? 1 : capacity;
  while (map_.size() > capacity_) evict_one(now);
}

void ShieldTable::evict_one(Clock::time_point now) {
  if (lru_.empty()) return;
  for (int i = 0; i < kSecondChances && lru_.back().blocked(now); ++i)
    lru_.splice(lru_.begin(), lru_, std::prev(lru_.end()));
  auto victim = std::prev(lru_.end());
  map_.erase(std::string_view(victim->id));
  lru_.erase(victim);
  ++evictions_;
}

}  // namespace routing
