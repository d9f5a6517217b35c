// The dialogues of the probes that talk once connected (HTTP, IMAP, POP3, SMTP), on a
// connection run_probe() has opened (and wrapped in TLS when asked).
#pragma once

#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "proxy/health/probe.h"
#include "proxy/health/probe_connection.h"
#include "routing/settings.h"

namespace proxy::health {

// At most this much of a body is read to look for expect_body.
inline constexpr size_t kMaxProbeBody = 64 * 1024;

// One request (Connection: close), the status checked against check's range and, when
// check.expect_body is set, the first kMaxProbeBody bytes of the body searched for it.
// `host`: the Host header value.
boost::asio::awaitable<ProbeResult> http_dialogue(ProbeConnection& conn,
                                                  const routing::CheckSettings& check,
                                                  std::string_view host);

// IMAP: "* OK" greeting, then "a1 LOGOUT". POP3: "+OK" greeting, then "QUIT". SMTP: a 220
// greeting, "EHLO passeur" answered 250, then "QUIT". The goodbye is a courtesy: its answer is
// awaited (within the deadline) but does not change the verdict.
boost::asio::awaitable<ProbeResult> mail_dialogue(ProbeConnection& conn, routing::CheckType type);

}  // namespace proxy::health
