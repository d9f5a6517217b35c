#include "proxy/http/value_template.h"

#include <array>
#include <utility>

namespace proxy::http {
namespace {

// Field-value bytes (RFC 9110 5.5): HTAB, SP, visible ASCII and obs-text.
bool value_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

bool name_byte(char c) {
  return (c >= 'a' && c <= 'z') || c == '_';
}

}  // namespace

std::optional<ValueTemplate> ValueTemplate::parse(std::string_view text, int groups,
                                                  std::string& error, size_t& offset) {
  using Kind = Piece::Kind;
  static constexpr std::array<std::pair<std::string_view, Kind>, 4> kVars{{
      {"remote_addr", Kind::RemoteAddr},
      {"host", Kind::Host},
      {"http_host", Kind::HttpHost},
      {"scheme", Kind::Scheme},
  }};
  ValueTemplate t;
  t.text_ = std::string(text);
  auto literal = [&](std::string_view s) {
    if (t.pieces_.empty() || !t.pieces_.back().literal()) t.pieces_.push_back({});
    t.pieces_.back().text.append(s);
  };
  auto capture = [&](size_t at, char digit) {
    const int n = digit - '0';
    if (groups < 0) {
      error = "captures ($1, \\1) are allowed only in the \"with\" of a replace rule";
    } else if (n > groups) {
      error = "capture " + std::to_string(n) + " is named but the pattern has " +
              std::to_string(groups) + " group" + (groups == 1 ? "" : "s");
    } else {
      t.pieces_.push_back({.kind = Kind::Capture, .capture = static_cast<uint8_t>(n)});
      return true;
    }
    offset = at;
    return false;
  };
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (!value_byte(c)) {
      error = "a header value must not hold control characters (CR, LF, NUL...)";
      offset = i;
      return std::nullopt;
    }
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (c == '\\' && groups >= 0 && next >= '0' && next <= '9') {
      if (!capture(i, next)) return std::nullopt;
      i += 2;
    } else if (c == '\\' && groups >= 0 && next == '\\') {
      literal("\\");
      i += 2;
    } else if (c == '$' && next == '$') {
      literal("$");
      i += 2;
    } else if (c == '$' && next >= '0' && next <= '9') {
      if (!capture(i, next)) return std::nullopt;
      i += 2;
    } else if (c == '$' && name_byte(next)) {
      size_t end = i + 1;
      while (end < text.size() && name_byte(text[end])) ++end;
      const std::string_view name = text.substr(i + 1, end - i - 1);
      bool found = false;
      for (auto [var, kind] : kVars) {
        if (var == name) {
          t.pieces_.push_back({.kind = kind});
          found = true;
        }
      }
      if (!found) {
        error = "unknown variable $" + std::string(name) +
                " (known: $remote_addr, $host, $http_host, $scheme; $$ for a literal $)";
        offset = i;
        return std::nullopt;
      }
      i = end;
    } else {
      literal(text.substr(i, 1));
      ++i;
    }
  }
  return t;
}

void ValueTemplate::expand(const RuleVars& vars, std::span<const std::string_view> captures,
                           std::string& out) const {
  for (const Piece& p : pieces_) {
    switch (p.kind) {
      case Piece::Kind::Literal:
        out.append(p.text);
        break;
      case Piece::Kind::RemoteAddr:
        out.append(vars.remote_addr);
        break;
      case Piece::Kind::Host:
        out.append(vars.host);
        break;
      case Piece::Kind::HttpHost:
        out.append(vars.http_host);
        break;
      case Piece::Kind::Scheme:
        out.append(vars.scheme);
        break;
      case Piece::Kind::Capture:
        if (p.capture < captures.size()) out.append(captures[p.capture]);
        break;
    }
  }
}

}  // namespace proxy::http
