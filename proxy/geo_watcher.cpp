#include "proxy/geo_watcher.h"

#include <stdexcept>

#include "proxy/log.h"

namespace proxy {

GeoWatcher::GeoWatcher(boost::asio::io_context& control, std::function<void(Database)> publish)
    : publish_(std::move(publish)), timer_(control) {}

void GeoWatcher::start(const GeoipSettings& settings) {
  settings_ = settings;
  if (settings_.database.empty()) return;
  std::string error;
  auto db = open_geo_database(settings_.database, error, &current_identity_);
  if (!db)
    throw std::runtime_error("[geoip] database \"" + settings_.database +
                             "\" cannot be used: " + error);
  current_ = std::move(db);
  current_path_ = settings_.database;
  log_info("geoip database " + current_path_ + ": " + current_->describe());
  publish_(current_);
  schedule();
}

bool GeoWatcher::reload(const GeoipSettings& settings, std::string* message) {
  const bool was_on = !settings_.database.empty();
  settings_ = settings;
  if (settings_.database.empty()) {
    if (current_) log_info("geoip database closed: no [geoip] in the configuration");
    current_.reset();
    refused_.reset();
    timer_.cancel();
    publish_(nullptr);
    return true;
  }
  bool ok = true;
  auto identity = identify_file(settings_.database);
  if (!current_ || current_path_ != settings_.database || !identity ||
      *identity != current_identity_)
    ok = open(settings_.database, "reload", message);
  if (!was_on) schedule();
  return ok;
}

void GeoWatcher::stop() {
  stopped_ = true;
  timer_.cancel();
}

void GeoWatcher::schedule() {
  if (stopped_ || settings_.database.empty()) return;
  timer_.expires_after(settings_.check_interval);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    check();
    schedule();
  });
}

void GeoWatcher::check() {
  auto identity = identify_file(settings_.database);
  if (!identity) return;  // between an unlink and a rename, or gone: keep what is in use
  if (current_ && current_path_ == settings_.database && *identity == current_identity_) return;
  if (refused_ && *identity == *refused_) return;
  open(settings_.database, "replaced", nullptr);
}

bool GeoWatcher::open(const std::string& path, const char* why, std::string* message) {
  auto identity = identify_file(path);
  std::string error;
  FileIdentity opened;
  auto db = open_geo_database(path, error, &opened);
  if (!db) {
    refused_ = identity;
    std::string line = "geoip database " + path + " (" + why + ") refused: " + error + "; " +
                       (current_ ? "the one loaded from " + current_path_ + " keeps serving"
                                 : std::string("no database in use"));
    log_error(line);
    if (message) message->append(line).append("\n");
    return false;
  }
  refused_.reset();
  current_ = std::move(db);
  current_path_ = path;
  current_identity_ = opened;
  log_info("geoip database " + path + " loaded (" + why + "): " + current_->describe());
  publish_(current_);
  return true;
}

}  // namespace proxy
