#include "tls/secret_capture.h"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tls/hkdf.h"

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

// A TLS13-KDF context. The common case (SHA-256 or SHA-384, a well-formed derivation) is
// computed here (hkdf.h), which costs about a quarter of the default provider's derivation.
// Anything else (another digest, properties, a malformed parameter) goes to the default
// implementation, which then keeps the context and reports errors as OpenSSL does.
struct KdfCtx {
  int mode = EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;  // as OpenSSL's: none that TLS13-KDF takes
  bool mode_set = false;
  std::optional<hkdf::Hash> hash;  // the digest, when it is one computed here
  std::vector<uint8_t> key;
  std::vector<uint8_t> salt;
  std::vector<uint8_t> prefix;
  std::vector<uint8_t> label;
  std::vector<uint8_t> data;
  bool has_key = false;
  bool has_salt = false;
  EVP_KDF_CTX* inner = nullptr;  // once the default implementation keeps the context

  KdfCtx() = default;
  KdfCtx(const KdfCtx& other) = default;  // inner duplicated by the caller
  KdfCtx& operator=(const KdfCtx&) = delete;
  ~KdfCtx() { clear(); }

  void clear() {
    for (auto* v : {&key, &salt, &data}) {
      if (!v->empty()) OPENSSL_cleanse(v->data(), v->size());
      v->clear();
    }
    prefix.clear();
    label.clear();
    hash.reset();
    mode = EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
    mode_set = has_key = has_salt = false;
    EVP_KDF_CTX_free(inner);
    inner = nullptr;
  }
};

bool get_bytes(const OSSL_PARAM* p, std::vector<uint8_t>& into) {
  const void* data = nullptr;
  size_t size = 0;
  if (OSSL_PARAM_get_octet_string_ptr(p, &data, &size) != 1) return false;
  if (!into.empty()) OPENSSL_cleanse(into.data(), into.size());
  const auto* bytes = static_cast<const uint8_t*>(data);
  into.assign(bytes, bytes + size);
  return true;
}

// Takes what this context handles itself; false for anything else (the default implementation
// then takes the context over).
bool take_params(KdfCtx& c, const OSSL_PARAM params[]) {
  for (const OSSL_PARAM* p = params; p->key != nullptr; ++p) {
    const std::string_view key = p->key;
    if (key == OSSL_KDF_PARAM_MODE) {
      int mode = -1;
      if (p->data_type != OSSL_PARAM_INTEGER || OSSL_PARAM_get_int(p, &mode) != 1) return false;
      if (mode != EVP_KDF_HKDF_MODE_EXTRACT_ONLY && mode != EVP_KDF_HKDF_MODE_EXPAND_ONLY) {
        return false;
      }
      c.mode = mode;
      c.mode_set = true;
    } else if (key == OSSL_KDF_PARAM_DIGEST) {
      const char* name = nullptr;
      if (OSSL_PARAM_get_utf8_string_ptr(p, &name) != 1) return false;
      c.hash = hkdf::hash_named(name);
      if (!c.hash) return false;
    } else if (key == OSSL_KDF_PARAM_KEY) {
      if (!get_bytes(p, c.key)) return false;
      c.has_key = true;
    } else if (key == OSSL_KDF_PARAM_SALT) {
      if (!get_bytes(p, c.salt)) return false;
      c.has_salt = true;
    } else if (key == OSSL_KDF_PARAM_PREFIX) {
      if (!get_bytes(p, c.prefix)) return false;
    } else if (key == OSSL_KDF_PARAM_LABEL) {
      if (!get_bytes(p, c.label)) return false;
    } else if (key == OSSL_KDF_PARAM_DATA) {
      if (!get_bytes(p, c.data)) return false;
    } else {
      return false;  // properties, engine, ...
    }
  }
  return c.mode_set;  // TLS13-KDF refuses parameters that leave the mode unset
}

// Hands the context to the default implementation, with what was set so far. False when
// OpenSSL fails.
bool forward(KdfCtx& c) {
  if (c.inner != nullptr) return true;
  EVP_KDF* kdf = inner_kdf();
  if (kdf == nullptr || (c.inner = EVP_KDF_CTX_new(kdf)) == nullptr) return false;
  if (!c.mode_set) return true;  // nothing was taken here yet
  std::array<OSSL_PARAM, 8> params{};
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &c.mode);
  if (c.hash) {
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                   const_cast<char*>(hkdf::hash_name(*c.hash)), 0);
  }
  auto bytes = [&](const char* name, std::vector<uint8_t>& v) {
    params[n++] = OSSL_PARAM_construct_octet_string(name, v.data(), v.size());
  };
  if (c.has_key) bytes(OSSL_KDF_PARAM_KEY, c.key);
  if (c.has_salt) bytes(OSSL_KDF_PARAM_SALT, c.salt);
  if (!c.prefix.empty()) bytes(OSSL_KDF_PARAM_PREFIX, c.prefix);
  if (!c.label.empty()) bytes(OSSL_KDF_PARAM_LABEL, c.label);
  if (!c.data.empty()) bytes(OSSL_KDF_PARAM_DATA, c.data);
  params[n] = OSSL_PARAM_construct_end();
  return EVP_KDF_CTX_set_params(c.inner, params.data()) == 1;
}

// The label of the last derivation, for the capture: kept even when the parameters go to the
// default implementation.
void remember_label(KdfCtx& c, const OSSL_PARAM params[]) {
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_KDF_PARAM_LABEL);
  if (p != nullptr) get_bytes(p, c.label);
}

// The derivation done here; false when it is not one this context computes.
bool derive_here(const KdfCtx& c, unsigned char* out, size_t size) {
  if (!c.hash || !c.mode_set) return false;
  const hkdf::Hash hash = *c.hash;
  const size_t hash_size = hkdf::hash_size(hash);
  if (c.mode == EVP_KDF_HKDF_MODE_EXPAND_ONLY) {
    return c.has_key && hkdf::expand_label(hash, c.key, c.prefix, c.label, c.data, {out, size});
  }
  // Extract: HMAC(salt', key), where salt' is Derive-Secret(salt, label, "") when there is a
  // salt (the previous secret), and the key defaults to zeros (RFC 8446 section 7.1).
  if (size != hash_size) return false;
  static constexpr std::array<uint8_t, hkdf::kMaxHashSize> kZeros{};
  std::array<uint8_t, hkdf::kMaxHashSize> previous{};
  std::span<const uint8_t> salt;
  if (c.has_salt) {
    if (!hkdf::expand_label(hash, c.salt, c.prefix, c.label, {hkdf::empty_hash(hash), hash_size},
                            {previous.data(), hash_size})) {
      return false;
    }
    salt = {previous.data(), hash_size};
  }
  const std::span<const uint8_t> ikm = c.has_key
                                           ? std::span<const uint8_t>(c.key)
                                           : std::span<const uint8_t>(kZeros.data(), hash_size);
  hkdf::extract(hash, salt, ikm, out);
  OPENSSL_cleanse(previous.data(), previous.size());
  return true;
}

void* kdf_newctx(void*) {
  return new (std::nothrow) KdfCtx;
}

void kdf_freectx(void* v) {
  delete static_cast<KdfCtx*>(v);
}

void* kdf_dupctx(void* v) {
  const auto* src = static_cast<const KdfCtx*>(v);
  auto* c = new (std::nothrow) KdfCtx(*src);
  if (c == nullptr) return nullptr;
  if (src->inner != nullptr && (c->inner = EVP_KDF_CTX_dup(src->inner)) == nullptr) {
    delete c;
    return nullptr;
  }
  return c;
}

void kdf_reset(void* v) {
  static_cast<KdfCtx*>(v)->clear();
}

int kdf_set_ctx_params(void* v, const OSSL_PARAM params[]) {
  auto* c = static_cast<KdfCtx*>(v);
  if (params == nullptr) return 1;
  if (c->inner == nullptr && take_params(*c, params)) return 1;
  remember_label(*c, params);
  if (!forward(*c)) return 0;
  return EVP_KDF_CTX_set_params(c->inner, params);
}

int kdf_derive(void* v, unsigned char* out, size_t size, const OSSL_PARAM params[]) {
  auto* c = static_cast<KdfCtx*>(v);
  if (kdf_set_ctx_params(c, params) != 1) return 0;
  int ok = 0;
  if (c->inner == nullptr && derive_here(*c, out, size)) {
    ok = 1;
  } else {
    ok = forward(*c) && EVP_KDF_derive(c->inner, out, size, nullptr) == 1 ? 1 : 0;
  }
  if (ok == 1 && t_captured != nullptr) {
    capture_derived({reinterpret_cast<const char*>(c->label.data()), c->label.size()}, out, size);
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
  auto* c = static_cast<KdfCtx*>(v);
  if (c->inner == nullptr) {
    OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_KDF_PARAM_SIZE);
    if (p == nullptr) return 1;
    if (c->mode == EVP_KDF_HKDF_MODE_EXPAND_ONLY) return OSSL_PARAM_set_size_t(p, SIZE_MAX);
    if (c->mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY && c->hash) {
      return OSSL_PARAM_set_size_t(p, hkdf::hash_size(*c->hash));
    }
  }
  return forward(*c) ? EVP_KDF_CTX_get_params(c->inner, params) : 0;
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
