// How a login replayed to a node ended, as the node answered it.
#pragma once

#include <cstdint>
#include <string_view>

namespace proxy::mail {

enum class LoginResult : uint8_t {
  None,     // no login reached a node
  Ok,       // the node accepted it: the session is relayed from then on
  Refused,  // the node answered no (a wrong password, a locked account)
  Failed,   // the node broke the dialogue (closed, an unexpected answer)
};

inline std::string_view login_result_name(LoginResult r) {
  switch (r) {
    case LoginResult::Ok:
      return "ok";
    case LoginResult::Refused:
      return "refused";
    case LoginResult::Failed:
      return "failed";
    case LoginResult::None:
      break;
  }
  return "none";
}

}  // namespace proxy::mail
