// The session ticket callback is the HMAC_CTX one (deprecated in OpenSSL 3.0 but supported):
// see tls/ticket_keys.cpp for why.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "tls/server_tls.h"

#include <openssl/err.h>

#include <atomic>
#include <stdexcept>

#include "tls/cert_store.h"
#include "tls/server_context.h"
#include "tls/ticket_keys.h"

namespace tls {
namespace detail {

struct ListenerSelection {
  std::shared_ptr<const CertStore> store;
  SSL_CTX* fallback = nullptr;  // for clients without SNI or with an unknown name
};

// What the callbacks of one listener need. Owned by the base SSL_CTX, so that it lives as long
// as any connection created from it, whatever happens to the ServerTls object.
struct ListenerState {
  ListenerState(TicketKeys::Clock clock, Records r) : keys(std::move(clock)), records(r) {}
  TicketKeys keys;
  const Records records;  // which contexts of the store its connections switch to
  std::atomic<std::shared_ptr<const ListenerSelection>> selection;
};

}  // namespace detail

namespace {

using detail::ListenerState;

void free_state(void*, void* state, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<ListenerState*>(state);
}

int context_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_state);
  return index;
}

// Set on each connection (not owned): the base context may no longer be SSL_get_SSL_CTX()
// once SNI has switched it.
int connection_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

ListenerState* state_of(SSL* ssl) {
  if (auto* state = static_cast<ListenerState*>(SSL_get_ex_data(ssl, connection_index()))) {
    return state;
  }
  return static_cast<ListenerState*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
}

int on_server_name(SSL* ssl, int* alert, void* arg) {
  auto* state = static_cast<ListenerState*>(arg);
  SSL_set_ex_data(ssl, connection_index(), state);
  std::shared_ptr<const detail::ListenerSelection> selection =
      state->selection.load(std::memory_order_acquire);
  SSL_CTX* ctx = nullptr;
  if (selection && selection->store) {
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
      ctx = selection->store->find(name, state->records);
    }
    if (ctx == nullptr) ctx = selection->fallback;
  }
  if (ctx == nullptr) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  // The SSL takes its own reference to ctx: the store may go away before the connection does.
  if (SSL_set_SSL_CTX(ssl, ctx) != ctx) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

int on_ticket_key(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                  HMAC_CTX* hmac, int encrypt) {
  ListenerState* state = state_of(ssl);
  if (state == nullptr) return encrypt ? -1 : 0;
  int result = state->keys.handle(key_name, iv, cipher, hmac, encrypt);
  // TLS 1.3 tickets are single-use for clients (RFC 8446 C.4): ask for a fresh ticket on every
  // resumption, as nginx does, or every other reconnection would be a full handshake.
  if (!encrypt && result == 1 && SSL_version(ssl) == TLS1_3_VERSION) result = 2;
  return result;
}

}  // namespace

ServerTls::ServerTls() : ServerTls(std::function<int64_t()>{}) {}

ServerTls::ServerTls(ServerOptions options) : ServerTls(std::function<int64_t()>{}, options) {}

ServerTls::ServerTls(std::function<int64_t()> clock, ServerOptions options) : options_(options) {
  if (options_.ktls && options_.records != Records::openssl) {
    throw std::runtime_error("kernel TLS needs OpenSSL's record layer");
  }
  std::string error;
  base_ = make_server_context(error, options_.records);
  if (!base_) throw std::runtime_error(error);
  if (options_.ktls) {
    // Copied into each connection (SSL_new); the certificate contexts SNI switches to do not
    // change a connection's options. No read ahead: OpenSSL can hand the receiving side to the
    // kernel only when what it has read from the socket ends on a record boundary, and without
    // read ahead it never reads past the record it needs.
    SSL_CTX_set_options(base_.get(), SSL_OP_ENABLE_KTLS);
    SSL_CTX_set_read_ahead(base_.get(), 0);
  }
  auto state = std::make_unique<ListenerState>(std::move(clock), options_.records);
  if (context_index() < 0 || connection_index() < 0 ||
      SSL_CTX_set_ex_data(base_.get(), context_index(), state.get()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("cannot attach listener state to the TLS context");
  }
  state_ = state.release();

  SSL_CTX_set_session_cache_mode(base_.get(), SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(base_.get(), kSessionCacheSize);
  SSL_CTX_set_timeout(base_.get(), kSessionLifetimeSeconds);
  SSL_CTX_set_tlsext_ticket_key_cb(base_.get(), on_ticket_key);
  SSL_CTX_set_tlsext_servername_callback(base_.get(), on_server_name);
  SSL_CTX_set_tlsext_servername_arg(base_.get(), state_);
}

ServerTls::~ServerTls() = default;

void ServerTls::set_store(std::shared_ptr<const CertStore> store, std::string default_name) {
  auto selection = std::make_shared<detail::ListenerSelection>();
  if (store) selection->fallback = store->default_context(default_name, options_.records);
  selection->store = std::move(store);
  state_->selection.store(std::move(selection), std::memory_order_release);
}

std::shared_ptr<const CertStore> ServerTls::store() const {
  std::shared_ptr<const detail::ListenerSelection> selection =
      state_->selection.load(std::memory_order_acquire);
  return selection ? selection->store : nullptr;
}

SSL* ServerTls::new_ssl() const {
  SSL* ssl = SSL_new(base_.get());
  if (ssl == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  SSL_set_ex_data(ssl, connection_index(), state_);
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_accept_state(ssl);
  if (options_.http2) allow_h2(ssl);
  return ssl;
}

TicketKeys& ServerTls::ticket_keys() const {
  return state_->keys;
}

}  // namespace tls
