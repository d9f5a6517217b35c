// SASL pieces the mail fronts need: base64 (OpenSSL's EVP coder), and the PLAIN message
// (RFC 4616: authzid NUL authcid NUL passwd), both ways.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/mail/credentials.h"

namespace proxy::mail {

// Strict base64 (RFC 4648 alphabet, padded): nullopt on anything else. "=" alone is the
// empty string, as SASL writes it.
std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

// A PLAIN message, base64-encoded as clients send it. nullopt when it is not one (bad base64,
// not three fields, empty user, a NUL in a field).
std::optional<Credentials> decode_plain(std::string_view base64);
// The same message, for replaying a login to a node.
std::string encode_plain(const Credentials& c);

}  // namespace proxy::mail
