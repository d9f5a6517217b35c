// Where a mail client connects from and to, as told to a node that trusts Passeur (IMAP ID
// x-originating-ip and friends; Postfix XCLIENT).
#pragma once

#include <cstdint>
#include <string>

namespace proxy::mail {

struct ClientAddress {
  std::string ip;  // the client's
  uint16_t port = 0;
  std::string local_ip;  // the address the client connected to
  uint16_t local_port = 0;
};

}  // namespace proxy::mail
