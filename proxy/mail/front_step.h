// What a mail front's pre-login dialogue asks its session to do after one piece of input.
#pragma once

#include <cstdint>
#include <string>

namespace proxy::mail {

enum class Next : uint8_t {
  Read,      // write the reply (if any), then read more
  StartTls,  // write the reply, then the TLS handshake with the client
  Login,     // the credentials are complete: contact a node and replay the login
  Close,     // write the reply, then close
};

struct Step {
  std::string reply;  // to the client, with its line endings; may be empty
  Next next = Next::Read;
};

}  // namespace proxy::mail
