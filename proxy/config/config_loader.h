// Reads the TOML configuration file into a proxy::Config, checking everything it can before
// anything is started: every problem found is reported with its file, line and column.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/settings.h"

namespace proxy::config {

struct Error {
  std::string file;
  int line = 0;  // 1-based; 0 when the error is about the whole file
  int column = 0;
  std::string message;

  std::string str() const;  // "FILE:LINE:COL: message"
};

struct LoadResult {
  std::optional<Config> config;  // set only when there are no errors
  std::vector<Error> errors;     // in file order

  bool ok() const { return config.has_value() && errors.empty(); }
};

// An unreadable file gives one error "FILE:0:0: cannot read: <reason>".
LoadResult load_file(const std::string& path);

// `file_label` names the text in errors and becomes Config::path.
LoadResult load_string(std::string_view text, const std::string& file_label);

}  // namespace proxy::config
