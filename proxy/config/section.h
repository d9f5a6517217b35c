// Reading one TOML table with errors reported at the offending node's line and column:
// the pieces the config loader is built from.
#pragma once

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include "proxy/config/toml.h"

#include "proxy/config/address.h"
#include "proxy/config/config_loader.h"
#include "proxy/config/units.h"

namespace proxy::config::detail {

using boost::asio::ip::tcp;
using Millis = std::chrono::milliseconds;

inline std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

class Errors {
 public:
  explicit Errors(const std::string& file) : file_(file) {}

  void add(const toml::source_region& where, std::string message) {
    list_.push_back({file_, static_cast<int>(where.begin.line),
                     static_cast<int>(where.begin.column), std::move(message)});
  }
  bool empty() const { return list_.empty(); }

  std::vector<Error> take() {
    std::stable_sort(list_.begin(), list_.end(), [](const Error& a, const Error& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    return std::move(list_);
  }

 private:
  const std::string& file_;
  std::vector<Error> list_;
};

struct Address {
  std::string text;
  tcp::endpoint endpoint;
  const toml::node* node;
};

// One TOML table being read. Keys not in `allowed` are reported at once; the getters report
// wrong types and bad values at the value's position and return nullopt for them, so that a
// missing or wrong key leaves the setting at its default and reading goes on.
class Section {
 public:
  Section(Errors& errors, const toml::table& table, std::string where,
          std::initializer_list<std::string_view> allowed)
      : errors_(errors), table_(table), where_(std::move(where)) {
    for (auto&& [key, value] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
        errors_.add(key.source(), "unknown key " + quoted(key.str()) + " " + where_);
      }
    }
  }

  const toml::source_region& source() const { return table_.source(); }
  const std::string& where() const { return where_; }
  const toml::node* find(std::string_view key) const { return table_.get(key); }

  void error(std::string_view key, std::string message) const {
    if (auto* node = find(key)) errors_.add(node->source(), std::move(message));
  }

  bool require(std::string_view key) const {
    if (find(key)) return true;
    errors_.add(source(), "missing key " + quoted(key) + " " + where_);
    return false;
  }

  std::optional<std::string> string(std::string_view key) const {
    auto* node = find(key);
    if (!node) return std::nullopt;
    if (auto* v = node->as_string()) return v->get();
    errors_.add(node->source(), quoted(key) + " must be a string");
    return std::nullopt;
  }

  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max) const {
    auto* node = find(key);
    if (!node) return std::nullopt;
    auto* v = node->as_integer();
    if (!v) {
      errors_.add(node->source(), quoted(key) + " must be an integer");
    } else if (v->get() < min || v->get() > max) {
      errors_.add(node->source(), quoted(key) + " must be between " + std::to_string(min) +
                                      " and " + std::to_string(max));
    } else {
      return v->get();
    }
    return std::nullopt;
  }

  std::optional<bool> boolean(std::string_view key) const {
    auto* node = find(key);
    if (!node) return std::nullopt;
    if (auto* v = node->as_boolean()) return v->get();
    errors_.add(node->source(), quoted(key) + " must be true or false");
    return std::nullopt;
  }

  // A timeout: greater than 0 unless `allow_zero`.
  std::optional<Millis> duration(std::string_view key, bool allow_zero = false) const {
    auto* node = find(key);
    if (!node) return std::nullopt;
    auto* v = node->as_string();
    if (!v) {
      errors_.add(node->source(), quoted(key) + " must be a duration string such as \"30s\"");
      return std::nullopt;
    }
    auto d = parse_duration(v->get());
    if (!d) {
      errors_.add(node->source(), quoted(key) + ": bad duration " + quoted(v->get()) +
                                      " (a whole number with ms, s, m or h)");
    } else if (*d == Millis(0) && !allow_zero) {
      errors_.add(node->source(), quoted(key) + " must be greater than 0");
    } else {
      return d;
    }
    return std::nullopt;
  }

  // A string with units ("64MiB") or an integer number of bytes.
  std::optional<uint64_t> size(std::string_view key) const {
    auto* node = find(key);
    if (!node) return std::nullopt;
    if (auto* i = node->as_integer()) {
      if (i->get() >= 0) return static_cast<uint64_t>(i->get());
      errors_.add(node->source(), quoted(key) + " must not be negative");
      return std::nullopt;
    }
    auto* v = node->as_string();
    if (!v) {
      errors_.add(node->source(), quoted(key) + " must be a size such as \"64MiB\" or a number");
      return std::nullopt;
    }
    auto n = parse_size(v->get());
    if (!n) {
      errors_.add(node->source(), quoted(key) + ": bad size " + quoted(v->get()) +
                                      " (a whole number of bytes, KiB, MiB or GiB)");
    }
    return n;
  }

  std::optional<Address> address(std::string_view key) const {
    auto text = string(key);
    if (!text) return std::nullopt;
    auto* node = find(key);
    auto endpoint = parse_endpoint(*text);
    if (endpoint) return Address{*text, *endpoint, node};
    errors_.add(node->source(), quoted(key) + ": bad address " + quoted(*text) +
                                    " (expected \"ip:port\" or \"[ipv6]:port\")");
    return std::nullopt;
  }

  const toml::table* table(std::string_view key, std::string_view what) const {
    auto* node = find(key);
    if (!node || node->is_table()) return node ? node->as_table() : nullptr;
    errors_.add(node->source(), quoted(key) + " must be a table (" + std::string(what) + ")");
    return nullptr;
  }

  const toml::array* array(std::string_view key, std::string_view what) const {
    auto* node = find(key);
    if (!node || node->is_array()) return node ? node->as_array() : nullptr;
    errors_.add(node->source(), quoted(key) + " must be an array (" + std::string(what) + ")");
    return nullptr;
  }

 private:
  Errors& errors_;
  const toml::table& table_;
  std::string where_;
};

// Remembers the first place each name (or address) was used, to report the repeats.
template <typename Key>
class FirstSeen {
 public:
  // The line of the first use if `key` was seen before; records it otherwise.
  std::optional<int> repeat(const Key& key, const toml::source_region& where) {
    auto [it, inserted] = first_.emplace(key, static_cast<int>(where.begin.line));
    if (inserted) return std::nullopt;
    return it->second;
  }

 private:
  std::map<Key, int> first_;
};

inline std::string first_used(int line) {
  return " (first used at line " + std::to_string(line) + ")";
}

}  // namespace proxy::config::detail
