// A GeoIP database file as Passeur opens it (proxy/geo_database_file.h: libmaxminddb's
// MMDB_open, memory-mapped, then routing::GeoDatabase::check()), and the lookups the access
// rules make on it (routing/geo_database.h), when the file is corrupt: cut short, scribbled
// over, or not a MaxMind database at all.
//
// The input is the file. It is written to a memory file (memfd) opened by its /proc path, as a
// path on disk would be. Opening must fail with a reason, or give a database whose lookups
// answer: IPv4, IPv6 and IPv4-mapped addresses (the probes of check(), the ends of the address
// spaces, and two read from the input's last bytes), each unknown or a country of two capital
// letters, the IPv4-mapped form the same as the IPv4 one. describe() names the database.

#include <sys/mman.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "proxy/geo_database_file.h"

namespace {

namespace ip = boost::asio::ip;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s\n", what, detail.c_str());
  std::abort();
}

// One memory file for the process, rewritten for each input.
struct MemoryFile {
  int fd = ::memfd_create("fuzz.mmdb", MFD_CLOEXEC);
  std::string path = "/proc/self/fd/" + std::to_string(fd);

  void write(const uint8_t* data, size_t size) const {
    if (fd < 0 || ::ftruncate(fd, 0) != 0) std::abort();
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
  }
};

void check_country(const routing::GeoDatabase& db, const ip::address& a) {
  const routing::Country c = db.lookup(a);
  if (!c.known()) return;
  const std::string_view code = c.code();
  if (code.size() != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z') {
    fail("a country that is not two capital letters for", a.to_string());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const MemoryFile file;
  file.write(data, size);
  std::string error;
  const auto db = proxy::open_geo_database(file.path, error);
  if (!db) {
    if (error.empty()) fail("a database refused without a reason", "");
    return 0;
  }
  if (db->describe().empty()) fail("a database without a description", "");

  std::array<unsigned char, 4> v4{};
  std::array<unsigned char, 16> v6{};
  for (size_t i = 0; i < v6.size() && i < size; ++i) v6[i] = data[size - 1 - i];
  std::memcpy(v4.data(), v6.data(), v4.size());
  for (const ip::address& a :
       {ip::make_address("1.1.1.1"), ip::make_address("81.2.69.142"),
        ip::make_address("89.160.20.128"), ip::make_address("2001:218::1"),
        ip::make_address("2a02:ff00::1"), ip::make_address("0.0.0.0"),
        ip::make_address("255.255.255.255"), ip::make_address("::"),
        ip::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), ip::make_address("::1"),
        ip::address(ip::address_v4(v4)), ip::address(ip::address_v6(v6))}) {
    check_country(*db, a);
  }
  const ip::address_v4 mine(v4);
  const ip::address mapped = ip::make_address_v6(ip::v4_mapped, mine);
  if (db->lookup(mapped) != db->lookup(ip::address(mine))) {
    fail("an IPv4-mapped address answered unlike its IPv4 address", mine.to_string());
  }
  return 0;
}
