#include "proxy/http/forward_rules.h"

#include "proxy/http/header_rules.h"
#include "routing/route_table.h"

namespace proxy::http {
namespace {

const HeaderRules* route_rules(const RuleSite& site) {
  const Config& config = site.snapshot.config();
  const auto i = static_cast<size_t>(&site.route - config.routes.data());
  return i < config.route_headers.size() ? &config.route_headers[i] : nullptr;
}

size_t route_index(const RuleSite& site) {
  return static_cast<size_t>(&site.route - site.snapshot.config().routes.data());
}

template <class Apply>
void with_vars(const RuleSite& site, std::string_view http_host, Apply apply) {
  char buf[256];
  std::string_view host = routing::RouteTable::normalize_host(http_host, buf);
  apply(RuleVars{.remote_addr = site.client_ip,
                 .host = host,
                 .http_host = http_host,
                 .scheme = site.listener.tls ? "https" : "http"});
}

}  // namespace

std::string_view default_host(const Snapshot& snapshot, const routing::RouteSettings& route) {
  if (route.host && !route.host->starts_with("*.")) return *route.host;
  const size_t i = static_cast<size_t>(&route - snapshot.config().routes.data());
  const auto& nodes = snapshot.route_pool(i).settings().nodes;
  return nodes.empty() ? std::string_view() : std::string_view(nodes.front().address);
}

void apply_request_rules(const RuleSite& site, std::string& head) {
  const HeaderRules* route = route_rules(site);
  const bool rules =
      !site.listener.header_rules.request.empty() || (route && !route->request.empty());
  std::string_view http_host = site.req.host;
  if (site.req.host_count == 0) {
    // HTTP/1.0 without Host: the node still gets one, as nginx sends its upstream's.
    if (http_host.empty() && route_index(site) < site.snapshot.config().routes.size())
      http_host = default_host(site.snapshot, site.route);
    if (const size_t eol = head.find("\r\n"); eol != std::string::npos && !http_host.empty())
      head.insert(eol + 2, "Host: " + std::string(http_host) + "\r\n");
  }
  if (!rules) return;
  with_vars(site, http_host, [&](const RuleVars& vars) {
    apply_rules_to_head(
        head, {&site.listener.header_rules.request, route ? &route->request : nullptr}, vars);
  });
}

void apply_response_rules(const RuleSite& site, std::string& head) {
  const HeaderRules* route = route_rules(site);
  if (site.listener.header_rules.response.empty() && (!route || route->response.empty())) return;
  std::string_view http_host = site.req.host;
  if (http_host.empty() && route_index(site) < site.snapshot.config().routes.size())
    http_host = default_host(site.snapshot, site.route);
  with_vars(site, http_host, [&](const RuleVars& vars) {
    apply_rules_to_head(
        head, {&site.listener.header_rules.response, route ? &route->response : nullptr}, vars);
  });
}

}  // namespace proxy::http
