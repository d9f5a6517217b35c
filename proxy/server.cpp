#include "proxy/server.h"

#include <boost/asio/io_context.hpp>
#include <csignal>
#include <ctime>
#include <thread>

#include "proxy/config/address.h"
#include "proxy/config/config_loader.h"
#include "proxy/log.h"
#include "proxy/service_notifier.h"
#include "proxy/worker_context.h"

namespace proxy {

namespace {

std::vector<BoundListener> bound_listeners(
    const Snapshot& s, const std::vector<std::unique_ptr<tls::ServerTls>>& tls) {
  std::vector<BoundListener> out;
  for (size_t i = 0; i < s.config().listeners.size(); ++i) {
    const auto& l = s.config().listeners[i];
    auto ep = config::parse_endpoint(l.listen);
    if (!ep) throw std::runtime_error("listener \"" + l.name + "\": bad address " + l.listen);
    out.push_back({&l, l.name, *ep, tls[i].get()});
  }
  return out;
}

std::string format_time(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

// A reload may change routes, pools and listener timeouts; which sockets are bound needs a
// restart. Returns the reason the new listener set is not acceptable, or "".
std::string listener_change(const Config& old_cfg, const Config& new_cfg) {
  if (old_cfg.listeners.size() != new_cfg.listeners.size())
    return "the number of listeners changed";
  for (size_t i = 0; i < old_cfg.listeners.size(); ++i) {
    const auto& a = old_cfg.listeners[i];
    const auto& b = new_cfg.listeners[i];
    if (a.name != b.name || a.listen != b.listen || a.protocol != b.protocol)
      return "listener \"" + b.name + "\" changed its name, address or protocol";
    if (a.tls != b.tls) return "listener \"" + b.name + "\" changed its tls setting";
    if (a.tls_options.records != b.tls_options.records || a.tls_options.ktls != b.tls_options.ktls)
      return "listener \"" + b.name + "\" changed its tls_records or ktls setting";
    if (a.http2 != b.http2) return "listener \"" + b.name + "\" changed its http2 setting";
  }
  return "";
}

// Who protects a TLS listener's records, and whether kernel TLS is asked for.
void log_listener_tls(const ListenerSettings& l) {
  const bool own = l.tls_options.records == tls::Records::passeur;
  log_info("listener \"" + l.name + "\": TLS records by " +
           (own ? "Passeur's record layer after the handshake" : "OpenSSL") + ", kernel TLS " +
           (l.tls_options.ktls ? "requested (SSL_OP_ENABLE_KTLS)" : "not requested"));
}

}  // namespace

namespace {
int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Server::Server(Config config) {
  start_unix_ = unix_now();
  reloads_.last_success_unix = start_unix_;
  last_reload_unix_ = start_unix_;
  last_reload_message_ = "started with " + config.path;
  unsigned n = config.server.workers ? config.server.workers : std::thread::hardware_concurrency();
  if (n == 0) n = 1;
  access_log_ = std::make_unique<AccessLog>(config.server.access_log);
  for (const auto& l : config.listeners) {
    // A plain mail listener offers STARTTLS with the same certificates.
    const bool starttls = is_mail(l.protocol) && !config.certificates.empty();
    listener_tls_.push_back(l.tls || starttls ? std::make_unique<tls::ServerTls>(l.tls_options)
                                              : nullptr);
    if (l.tls) log_listener_tls(l);
  }
  load_certificates(config, true);
  // Before anything is bound: a missing or broken database stops the start.
  geo_ = std::make_unique<GeoWatcher>(control_, [this](GeoWatcher::Database db) {
    for (auto& w : workers_) w->swap_geo(db);
  });
  geo_->start(config.geoip);
  login_shield_ = std::make_unique<routing::LoginShield>(
      config.login_shield, shield_clock_, [](std::string_view line) { log_info(line); });
  snapshot_ = std::make_shared<const Snapshot>(std::move(config), nullptr, n);
  // The admin API first: once a traffic port accepts, the admin port does too, and a taken
  // admin port fails the start before any listener opens.
  auto admin_ep = config::parse_endpoint(snapshot_->config().server.admin_listen);
  if (!admin_ep)
    throw std::runtime_error("bad admin_listen " + snapshot_->config().server.admin_listen);
  admin_ = std::make_unique<admin::AdminServer>(
      control_, *admin_ep, snapshot_->config().server.admin_token,
      admin::AdminServer::Hooks{.snapshot = [this] { return snapshot_; },
                                .reload = [this](std::string& message) { return reload(&message); },
                                .metrics = [this] { return render_metrics(); },
                                .status = [this] { return status_sources(); },
                                .users = &user_affinity_,
                                .login_shield = login_shield_.get()});
  auto listeners = bound_listeners(*snapshot_, listener_tls_);
  for (unsigned i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, snapshot_, access_log_.get()));
    workers_.back()->context().set_user_affinity(&user_affinity_);
    workers_.back()->set_login_shield(login_shield_.get());
    workers_.back()->bind(listeners);
    workers_.back()->swap_geo(geo_->current());
  }
  checker_ = std::make_unique<health::HealthChecker>(control_);
}

Server::~Server() {
  for (auto& w : workers_) w->join();
  checker_.reset();
  admin_.reset();
}

bool Server::load_certificates(const Config& config, bool at_start) {
  bool any_tls = false;
  for (const auto& t : listener_tls_) any_tls = any_tls || t;
  if (!any_tls) return true;
  bool capturing = false;  // contexts for Passeur's record layer too
  for (const auto& t : listener_tls_)
    capturing = capturing || (t && t->options().records == tls::Records::passeur);
  // A reload keeps the contexts of certificates that did not change (tls/cert_store.h).
  auto result = tls::CertStore::load(config.certificates, capturing, certs_.get());
  if (!result.errors.empty()) {
    std::string all;
    for (const auto& e : result.errors) {
      log_error("certificate " + e);
      all += (all.empty() ? "" : "; ") + e;
    }
    if (at_start) throw std::runtime_error("cannot load certificates: " + all);
    log_error("certificates not reloaded: the ones in use stay");
    return false;
  }
  for (const auto& w : result.warnings) log_error("certificate " + w);
  for (const auto& c : result.store->certificates()) {
    std::string names;
    for (const auto& n : c.names) names += (names.empty() ? "" : ",") + n;
    log_info("certificate " + c.cert_path + " (" + c.key_type + ") for " + names + " expires " +
             format_time(c.not_after));
  }
  if (!at_start)
    log_info("certificates: " + std::to_string(result.store->contexts_made()) +
             " TLS contexts made, " + std::to_string(result.store->contexts_kept()) +
             " unchanged kept");
  certs_ = result.store;
  for (size_t i = 0; i < listener_tls_.size(); ++i)
    if (listener_tls_[i])
      listener_tls_[i]->set_store(certs_, config.listeners[i].default_certificate);
  return true;
}

bool Server::reload(std::string* message) {
  ServiceNotifier::reloading();
  std::string why;
  bool ok = apply_reload(&why);
  last_reload_unix_ = unix_now();
  last_reload_message_ = why;
  while (!last_reload_message_.empty() && last_reload_message_.back() == '\n')
    last_reload_message_.pop_back();
  if (message) *message = why;
  (ok ? reloads_.success : reloads_.failure).fetch_add(1, std::memory_order_relaxed);
  reloads_.last_ok.store(ok, std::memory_order_relaxed);
  if (ok) reloads_.last_success_unix.store(unix_now(), std::memory_order_relaxed);
  const std::string& path = snapshot_->config().path;
  ServiceNotifier::reloaded(
      ok ? "serving; reloaded " + path + " at " + format_time(std::time(nullptr))
         : "serving the previous configuration: reload of " + path + " rejected at " +
               format_time(std::time(nullptr)) + " (errors in the log)");
  return ok;
}

std::string Server::render_metrics() const {
  metrics::Sources s{.snapshot = snapshot_,
                     .certs = certs_,
                     .reloads = &reloads_,
                     .start_unix = start_unix_,
                     .login_shield = login_shield_.get()};
  for (const auto& w : workers_) s.workers.push_back(&w->context());
  return metrics::render(s);
}

admin::StatusSources Server::status_sources() const {
  admin::StatusSources s;
  const auto& listeners = snapshot_->config().listeners;
  const size_t n =
      workers_.empty() ? 0 : std::min(listeners.size(), workers_[0]->context().listener_count());
  for (size_t i = 0; i < n; ++i) {
    const auto& l = listeners[i];
    admin::ListenerStatus ls;
    ls.name = l.name;
    ls.listen = l.listen;
    ls.kind = l.protocol == Protocol::Http ? (l.tls ? "https" : "http")
                                           : protocol_name(l.protocol) + (l.tls ? "+tls" : "");
    for (const auto& w : workers_) {
      const ListenerTraffic& t = w->context().listener_traffic(i);
      ls.connections += t.active.get();
      ls.accepted += t.accepted.get();
      for (const auto& r : t.requests) ls.counts.requests += r.get();
    }
    s.listeners.push_back(std::move(ls));
  }
  if (certs_)
    for (const auto& c : certs_->certificates())
      s.certificates.push_back({c.cert_path, c.names, c.not_after});
  s.reload.successes = reloads_.success.load(std::memory_order_relaxed);
  s.reload.failures = reloads_.failure.load(std::memory_order_relaxed);
  s.reload.last_ok = reloads_.last_ok.load(std::memory_order_relaxed);
  s.reload.last_unix = last_reload_unix_;
  s.reload.last_message = last_reload_message_;
  s.users = &user_affinity_;
  return s;
}

bool Server::apply_reload(std::string* message) {
  const std::string path = snapshot_->config().path;  // a copy: the snapshot may go below
  auto result = config::load_file(path);
  if (!result.ok()) {
    for (const auto& e : result.errors) {
      log_error(e.str());
      if (message) message->append(e.str()).append("\n");
    }
    log_error("reload of " + path + " rejected; the running configuration stays");
    return false;
  }
  Config& cfg = *result.config;
  if (auto why = listener_change(snapshot_->config(), cfg); !why.empty()) {
    log_error("reload of " + path + " rejected: " + why + " (listeners change on restart)");
    if (message) *message = why + " (listeners change on restart)";
    return false;
  }
  const auto& old_server = snapshot_->config().server;
  if (cfg.server.workers != old_server.workers || cfg.server.access_log != old_server.access_log ||
      cfg.server.admin_listen != old_server.admin_listen)
    log_info("[server] workers, access_log and admin_listen changes take effect on restart");
  // A database that cannot be opened keeps the one in use, if any; without one, rules on
  // countries could not be applied: the whole reload is refused.
  std::string geo_message;
  const bool geo_ok = geo_->reload(cfg.geoip, &geo_message);
  if (!geo_ok && !geo_->current()) {
    geo_->reload(snapshot_->config().geoip, nullptr);
    log_error("reload of " + path + " rejected: its [geoip] database cannot be used");
    if (message) *message = geo_message;
    return false;
  }
  // A broken certificate keeps the old ones, not the old routes; the reload counts as failed.
  const bool certs_ok = load_certificates(cfg, false);
  try {
    auto next = std::make_shared<const Snapshot>(std::move(cfg), snapshot_.get(),
                                                 static_cast<unsigned>(workers_.size()));
    snapshot_ = next;
    for (auto& w : workers_) w->swap_snapshot(next);
    checker_->update(next);
    admin_->set_token(next->config().server.admin_token);
    login_shield_->configure(next->config().login_shield);
  } catch (const std::exception& e) {
    geo_->reload(snapshot_->config().geoip, nullptr);  // back to the running config's database
    log_error(std::string("reload of ") + path + " rejected: " + e.what());
    if (message) *message = e.what();
    return false;
  }
  if (!geo_ok) {
    log_error("reloaded " + path + " but not its geoip database: the one in use stays");
    if (message) *message = "reloaded " + path + " but not its geoip database: " + geo_message;
    return false;
  }
  if (!certs_ok) {
    log_error("reloaded " + path + " but not its certificates: the ones in use stay");
    if (message)
      *message =
          "reloaded " + path + " but not its certificates (see the log): the ones in use stay";
    return false;
  }
  log_info("reloaded " + path);
  if (message) *message = "reloaded " + path;
  return true;
}

int Server::run() {
  std::signal(SIGPIPE, SIG_IGN);
  for (auto& w : workers_) w->start();
  admin_->start();
  checker_->update(snapshot_);
  for (const auto& l : snapshot_->config().listeners)
    log_info("listener \"" + l.name + "\" on " + l.listen +
             (l.protocol == Protocol::Http
                  ? (l.tls ? " (https)" : " (http)")
                  : " (" + protocol_name(l.protocol) + (l.tls ? ", tls)" : ")")));
  log_info("ready with " + std::to_string(workers_.size()) + " workers, config " +
           snapshot_->config().path);
  // Every acceptor listens since the constructor and every worker thread runs: connections
  // made from now on are served.
  ServiceNotifier::ready("serving " + std::to_string(snapshot_->config().listeners.size()) +
                         " listeners with " + std::to_string(workers_.size()) +
                         " workers; config " + snapshot_->config().path);

  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec,
                                                                      int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      reload();
      signals_.async_wait(on_signal);
      return;
    }
    auto grace = snapshot_->config().server.grace_period;
    log_info("stopping: no new connections; in-flight requests have " +
             std::to_string(grace.count()) + " ms to finish");
    ServiceNotifier::stopping("stopping: in-flight requests have " + std::to_string(grace.count()) +
                              " ms to finish");
    for (auto& w : workers_) w->stop(grace);
    checker_->stop();
    geo_->stop();
    admin_->stop();
  };
  signals_.async_wait(on_signal);
  log_info("admin API on " + snapshot_->config().server.admin_listen);
  // The control thread returns once a stop was asked for and its work has ended.
  control_.run();
  for (auto& w : workers_) w->join();
  log_info("stopped");
  return 0;
}

}  // namespace proxy
