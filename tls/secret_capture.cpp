#include "tls/secret_capture.h"

#include <openssl/crypto.h>

#include <cstring>
#include <string_view>

namespace tls {
namespace {

int capture_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void on_key_log_line(const SSL* ssl, const char* line) {
  if (auto* captured = static_cast<CapturedSecrets*>(SSL_get_ex_data(ssl, capture_index()))) {
    parse_key_log_line(line, *captured);
  }
}

void on_message(int write_p, int, int content_type, const void* buf, size_t len, SSL* ssl,
                void* arg) {
  if (write_p != 1 || content_type != SSL3_RT_HANDSHAKE || len == 0 || arg == nullptr) return;
  if (SSL_version(ssl) != TLS1_3_VERSION) return;
  if (static_cast<const uint8_t*>(buf)[0] == SSL3_MT_NEWSESSION_TICKET) {
    ++static_cast<CapturedSecrets*>(arg)->tickets_sent;
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_hex(std::string_view hex, std::array<uint8_t, kMaxSecret>& out, size_t& size) {
  if (hex.size() % 2 != 0 || hex.size() / 2 > out.size() || hex.empty()) return false;
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  size = hex.size() / 2;
  return true;
}

}  // namespace

CapturedSecrets::~CapturedSecrets() {
  OPENSSL_cleanse(client.data(), client.size());
  OPENSSL_cleanse(server.data(), server.size());
}

void enable_secret_capture(SSL_CTX* ctx) {
  SSL_CTX_set_keylog_callback(ctx, on_key_log_line);
}

bool captures_secrets(const SSL* ssl) {
  return SSL_CTX_get_keylog_callback(SSL_get_SSL_CTX(ssl)) == on_key_log_line;
}

void attach_capture(SSL* ssl, CapturedSecrets* captured) {
  SSL_set_ex_data(ssl, capture_index(), captured);
  SSL_set_msg_callback(ssl, captured != nullptr ? on_message : nullptr);
  SSL_set_msg_callback_arg(ssl, captured);
}

bool parse_key_log_line(const char* line, CapturedSecrets& captured) {
  const std::string_view text(line);
  const size_t first = text.find(' ');
  const size_t last = text.rfind(' ');
  if (first == std::string_view::npos || last == first) return false;
  const std::string_view label = text.substr(0, first);
  const std::string_view secret = text.substr(last + 1);
  if (label == "CLIENT_TRAFFIC_SECRET_0") {
    return parse_hex(secret, captured.client, captured.client_size);
  }
  if (label == "SERVER_TRAFFIC_SECRET_0") {
    return parse_hex(secret, captured.server, captured.server_size);
  }
  return false;
}

}  // namespace tls
