#include "proxy/config/pool_node_tls.h"

namespace proxy::config::detail {

void read_pool_node_tls(const Section& s, routing::PoolSettings& out) {
  if (auto v = s.string("node_tls")) {
    if (*v == "none") {
      out.node_tls = routing::NodeTls::None;
    } else if (*v == "starttls") {
      out.node_tls = routing::NodeTls::StartTls;
    } else if (*v == "auto") {
      out.node_tls = routing::NodeTls::Auto;
    } else {
      s.error("node_tls",
              "unknown node_tls " + quoted(*v) + " (expected \"none\", \"starttls\" or \"auto\")");
    }
  }
  if (auto v = s.boolean("node_verify")) out.node_verify = *v;
  if (auto v = s.string("node_ca_file")) {
    if (v->empty())
      s.error("node_ca_file",
              "\"node_ca_file\" must not be empty (leave it out for the system "
              "store)");
    out.node_ca_file = *v;
  }
  if (auto v = s.string("node_server_name")) {
    if (v->empty() || v->find_first_of(" \t\r\n/") != std::string::npos)
      s.error("node_server_name", "\"node_server_name\": bad name " + quoted(*v));
    out.node_server_name = *v;
  }
  if (out.node_tls == routing::NodeTls::None) {
    for (auto key : {"node_verify", "node_ca_file", "node_server_name"})
      if (s.find(key))
        s.error(key, quoted(key) +
                         " applies only to a pool with node_tls = \"starttls\" or "
                         "\"auto\"");
  }
}

}  // namespace proxy::config::detail
