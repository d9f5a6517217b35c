// Postfix's XCLIENT command (www.postfix.org/XCLIENT_README.html), by which a proxy that the
// node trusts (Postfix's smtpd_authorized_xclient_hosts) tells it where the client really is:
// the node answers with a new 220 greeting, and the proxy says EHLO again. Values are xtext
// (RFC 3461 section 4), an IPv6 address is written IPV6:addr, and the command must fit in an
// SMTP command line (512 bytes). Only the attributes that the node names after XCLIENT in its
// EHLO answer are sent. No LOGIN: the node checks the client's password itself (AUTH follows).
// Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/mail/client_address.h"

namespace proxy::mail {

// xtext: the printable characters except "+" and "=" as they are, the others as "+XX".
std::string xtext(std::string_view value);

// An address as XCLIENT's ADDR and DESTADDR take it: IPv4 dotted, IPv6 after "IPV6:" (an
// IPv4-mapped IPv6 address as its IPv4 address).
std::string xclient_address(std::string_view ip);

// The attribute names an EHLO extension line offers when it is "XCLIENT NAME ADDR ...",
// upper-cased; nullopt for any other extension.
std::optional<std::vector<std::string>> xclient_offer(std::string_view extension);

// "XCLIENT ADDR=... NAME=[UNAVAILABLE] PORT=... PROTO=ESMTP DESTADDR=... DESTPORT=...
// HELO=...\r\n" with the attributes among `offered` (NAME unavailable: Passeur does not look
// client names up); HELO is left out when it would not fit (the EHLO after the command carries
// the name anyway). Empty when the node does not take ADDR.
std::string xclient_command(const ClientAddress& client, std::string_view helo,
                            const std::vector<std::string>& offered);

}  // namespace proxy::mail
