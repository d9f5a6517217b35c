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
  int64_t not_before = 0;
  // SHA-256 of the certificate file's bytes, then of the key file's: what a reload compares.
  std::string files_digest;
  // The certificate's names that cannot be served, as warnings ("PATH: ignoring name ...").
  std::vector<std::string> name_warnings;

  // Another reference to the same parsed certificate, chain and key.
  LoadedCertificate share() const;
};

// Reads `settings` at time `now` (unix seconds). On failure returns nothing and appends
// "PATH: message" lines to `errors`; problems that do not prevent serving (an expired
// certificate, a name that cannot be served) go to `warnings`. With `before` (the same paths'
// certificate of the previous load), files whose bytes did not change are not parsed again:
// OpenSSL 3.0's key decoder makes parsing most of the time a certificate takes to load.
std::optional<LoadedCertificate> load_certificate(const CertSettings& settings, int64_t now,
                                                  std::vector<std::string>& errors,
                                                  std::vector<std::string>& warnings,
                                                  const LoadedCertificate* before = nullptr);

// "2025-06-01T12:00:00Z"
std::string format_utc(int64_t unix_seconds);

}  // namespace tls
