#include "tls/cert_names.h"

#include <openssl/x509v3.h>

#include <memory>

namespace tls {
namespace {

constexpr size_t kMaxNameLength = 253;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Checks dot-separated labels of letters, digits, '-' and '_', none empty or over 63 bytes.
bool valid_labels(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (!is_label_char(c) || ++label > 63) {
      return false;
    }
  }
  return label != 0;
}

std::string asn1_text(const ASN1_STRING* value) {
  const unsigned char* data = ASN1_STRING_get0_data(value);
  return std::string(reinterpret_cast<const char*>(data),
                     static_cast<size_t>(ASN1_STRING_length(value)));
}

}  // namespace

std::vector<std::string> certificate_dns_names(const X509* cert) {
  std::vector<std::string> names;
  int critical = 0;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* entry = sk_GENERAL_NAME_value(sans, i);
      if (entry->type == GEN_DNS) names.push_back(asn1_text(entry->d.dNSName));
    }
    GENERAL_NAMES_free(sans);
    return names;
  }
  // critical == -1: no such extension. Anything else (present but unreadable) gives no names.
  if (critical != -1) return names;
  const X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    names.push_back(asn1_text(X509_NAME_ENTRY_get_data(entry)));
  }
  return names;
}

CertName classify_cert_name(std::string_view raw) {
  if (raw.find('\0') != std::string_view::npos) {
    return {.why = "contains a NUL byte"};
  }
  std::string name;
  name.reserve(raw.size());
  for (char c : raw) name.push_back(lower(c));
  if (!name.empty() && name.back() == '.') name.pop_back();

  if (name.starts_with("*.")) {
    std::string_view parent = std::string_view(name).substr(2);
    if (!valid_labels(parent)) return {.why = "not a valid wildcard name"};
    if (parent.find('.') == std::string_view::npos) {
      return {.why = "wildcard directly under a top-level domain"};
    }
    return {.kind = CertName::Kind::Wildcard, .name = std::move(name)};
  }
  if (name.find('*') != std::string::npos) {
    return {.why = "'*' is only allowed as the whole left-most label"};
  }
  if (!valid_labels(name)) return {.why = "not a valid DNS name"};
  return {.kind = CertName::Kind::Exact, .name = std::move(name)};
}

size_t normalize_server_name(std::string_view name, char* out) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxNameLength) return 0;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = lower(name[i]);
    if (c != '.' && !is_label_char(c)) return 0;
    out[i] = c;
  }
  return name.size();
}

}  // namespace tls
