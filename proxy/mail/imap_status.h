// IMAP status words in a node's answers.
#pragma once

#include <cstddef>
#include <string_view>

namespace proxy::mail {

// Whether `rest` (the text after a tag or "*") starts with the status word `status` ("OK", "NO",
// "BAD", given in upper case), compared as IMAP does: case-insensitive, then a space or the end.
inline bool imap_status_is(std::string_view rest, std::string_view status) {
  if (rest.size() < status.size()) return false;
  for (std::size_t i = 0; i < status.size(); ++i)
    if ((rest[i] & ~0x20) != status[i]) return false;
  return rest.size() == status.size() || rest[status.size()] == ' ';
}

}  // namespace proxy::mail
