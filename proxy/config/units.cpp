#include "proxy/config/units.h"

#include <charconv>
#include <limits>

namespace proxy::config {
namespace {

struct Number {
  uint64_t value;
  std::string_view unit;
};

// Leading decimal digits (at least one) and what follows them.
std::optional<Number> split_number(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec != std::errc() || end != text.data() + digits) return std::nullopt;
  return Number{value, text.substr(digits)};
}

std::optional<uint64_t> scale(uint64_t value, uint64_t factor, uint64_t limit) {
  if (value > limit / factor) return std::nullopt;
  return value * factor;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto n = split_number(text);
  if (!n) return std::nullopt;
  uint64_t factor = 0;
  if (n->unit == "ms") {
    factor = 1;
  } else if (n->unit == "s") {
    factor = 1'000;
  } else if (n->unit == "m") {
    factor = 60'000;
  } else if (n->unit == "h") {
    factor = 3'600'000;
  } else if (n->unit.empty() && n->value == 0) {
    factor = 1;
  } else {
    return std::nullopt;
  }
  using Rep = std::chrono::milliseconds::rep;
  auto ms = scale(n->value, factor, static_cast<uint64_t>(std::numeric_limits<Rep>::max()));
  if (!ms) return std::nullopt;
  return std::chrono::milliseconds(static_cast<Rep>(*ms));
}

std::optional<uint64_t> parse_size(std::string_view text) {
  auto n = split_number(text);
  if (!n) return std::nullopt;
  uint64_t factor = 0;
  if (n->unit.empty()) {
    factor = 1;
  } else if (n->unit == "KiB") {
    factor = uint64_t{1} << 10;
  } else if (n->unit == "MiB") {
    factor = uint64_t{1} << 20;
  } else if (n->unit == "GiB") {
    factor = uint64_t{1} << 30;
  } else {
    return std::nullopt;
  }
  return scale(n->value, factor, std::numeric_limits<uint64_t>::max());
}

}  // namespace proxy::config
