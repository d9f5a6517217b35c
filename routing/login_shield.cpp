#include "routing/login_shield.h"

#include <algorithm>
#include <cmath>

namespace routing {

namespace {

std::string seconds_text(Clock::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

}  // namespace

std::string_view shield_state_name(ShieldEntryView::State s) {
  switch (s) {
    case ShieldEntryView::State::Counting:
      return "counting";
    case ShieldEntryView::State::Delayed:
      return "delayed";
    case ShieldEntryView::State::Refused:
      return "refused";
  }
  return "?";
}

// The key of each dimension counted for one source; empty: not counted.
struct LoginShield::Keys {
  std::array<std::string, kShieldDimensions> key;
};

LoginShield::LoginShield(LoginShieldSettings settings, const Clock& clock, Log log)
    : clock_(clock),
      log_(std::move(log)),
      settings_(std::move(settings)),
      table_(settings_.table_size) {}

void LoginShield::configure(const LoginShieldSettings& settings) {
  std::lock_guard lock(mutex_);
  settings_ = settings;
  table_.set_capacity(settings_.table_size, clock_.now());
}

LoginShieldSettings LoginShield::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

bool LoginShield::enabled() const {
  std::lock_guard lock(mutex_);
  return settings_.enabled;
}

std::optional<boost::asio::ip::address> LoginShield::client_address(
    const boost::asio::ip::address& connecting,
    const std::optional<boost::asio::ip::address>& announced) const {
  std::lock_guard lock(mutex_);
  return counted_client(connecting, announced, settings_.trusted_clients);
}

void LoginShield::keys_of(const LoginSource& source, Keys& out) const {
  auto counted = [&](ShieldDimension d) {
    const auto& t = settings_.of(d);
    return t.delay_after != 0 || t.refuse_after != 0;
  };
  auto set = [&](ShieldDimension d, std::string key) {
    if (counted(d)) out.key[static_cast<size_t>(d)] = std::move(key);
  };
  if (source.client) {
    set(ShieldDimension::Address, shield_address_key(*source.client));
    set(ShieldDimension::Network, shield_network_key(*source.client));
  }
  if (!source.user.empty()) set(ShieldDimension::User, shield_user_key(source.user));
  if (source.country.known()) set(ShieldDimension::Country, std::string(source.country.code()));
}

uint32_t LoginShield::failures_at(const ShieldEntry& e, Clock::time_point now) const {
  const Clock::duration window = settings_.window;
  const Clock::duration elapsed = now - e.bucket_start;
  uint32_t current = e.current, previous = e.previous;
  Clock::duration into = elapsed;  // how far into the current bucket `now` is
  if (elapsed >= 2 * window) return 0;
  if (elapsed >= window) {
    previous = current;
    current = 0;
    into = elapsed - window;
  }
  if (into < Clock::duration::zero()) into = Clock::duration::zero();
  const double overlap =
      static_cast<double>((window - into).count()) / static_cast<double>(window.count());
  const double weighted = std::ceil(static_cast<double>(previous) * overlap - 1e-9);
  const double total = static_cast<double>(current) + std::max(0.0, weighted);
  return total >= 4e9 ? 4'000'000'000u : static_cast<uint32_t>(total);
}

Clock::duration LoginShield::delay_for(ShieldDimension d, uint32_t failures) const {
  const auto& t = settings_.of(d);
  if (t.delay_after == 0 || failures < t.delay_after) return Clock::duration::zero();
  const uint32_t steps = failures - t.delay_after;
  const Clock::duration max = settings_.max_delay;
  Clock::duration delay = settings_.first_delay;
  for (uint32_t i = 0; i < steps && delay < max; ++i) delay *= 2;
  return std::min(delay, max);
}

ShieldVerdict LoginShield::before_login(const LoginSource& source) {
  std::lock_guard lock(mutex_);
  ShieldVerdict v;
  if (!settings_.enabled) return v;
  const auto now = clock_.now();
  Keys keys;
  keys_of(source, keys);
  for (size_t i = 0; i < kShieldDimensions; ++i) {
    if (keys.key[i].empty()) continue;
    const auto d = static_cast<ShieldDimension>(i);
    const ShieldEntry* e = table_.find(d, keys.key[i]);
    if (!e) continue;
    if (e->blocked(now)) {
      if (v.kind != ShieldVerdict::Kind::Refuse || e->blocked_until > v.until) {
        v.kind = ShieldVerdict::Kind::Refuse;
        v.until = e->blocked_until;
        v.dimension = d;
        v.delay = Clock::duration::zero();
      }
      continue;
    }
    if (v.kind == ShieldVerdict::Kind::Refuse) continue;
    const auto delay = delay_for(d, failures_at(*e, now));
    if (delay > v.delay) {
      v.kind = ShieldVerdict::Kind::Delay;
      v.delay = delay;
      v.dimension = d;
    }
  }
  const auto dim = static_cast<size_t>(v.dimension);
  if (v.kind == ShieldVerdict::Kind::Refuse) refusals_[dim].fetch_add(1, std::memory_order_relaxed);
  if (v.kind == ShieldVerdict::Kind::Delay) delays_[dim].fetch_add(1, std::memory_order_relaxed);
  return v;
}

void LoginShield::record(const LoginSource& source, bool success) {
  std::vector<std::string> lines;
  {
    std::lock_guard lock(mutex_);
    if (!settings_.enabled) return;
    const auto now = clock_.now();
    Keys keys;
    keys_of(source, keys);
    if (success) {
      successes_.fetch_add(1, std::memory_order_relaxed);
      for (auto d : {ShieldDimension::Address, ShieldDimension::User}) {
        const auto& key = keys.key[static_cast<size_t>(d)];
        if (!key.empty()) table_.erase(d, key);
      }
      return;
    }
    const Clock::duration window = settings_.window;
    for (size_t i = 0; i < kShieldDimensions; ++i) {
      if (keys.key[i].empty()) continue;
      const auto d = static_cast<ShieldDimension>(i);
      const auto& t = settings_.of(d);
      failures_[i].fetch_add(1, std::memory_order_relaxed);
      ShieldEntry& e = table_.touch(d, keys.key[i], now);
      if (failures_at(e, now) < t.delay_after) e.delay_logged = false;
      // Roll the buckets up to now.
      const Clock::duration elapsed = now - e.bucket_start;
      if (elapsed >= 2 * window) {
        e.previous = 0;
        e.current = 0;
        e.bucket_start = now;
      } else if (elapsed >= window) {
        e.previous = e.current;
        e.current = 0;
        e.bucket_start += window;
      }
      if (e.current < UINT32_MAX) ++e.current;
      const uint32_t n = failures_at(e, now);
      const std::string what =
          "login shield: " + std::string(shield_dimension_name(d)) + " " + std::string(e.key());
      if (t.refuse_after != 0 && n >= t.refuse_after && !e.blocked(now)) {
        e.blocked_until = now + settings_.block;
        e.delay_logged = true;
        lines.push_back(what + " refused for " + seconds_text(settings_.block) + " after " +
                        std::to_string(n) + " failed logins");
      } else if (t.delay_after != 0 && n >= t.delay_after && !e.delay_logged && !e.blocked(now)) {
        e.delay_logged = true;
        lines.push_back(what + " delayed after " + std::to_string(n) + " failed logins (" +
                        seconds_text(delay_for(d, n)) + ")");
      }
    }
  }
  if (log_)
    for (const auto& l : lines) log_(l);
}

std::vector<ShieldEntryView> LoginShield::top(size_t limit) const {
  std::vector<ShieldEntryView> out;
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  for (const ShieldEntry& e : table_.entries()) {
    const uint32_t n = failures_at(e, now);
    const bool blocked = e.blocked(now);
    if (n == 0 && !blocked) continue;
    ShieldEntryView v{.dimension = e.dimension(), .key = std::string(e.key()), .failures = n};
    if (blocked) {
      v.state = ShieldEntryView::State::Refused;
      v.until = e.blocked_until;
    } else if (auto delay = delay_for(v.dimension, n); delay > Clock::duration::zero()) {
      v.state = ShieldEntryView::State::Delayed;
      v.delay = delay;
    }
    out.push_back(std::move(v));
  }
  auto order = [](const ShieldEntryView& a, const ShieldEntryView& b) {
    if (a.failures != b.failures) return a.failures > b.failures;
    return (a.state == ShieldEntryView::State::Refused) >
           (b.state == ShieldEntryView::State::Refused);
  };
  if (out.size() > limit) {
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(limit), out.end(),
                      order);
    out.resize(limit);
  } else {
    std::sort(out.begin(), out.end(), order);
  }
  return out;
}

std::optional<bool> LoginShield::clear(ShieldDimension d, std::string_view text) {
  auto key = shield_key(d, text);
  if (!key) return std::nullopt;
  std::lock_guard lock(mutex_);
  return table_.erase(d, *key);
}

size_t LoginShield::clear_all() {
  std::lock_guard lock(mutex_);
  return table_.clear();
}

ShieldStats LoginShield::stats() const {
  ShieldStats s;
  for (size_t i = 0; i < kShieldDimensions; ++i) {
    s.failures[i] = failures_[i].load(std::memory_order_relaxed);
    s.delays[i] = delays_[i].load(std::memory_order_relaxed);
    s.refusals[i] = refusals_[i].load(std::memory_order_relaxed);
  }
  s.successes = successes_.load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  s.evictions = table_.evictions();
  s.entries = table_.size();
  s.capacity = table_.capacity();
  return s;
}

}  // namespace routing
