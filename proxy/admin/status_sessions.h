// Logins to the status page and the CSRF tokens of its forms. The admin token is given once,
// through the login form; the browser then keeps a random session id (a cookie), never the
// token. Each session has its own random key; a form's CSRF token is an HMAC of what the form
// acts on under that key, so a token taken from one form is worth nothing for another node or
// another session. Without an admin token there are no logins, and forms are signed with a key
// of the process. In memory only: a restart or a new token (reload) logs everyone out.
// Time is passed in (tests use their own clock).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "routing/health_clock.h"

namespace proxy::admin {

class StatusSessions {
 public:
  static constexpr std::chrono::hours kLifetime{12};  // from the login
  static constexpr size_t kMaxSessions = 64;          // a new login past this ends the oldest

  StatusSessions();

  // A new session; returns its id (64 hex digits), for the cookie.
  std::string open(routing::Clock::time_point now);
  // Whether `id` is a session still open at `now` (expired ones are dropped).
  bool valid(std::string_view id, routing::Clock::time_point now);
  void close(std::string_view id);
  void clear();
  size_t size() const { return sessions_.size(); }

  // The CSRF token of a form acting on `scope` (for instance the pool and node of a row), in
  // the session `id` ("" without logins: the process's key). Empty for an unknown session.
  std::string form_token(std::string_view id, std::string_view scope) const;
  // Compared in constant time.
  bool form_token_ok(std::string_view id, std::string_view scope, std::string_view presented) const;

 private:
  struct Session {
    routing::Clock::time_point opened;
    std::string key;
  };
  std::map<std::string, Session, std::less<>> sessions_;
  std::string process_key_;
};

}  // namespace proxy::admin
