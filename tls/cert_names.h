#pragma once

#include <openssl/x509.h>

#include <string>
#include <string_view>
#include <vector>

namespace tls {

// The DNS names a certificate claims, as written: the subjectAltName DNS entries, or the
// subject's common names when the certificate has no subjectAltName extension at all.
std::vector<std::string> certificate_dns_names(const X509* cert);

// A name a certificate may serve, after checking it (RFC 6125 section 6.4.3, and the CA/Browser
// Forum's narrower rule): `*` is only allowed as the whole left-most label, and a wildcard needs
// at least two labels after it ("*.example.coop", not "*.coop").
struct CertName {
  enum class Kind { Exact, Wildcard, Invalid };
  Kind kind = Kind::Invalid;
  std::string name;  // lower-case, without a trailing dot: "webmail.example.coop", "*.example.coop"
  std::string why;   // for Invalid: what is wrong with it
};
CertName classify_cert_name(std::string_view raw);

// Writes `name` lower-cased and without a trailing dot into `out` (at least 254 bytes) and
// returns its length, or 0 when it cannot be a host name (empty, too long, bad characters).
size_t normalize_server_name(std::string_view name, char* out);

}  // namespace tls
