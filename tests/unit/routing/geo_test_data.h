// Where MaxMind's public test databases are: shared/testdata/geoip beside the repository.
#pragma once

#include <string>

namespace routing::testing {

inline std::string geo_test_file(const std::string& name) {
  return std::string(PASSEUR_SOURCE_DIR "/../shared/testdata/geoip/") + name;
}

}  // namespace routing::testing
