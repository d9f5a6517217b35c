// A MaxMind database (.mmdb: GeoLite2/GeoIP2 Country or City, or any database whose records
// hold country.iso_code), memory-mapped with libmaxminddb and never changed once open: workers
// share one through a shared_ptr, and a replacement is a new object swapped in.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/address.hpp>

#include "routing/country.h"

struct MMDB_s;

namespace routing {

// What tells one file from its replacement: geoipupdate writes a new file and renames it over
// the old one (a new inode); a copy over it changes its size or modification time.
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  bool operator==(const FileIdentity&) const = default;
};

// The identity of the file at `path` now, or nullopt if it cannot be stat()ed.
std::optional<FileIdentity> identify_file(const std::string& path);

class GeoDatabase {
 public:
  // Opens and checks the file; on failure returns null and says why in `error` (missing,
  // unreadable, not a MaxMind database, truncated, no country data).
  static std::shared_ptr<const GeoDatabase> open(const std::string& path, std::string& error);
  ~GeoDatabase();
  GeoDatabase(const GeoDatabase&) = delete;
  GeoDatabase& operator=(const GeoDatabase&) = delete;

  // The country of an address; unknown when the database has no entry (or no country in it).
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is looked up as IPv4.
  Country lookup(const boost::asio::ip::address& address) const;
  Country lookup(const sockaddr* address) const;

  const std::string& path() const { return path_; }
  const FileIdentity& identity() const { return identity_; }
  // "GeoLite2-Country built 2026-11-17, IPv6" for the log.
  std::string describe() const;

 private:
  GeoDatabase() = default;

  std::string path_;
  FileIdentity identity_;
  std::unique_ptr<MMDB_s> mmdb_;
};

}  // namespace routing
