#include "tls/secret_capture.h"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <cstring>
#include <new>

namespace tls {
namespace {

constexpr const char* kProvider = "passeur-secrets";
constexpr const char* kQuery = "?provider=passeur-secrets";

thread_local CapturedSecrets* t_captured = nullptr;

// ---- The provider: TLS13-KDF, wrapping the one of any other provider ---------------------------

EVP_KDF* inner_kdf() {
  static EVP_KDF* const kdf = [] {
    EVP_KDF* k = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_TLS1_3_KDF, "provider!=passeur-secrets");
    if (k == nullptr) ERR_clear_error();
    return k;
  }();
  return kdf;
}

struct KdfCtx {
  EVP_KDF_CTX* inner = nullptr;
  std::array<char, 32> label{};  // the last label set, when short enough to be one we keep
  size_t label_size = 0;
};

void remember_label(KdfCtx& c, const OSSL_PARAM params[]) {
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_KDF_PARAM_LABEL);
  if (p == nullptr) return;
  const void* data = nullptr;
  size_t size = 0;
  if (OSSL_PARAM_get_octet_string_ptr(p, &data, &size) != 1 || size > c.label.size()) {
    c.label_size = 0;
    return;
  }
  std::memcpy(c.label.data(), data, size);
  c.label_size = size;
}

// A context around `inner` (taken), with the label of `from`; null when inner is.
void* wrap(EVP_KDF_CTX* inner, const KdfCtx& from) {
  auto* c = inner != nullptr ? new (std::nothrow) KdfCtx(from) : nullptr;
  if (c == nullptr) {
    EVP_KDF_CTX_free(inner);
    return nullptr;
  }
  c->inner = inner;
  return c;
}

void* kdf_newctx(void*) {
  EVP_KDF* kdf = inner_kdf();
  return kdf != nullptr ? wrap(EVP_KDF_CTX_new(kdf), KdfCtx{}) : nullptr;
}

void kdf_freectx(void* v) {
  auto* c = static_cast<KdfCtx*>(v);
  if (c == nullptr) return;
  EVP_KDF_CTX_free(c->inner);
  delete c;
}

void* kdf_dupctx(void* v) {
  const auto* src = static_cast<const KdfCtx*>(v);
  return wrap(EVP_KDF_CTX_dup(src->inner), *src);
}

void kdf_reset(void* v) {
  auto* c = static_cast<KdfCtx*>(v);
  EVP_KDF_CTX_reset(c->inner);
  c->label_size = 0;
}

int kdf_set_ctx_params(void* v, const OSSL_PARAM params[]) {
  auto* c = static_cast<KdfCtx*>(v);
  if (params == nullptr) return 1;
  remember_label(*c, params);
  return EVP_KDF_CTX_set_params(c->inner, params);
}

int kdf_derive(void* v, unsigned char* out, size_t size, const OSSL_PARAM params[]) {
  auto* c = static_cast<KdfCtx*>(v);
  if (params != nullptr) remember_label(*c, params);
  const int ok = EVP_KDF_derive(c->inner, out, size, params);
  if (ok > 0 && t_captured != nullptr) {
    capture_derived({c->label.data(), c->label_size}, out, size);
  }
  return ok;
}

const OSSL_PARAM* kdf_settable_ctx_params(void*, void*) {
  return EVP_KDF_settable_ctx_params(inner_kdf());
}

const OSSL_PARAM* kdf_gettable_ctx_params(void*, void*) {
  return EVP_KDF_gettable_ctx_params(inner_kdf());
}

int kdf_get_ctx_params(void* v, OSSL_PARAM params[]) {
  return EVP_KDF_CTX_get_params(static_cast<KdfCtx*>(v)->inner, params);
}

using Fn = void (*)();

const OSSL_DISPATCH kKdfFunctions[] = {
    {OSSL_FUNC_KDF_NEWCTX, reinterpret_cast<Fn>(kdf_newctx)},
    {OSSL_FUNC_KDF_DUPCTX, reinterpret_cast<Fn>(kdf_dupctx)},
    {OSSL_FUNC_KDF_FREECTX, reinterpret_cast<Fn>(kdf_freectx)},
    {OSSL_FUNC_KDF_RESET, reinterpret_cast<Fn>(kdf_reset)},
    {OSSL_FUNC_KDF_DERIVE, reinterpret_cast<Fn>(kdf_derive)},
    {OSSL_FUNC_KDF_SETTABLE_CTX_PARAMS, reinterpret_cast<Fn>(kdf_settable_ctx_params)},
    {OSSL_FUNC_KDF_SET_CTX_PARAMS, reinterpret_cast<Fn>(kdf_set_ctx_params)},
    {OSSL_FUNC_KDF_GETTABLE_CTX_PARAMS, reinterpret_cast<Fn>(kdf_gettable_ctx_params)},
    {OSSL_FUNC_KDF_GET_CTX_PARAMS, reinterpret_cast<Fn>(kdf_get_ctx_params)},
    {0, nullptr},
};

const OSSL_ALGORITHM kKdfs[] = {
    {OSSL_KDF_NAME_TLS1_3_KDF, "provider=passeur-secrets", kKdfFunctions,
     "TLS 1.3 KDF keeping the traffic secrets of captured handshakes"},
    {nullptr, nullptr, nullptr, nullptr},
};

const OSSL_ALGORITHM* query_operation(void*, int operation, int* no_cache) {
  *no_cache = 0;
  return operation == OSSL_OP_KDF ? kKdfs : nullptr;
}

const OSSL_DISPATCH kProviderFunctions[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, reinterpret_cast<Fn>(query_operation)},
    {0, nullptr},
};

int provider_init(const OSSL_CORE_HANDLE*, const OSSL_DISPATCH*, const OSSL_DISPATCH** out,
                  void** provider_ctx) {
  *out = kProviderFunctions;
  *provider_ctx = nullptr;
  return 1;
}

// Loads the provider once per process, next to the default one (which stays the fallback for
// everything else). False when OpenSSL refuses it.
// The handle is kept for the process's life (it holds the provider's reference).
OSSL_PROVIDER* g_provider = nullptr;

bool provider_loaded() {
  static const bool loaded = [] {
    if (OSSL_PROVIDER_add_builtin(nullptr, kProvider, provider_init) == 1) {
      g_provider = OSSL_PROVIDER_try_load(nullptr, kProvider, 1);
    }
    const bool ok = g_provider != nullptr && inner_kdf() != nullptr;
    if (!ok) ERR_clear_error();
    return ok;
  }();
  return loaded;
}

// ---- Capturing contexts and connections --------------------------------------------------------

int marker_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int marker;  // its address marks a capturing context

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

SSL_CTX* new_capturing_server_context() {
  if (!provider_loaded() || marker_index() < 0) return SSL_CTX_new(TLS_server_method());
  SSL_CTX* ctx = SSL_CTX_new_ex(nullptr, kQuery, TLS_server_method());
  if (ctx != nullptr && SSL_CTX_set_ex_data(ctx, marker_index(), &marker) != 1) {
    ERR_clear_error();
  }
  return ctx;
}

bool captures_secrets(const SSL* ssl) {
  return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), marker_index()) == &marker;
}

void attach_capture(SSL* ssl, CapturedSecrets* captured) {
  SSL_set_msg_callback(ssl, captured != nullptr ? on_message : nullptr);
  SSL_set_msg_callback_arg(ssl, captured);
}

CaptureScope::CaptureScope(CapturedSecrets* captured) : previous_(t_captured) {
  t_captured = captured;
}

CaptureScope::~CaptureScope() {
  t_captured = previous_;
}

void capture_derived(std::string_view label, const uint8_t* out, size_t size) {
  CapturedSecrets* captured = t_captured;
  if (captured == nullptr || size > kMaxSecret) return;
  if (label == "c ap traffic") {
    std::memcpy(captured->client.data(), out, size);
    captured->client_size = size;
  } else if (label == "s ap traffic") {
    std::memcpy(captured->server.data(), out, size);
    captured->server_size = size;
  }
}

}  // namespace tls
