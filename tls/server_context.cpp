#include "tls/server_context.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>

#include "tls/openssl_error.h"
#include "tls/secret_capture.h"

namespace tls {
namespace {

// Mozilla "intermediate" (TLS 1.2 part); TLS 1.3 keeps OpenSSL's default suites.
constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:prime256v1:secp384r1";

// Every context shares one session id context: sessions are created and resumed before the
// SNI callback switches contexts, and must stay valid across the switch and across reloads.
constexpr unsigned char kSessionIdContext[] = "passeur";

constexpr unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char kH2[] = {'h', '2'};

int h2_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Finds `protocol` in the client's ALPN list.
bool offered_protocol(const unsigned char* offered, unsigned int offered_length,
                      const unsigned char* protocol, unsigned int protocol_length,
                      const unsigned char** out, unsigned char* out_length) {
  for (unsigned int i = 0; i < offered_length;) {
    unsigned int length = offered[i];
    if (i + 1 + length > offered_length) break;
    if (length == protocol_length && std::memcmp(offered + i + 1, protocol, length) == 0) {
      *out = offered + i + 1;
      *out_length = static_cast<unsigned char>(length);
      return true;
    }
    i += 1 + length;
  }
  return false;
}

// Picks h2 when the connection's listener speaks it and the client offers it, else http/1.1
// when offered; otherwise the handshake goes on without ALPN.
int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_length,
                const unsigned char* offered, unsigned int offered_length, void*) {
  if (SSL_get_ex_data(ssl, h2_index()) != nullptr &&
      offered_protocol(offered, offered_length, kH2, sizeof kH2, out, out_length)) {
    return SSL_TLSEXT_ERR_OK;
  }
  if (offered_protocol(offered, offered_length, kHttp11, sizeof kHttp11, out, out_length))
    return SSL_TLSEXT_ERR_OK;
  return SSL_TLSEXT_ERR_NOACK;
}

// The RFC 7919 group ffdhe2048 as a key's parameters, for the DHE suites. Null when OpenSSL fails.
EvpPkeyPtr ffdhe2048() {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> pctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr), EVP_PKEY_CTX_free);
  char group[] = "ffdhe2048";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* key = nullptr;
  if (!pctx || EVP_PKEY_paramgen_init(pctx.get()) != 1 ||
      EVP_PKEY_CTX_set_params(pctx.get(), params) != 1 ||
      EVP_PKEY_paramgen(pctx.get(), &key) != 1) {
    return nullptr;
  }
  return EvpPkeyPtr(key);
}

}  // namespace

void allow_h2(SSL* ssl) {
  static int on = 1;
  SSL_set_ex_data(ssl, h2_index(), &on);
}

SslCtxPtr make_server_context(std::string& error, Records records) {
  ERR_clear_error();
  // With Passeur's record layer, the stream takes the records over after the handshake
  // (tls_stream.h) with the secrets captured here.
  SslCtxPtr ctx(records == Records::passeur ? new_capturing_server_context()
                                            : SSL_CTX_new(TLS_server_method()));
  auto fail = [&](const char* what) {
    error = std::string(what) + ": " + take_openssl_error("failed");
    return SslCtxPtr();
  };
  if (!ctx) return fail("creating a TLS context");
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) != 1) {
    return fail("setting TLS versions");
  }
  if (SSL_CTX_set_cipher_list(ctx.get(), kCiphers) != 1) return fail("setting ciphers");
  if (SSL_CTX_set1_groups_list(ctx.get(), kGroups) != 1) return fail("setting groups");
  // DHE suites (TLS 1.2) use the RFC 7919 group ffdhe2048, as the Mozilla profile asks
  // (SSL_CTX_set_dh_auto would pick RFC 3526's group 14 for a 2048-bit key).
  EvpPkeyPtr dh = ffdhe2048();
  if (!dh || SSL_CTX_set0_tmp_dh_pkey(ctx.get(), dh.get()) != 1) return fail("setting ffdhe2048");
  static_cast<void>(dh.release());  // owned by the context now
  SSL_CTX_clear_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  // Read ahead: one read(2) takes a whole record (and what follows it, up to the record
  // buffer) instead of one for its 5-byte header and one for its body. The buffer is still
  // released as soon as it is empty. (Passeur's record layer turns it off for the handshake,
  // and so does a listener asking for kernel TLS: server_tls.cpp.)
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_alpn, nullptr);
  if (SSL_CTX_set_session_id_context(ctx.get(), kSessionIdContext, sizeof kSessionIdContext - 1) !=
      1) {
    return fail("setting the session id context");
  }
  return ctx;
}

}  // namespace tls
