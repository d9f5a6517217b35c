#include "proxy/admin/json_text.h"

#include <charconv>
#include <cmath>
#include <string_view>

#include <boost/json/serialize.hpp>

namespace proxy::admin {
namespace {

namespace json = boost::json;

// Length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), 0 if there is none.
size_t utf8_sequence(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i)
    if (b(i) < 0x80 || b(i) > 0xBF) return 0;
  return n;
}

// A JSON string: bytes that are not UTF-8 (a percent-decoded path segment, a name from a
// client) become U+FFFD, so that the text stays JSON.
std::string string_text(std::string_view s) {
  std::string valid;
  valid.reserve(s.size());
  while (!s.empty()) {
    const size_t n = utf8_sequence(s);
    if (n == 0) {
      valid += "\xEF\xBF\xBD";
      s.remove_prefix(1);
    } else {
      valid.append(s.data(), n);
      s.remove_prefix(n);
    }
  }
  return json::serialize(json::string_view(valid));
}

void newline(std::string& out, bool pretty, int depth) {
  if (!pretty) return;
  out += '\n';
  out.append(static_cast<size_t>(depth) * 2, ' ');
}

void write(const json::value& v, std::string& out, bool pretty, int depth) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      out += std::to_string(v.get_int64());
      break;
    case json::kind::uint64:
      out += std::to_string(v.get_uint64());
      break;
    case json::kind::double_: {
      double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";
        break;
      }
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
      if (r.ec != std::errc()) r = std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, r.ptr);
      break;
    }
    case json::kind::string:
      out += string_text(v.get_string());
      break;
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        break;
      }
      out += '[';
      bool first = true;
      for (const auto& e : a) {
        if (!first) out += ',';
        first = false;
        newline(out, pretty, depth + 1);
        write(e, out, pretty, depth + 1);
      }
      newline(out, pretty, depth);
      out += ']';
      break;
    }
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        break;
      }
      out += '{';
      bool first = true;
      for (const auto& kv : o) {
        if (!first) out += ',';
        first = false;
        newline(out, pretty, depth + 1);
        out += string_text(kv.key());
        out += pretty ? ": " : ":";
        write(kv.value(), out, pretty, depth + 1);
      }
      newline(out, pretty, depth);
      out += '}';
      break;
    }
  }
}

}  // namespace

std::string to_json_text(const json::value& v, bool pretty) {
  std::string out;
  write(v, out, pretty, 0);
  return out;
}

}  // namespace proxy::admin
