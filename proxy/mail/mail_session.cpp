#include "proxy/mail/mail_session.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/log.h"
#include "proxy/mail/imap_front.h"
#include "proxy/mail/imap_node_login.h"
#include "proxy/mail/line_buffer.h"
#include "proxy/mail/login_result.h"
#include "proxy/mail/node_starttls.h"
#include "proxy/mail/pop3_front.h"
#include "proxy/mail/pop3_node_login.h"
#include "proxy/mail/smtp_front.h"
#include "proxy/mail/smtp_node_login.h"
#include "proxy/tcp/relay_session.h"
#include "proxy/worker_context.h"
#include "routing/user_affinity.h"

namespace proxy::mail {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr size_t kMaxLine = 8 * 1024;       // a client's command line before login
constexpr size_t kMaxNodeLine = 64 * 1024;  // a node's greeting or answer line
constexpr size_t kReadSize = 4 * 1024;
constexpr int kMaxLogins = 3;  // refused logins on one connection, then it is closed
constexpr auto kByeTime = Millis(1000);

// What differs between the mail protocols: the dialogue with the client before its login, the
// one with the node, and the name in the access log. unsent(): whether a node that fails now
// never saw the login, so that the session may move to another node (`greeted`: a line of the
// node was taken).
struct Imap {
  using Front = ImapFront;
  using NodeLogin = ImapNodeLogin;
  static constexpr std::string_view kKind = "IMAP";
  static constexpr Protocol kProtocol = Protocol::Imap;
  static std::string ehlo_name(const Front&) { return {}; }
  static NodeLogin node_login(const Front& f, std::optional<ClientAddress> id) {
    return NodeLogin(std::string(f.tag()), f.credentials(), std::move(id));
  }
  static std::optional<asio::ip::address> announced(const Front& f) {
    error_code ec;
    const auto a = asio::ip::make_address(f.announced_ip(), ec);
    if (ec) return std::nullopt;
    return a;
  }
  static bool unsent(const NodeLogin&, bool greeted) { return !greeted; }
  static bool tells_address(const routing::PoolSettings& ps) { return ps.mail_id; }
  static std::string_view unsent_reason(const NodeLogin&) { return {}; }
};

struct Pop3 {
  using Front = Pop3Front;
  using NodeLogin = Pop3NodeLogin;
  static constexpr std::string_view kKind = "POP3";
  static constexpr Protocol kProtocol = Protocol::Pop3;
  static std::string ehlo_name(const Front&) { return {}; }
  static NodeLogin node_login(const Front& f, std::optional<ClientAddress>) {
    return NodeLogin(f.credentials());
  }
  static std::optional<asio::ip::address> announced(const Front&) { return std::nullopt; }
  static bool unsent(const NodeLogin&, bool greeted) { return !greeted; }
  static bool tells_address(const routing::PoolSettings&) { return false; }
  static std::string_view unsent_reason(const NodeLogin&) { return {}; }
};

// The node's greeting and EHLO come before the login: a node that fails them never saw it.
// With xclient = true, the client's address goes in an XCLIENT before the login.
struct Smtp {
  using Front = SmtpFront;
  using NodeLogin = SmtpNodeLogin;
  static constexpr std::string_view kKind = "SMTP";
  static constexpr Protocol kProtocol = Protocol::Smtp;
  static std::string ehlo_name(const Front& f) { return std::string(f.client_name()); }
  static NodeLogin node_login(const Front& f, std::optional<ClientAddress> xclient) {
    return NodeLogin(std::string(f.client_name()), f.credentials(), std::move(xclient));
  }
  static std::optional<asio::ip::address> announced(const Front&) { return std::nullopt; }
  static bool unsent(const NodeLogin& n, bool) { return !n.login_sent(); }
  static bool tells_address(const routing::PoolSettings& ps) { return ps.xclient; }
  static std::string_view unsent_reason(const NodeLogin& n) { return n.unsent_reason(); }
};

template <class D>
class MailSession final : public tcp_relay::RelaySession {
 public:
  MailSession(WorkerContext& w, tcp::socket sock, size_t listener, tcp::endpoint peer,
              const tls::ServerTls* tls)
      : RelaySession(w, std::move(sock), listener, peer, tls),
        front_({.tls = ls_.tls,
                .starttls = !ls_.tls && tls != nullptr,
                .allow_plaintext_auth = ls_.allow_plaintext_auth}) {}

  static void start(std::unique_ptr<MailSession> self) {
    MailSession& s = *self;
    asio::co_spawn(s.w_.io(), s.run(), [self = std::move(self)](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log_error(std::string("mail session: ") + ex.what());
        }
      }
    });
  }

 private:
  awaitable<void> run();
  // The next step of Passeur's dialogue with the client: a line or a literal read and answered.
  // nullopt: the client is gone or the session was stopped (cause_ says which).
  awaitable<std::optional<Step>> next_step();
  awaitable<bool> read_client();
  awaitable<bool> write_client(std::string_view bytes);
  awaitable<bool> write_node(std::string_view bytes);
  // The last words to a client before closing (a BYE), under a short deadline of their own.
  awaitable<void> say_bye(std::string_view bytes);
  awaitable<void> linger();
  // The login learned: a node, the login replayed, its answer relayed. True when the session
  // is relayed from now on (or ended); false when the client may try again.
  awaitable<bool> log_in();
  awaitable<Opening> opening() override;
  // STARTTLS with the node and the TLS handshake (pools with node_tls): nullopt when the login
  // may go on, `greeting` then holding the node's greeting for the login's dialogue.
  awaitable<std::optional<Opening>> start_node_tls(const routing::Pool& pool,
                                                   const tls::ClientTls& ctx,
                                                   std::string& greeting);
  awaitable<std::optional<Opening>> handshake_node(const routing::Pool& pool,
                                                   const tls::ClientTls& ctx);
  // A node that cannot take the login over TLS: logged, and the session tries another one.
  Opening node_tls_failed(std::string_view why);
  awaitable<bool> read_node();
  routing::NodeLease choose_node(const routing::Pool& pool,
                                 const routing::PickContext& ctx) override;
  void login_verdict(LoginResult result);
  routing::LoginSource login_source(const routing::LoginShield& shield) const;
  awaitable<bool> shield_lets_in();
  void describe(tcp_relay::SessionLine& line) const override;
  // Why the node just left could not take the login, when it said: the session tries another.
  void log_unsent(std::string_view reason) const;

  typename D::Front front_;
  LineBuffer in_{kMaxLine};           // the client's bytes not yet used
  LineBuffer node_in_{kMaxNodeLine};  // the node's, during the login
  std::optional<typename D::NodeLogin> node_login_;
  std::string to_client_;  // the node's answer to the login, for the client
  Clock::time_point login_deadline_{};
  std::string user_;
  routing::UserLease user_lease_;  // the user's open session (pools with user affinity)
  LoginResult login_ = LoginResult::None;
  int logins_ = 0;
  bool node_tls_failed_ = false;  // a node of this login failed STARTTLS or its handshake
};

template <class D>
awaitable<void> MailSession<D>::run() {
  if (!co_await admit_client()) co_return co_await finish();
  if (ls_.tls && !co_await handshake_client()) co_return co_await finish();
  timeout_cause_ = "login_timeout";
  login_deadline_ = w_.now() + ls_.login_timeout;
  set_deadline(login_deadline_);
  if (!co_await write_client(front_.greeting())) co_return co_await finish();
  for (;;) {
    std::optional<Step> step = co_await next_step();
    if (!step) break;
    if (!step->reply.empty() && !co_await write_client(step->reply)) break;
    if (step->next == Next::Close) {
      if (!cause_) cause_ = "protocol_close";
      break;
    }
    if (step->next == Next::StartTls) {
      // Bytes sent after STARTTLS in clear would be taken as sent over TLS (CVE-2011-0411).
      if (!in_.empty()) {
        cause_ = "plaintext_after_starttls";
        break;
      }
      if (!co_await handshake_client()) break;
      front_.tls_started();
      set_deadline(login_deadline_);
      continue;
    }
    if (step->next == Next::Login && co_await log_in()) break;
  }
  if (!relaying_) {
    if (stop_ && cause_ && std::string_view(cause_) == "login_timeout")
      co_await say_bye(D::Front::timed_out());
    co_await linger();
  }
  co_await finish();
}

// Closing a socket with bytes of the client still unread resets the connection (RST), and the
// client could lose the last answer: the sending side is shut first, and what the client still
// sends is read and dropped until it closes, for a second at most.
template <class D>
awaitable<void> MailSession<D>::linger() {
  if (tls_) co_return;  // close_notify, then the close (finish())
  error_code ec;
  sock_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  stop_ = false;
  deadline_in(kByeTime);
  std::array<char, 4096> scratch;
  for (;;) {
    auto [e, n] = co_await sock_.async_read_some(asio::buffer(scratch), use_tuple);
    if (e || stop_) break;
  }
}

template <class D>
awaitable<std::optional<Step>> MailSession<D>::next_step() {
  for (;;) {
    if (size_t n = front_.literal_wanted()) {
      if (auto literal = in_.take(n)) co_return front_.on_literal(*literal);
    } else if (auto line = in_.next_line()) {
      co_return front_.on_line(*line);
    } else if (in_.overflow()) {
      cause_ = "line_too_long";
      co_await say_bye(D::Front::line_too_long());
      co_return std::nullopt;
    }
    if (!co_await read_client()) co_return std::nullopt;
  }
}

template <class D>
awaitable<bool> MailSession<D>::read_client() {
  char* at = in_.prepare(kReadSize);
  auto [ec, n] = tls_ ? co_await tls_->async_read_some(asio::buffer(at, kReadSize), use_tuple)
                      : co_await sock_.async_read_some(asio::buffer(at, kReadSize), use_tuple);
  if (ec) {
    if (!cause_) cause_ = ec == asio::error::eof ? "client_closed" : "client_error";
    co_return false;
  }
  in_.commit(n);
  co_return true;
}

template <class D>
awaitable<bool> MailSession<D>::write_client(std::string_view bytes) {
  auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, asio::buffer(bytes), use_tuple)
                      : co_await asio::async_write(sock_, asio::buffer(bytes), use_tuple);
  if (ec && !cause_) cause_ = "client_error";
  co_return !ec;
}

template <class D>
awaitable<bool> MailSession<D>::write_node(std::string_view bytes) {
  auto [ec, n] = co_await asio::async_write(up_->stream, asio::buffer(bytes), use_tuple);
  co_return !ec;
}

// The node's next bytes into node_in_, over TLS once STARTTLS is done. False: the node is gone
// (or the session was stopped).
template <class D>
awaitable<bool> MailSession<D>::read_node() {
  char* at = node_in_.prepare(kReadSize);
  auto [ec, n] = co_await up_->stream.async_read_some(asio::buffer(at, kReadSize), use_tuple);
  if (ec || stop_) co_return false;
  node_in_.commit(n);
  co_return true;
}

template <class D>
awaitable<void> MailSession<D>::say_bye(std::string_view bytes) {
  stop_ = false;
  deadline_in(kByeTime);
  co_await write_client(bytes);
}

template <class D>
awaitable<bool> MailSession<D>::log_in() {
  ++logins_;
  user_ = front_.credentials().user;
  if (!co_await shield_lets_in()) {
    // Refused by the shield, as a node's temporary failure would be: no node hears of it.
    login_ = LoginResult::Refused;
    w_.listener_traffic(listener_).mail_logins[routing::kMailLoginResults].add();
    if (!co_await write_client(front_.unavailable())) co_return true;
    front_.login_done();
    set_deadline(login_deadline_);
    if (logins_ < kMaxLogins) co_return false;
    cause_ = "login_shield";
    co_await say_bye(D::Front::too_many_logins());
    co_return true;
  }
  const routing::Pool* pool = snap_->find_pool(ls_.pool);
  if (!pool) cause_ = "no_pool";
  const bool connected = pool && co_await connect(*pool);
  if (!connected || login_ == LoginResult::Failed) {
    user_lease_.release();
    if (login_ == LoginResult::None) login_ = LoginResult::Failed;
    login_verdict(login_);
    if (!cause_ || (node_tls_failed_ && std::string_view(cause_) == "connect_failed"))
      cause_ = node_tls_failed_ ? "node_tls_failed" : "node_failed";
    // A stop or a deadline cut the login: the client hears nothing more.
    if (!stop_) co_await write_client(front_.unavailable());
    co_return true;
  }
  login_verdict(login_);
  if (!co_await write_client(to_client_)) co_return true;
  if (login_ != LoginResult::Ok) {
    release_node();
    user_lease_.release();
    login_ = LoginResult::Refused;
    front_.login_done();
    set_deadline(login_deadline_);
    if (logins_ < kMaxLogins) co_return false;
    cause_ = "too_many_logins";
    co_await say_bye(D::Front::too_many_logins());
    co_return true;
  }
  // Read ahead of the login's answer: the node's bytes to the client, the client's pipelined
  // commands to the node, before the relay takes over.
  std::string_view from_node = node_in_.rest();
  if (!from_node.empty()) {
    if (!co_await write_client(from_node)) co_return true;
    bytes_out_ += from_node.size();
  }
  std::string_view from_client = in_.rest();
  if (!from_client.empty()) {
    if (!co_await write_node(from_client)) {
      cause_ = "node_error";
      co_return true;
    }
    bytes_in_ += from_client.size();
  }
  // The dialogue's buffers and the login (its password) are not needed while relaying: an
  // idle session keeps only what the relay holds.
  in_.release();
  node_in_.release();
  std::string().swap(to_client_);
  node_login_.reset();
  co_await relay();
  co_return true;
}

// The login on a node just connected: its greeting, the client's address (ID) when the pool
// asks, the login, its answer. A node that closes or says BYE before its greeting never saw
// the login: the session moves to another node.
template <class D>
awaitable<tcp_relay::RelaySession::Opening> MailSession<D>::opening() {
  const routing::Pool& pool = *attempt_->pool;
  std::optional<ClientAddress> id;
  if (D::tells_address(pool.settings())) {
    error_code ignored;
    const tcp::endpoint local =
        destination_ ? *destination_ : client_socket().local_endpoint(ignored);
    id = ClientAddress{.ip = client_.address().to_string(),
                       .port = client_.port(),
                       .local_ip = local.address().to_string(),
                       .local_port = local.port()};
  }
  node_login_.emplace(D::node_login(front_, std::move(id)));
  node_in_.clear();
  to_client_.clear();
  login_ = LoginResult::None;
  deadline_in(ls_.login_timeout);
  // With node_tls, the node's greeting came before STARTTLS: the login's dialogue starts from it.
  std::string greeting;
  bool replay = false;
  if (const tls::ClientTls* ctx = snap_->node_tls(pool)) {
    if (auto end = co_await start_node_tls(pool, *ctx, greeting)) co_return *end;
    replay = true;
  }
  bool greeted = false;
  for (;;) {
    for (;;) {
      std::optional<std::string_view> line;
      if (replay) {
        replay = false;
        line = greeting;
      } else {
        line = node_in_.next_line();
      }
      if (!line) break;
      NodeStep step = node_login_->on_line(*line);
      to_client_ += step.to_client;
      if (!step.to_node.empty() && !co_await write_node(step.to_node)) {
        if (D::unsent(*node_login_, greeted)) co_return Opening::NodeClosed;
        cause_ = "node_error";
        login_ = LoginResult::Failed;
        co_return Opening::Ended;
      }
      if (step.done) {
        login_ = step.result;
        if (step.result == LoginResult::Failed && D::unsent(*node_login_, greeted)) {
          login_ = LoginResult::None;
          log_unsent(D::unsent_reason(*node_login_));
          co_return Opening::NodeClosed;
        }
        co_return step.result == LoginResult::Failed ? Opening::Ended : Opening::NodeFirst;
      }
      greeted = true;
    }
    if (node_in_.overflow()) {
      cause_ = "node_line_too_long";
      login_ = LoginResult::Failed;
      co_return Opening::Ended;
    }
    if (!co_await read_node()) {
      if (stop_) co_return Opening::Ended;
      if (D::unsent(*node_login_, greeted)) co_return Opening::NodeClosed;
      cause_ = "node_closed_during_login";
      login_ = LoginResult::Failed;
      co_return Opening::Ended;
    }
  }
}

template <class D>
awaitable<std::optional<tcp_relay::RelaySession::Opening>> MailSession<D>::start_node_tls(
    const routing::Pool& pool, const tls::ClientTls& ctx, std::string& greeting) {
  NodeStartTls dialogue(D::kProtocol, pool.settings().node_tls, D::ehlo_name(front_));
  for (;;) {
    while (auto line = node_in_.next_line()) {
      NodeTlsStep step = dialogue.on_line(*line);
      if (!step.to_node.empty() && !co_await write_node(step.to_node))
        co_return node_tls_failed("connection lost before STARTTLS");
      switch (step.next) {
        case NodeTlsStep::Next::More:
          continue;
        case NodeTlsStep::Next::Failed:
          co_return node_tls_failed(dialogue.failure());
        case NodeTlsStep::Next::Clear:
          greeting = dialogue.greeting();
          co_return std::nullopt;
        case NodeTlsStep::Next::Handshake:
          // Bytes after the go-ahead would be taken as sent over TLS (CVE-2011-0411).
          if (!node_in_.rest().empty())
            co_return node_tls_failed("sent bytes after its STARTTLS answer");
          greeting = dialogue.greeting();
          node_in_.clear();
          co_return co_await handshake_node(pool, ctx);
      }
    }
    if (node_in_.overflow()) co_return node_tls_failed("line too long before STARTTLS");
    if (!co_await read_node()) {
      if (stop_) co_return Opening::Ended;
      co_return node_tls_failed("closed the connection before STARTTLS");
    }
  }
}

// The TLS client handshake on the node's connection, checking its certificate against
// node_ca_file and node_server_name (default: the node's address).
template <class D>
awaitable<std::optional<tcp_relay::RelaySession::Opening>> MailSession<D>::handshake_node(
    const routing::Pool& pool, const tls::ClientTls& ctx) {
  const routing::PoolSettings& ps = pool.settings();
  const std::string& name =
      ps.node_server_name.empty() ? node_->settings().tls_name : ps.node_server_name;
  SSL* ssl = ctx.new_ssl(name);
  if (!ssl) co_return node_tls_failed("cannot start TLS to \"" + name + "\"");
  up_->stream.start_tls(ssl);
  auto [ec] = co_await up_->stream.tls()->async_client_handshake(use_tuple);
  if (stop_) co_return Opening::Ended;
  if (ec) {
    const long verify = SSL_get_verify_result(up_->stream.tls()->native_handle());
    std::string why = "TLS handshake failed: ";
    if (ctx.verifies() && verify != X509_V_OK)
      why += std::string("certificate verify failed for \"") + name +
             "\": " + X509_verify_cert_error_string(verify);
    else
      why += ec.message();
    co_return node_tls_failed(why);
  }
  co_return std::nullopt;
}

template <class D>
tcp_relay::RelaySession::Opening MailSession<D>::node_tls_failed(std::string_view why) {
  node_tls_failed_ = true;
  log_error("listener \"" + ls_.name + "\": pool \"" + std::string(pool_name_) + "\" node \"" +
            node_->name() + "\": " + std::string(D::kKind) + " STARTTLS to the node: " +
            std::string(why) + "; the login goes to another node, if any");
  return Opening::NodeClosed;
}

// Where a mail session's node is chosen, for each try of each login (a node that fails is
// excluded in `ctx`). A pool with user affinity: the user's node (routing/user_affinity.h),
// whose open session is held by the session until it ends or the login is refused, while the
// unit of load goes with the connection; any other pool: its balancer.
template <class D>
routing::NodeLease MailSession<D>::choose_node(const routing::Pool& pool,
                                               const routing::PickContext& ctx) {
  routing::UserAffinity* table = w_.user_affinity();
  const routing::PoolSettings& ps = pool.settings();
  if (ps.affinity != routing::Affinity::User || !table) return pool.pick(ctx);
  user_lease_.release();
  std::vector<routing::Node*> nodes;
  nodes.reserve(pool.nodes().size());
  for (routing::Node* n : pool.nodes())
    if (std::find(ctx.exclude.begin(), ctx.exclude.end(), n) == ctx.exclude.end())
      nodes.push_back(n);
  user_lease_ = table->choose(routing::user_key(user_, ps.user_key), nodes, ps.balance_factor);
  return user_lease_.take_load();
}

// Where the node's verdict on a login is known: kept for the access log line, and counted by
// the login shield (a node that could not be reached says nothing of the password).
template <class D>
void MailSession<D>::login_verdict(LoginResult result) {
  login_ = result;
  const auto counted = result == LoginResult::Ok        ? routing::MailLogin::Ok
                       : result == LoginResult::Refused ? routing::MailLogin::Refused
                                                        : routing::MailLogin::Failed;
  const auto slot = static_cast<size_t>(counted);
  w_.listener_traffic(listener_).mail_logins[slot].add();
  if (node_) node_->traffic(w_.index()).mail_logins[slot].add();
  routing::LoginShield* shield = w_.login_shield();
  if (shield && (result == LoginResult::Ok || result == LoginResult::Refused))
    shield->record(login_source(*shield), result == LoginResult::Ok);
}

// Who logs in, as the shield counts it: the client's address (after a trusted front's PROXY
// header; from a trusted_clients source, the address it announced in IMAP ID), the user name
// and the country.
template <class D>
routing::LoginSource MailSession<D>::login_source(const routing::LoginShield& shield) const {
  return routing::LoginSource{
      .client = shield.client_address(client_.address(), D::announced(front_)),
      .user = user_,
      .country = country_};
}

// The shield's word before any node is contacted: a delay is waited out here; false when logins
// from this source are refused for now.
template <class D>
awaitable<bool> MailSession<D>::shield_lets_in() {
  routing::LoginShield* shield = w_.login_shield();
  if (!shield) co_return true;
  const routing::ShieldVerdict v = shield->before_login(login_source(*shield));
  if (v.kind == routing::ShieldVerdict::Kind::Refuse) co_return false;
  if (v.kind == routing::ShieldVerdict::Kind::Delay) {
    asio::steady_timer wait(w_.io());
    wait.expires_after(v.delay);
    co_await wait.async_wait(use_tuple);
  }
  co_return true;
}

template <class D>
void MailSession<D>::log_unsent(std::string_view reason) const {
  if (reason.empty() || !node_) return;
  log_info("listener \"" + ls_.name + "\": pool \"" + std::string(pool_name_) + "\": node \"" +
           node_->name() + "\" cannot take the login of " + client_.address().to_string() + ": " +
           std::string(reason) + "; trying another node");
}

template <class D>
void MailSession<D>::describe(tcp_relay::SessionLine& line) const {
  line.kind = D::kKind;
  line.mail = true;
  line.user = user_;
  line.login = login_result_name(login_);
}

}  // namespace

void start_mail_session(WorkerContext& worker, tcp::socket socket, size_t listener,
                        tcp::endpoint peer, const tls::ServerTls* tls) {
  switch (worker.snapshot()->config().listeners[listener].protocol) {
    case Protocol::Pop3:
      MailSession<Pop3>::start(
          std::make_unique<MailSession<Pop3>>(worker, std::move(socket), listener, peer, tls));
      break;
    case Protocol::Smtp:
      MailSession<Smtp>::start(
          std::make_unique<MailSession<Smtp>>(worker, std::move(socket), listener, peer, tls));
      break;
    default:
      MailSession<Imap>::start(
          std::make_unique<MailSession<Imap>>(worker, std::move(socket), listener, peer, tls));
      break;
  }
}

}  // namespace proxy::mail
