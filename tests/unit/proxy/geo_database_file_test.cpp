#include "proxy/geo_database_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/unit/routing/geo_test_data.h"

namespace proxy {
namespace {

using routing::testing::geo_test_file;

TEST(GeoDatabaseFile, MissingFileIsAnError) {
  std::string error;
  EXPECT_FALSE(open_geo_database("/nonexistent/GeoLite2-Country.mmdb", error));
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

TEST(GeoDatabaseFile, TruncatedOrForeignFileIsAnError) {
  auto dir = std::filesystem::temp_directory_path() / ("passeur-geo-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ifstream in(geo_test_file("GeoLite2-Country-Test.mmdb"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  auto truncated = (dir / "truncated.mmdb").string();
  std::ofstream(truncated, std::ios::binary).write(bytes.data(), bytes.size() / 2);
  auto text = (dir / "text.mmdb").string();
  std::ofstream(text) << "not a database\n";
  for (const auto& path : {truncated, text}) {
    std::string error;
    EXPECT_FALSE(open_geo_database(path, error)) << path;
    EXPECT_FALSE(error.empty());
  }
  std::filesystem::remove_all(dir);
}

// A file whose metadata's description map is corrupt (found by fuzz/geo_database_fuzzer): refused
// with libmaxminddb's reason. Debian 12's libmaxminddb 1.7.1 leaks 4.6 KiB inside MMDB_open on
// this failure (fixed upstream by maxmind/libmaxminddb#356), which Passeur cannot free: the open
// runs in a child process that ends without the sanitizer's leak check.
TEST(GeoDatabaseFile, CorruptMetadataIsAnError) {
  const std::string path = PASSEUR_SOURCE_DIR
      "/fuzz/corpus/geo_database_fuzzer/7bf933b81703a4078a90985a0eece30c909a4247";
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_EXIT(
      {
        std::string error;
        const bool opened = open_geo_database(path, error) != nullptr;
        std::fprintf(stderr, "error: %s\n", error.c_str());
        std::_Exit(opened ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "error: .*contains bad data");
}

TEST(GeoDatabaseFile, IdentityChangesWhenTheFileIsReplaced) {
  auto dir =
      std::filesystem::temp_directory_path() / ("passeur-geo-id-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "db.mmdb").string();
  std::filesystem::copy_file(geo_test_file("GeoLite2-Country-Test.mmdb"), path);
  auto before = identify_file(path);
  ASSERT_TRUE(before);
  std::filesystem::copy_file(geo_test_file("GeoLite2-City-Test.mmdb"), path + ".new");
  std::filesystem::rename(path + ".new", path);
  auto after = identify_file(path);
  ASSERT_TRUE(after);
  EXPECT_NE(*before, *after);
  EXPECT_EQ(*after, *identify_file(path));
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(identify_file(path));
}

}  // namespace
}  // namespace proxy
