#include "proxy/config/pool_affinity.h"

#include "proxy/http/affinity_cookie.h"

namespace proxy::config::detail {

void read_pool_affinity(const Section& s, routing::PoolSettings& out) {
  if (auto v = s.string("affinity")) {
    if (*v == "none") {
      out.affinity = routing::Affinity::None;
    } else if (*v == "cookie") {
      out.affinity = routing::Affinity::Cookie;
    } else if (*v == "source") {
      out.affinity = routing::Affinity::Source;
    } else if (*v == "user") {
      out.affinity = routing::Affinity::User;
    } else {
      s.error("affinity", "unknown affinity " + quoted(*v) +
                              " (expected \"none\", \"cookie\", \"source\" or \"user\")");
    }
  }
  read_pool_user_keys(s, out);
  if (auto v = s.string("affinity_cookie")) {
    if (out.affinity != routing::Affinity::Cookie) {
      s.error("affinity_cookie",
              "\"affinity_cookie\" applies only to a pool with affinity = "
              "\"cookie\"");
    } else if (!http::valid_cookie_name(*v)) {
      s.error("affinity_cookie", "\"affinity_cookie\": bad cookie name " + quoted(*v) +
                                     " (letters, digits and !#$%&'*+-.^_`|~ only)");
    } else {
      out.affinity_cookie = *v;
    }
  }
}

// balance_factor and user_key: kept for the pool whatever its affinity, since a pool used by an
// IMAP listener has user affinity without saying so.
void read_pool_user_keys(const Section& s, routing::PoolSettings& out) {
  if (auto* node = s.find("balance_factor")) {
    std::optional<double> v;
    if (auto* f = node->as_floating_point()) v = f->get();
    if (auto* i = node->as_integer()) v = static_cast<double>(i->get());
    if (!v) {
      s.error("balance_factor", "\"balance_factor\" must be a number");
    } else if (!(*v >= 1.0) || *v > 1000.0) {
      s.error("balance_factor", "\"balance_factor\" must be between 1.0 and 1000");
    } else {
      out.balance_factor = *v;
    }
  }
  if (auto v = s.string("user_key")) {
    if (*v == "whole") {
      out.user_key = routing::UserKey::Whole;
    } else if (*v == "local-part") {
      out.user_key = routing::UserKey::LocalPart;
    } else {
      s.error("user_key",
              "unknown user_key " + quoted(*v) + " (expected \"whole\" or \"local-part\")");
    }
  }
}

void read_node_cookie(const Section& s, const routing::PoolSettings& pool,
                      FirstSeen<std::string>& cookies, routing::NodeSettings& out) {
  if (auto v = s.string("cookie")) {
    if (pool.affinity != routing::Affinity::Cookie) {
      s.error("cookie", "a node's \"cookie\" applies only to a pool with affinity = \"cookie\"");
      return;
    }
    if (!http::valid_cookie_value(*v)) {
      s.error("cookie", "\"cookie\": bad cookie value " + quoted(*v) +
                            " (1 to 64 printable characters, no space, quote, comma, semicolon "
                            "or backslash)");
      return;
    }
    out.cookie = *v;
    if (auto line = cookies.repeat(out.cookie, s.find("cookie")->source()))
      s.error("cookie", "duplicate node cookie " + quoted(out.cookie) + " in [pool." + pool.name +
                            "]" + first_used(*line));
  }
}

}  // namespace proxy::config::detail
