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
    } else {
      s.error("affinity",
              "unknown affinity " + quoted(*v) + " (expected \"none\", \"cookie\" or \"source\")");
    }
  }
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
