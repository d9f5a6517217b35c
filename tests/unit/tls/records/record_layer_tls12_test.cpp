// The record layer against exact TLS 1.2 records: size limits, alerts, sequence numbers. The
// client's records are sealed by tests/unit/tls/records/record_builder.h.

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/error.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/tls/records/layer_fixture.h"

namespace {

using namespace tls::testing;
using tls::AeadKind;
using tls::DirectionKey;
using tls::RecordLayer;

DirectionKey fixed_key(uint8_t fill) {
  DirectionKey key;
  key.key.fill(fill);
  key.iv.fill(static_cast<uint8_t>(fill + 1));
  key.iv_length = 4;
  return key;
}

class Tls12Records : public LayerFixture {
 protected:
  explicit Tls12Records(uint64_t read_sequence = 1, uint64_t write_sequence = 1)
      : LayerFixture(RecordLayer::tls12(AeadKind::Aes128Gcm, fixed_key(1), fixed_key(7),
                                        read_sequence, write_sequence),
                     RecordBuilder(false, AeadKind::Aes128Gcm, fixed_key(1), read_sequence),
                     RecordBuilder(false, AeadKind::Aes128Gcm, fixed_key(7), write_sequence)) {}

  Bytes data(std::string_view s) { return client.tls12(kApplicationData, bytes(s)); }
};

// ---- Record sizes (RFC 5246 section 6.2.3) -----------------------------------------------------

TEST_F(Tls12Records, FullRecordIsAccepted) {
  const Outcome o = feed({client.tls12(kApplicationData, Bytes(16384, 'a'))});
  EXPECT_FALSE(o.ec) << reason(o.ec);
  EXPECT_EQ(o.data.size(), 16384u);
}

TEST_F(Tls12Records, CiphertextOf2To14Plus2048IsOpenedAndItsPlaintextTooLong) {
  // 8 bytes of explicit nonce, 16 of tag: 2^14 + 2024 bytes of plaintext.
  const Bytes record = client.tls12(kApplicationData, Bytes(16384 + 2024, 'a'));
  ASSERT_EQ(record.size(), 5u + 16384 + 2048);
  const Outcome o = feed({record});
  EXPECT_EQ(reason(o.ec), "data length too long");  // decrypted: the length was allowed
  EXPECT_EQ(alert_sent(), 22);                      // record_overflow
}

TEST_F(Tls12Records, CiphertextOf2To14Plus2049IsRecordOverflow) {
  const Bytes record = client.tls12(kApplicationData, Bytes(16384 + 2025, 'a'));
  ASSERT_EQ(record.size(), 5u + 16384 + 2049);
  const Outcome o = feed({record});
  EXPECT_EQ(reason(o.ec), "encrypted length too long");  // refused from its header
  EXPECT_EQ(alert_sent(), 22);
}

// ---- Alerts ------------------------------------------------------------------------------------

// A fatal user_canceled ends the connection (OpenSSL: any fatal alert); nothing after it is
// served.
TEST_F(Tls12Records, FatalUserCanceledEndsTheStream) {
  const Outcome o = feed({data("first"), client.tls12(kAlert, Bytes{2, 90}), data("second")});
  EXPECT_EQ(o.data, "first");
  EXPECT_EQ(reason(o.ec), "tlsv1 alert user cancelled");
  EXPECT_EQ(alert_sent(), kNoAlert);
  std::array<char, 16> buf;
  EXPECT_EQ(layer->read(sockets.ours, buf.data(), buf.size()).ec, o.ec);  // and stays ended
}

// A warning user_canceled is ignored, as OpenSSL does; the close_notify that follows ends it.
TEST_F(Tls12Records, WarningUserCanceledThenCloseNotify) {
  const Outcome o =
      feed({client.tls12(kAlert, Bytes{1, 90}), data("served"), client.tls12(kAlert, Bytes{1, 0})});
  EXPECT_EQ(o.data, "served");
  EXPECT_EQ(o.ec, boost::asio::error::eof);
  EXPECT_EQ(alert_sent(), kNoAlert);
}

TEST_F(Tls12Records, MalformedAlertIsDecodeError) {
  const Outcome o = feed({client.tls12(kAlert, Bytes{2})});
  EXPECT_EQ(reason(o.ec), "invalid alert");
  EXPECT_EQ(alert_sent(), 50);  // decode_error
}

TEST_F(Tls12Records, UnknownAlertLevelIsIllegalParameter) {
  const Outcome o = feed({client.tls12(kAlert, Bytes{3, 10})});
  EXPECT_EQ(reason(o.ec), "unknown alert type");
  EXPECT_EQ(alert_sent(), 47);  // illegal_parameter
}

TEST_F(Tls12Records, ChangeCipherSpecAfterFinishedIsUnexpectedMessage) {
  const Outcome o = feed({client.tls12(kChangeCipherSpec, Bytes{1})});
  EXPECT_EQ(reason(o.ec), "ccs received early");
  EXPECT_EQ(alert_sent(), 10);  // unexpected_message
}

// A ClientHello after the handshake (renegotiation, which Passeur does not do) gets a warning
// no_renegotiation and is dropped, as OpenSSL 3.0 does; the client may go on.
TEST_F(Tls12Records, RenegotiationGetsAWarningAndTheConnectionGoesOn) {
  const Outcome o =
      feed({data("before "), client.tls12(22, Bytes{1, 0, 0, 4, 3, 3, 0, 0}), data("after")});
  EXPECT_FALSE(o.ec);
  EXPECT_EQ(o.data, "before after");
  EXPECT_EQ(alerts_sent(), (std::vector<std::pair<int, int>>{{1, 100}}));
}

TEST_F(Tls12Records, RenegotiationWithItsHeaderSplitAcrossRecords) {
  const Outcome o = feed({client.tls12(22, Bytes{1, 0}), client.tls12(22, Bytes{0, 2, 3, 3}),
                          data("after"), client.tls12(22, Bytes{1, 0, 0, 0})});
  EXPECT_FALSE(o.ec);
  EXPECT_EQ(o.data, "after");
  EXPECT_EQ(alerts_sent(), (std::vector<std::pair<int, int>>{{1, 100}, {1, 100}}));
}

TEST_F(Tls12Records, OtherHandshakeMessageAfterTheHandshakeIsUnexpected) {
  const Outcome o = feed({client.tls12(22, Bytes{0, 0, 0, 0})});  // a HelloRequest
  EXPECT_EQ(reason(o.ec), "unexpected message");
  EXPECT_EQ(alert_sent(), 10);
}

TEST_F(Tls12Records, BadMacIsBadRecordMac) {
  Bytes record = data("genuine");
  record.back() ^= 1;
  const Outcome o = feed({record});
  EXPECT_EQ(reason(o.ec), "decryption failed or bad record mac");
  EXPECT_EQ(alert_sent(), 20);
}

TEST_F(Tls12Records, WrongRecordVersionIsProtocolVersion) {
  Bytes record = data("x");
  record[2] = 1;
  const Outcome o = feed({record});
  EXPECT_EQ(reason(o.ec), "wrong version number");
  EXPECT_EQ(alert_sent(), 70);  // protocol_version
}

// ---- Sequence numbers never wrap (RFC 5246 section 6.1) ----------------------------------------

class Tls12NearWrap : public Tls12Records {
 protected:
  Tls12NearWrap() : Tls12Records(UINT64_MAX - 1, UINT64_MAX - 1) {}
};

TEST_F(Tls12NearWrap, WriteRefusesToWrap) {
  for (const char* text : {"a", "b"}) {
    const auto w = write(text);
    EXPECT_FALSE(w.ec) << reason(w.ec);
    EXPECT_EQ(w.bytes, 1u);
  }
  const auto w = write("c");
  EXPECT_EQ(reason(w.ec), "invalid sequence number");
  EXPECT_EQ(w.bytes, 0u);
  // Two records went out, the third never did.
  EXPECT_EQ(sent(), (std::vector<std::pair<uint8_t, Bytes>>{{kApplicationData, bytes("a")},
                                                            {kApplicationData, bytes("b")}}));
}

TEST_F(Tls12NearWrap, ReadRefusesToWrap) {
  const Outcome o = feed({data("a"), data("b"), data("c")});
  EXPECT_EQ(o.data, "ab");
  EXPECT_EQ(reason(o.ec), "invalid sequence number");
}

}  // namespace
