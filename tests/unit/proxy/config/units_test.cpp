#include "proxy/config/units.h"

#include <gtest/gtest.h>

namespace proxy::config {
namespace {

using std::chrono::milliseconds;

TEST(UnitsDuration, AcceptsEachUnit) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("10s"), milliseconds(10'000));
  EXPECT_EQ(parse_duration("5m"), milliseconds(300'000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(parse_duration("0ms"), milliseconds(0));
  EXPECT_EQ(parse_duration("007s"), milliseconds(7'000));
}

TEST(UnitsDuration, PlainZeroOnly) {
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
  EXPECT_EQ(parse_duration("000"), milliseconds(0));
  EXPECT_EQ(parse_duration("10"), std::nullopt);
}

TEST(UnitsDuration, RejectsGarbage) {
  for (const char* text : {"", "s", "ms", "-1s", "+1s", "1.5s", "1 s", " 1s", "1s ", "1S", "1sec",
                           "1d", "1us", "1msx", "abc", "1e3ms"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << text;
  }
}

TEST(UnitsDuration, RejectsOverflow) {
  // Largest: int64 max milliseconds.
  EXPECT_EQ(parse_duration("9223372036854775807ms"), milliseconds(9223372036854775807));
  EXPECT_EQ(parse_duration("9223372036854775808ms"), std::nullopt);
  EXPECT_EQ(parse_duration("99999999999999999999ms"), std::nullopt);
  EXPECT_EQ(parse_duration("9223372036854776s"), std::nullopt);
  EXPECT_EQ(parse_duration("2562047788015h"), milliseconds(2562047788015 * 3'600'000));
  EXPECT_EQ(parse_duration("2562047788016h"), std::nullopt);
}

TEST(UnitsSize, AcceptsBytesAndBinaryUnits) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("64KiB"), 64u * 1024);
  EXPECT_EQ(parse_size("64MiB"), 64u * 1024 * 1024);
  EXPECT_EQ(parse_size("2GiB"), 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_size("0KiB"), 0u);
}

TEST(UnitsSize, RejectsGarbage) {
  for (const char* text : {"", "KiB", "-1", "+1", "1.5KiB", "64 KiB", "64KB", "64MB", "64kib",
                           "64K", "1TiB", "64KiBs", "0x10", "1B"}) {
    EXPECT_EQ(parse_size(text), std::nullopt) << text;
  }
}

TEST(UnitsSize, RejectsOverflow) {
  EXPECT_EQ(parse_size("18446744073709551615"), 18446744073709551615ull);
  EXPECT_EQ(parse_size("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_size("17179869183GiB"), 17179869183ull << 30);
  EXPECT_EQ(parse_size("17179869184GiB"), std::nullopt);
}

}  // namespace
}  // namespace proxy::config
