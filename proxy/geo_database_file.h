// The file side of a GeoIP database: a MaxMind .mmdb opened (memory-mapped with libmaxminddb)
// and checked into a routing::GeoDatabase, and what tells the file from its replacement.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "routing/geo_database.h"

namespace proxy {

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

// Opens and checks the file; on failure returns null and says why in `error` (missing,
// unreadable, not a MaxMind database, truncated). `identity`, when given, receives the identity
// of the file opened.
std::shared_ptr<const routing::GeoDatabase> open_geo_database(const std::string& path,
                                                              std::string& error,
                                                              FileIdentity* identity = nullptr);

}  // namespace proxy
