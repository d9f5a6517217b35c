#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tls/certificate_info.h"
#include "tls/settings.h"
#include "tls/ssl_handles.h"

namespace tls {

// One certificate read from disk and checked: leaf, chain and key parsed, the key matching the
// leaf, at least one usable name.
struct LoadedCertificate {
  X509Ptr leaf;
  X509StackPtr chain;  // the certificates after the leaf in the chain file (may be empty)
  EvpPkeyPtr key;
  CertificateInfo info;
};

// Reads `settings` at time `now` (unix seconds). On failure returns nothing and appends
// "PATH: message" lines to `errors`; problems that do not prevent serving (an expired
// certificate, a name that cannot be served) go to `warnings`.
std::optional<LoadedCertificate> load_certificate(const CertSettings& settings, int64_t now,
                                                  std::vector<std::string>& errors,
                                                  std::vector<std::string>& warnings);

// "2025-06-01T12:00:00Z"
std::string format_utc(int64_t unix_seconds);

}  // namespace tls
