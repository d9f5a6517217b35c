// Config parse: a whole co-op edge (TOML text to validated proxy::Config), as `passeur check`
// and every reload (SIGHUP, POST /api/v1/reload) do it. The text is in memory, so the figure
// is parsing and validation, not file reading.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "proxy/config/config_loader.h"

namespace {

// Three nodes serving webmail, cloud, push, office and certbot; 11 routes over exact, wildcard
// and host-less groups; 7 pools, most with health checks; two TLS certificates; an HTTPS
// listener with HSTS and a plain one redirecting to it.
const char* const kCoopConfig = R"(# the co-op's edge
[server]
workers = 2
admin_listen = "127.0.0.1:9900"
access_log = "/var/log/passeur/access.log"
grace_period = "30s"

[[certificate]]
cert = "/etc/letsencrypt/live/example.coop/fullchain.pem"
key = "/etc/letsencrypt/live/example.coop/privkey.pem"

[[certificate]]
cert = "/etc/letsencrypt/live/example.coop-ecdsa/fullchain.pem"
key = "/etc/letsencrypt/live/example.coop-ecdsa/privkey.pem"

[[listener]]
name = "web-tls"
listen = "0.0.0.0:443"
protocol = "http"
tls = true
hsts = "max-age=63072000"
default_certificate = "webmail.example.coop"
header_timeout = "10s"
keepalive_timeout = "75s"
max_header = "32KiB"

[[listener]]
name = "web"
listen = "0.0.0.0:80"
protocol = "http"
redirect_to_https = true

[[route]]
path_prefix = "/.well-known/acme-challenge/"
pool = "certbot"

[[route]]
host = "webmail.example.coop"
path_prefix = "/"
pool = "webmail"
max_body = "64MiB"

[[route]]
host = "webmail.example.coop"
path_prefix = "/plugins/managesieve/"
pool = "webmail"
response_timeout = "30s"

[[route]]
host = "cloud.example.coop"
pool = "cloud"
max_body = "0"
response_timeout = "10m"

[[route]]
host = "cloud.example.coop"
path_prefix = "/remote.php/dav/"
pool = "cloud-dav"
max_body = "0"
response_timeout = "1h"

[[route]]
host = "cloud.example.coop"
path_prefix = "/push/"
pool = "push"
tunnel_timeout = "1h"

[[route]]
host = "office.example.coop"
pool = "office"
tunnel_timeout = "2h"

[[route]]
host = "*.members.example.coop"
pool = "pages"

[[route]]
host = "status.example.coop"
pool = "pages"
path_prefix = "/"

[[route]]
host = "www.example.coop"
pool = "pages"

[[route]]
host = "*.example.coop"
pool = "pages"
max_body = "1MiB"

[pool.webmail]
balance = "least_loaded"
nodes = [ { address = "10.0.0.11:8080", name = "node1" },
          { address = "10.0.0.12:8080", name = "node2" },
          { address = "10.0.0.13:8080", name = "node3" } ]
slow_start = "30s"
drain_timeout = "10m"
check = { type = "http", path = "/", expect_status = "200-399", interval = "2s", rise = 2 }

[pool.cloud]
nodes = [ { address = "10.0.0.11:8081", name = "node1", weight = 2 },
          { address = "10.0.0.12:8081", name = "node2", weight = 2 },
          { address = "10.0.0.13:8081", name = "node3" } ]
slow_start = "30s"
drain_timeout = "10m"
max_idle = 64
idle_timeout = "30s"

[pool.cloud.check]
type = "http"
path = "/status.php"
expect_status = "200-299"
expect_body = "\"maintenance\":false"
interval = "2s"
timeout = "1s"
rise = 2
fall = 3

[pool.cloud-dav]
nodes = [ { address = "10.0.0.11:8081", name = "node1", weight = 2 },
          { address = "10.0.0.12:8081", name = "node2", weight = 2 },
          { address = "10.0.0.13:8081", name = "node3" } ]
drain_timeout = "1h"
check = { type = "http", path = "/status.php", interval = "2s", timeout = "1s" }

[pool.push]
balance = "round_robin"
nodes = ["10.0.0.11:7867", "10.0.0.12:7867", "10.0.0.13:7867"]
check = { type = "tcp", interval = "5s", timeout = "1s" }

[pool.office]
nodes = ["10.0.0.13:9980"]
check = { type = "http", path = "/hosting/discovery", interval = "5s", timeout = "2s" }

[pool.pages]
balance = "round_robin"
nodes = ["10.0.0.11:8090", "10.0.0.12:8090"]
check = { type = "tcp", interval = "5s" }

[pool.certbot]
nodes = ["10.0.0.11:8888"]
)";

void BM_ConfigParseCoopEdge(benchmark::State& state) {
  const std::string text = kCoopConfig;
  {
    auto r = proxy::config::load_string(text, "coop-edge.toml");
    if (!r.ok()) {
      for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
      std::abort();
    }
  }
  for (auto _ : state) {
    auto r = proxy::config::load_string(text, "coop-edge.toml");
    benchmark::DoNotOptimize(r.config);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConfigParseCoopEdge)->Unit(benchmark::kMicrosecond);

// The same file with one error: the path an operator's typo takes (errors with line:column).
void BM_ConfigParseWithError(benchmark::State& state) {
  std::string text = kCoopConfig;
  text.replace(text.find("grace_period = \"30s\""), 20, "grace_period = \"30x\"");
  for (auto _ : state) {
    auto r = proxy::config::load_string(text, "coop-edge.toml");
    if (r.ok()) std::abort();
    benchmark::DoNotOptimize(r.errors.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConfigParseWithError)->Unit(benchmark::kMicrosecond);

}  // namespace
