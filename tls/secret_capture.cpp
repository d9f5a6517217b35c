#include "tls/secret_capture.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

namespace tls {
namespace {

constexpr std::string_view kClientLabel = "CLIENT_TRAFFIC_SECRET_0";
constexpr std::string_view kServerLabel = "SERVER_TRAFFIC_SECRET_0";

int marker_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int connection_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int marker;  // its address marks a capturing context

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void on_key_log(const SSL* ssl, const char* line) {
  auto* captured = static_cast<CapturedSecrets*>(SSL_get_ex_data(ssl, connection_index()));
  if (captured != nullptr) capture_key_log_line(line, *captured);
}

void on_message(int write_p, int, int content_type, const void* buf, size_t len, SSL* ssl,
                void* arg) {
  if (write_p != 1 || content_type != SSL3_RT_HANDSHAKE || len == 0 || arg == nullptr) return;
  if (SSL_version(ssl) != TLS1_3_VERSION) return;
  if (static_cast<const uint8_t*>(buf)[0] == SSL3_MT_NEWSESSION_TICKET) {
    ++static_cast<CapturedSecrets*>(arg)->tickets_sent;
  }
}

}  // namespace

CapturedSecrets::~CapturedSecrets() {
  OPENSSL_cleanse(client.data(), client.size());
  OPENSSL_cleanse(server.data(), server.size());
}

bool enable_capture(SSL_CTX* ctx) {
  if (ctx == nullptr || marker_index() < 0 || connection_index() < 0 ||
      SSL_CTX_set_ex_data(ctx, marker_index(), &marker) != 1) {
    return false;
  }
  SSL_CTX_set_keylog_callback(ctx, on_key_log);
  return true;
}

SSL_CTX* new_capturing_server_context() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx != nullptr && !enable_capture(ctx)) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

bool captures_secrets(const SSL* ssl) {
  return marker_index() >= 0 &&
         SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), marker_index()) == &marker;
}

void attach_capture(SSL* ssl, CapturedSecrets* captured) {
  SSL_set_ex_data(ssl, connection_index(), captured);
  SSL_set_msg_callback(ssl, captured != nullptr ? on_message : nullptr);
  SSL_set_msg_callback_arg(ssl, captured);
}

bool capture_key_log_line(std::string_view line, CapturedSecrets& captured) {
  // "<label> <client random: 32 bytes> <secret>", hex.
  const size_t label_end = line.find(' ');
  if (label_end == std::string_view::npos) return false;
  const std::string_view label = line.substr(0, label_end);
  const bool client = label == kClientLabel;
  if (!client && label != kServerLabel) return true;  // another secret: not needed
  const std::string_view rest = line.substr(label_end + 1);
  const size_t random_end = rest.find(' ');
  if (random_end != 2 * SSL3_RANDOM_SIZE) return false;
  const std::string_view hex = rest.substr(random_end + 1);
  if (hex.empty() || hex.size() % 2 != 0 || hex.size() / 2 > kMaxSecret) return false;
  std::array<uint8_t, kMaxSecret> secret{};
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    const int high = hex_digit(hex[2 * i]);
    const int low = hex_digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      OPENSSL_cleanse(secret.data(), secret.size());
      return false;
    }
    secret[i] = static_cast<uint8_t>(high << 4 | low);
  }
  (client ? captured.client : captured.server) = secret;
  (client ? captured.client_size : captured.server_size) = hex.size() / 2;
  OPENSSL_cleanse(secret.data(), secret.size());
  return true;
}

}  // namespace tls
