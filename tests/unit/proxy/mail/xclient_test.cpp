// Postfix's XCLIENT command as Passeur writes it: xtext values, IPv6 addresses, the attributes
// the node offers, the SMTP command line limit.
#include "proxy/mail/xclient.h"

#include <gtest/gtest.h>

namespace proxy::mail {
namespace {

const std::vector<std::string> kPostfix = {"NAME", "ADDR",  "PROTO",    "HELO",    "REVERSE_NAME",
                                           "PORT", "LOGIN", "DESTADDR", "DESTPORT"};

ClientAddress client(std::string ip, uint16_t port = 40123) {
  return {.ip = std::move(ip), .port = port, .local_ip = "192.0.2.1", .local_port = 587};
}

TEST(Xclient, XtextEncodesPlusEqualsSpacesAndControls) {
  EXPECT_EQ(xtext("client.example"), "client.example");
  EXPECT_EQ(xtext("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(xtext(std::string_view("\t\x7f\x00\xe9", 4)), "+09+7F+00+E9");
  EXPECT_EQ(xtext("[UNAVAILABLE]"), "[UNAVAILABLE]");
  EXPECT_EQ(xtext("!~"), "!~");
  EXPECT_EQ(xtext(""), "");
}

TEST(Xclient, AddressesIPv4IPv6AndMapped) {
  EXPECT_EQ(xclient_address("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(xclient_address("2001:db8::7"), "IPV6:2001:db8::7");
  EXPECT_EQ(xclient_address("::1"), "IPV6:::1");
  EXPECT_EQ(xclient_address("::ffff:203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(xclient_address("::FFFF:203.0.113.7"), "203.0.113.7");
}

TEST(Xclient, TheOfferIsTheAttributesAfterTheKeyword) {
  auto offer = xclient_offer(
      "XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR "
      "DESTPORT");
  ASSERT_TRUE(offer);
  EXPECT_EQ(*offer, kPostfix);
  offer = xclient_offer("xclient addr  port");
  ASSERT_TRUE(offer);
  EXPECT_EQ(*offer, (std::vector<std::string>{"ADDR", "PORT"}));
  offer = xclient_offer("XCLIENT");
  ASSERT_TRUE(offer);
  EXPECT_TRUE(offer->empty());
  EXPECT_FALSE(xclient_offer("XCLIENTS ADDR"));
  EXPECT_FALSE(xclient_offer("XFORWARD NAME ADDR"));
  EXPECT_FALSE(xclient_offer("AUTH PLAIN"));
}

TEST(Xclient, CommandForPostfix) {
  EXPECT_EQ(xclient_command(client("203.0.113.7"), "client.example", kPostfix),
            "XCLIENT ADDR=203.0.113.7 NAME=[UNAVAILABLE] PORT=40123 PROTO=ESMTP "
            "DESTADDR=192.0.2.1 DESTPORT=587 HELO=client.example\r\n");
  ClientAddress v6 = client("2001:db8::7", 1);
  v6.local_ip = "2001:db8::1";
  EXPECT_EQ(xclient_command(v6, "[2001:db8::7]", kPostfix),
            "XCLIENT ADDR=IPV6:2001:db8::7 NAME=[UNAVAILABLE] PORT=1 PROTO=ESMTP "
            "DESTADDR=IPV6:2001:db8::1 DESTPORT=587 HELO=[2001:db8::7]\r\n");
  // A name with characters outside xtext's: encoded.
  EXPECT_EQ(xclient_command(client("203.0.113.7"), "my pc+1", {"ADDR", "HELO"}),
            "XCLIENT ADDR=203.0.113.7 HELO=my+20pc+2B1\r\n");
}

TEST(Xclient, OnlyTheOfferedAttributesAndNoLogin) {
  EXPECT_EQ(xclient_command(client("203.0.113.7"), "c", {"ADDR"}), "XCLIENT ADDR=203.0.113.7\r\n");
  EXPECT_EQ(xclient_command(client("203.0.113.7"), "c", {"LOGIN", "PORT", "ADDR"}),
            "XCLIENT ADDR=203.0.113.7 PORT=40123\r\n");
  // Without ADDR the node cannot learn the client's address: no command.
  EXPECT_EQ(xclient_command(client("203.0.113.7"), "c", {"NAME", "HELO", "PORT"}), "");
  EXPECT_EQ(xclient_command(client("203.0.113.7"), "c", {}), "");
}

TEST(Xclient, TheCommandFitsInAnSmtpLine) {
  // A 255-character name whose xtext is three times longer: left out (the EHLO after carries
  // it); one that fits is kept; one longer than Postfix takes is left out.
  const std::string spaces(255, ' ');
  std::string line = xclient_command(client("2001:db8::7"), spaces, kPostfix);
  EXPECT_EQ(line.find("HELO="), std::string::npos);
  EXPECT_LE(line.size(), 512u);
  const std::string long_name(255, 'a');
  line = xclient_command(client("2001:db8::7"), long_name, kPostfix);
  EXPECT_NE(line.find("HELO=" + long_name + "\r\n"), std::string::npos);
  EXPECT_LE(line.size(), 512u);
  line = xclient_command(client("2001:db8::7"), std::string(256, 'a'), kPostfix);
  EXPECT_EQ(line.find("HELO="), std::string::npos);
}

}  // namespace
}  // namespace proxy::mail
