// The configuration file as `passeur check` reads it (proxy/config/config_loader.h: TOML, then
// every key checked), and the duration and size strings of its values (proxy/config/units.h).
//
// The input is loaded as a config file: it gives either a config and no error, or errors and no
// config, each error naming the file, a line within the text (0 for the whole file) and a
// message. Inputs of up to 64 bytes are also parsed as a duration and as a size. Invariant (no
// printer exists for either): a parsed duration written back in milliseconds, and in each
// larger unit that divides it, parses to the same duration; a parsed size written back in bytes,
// and in each binary unit that divides it, parses to the same size.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/config/config_loader.h"
#include "proxy/config/units.h"

namespace {

using namespace proxy::config;
using std::chrono::milliseconds;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "%s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void check_load(std::string_view text) {
  const LoadResult r = load_string(text, "fuzz.toml");
  if (r.config.has_value() == !r.errors.empty()) {
    fail("a load gives both a config and errors, or neither",
         r.errors.empty() ? "" : r.errors[0].str());
  }
  size_t lines = 1;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  for (const Error& e : r.errors) {
    if (e.file != "fuzz.toml") fail("an error naming another file", e.str());
    if (e.message.empty()) fail("an error without a message", e.str());
    if (e.line < 0 || static_cast<size_t>(e.line) > lines || e.column < 0) {
      fail("an error at a line outside the text", e.str());
    }
    if (e.str().rfind("fuzz.toml:", 0) != 0) fail("an error not as FILE:LINE:COL", e.str());
  }
}

void check_duration(std::string_view text) {
  const auto d = parse_duration(text);
  if (!d) return;
  if (d->count() < 0) fail("a negative duration", text);
  const int64_t ms = d->count();
  if (parse_duration(std::to_string(ms) + "ms") != d) fail("milliseconds differ", text);
  for (auto [unit, size] : {std::pair{"s", 1000}, {"m", 60'000}, {"h", 3'600'000}}) {
    if (ms % size == 0 && parse_duration(std::to_string(ms / size) + unit) != d) {
      fail("a duration in a larger unit differs", text);
    }
  }
}

void check_size(std::string_view text) {
  const auto s = parse_size(text);
  if (!s) return;
  if (parse_size(std::to_string(*s)) != s) fail("bytes differ", text);
  for (auto [unit, shift] : {std::pair{"KiB", 10}, {"MiB", 20}, {"GiB", 30}}) {
    const uint64_t size = uint64_t{1} << shift;
    if (*s % size == 0 && parse_size(std::to_string(*s / size) + unit) != s) {
      fail("a size in a binary unit differs", text);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_load(text);
  if (size <= 64) {
    check_duration(text);
    check_size(text);
  }
  return 0;
}
