// Keeps the [geoip] database in use: opened at start (a missing or broken file stops the
// start), reopened on reload when its path changed or the file was replaced, and checked for
// a replacement every check_interval on the control thread. A replacement that cannot be
// opened is refused (logged once) and the database in use keeps serving.
//
// Why a stat() timer and not inotify: geoipupdate writes a new file and renames it over the
// old one about once a week; a stat() every few seconds costs nothing, notices a rename, a copy
// over the file and a bind-mounted or NFS file alike (inotify sees none of the last two), and
// needs no descriptor on a directory that may itself be replaced.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "proxy/config/settings.h"
#include "proxy/geo_database_file.h"

namespace proxy {

class GeoWatcher {
 public:
  using Database = std::shared_ptr<const routing::GeoDatabase>;
  // `publish` hands each new database (or null once [geoip] is gone) to the workers.
  GeoWatcher(boost::asio::io_context& control, std::function<void(Database)> publish);

  // At start: opens the database of `settings` (if any). Throws std::runtime_error with a
  // clear message when it cannot be used.
  void start(const GeoipSettings& settings);
  // On reload: reopens when the path changed or the file was replaced. Returns false (logged,
  // and said in `message`) when the new file was refused: the database in use stays.
  bool reload(const GeoipSettings& settings, std::string* message);
  void stop();
  const Database& current() const { return current_; }

 private:
  void schedule();
  void check();
  // Opens `path`; on success publishes it. `why`: "reload", "replaced" for the log.
  bool open(const std::string& path, const char* why, std::string* message);

  std::function<void(Database)> publish_;
  boost::asio::steady_timer timer_;
  GeoipSettings settings_;
  Database current_;
  // The file `current_` was opened from.
  std::string current_path_;
  FileIdentity current_identity_;
  // The last file refused: not tried again until it changes once more.
  std::optional<FileIdentity> refused_;
  bool stopped_ = false;
};

}  // namespace proxy
