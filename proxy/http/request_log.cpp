#include "proxy/http/request_log.h"

#include <chrono>

#include "proxy/http/access_line.h"

namespace proxy::http {
namespace {

void log_request(const RequestSource& from, const RequestRecord& r, const RequestHead& req,
                 unsigned status, Clock::time_point end) {
  LogBuffer& log = from.w.log();
  using Seconds = std::chrono::duration<double>;
  AccessLine line{.client = from.client,
                  .client_port = from.client_port,
                  .method = req.method,
                  .target = req.target,
                  .version = req.version,
                  .status = status,
                  .bytes = r.bytes_sent,
                  .host = req.host,
                  .listener = from.listener_name,
                  .pool = r.pool_name,
                  .node = r.node_name,
                  .country = from.w.has_geo() ? from.country.code() : std::string_view(),
                  .upstream_seconds = r.upstream_end > r.upstream_start
                                          ? Seconds(r.upstream_end - r.upstream_start).count()
                                          : -1.0,
                  .total_seconds = Seconds(end - r.start).count(),
                  .bytes_in = r.bytes_received,
                  .close = r.close};
  format_access_line(line, log.line_buffer());
  log.line_done();
}

}  // namespace

void finish_request(const RequestSource& from, const RequestRecord& r, const RequestHead& req,
                    unsigned status) {
  const Clock::time_point end = from.w.now();
  const size_t code = routing::status_class(status);
  ListenerTraffic& lt = from.w.listener_traffic(from.listener);
  lt.requests[code].add();
  lt.requests_by_version[version_slot(req.version)].add();
  lt.received_bytes.add(r.bytes_received);
  lt.sent_bytes.add(r.bytes_sent);
  if (r.node) {
    routing::NodeTraffic& nt = r.node->traffic(from.w.index());
    nt.responses[code].add();
    nt.received_bytes.add(r.bytes_sent);
    if (r.upstream_end > r.upstream_start) nt.header_time.observe(r.upstream_end - r.start);
    nt.total_time.observe(end - r.start);
  }
  if (from.w.log().enabled()) log_request(from, r, req, status, end);
}

void count_rejected(WorkerContext& w, size_t listener, const RequestRecord& r, unsigned status,
                    unsigned version) {
  ListenerTraffic& lt = w.listener_traffic(listener);
  lt.requests[routing::status_class(status)].add();
  lt.requests_by_version[version_slot(version)].add();
  lt.received_bytes.add(r.bytes_received);
  lt.sent_bytes.add(r.bytes_sent);
}

}  // namespace proxy::http
