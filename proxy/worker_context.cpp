#include "proxy/worker_context.h"

namespace proxy {

WorkerContext::WorkerContext(unsigned index, std::shared_ptr<const Snapshot> snapshot,
                             AccessLog* log)
    : index_(index),
      snapshot_(std::move(snapshot)),
      random_(0x9E3779B97F4A7C15ull * (index + 1) ^
              static_cast<uint64_t>(Clock::now().time_since_epoch().count())),
      log_(log) {}

void WorkerContext::count_listeners(size_t n) {
  listener_traffic_ = std::make_unique<ListenerTraffic[]>(n);
  listener_count_ = n;
}

routing::Refusal WorkerContext::admit(size_t i, const boost::asio::ip::address& client,
                                      routing::Country& country) {
  ListenerTraffic& t = listener_traffic_[i];
  if (geo_) {
    country = geo_->lookup(client);
    t.countries[country.index()].add();
  }
  const routing::AccessRule& rule = snapshot_->config().listeners[i].access;
  if (rule.empty()) return routing::Refusal::None;
  routing::Refusal r = rule.check(client, country);
  if (r != routing::Refusal::None) t.refused[static_cast<size_t>(r)].add();
  return r;
}

}  // namespace proxy
