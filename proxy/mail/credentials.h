// What a client logs in with, as Passeur learned it before contacting a node.
#pragma once

#include <string>

namespace proxy::mail {

struct Credentials {
  std::string authzid;  // SASL PLAIN's authorization identity; usually empty
  std::string user;
  std::string password;
};

}  // namespace proxy::mail
