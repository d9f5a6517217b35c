#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tls {

// What logs and metrics show about one loaded certificate.
struct CertificateInfo {
  std::string cert_path;
  std::string key_path;
  std::vector<std::string> names;  // lower-case DNS names, wildcards as "*.example.coop"
  std::string key_type;            // "RSA", "EC", "ED25519", ...
  int64_t not_after = 0;           // the leaf's notAfter, unix seconds
  bool expired = false;            // not_after was already past when loaded
};

}  // namespace tls
