#include "proxy/config/token_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace proxy::config {
namespace {

using ::testing::HasSubstr;

class TokenFile : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    std::ofstream(path_, std::ios::binary) << text;
    return path_;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_ = ::testing::TempDir() + "passeur_token_" + std::to_string(::getpid());
};

TEST_F(TokenFile, TrimsSurroundingWhitespace) {
  std::string error;
  EXPECT_EQ(read_token_file(write("  0123456789abcdef0123\n"), error), "0123456789abcdef0123");
  EXPECT_EQ(read_token_file(write("0123456789abcdef0123\r\n\r\n"), error), "0123456789abcdef0123");
}

TEST_F(TokenFile, RefusesEmptyShortOrSpaced) {
  std::string error;
  EXPECT_EQ(read_token_file(write("\n"), error), std::nullopt);
  EXPECT_THAT(error, HasSubstr("is empty"));
  EXPECT_EQ(read_token_file(write("short\n"), error), std::nullopt);
  EXPECT_THAT(error, HasSubstr("16 to 1024 characters"));
  EXPECT_EQ(read_token_file(write("0123456789 abcdef0123\n"), error), std::nullopt);
  EXPECT_THAT(error, HasSubstr("one token"));
  EXPECT_EQ(read_token_file(write(std::string(5000, 'a')), error), std::nullopt);
  EXPECT_THAT(error, HasSubstr("larger than 4KiB"));
}

TEST_F(TokenFile, MissingFile) {
  std::string error;
  EXPECT_EQ(read_token_file("/nonexistent/passeur/token", error), std::nullopt);
  EXPECT_EQ(error, "cannot read: No such file or directory");
}

}  // namespace
}  // namespace proxy::config
