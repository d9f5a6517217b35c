// The value a header rule writes: literal text with `$name` variables of the request
// ($remote_addr, $host, $http_host, $scheme) and, in a `replace` rule, `$1`..`$9` or `\1`..`\9`
// for the pattern's captures (`$0`, `\0`: the whole match). `$$` is a literal `$`.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace proxy::http {

// What the variables of a template stand for, for one request.
struct RuleVars {
  std::string_view remote_addr;  // the client's address
  std::string_view host;         // the request's host name: lower case, without its port
  std::string_view http_host;    // the Host as received
  std::string_view scheme;       // "http" or "https"
};

class ValueTemplate {
 public:
  ValueTemplate() = default;

  // Parses `text`. `groups`: the number of capture groups a replacement may name, or -1 where
  // captures are not allowed (set, add). On a fault returns nullopt with `error` set and
  // `offset` at the faulty byte.
  static std::optional<ValueTemplate> parse(std::string_view text, int groups, std::string& error,
                                            size_t& offset);

  // Appends the value for these variables and captures (captures[0] the whole match).
  void expand(const RuleVars& vars, std::span<const std::string_view> captures,
              std::string& out) const;

  // The template's own text, as written.
  const std::string& text() const { return text_; }
  // True when it has no variables and no captures: the value is the text itself.
  bool literal() const { return pieces_.size() <= 1 && (pieces_.empty() || pieces_[0].literal()); }

 private:
  struct Piece {
    enum class Kind : uint8_t { Literal, RemoteAddr, Host, HttpHost, Scheme, Capture };
    Kind kind = Kind::Literal;
    uint8_t capture = 0;
    std::string text;  // Literal
    bool literal() const { return kind == Kind::Literal; }
  };
  std::string text_;
  std::vector<Piece> pieces_;
};

}  // namespace proxy::http
