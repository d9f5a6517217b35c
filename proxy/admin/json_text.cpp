#include "proxy/admin/json_text.h"

#include <charconv>
#include <cmath>

#include <boost/json/serialize.hpp>

namespace proxy::admin {
namespace {

namespace json = boost::json;

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
      out += json::serialize(v.get_string());
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
        out += json::serialize(json::string_view(kv.key()));
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
