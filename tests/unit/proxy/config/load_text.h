#pragma once

// What the config tests share: a config text loaded as the file "t.toml".

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/config_loader.h"

namespace proxy::config {

// Loads `text`, which must fail, and returns its errors as "t.toml:LINE:COL: message".
inline std::vector<std::string> errors_of(std::string_view text) {
  auto result = load_string(text, "t.toml");
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(result.config.has_value());
  std::vector<std::string> out;
  for (auto& e : result.errors) out.push_back(e.str());
  return out;
}

// Loads `text`, which must load without an error.
inline Config load_ok(std::string_view text) {
  auto result = load_string(text, "t.toml");
  for (auto& e : result.errors) ADD_FAILURE() << e.str();
  EXPECT_TRUE(result.ok());
  return result.config.value_or(Config{});
}

}  // namespace proxy::config
