#include "tls/cert_names.h"

#include <gtest/gtest.h>

#include <string>

namespace tls {
namespace {

using Kind = CertName::Kind;

TEST(CertNameTest, ExactNamesAreLowerCasedWithoutTrailingDot) {
  CertName name = classify_cert_name("WebMail.Example.Coop.");
  EXPECT_EQ(name.kind, Kind::Exact);
  EXPECT_EQ(name.name, "webmail.example.coop");
}

TEST(CertNameTest, WildcardOnlyAsTheWholeLeftMostLabel) {
  EXPECT_EQ(classify_cert_name("*.Example.coop").kind, Kind::Wildcard);
  EXPECT_EQ(classify_cert_name("*.Example.coop").name, "*.example.coop");
  EXPECT_EQ(classify_cert_name("w*.example.coop").kind, Kind::Invalid);
  EXPECT_EQ(classify_cert_name("webmail.*.coop").kind, Kind::Invalid);
  EXPECT_EQ(classify_cert_name("*.*.example.coop").kind, Kind::Invalid);
  EXPECT_EQ(classify_cert_name("*").kind, Kind::Invalid);
}

TEST(CertNameTest, WildcardNeedsTwoLabelsAfterIt) {
  CertName name = classify_cert_name("*.coop");
  EXPECT_EQ(name.kind, Kind::Invalid);
  EXPECT_FALSE(name.why.empty());
}

TEST(CertNameTest, RejectsMalformedNames) {
  EXPECT_EQ(classify_cert_name("").kind, Kind::Invalid);
  EXPECT_EQ(classify_cert_name("a..b").kind, Kind::Invalid);
  EXPECT_EQ(classify_cert_name("has space.example").kind, Kind::Invalid);
  EXPECT_EQ(classify_cert_name(std::string("evil\0.example.coop", 18)).kind, Kind::Invalid);
  EXPECT_EQ(classify_cert_name(std::string(64, 'a') + ".coop").kind, Kind::Invalid);
}

TEST(CertNameTest, NormalizesServerNames) {
  char buffer[256];
  size_t length = normalize_server_name("Cloud.EXAMPLE.coop.", buffer);
  EXPECT_EQ(std::string(buffer, length), "cloud.example.coop");
  EXPECT_EQ(normalize_server_name("", buffer), 0u);
  EXPECT_EQ(normalize_server_name("a b", buffer), 0u);
  EXPECT_EQ(normalize_server_name(std::string(300, 'a'), buffer), 0u);
}

}  // namespace
}  // namespace tls
