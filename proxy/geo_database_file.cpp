#include "proxy/geo_database_file.h"

#include <maxminddb.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace proxy {

std::optional<FileIdentity> identify_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileIdentity{
      .device = static_cast<uint64_t>(st.st_dev),
      .inode = static_cast<uint64_t>(st.st_ino),
      .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
      .size = static_cast<uint64_t>(st.st_size)};
}

std::shared_ptr<const routing::GeoDatabase> open_geo_database(const std::string& path,
                                                              std::string& error,
                                                              FileIdentity* identity) {
  auto id = identify_file(path);
  if (!id) {
    error = std::strerror(errno);
    return nullptr;
  }
  auto mmdb = std::make_unique<MMDB_s>();
  int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, mmdb.get());
  if (status != MMDB_SUCCESS) {
    // MMDB_open frees what it allocated on failure: nothing to close.
    error = MMDB_strerror(status);
    if (status == MMDB_IO_ERROR) error += std::string(": ") + std::strerror(errno);
    return nullptr;
  }
  auto db = std::make_shared<const routing::GeoDatabase>(std::move(mmdb));
  error = db->check();
  if (!error.empty()) return nullptr;
  if (identity) *identity = *id;
  return db;
}

}  // namespace proxy
