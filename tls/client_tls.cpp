#include "tls/client_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <system_error>

#include "tls/openssl_error.h"

namespace tls {
namespace {

bool is_ip_address(const std::string& host) {
  unsigned char address[16];
  return inet_pton(AF_INET, host.c_str(), address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), address) == 1;
}

bool load_authorities(SSL_CTX* ctx, const std::string& ca_path, std::string& error) {
  if (ca_path.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) == 1) return true;
    error = "system certificate store: " + take_openssl_error("cannot be loaded");
    return false;
  }
  std::error_code ec;
  auto status = std::filesystem::status(ca_path, ec);
  if (ec) {
    error = ca_path + ": " + ec.message();
    return false;
  }
  int loaded = std::filesystem::is_directory(status)
                   ? SSL_CTX_load_verify_dir(ctx, ca_path.c_str())
                   : SSL_CTX_load_verify_file(ctx, ca_path.c_str());
  if (loaded == 1) return true;
  error = ca_path + ": " + take_openssl_error("no certificate authority loaded");
  return false;
}

}  // namespace

ClientTls ClientTls::make(bool verify, const std::string& ca_path, std::string& error) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) {
    error = "creating a TLS client context: " + take_openssl_error("failed");
    return {};
  }
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    error = "setting TLS versions: " + take_openssl_error("failed");
    return {};
  }
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  // Read ahead: one read(2) takes a whole record (and what follows it, up to the record
  // buffer) instead of one for its 5-byte header and one for its body. The buffer is still
  // released as soon as it is empty.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (verify) {
    if (!load_authorities(ctx.get(), ca_path, error)) return {};
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  ClientTls out;
  out.ctx_ = std::move(ctx);
  out.verify_ = verify;
  return out;
}

SSL* ClientTls::new_ssl(std::string_view server_name) const {
  if (!ctx_) return nullptr;
  if (server_name.size() >= 2 && server_name.front() == '[' && server_name.back() == ']') {
    server_name = server_name.substr(1, server_name.size() - 2);
  }
  std::string host(server_name);
  if (host.find('\0') != std::string::npos || (verify_ && host.empty())) return nullptr;
  SSL* ssl = SSL_new(ctx_.get());
  if (ssl == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  SSL_set_connect_state(ssl);
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  bool ip = is_ip_address(host);
  bool ok = true;
  if (!ip && !host.empty()) ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
  if (ok && verify_) {
    if (ip) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok = SSL_set1_host(ssl, host.c_str()) == 1;
    }
  }
  if (!ok) {
    ERR_clear_error();
    SSL_free(ssl);
    return nullptr;
  }
  return ssl;
}

}  // namespace tls
