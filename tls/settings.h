#pragma once

#include <string>

namespace tls {

// One certificate as certbot writes it: the leaf followed by its chain, and the private key.
struct CertSettings {
  std::string cert;  // path of fullchain.pem
  std::string key;   // path of privkey.pem
};

}  // namespace tls
