// The record layer against exact TLS 1.3 records: fragmented KeyUpdates, size limits, the alert
// it sends for each malformed input (RFC 8446 section 6.2), its own KeyUpdates and sequence
// numbers. The client's records are sealed by tests/unit/tls/records/record_builder.h.

#include <openssl/evp.h>

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/tls/hex.h"
#include "tests/unit/tls/records/layer_fixture.h"

namespace {

using namespace tls::testing;
using tls::AeadKind;
using tls::DirectionKey;
using tls::RecordLayer;

// RFC 8448 section 3's application traffic secrets (SHA-256).
const Bytes kClientSecret =
    unhex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5");
const Bytes kServerSecret =
    unhex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643");

DirectionKey key_of(AeadKind kind, const Bytes& secret) {
  DirectionKey key;
  EXPECT_TRUE(tls::tls13_traffic_key(EVP_sha256(), kind, secret, key));
  return key;
}

class Tls13Records : public LayerFixture {
 protected:
  explicit Tls13Records(AeadKind kind = AeadKind::Aes128Gcm, uint64_t read_sequence = 0,
                        uint64_t write_sequence = 0)
      : LayerFixture(RecordLayer::tls13(EVP_sha256(), kind, kClientSecret, kServerSecret,
                                        read_sequence, write_sequence),
                     RecordBuilder(true, kind, key_of(kind, kClientSecret), read_sequence),
                     RecordBuilder(true, kind, key_of(kind, kServerSecret), write_sequence)),
        kind_(kind),
        client_secret_(kClientSecret),
        server_secret_(kServerSecret) {}

  DirectionKey next_key(Bytes& secret) {
    EXPECT_TRUE(tls::tls13_next_secret(EVP_sha256(), secret));
    return key_of(kind_, secret);
  }
  // The client moves to its next key, as after sending a KeyUpdate.
  void client_updates() { client.rekey(next_key(client_secret_)); }

  Bytes data(std::string_view s) { return client.tls13(kApplicationData, bytes(s)); }
  Bytes handshake(const Bytes& part) { return client.tls13(kHandshake, part); }
  Bytes alert(uint8_t level, uint8_t description) {
    return client.tls13(kAlert, Bytes{level, description});
  }

 private:
  // The layer's KeyUpdates are followed.
  void opened(uint8_t type, const Bytes& content) override {
    if (type == kHandshake && content.size() == 5 && content[0] == 24) {
      server.rekey(next_key(server_secret_));
    }
  }

  AeadKind kind_;
  Bytes client_secret_;
  Bytes server_secret_;
};

// ---- KeyUpdate across records (RFC 8446 section 5.1) -------------------------------------------

TEST_F(Tls13Records, KeyUpdateInOneAndFourByteRecords) {
  std::vector<Bytes> records = {data("before "), handshake({24}), handshake({0, 0, 1, 0})};
  client_updates();
  records.push_back(data("after"));
  const Outcome o = feed(records);
  EXPECT_FALSE(o.ec) << reason(o.ec);
  EXPECT_EQ(o.data, "before after");
  EXPECT_TRUE(sent().empty());  // update_not_requested: nothing to answer
}

TEST_F(Tls13Records, KeyUpdateInTwoTwoAndOneByteRecordsWithDataBetweenMessages) {
  std::vector<Bytes> records = {handshake({24, 0}), handshake({0, 1}), handshake({1})};
  client_updates();
  records.push_back(data("between "));  // between two complete messages: allowed
  records.push_back(handshake({24, 0}));
  records.push_back(handshake({0, 1}));
  records.push_back(handshake({0}));
  client_updates();
  records.push_back(data("end"));
  const Outcome o = feed(records);
  EXPECT_FALSE(o.ec) << reason(o.ec);
  EXPECT_EQ(o.data, "between end");

  // update_requested: the layer's own KeyUpdate goes first, then data under its new key.
  const std::string reply = "reply";
  EXPECT_EQ(write(reply).bytes, reply.size());
  const auto records_sent = sent();
  ASSERT_EQ(records_sent.size(), 2u);
  EXPECT_EQ(records_sent[0].first, kHandshake);
  EXPECT_EQ(records_sent[0].second, (Bytes{24, 0, 0, 1, 0}));
  EXPECT_EQ(records_sent[1].first, kApplicationData);
  EXPECT_EQ(records_sent[1].second, bytes(reply));
}

TEST_F(Tls13Records, DataInsideAFragmentedKeyUpdateIsUnexpected) {
  const Outcome o = feed({handshake({24, 0}), data("x"), handshake({0, 1, 0})});
  EXPECT_EQ(reason(o.ec), "mixed handshake and non handshake data");
  EXPECT_EQ(alert_sent(), 10);  // unexpected_message
}

TEST_F(Tls13Records, AlertInsideAFragmentedKeyUpdateIsUnexpected) {
  const Outcome o = feed({handshake({24}), alert(1, 90)});
  EXPECT_EQ(reason(o.ec), "mixed handshake and non handshake data");
  EXPECT_EQ(alert_sent(), 10);
}

TEST_F(Tls13Records, KeyUpdateNotEndingItsRecordIsUnexpected) {
  const Outcome o = feed({handshake({24, 0, 0, 1, 0, 24})});
  EXPECT_EQ(reason(o.ec), "not on record boundary");
  EXPECT_EQ(alert_sent(), 10);
}

TEST_F(Tls13Records, OtherHandshakeMessageIsUnexpected) {
  const Outcome o = feed({handshake({4, 0, 0, 1, 0})});  // NewSessionTicket, from a client
  EXPECT_EQ(reason(o.ec), "unexpected message");
  EXPECT_EQ(alert_sent(), 10);
}

TEST_F(Tls13Records, BadRequestUpdateIsIllegalParameter) {
  const Outcome o = feed({handshake({24, 0, 0, 1, 2})});
  EXPECT_EQ(reason(o.ec), "bad key update");
  EXPECT_EQ(alert_sent(), 47);  // illegal_parameter
}

TEST_F(Tls13Records, EmptyKeyUpdateIsDecodeError) {
  const Outcome o = feed({handshake({24, 0, 0, 0})});
  EXPECT_EQ(reason(o.ec), "bad key update");
  EXPECT_EQ(alert_sent(), 50);  // decode_error
}

TEST_F(Tls13Records, ShortKeyUpdateIsDecodeError) {
  // Its length says 0 while a request byte follows.
  const Outcome o = feed({handshake({24, 0, 0, 0, 1})});
  EXPECT_EQ(reason(o.ec), "bad key update");
  EXPECT_EQ(alert_sent(), 50);
}

TEST_F(Tls13Records, LongKeyUpdateIsDecodeError) {
  const Outcome o = feed({handshake({24, 0, 0, 2, 0, 0})});
  EXPECT_EQ(reason(o.ec), "bad key update");
  EXPECT_EQ(alert_sent(), 50);
}

// ---- Record sizes (RFC 8446 section 5.2) -------------------------------------------------------

TEST_F(Tls13Records, CiphertextOf2To14Plus256IsAccepted) {
  // 2^14 bytes of data, the content type, 239 bytes of padding and the tag: 2^14 + 256.
  const Bytes record = client.tls13(kApplicationData, Bytes(16384, 'a'), 239);
  ASSERT_EQ(record.size(), 5u + 16384 + 256);
  const Outcome o = feed({record});
  EXPECT_FALSE(o.ec) << reason(o.ec);
  EXPECT_EQ(o.data, std::string(16384, 'a'));
  EXPECT_EQ(alert_sent(), kNoAlert);
}

TEST_F(Tls13Records, CiphertextOf2To14Plus257IsRecordOverflow) {
  const Bytes record = client.tls13(kApplicationData, Bytes(16384, 'a'), 240);
  ASSERT_EQ(record.size(), 5u + 16384 + 257);
  const Outcome o = feed({record});
  EXPECT_EQ(reason(o.ec), "encrypted length too long");
  EXPECT_EQ(alert_sent(), 22);  // record_overflow
}

TEST_F(Tls13Records, PlaintextOver2To14IsRecordOverflow) {
  // Within the ciphertext limit, but 2^14 + 1 bytes once the padding and type are removed.
  const Outcome o = feed({client.tls13(kApplicationData, Bytes(16385, 'a'), 10)});
  EXPECT_EQ(o.data, "");
  EXPECT_EQ(reason(o.ec), "data length too long");
  EXPECT_EQ(alert_sent(), 22);
}

// ---- Alerts (RFC 8446 section 6.2) -------------------------------------------------------------

TEST_F(Tls13Records, InnerPlaintextOfZerosIsUnexpectedMessage) {
  const Outcome o = feed({client.tls13_inner(Bytes(12, 0))});
  EXPECT_EQ(reason(o.ec), "bad record type");
  EXPECT_EQ(alert_sent(), 10);
}

TEST_F(Tls13Records, ChangeCipherSpecAfterFinishedIsUnexpectedMessage) {
  const Outcome o = feed({Bytes{kChangeCipherSpec, 3, 3, 0, 1, 1}});
  EXPECT_EQ(reason(o.ec), "bad record type");
  EXPECT_EQ(alert_sent(), 10);
}

TEST_F(Tls13Records, WrongRecordVersionIsDecodeError) {
  Bytes record = data("x");
  record[2] = 1;
  const Outcome o = feed({record});
  EXPECT_EQ(reason(o.ec), "wrong version number");
  EXPECT_EQ(alert_sent(), 50);
}

TEST_F(Tls13Records, MalformedAlertIsDecodeError) {
  const Outcome o = feed({client.tls13(kAlert, Bytes{2})});
  EXPECT_EQ(reason(o.ec), "invalid alert");
  EXPECT_EQ(alert_sent(), 50);
}

TEST_F(Tls13Records, LongAlertIsDecodeError) {
  const Outcome o = feed({client.tls13(kAlert, Bytes{1, 0, 0})});
  EXPECT_EQ(reason(o.ec), "invalid alert");
  EXPECT_EQ(alert_sent(), 50);
}

TEST_F(Tls13Records, EmptyAlertRecordIsUnexpectedMessage) {
  const Outcome o = feed({client.tls13(kAlert, Bytes{})});
  EXPECT_EQ(reason(o.ec), "bad length");
  EXPECT_EQ(alert_sent(), 10);
}

TEST_F(Tls13Records, BadMacIsBadRecordMac) {
  Bytes record = data("genuine");
  record[7] ^= 1;
  const Outcome o = feed({record});
  EXPECT_EQ(reason(o.ec), "decryption failed or bad record mac");
  EXPECT_EQ(alert_sent(), 20);  // bad_record_mac
}

// user_canceled is followed by close_notify in TLS 1.3 (RFC 8446 section 6.1); OpenSSL ignores
// it, and so does the layer: what comes before close_notify is served, then the stream ends.
TEST_F(Tls13Records, UserCanceledThenCloseNotify) {
  const Outcome o = feed({data("request"), alert(1, 90), data(" more"), alert(1, 0)});
  EXPECT_EQ(o.data, "request more");
  EXPECT_EQ(o.ec, boost::asio::error::eof);
  EXPECT_EQ(alert_sent(), kNoAlert);
}

TEST_F(Tls13Records, FatalAlertEndsTheStreamWithoutAnswer) {
  const Outcome o = feed({alert(2, 40), data("ignored")});
  EXPECT_EQ(o.data, "");
  EXPECT_EQ(reason(o.ec), "sslv3 alert handshake failure");
  EXPECT_TRUE(sent().empty());
}

TEST_F(Tls13Records, FiveWarningAlertsInARowAreUnexpected) {
  const Outcome o = feed({alert(1, 90), alert(1, 90), alert(1, 90), alert(1, 90), alert(1, 90)});
  EXPECT_EQ(reason(o.ec), "too many warn alerts");
  EXPECT_EQ(alert_sent(), 10);
}

TEST_F(Tls13Records, ManyEmptyRecordsAreUnexpected) {
  std::vector<Bytes> records;
  for (int i = 0; i < 32; ++i) records.push_back(data(""));
  records.push_back(data("x"));
  EXPECT_EQ(feed(records).data, "x");  // 32 in a row are allowed
  records.clear();
  for (int i = 0; i < 33; ++i) records.push_back(data(""));
  const Outcome o = feed(records);
  EXPECT_EQ(reason(o.ec), "record too small");
  EXPECT_EQ(alert_sent(), 10);
}

// ---- The layer's own KeyUpdate before the usage limit (RFC 8446 section 5.5) -------------------

TEST(RecordLayerLimits, AesGcmRecordsPerKeyIs2To24Point5) {
  EXPECT_EQ(tls::kAesGcmRecordsPerKey, static_cast<uint64_t>(std::floor(std::pow(2.0, 24.5))));
}

TEST_F(Tls13Records, UpdatesItsKeyBeforeTheUsageLimit) {
  layer->set_records_per_key(3);
  for (int i = 0; i < 7; ++i) {
    const std::string text = "record " + std::to_string(i);
    EXPECT_EQ(write(text).bytes, text.size());
  }
  // Three records, a KeyUpdate not requesting one, three more, another KeyUpdate, the last.
  const auto records = sent();
  ASSERT_EQ(records.size(), 9u);
  const Bytes update = {24, 0, 0, 1, 0};
  int text = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (i == 3 || i == 7) {
      EXPECT_EQ(records[i].first, kHandshake) << i;
      EXPECT_EQ(records[i].second, update) << i;
    } else {
      EXPECT_EQ(records[i].first, kApplicationData) << i;
      EXPECT_EQ(records[i].second, bytes("record " + std::to_string(text++))) << i;
    }
  }
}

// ---- Sequence numbers never wrap (RFC 8446 section 5.3) ----------------------------------------

class Tls13NearWrap : public Tls13Records {
 protected:
  Tls13NearWrap() : Tls13Records(AeadKind::Chacha20Poly1305, UINT64_MAX - 1, UINT64_MAX - 1) {}
};

TEST_F(Tls13NearWrap, ReadSequenceRefusesToWrap) {
  const Outcome o = feed({data("a"), data("b"), data("c")});
  EXPECT_EQ(o.data, "ab");
  EXPECT_EQ(reason(o.ec), "invalid sequence number");
  EXPECT_EQ(alert_sent(), 80);  // internal_error
}

TEST_F(Tls13NearWrap, WriteUpdatesItsKeyRatherThanWrap) {
  // ChaCha20-Poly1305 has no usage limit: the last sequence number carries a KeyUpdate.
  for (const char* text : {"a", "b"}) EXPECT_EQ(write(text).bytes, 1u);
  const auto records = sent();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].second, bytes("a"));
  EXPECT_EQ(records[1].second, (Bytes{24, 0, 0, 1, 0}));
  EXPECT_EQ(records[2].second, bytes("b"));
}

}  // namespace
