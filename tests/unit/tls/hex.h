#pragma once

// Test vectors written in hex.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tls::testing {

inline std::vector<uint8_t> unhex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

}  // namespace tls::testing
