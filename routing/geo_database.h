// The country lookups of a MaxMind database (.mmdb: GeoLite2/GeoIP2 Country or City, or any
// database whose records hold country.iso_code) once libmaxminddb has it open: a search over
// the memory the file is mapped in, never changed: workers share one through a shared_ptr, and
// a replacement is a new object swapped in. Opening the file is proxy/geo_database_file.h's;
// nothing here reads a file.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>

#include <boost/asio/ip/address.hpp>

#include "routing/country.h"

struct MMDB_s;

namespace routing {

class GeoDatabase {
 public:
  // Takes a database MMDB_open opened; closes it when destroyed.
  explicit GeoDatabase(std::unique_ptr<MMDB_s> mmdb);
  ~GeoDatabase();
  GeoDatabase(const GeoDatabase&) = delete;
  GeoDatabase& operator=(const GeoDatabase&) = delete;

  // The country of an address; unknown when the database has no entry (or no country in it).
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is looked up as IPv4.
  Country lookup(const boost::asio::ip::address& address) const;
  Country lookup(const sockaddr* address) const;

  // Empty when the answers for a few known addresses, found or not, all decode; otherwise what
  // failed. A file cut short or scribbled over fails here rather than on a client's connection.
  std::string check() const;

  // "GeoLite2-Country built 2026-11-17, IPv6" for the log.
  std::string describe() const;

 private:
  std::unique_ptr<MMDB_s> mmdb_;
};

}  // namespace routing
