#include "routing/geo_database.h"

#include <maxminddb.h>
#include <netinet/in.h>

#include <cstring>
#include <ctime>

namespace routing {
namespace {

namespace ip = boost::asio::ip;

// Addresses looked up by check(): each answer, found or not, must decode.
constexpr const char* kProbeAddresses[] = {"1.1.1.1", "81.2.69.142", "89.160.20.128", "2001:218::1",
                                           "2a02:ff00::1"};

Country country_of(MMDB_entry_s& entry) {
  MMDB_entry_data_s data;
  for (const char* field : {"country", "registered_country"}) {
    int status = MMDB_get_value(&entry, &data, field, "iso_code", nullptr);
    if (status == MMDB_SUCCESS && data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING) {
      if (auto c = Country::from_code(std::string_view(data.utf8_string, data.data_size)))
        return *c;
    }
  }
  return Country();
}

}  // namespace

GeoDatabase::GeoDatabase(std::unique_ptr<MMDB_s> mmdb) : mmdb_(std::move(mmdb)) {}

GeoDatabase::~GeoDatabase() {
  if (mmdb_) MMDB_close(mmdb_.get());
}

std::string GeoDatabase::check() const {
  for (const char* text : kProbeAddresses) {
    boost::system::error_code ec;
    ip::address a = ip::make_address(text, ec);
    if (a.is_v6() && mmdb_->metadata.ip_version == 4) continue;
    sockaddr_storage ss{};
    if (a.is_v4()) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      auto b = a.to_v4().to_bytes();
      std::memcpy(&sin->sin_addr, b.data(), b.size());
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      auto b = a.to_v6().to_bytes();
      std::memcpy(&sin6->sin6_addr, b.data(), b.size());
    }
    int lookup_error = MMDB_SUCCESS;
    MMDB_lookup_result_s r =
        MMDB_lookup_sockaddr(mmdb_.get(), reinterpret_cast<sockaddr*>(&ss), &lookup_error);
    if (lookup_error != MMDB_SUCCESS)
      return std::string("looking up ") + text + ": " + MMDB_strerror(lookup_error);
    if (!r.found_entry) continue;
    MMDB_entry_data_list_s* list = nullptr;
    int status = MMDB_get_entry_data_list(&r.entry, &list);
    MMDB_free_entry_data_list(list);
    if (status != MMDB_SUCCESS)
      return std::string("reading the entry of ") + text + ": " + MMDB_strerror(status);
  }
  return {};
}

Country GeoDatabase::lookup(const sockaddr* address) const {
  int error = MMDB_SUCCESS;
  MMDB_lookup_result_s r = MMDB_lookup_sockaddr(mmdb_.get(), address, &error);
  if (error != MMDB_SUCCESS || !r.found_entry) return Country();
  return country_of(r.entry);
}

Country GeoDatabase::lookup(const ip::address& address) const {
  ip::address a = address;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  if (a.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    auto b = a.to_v4().to_bytes();
    std::memcpy(&sin.sin_addr, b.data(), b.size());
    return lookup(reinterpret_cast<const sockaddr*>(&sin));
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  auto b = a.to_v6().to_bytes();
  std::memcpy(&sin6.sin6_addr, b.data(), b.size());
  return lookup(reinterpret_cast<const sockaddr*>(&sin6));
}

std::string GeoDatabase::describe() const {
  const auto& m = mmdb_->metadata;
  time_t t = static_cast<time_t>(m.build_epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char day[16];
  std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
  return std::string(m.database_type ? m.database_type : "unknown") + " built " + day +
         (m.ip_version == 6 ? ", IPv6" : ", IPv4 only");
}

}  // namespace routing
