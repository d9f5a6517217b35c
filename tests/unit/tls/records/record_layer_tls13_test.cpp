// The record layer against exact TLS 1.3 records: fragmented KeyUpdates, size limits, the alert
// it sends for each malformed input (RFC 8446 section 6.2), its own KeyUpdates and sequence
// numbers. The client's records are sealed by tests/unit/tls/records/record_builder.h.

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/error.hpp>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/tls/hex.h"
#include "tests/unit/tls/records/record_builder.h"
#include "tls/records/record_layer.h"

namespace {

using namespace tls::testing;
using tls::AeadKind;
using tls::DirectionKey;
using tls::RecordLayer;

constexpr uint8_t kChangeCipherSpec = 20;
constexpr uint8_t kAlert = 21;
constexpr uint8_t kHandshake = 22;
constexpr uint8_t kApplicationData = 23;
constexpr int kNoAlert = -1;

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

std::string reason(const boost::system::error_code& ec) {
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr);
  const char* r = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
  return r != nullptr ? r : ec.message();
}

// What the layer made of the bytes it was sent.
struct Outcome {
  std::string data;
  boost::system::error_code ec;
};

class Tls13Records : public ::testing::Test {
 protected:
  explicit Tls13Records(AeadKind kind = AeadKind::Aes128Gcm, uint64_t read_sequence = 0,
                        uint64_t write_sequence = 0)
      : kind_(kind),
        layer(RecordLayer::tls13(EVP_sha256(), kind, kClientSecret, kServerSecret, read_sequence,
                                 write_sequence)),
        client(true, kind, key_of(kind, kClientSecret), read_sequence),
        server(true, kind, key_of(kind, kServerSecret), write_sequence),
        client_secret_(kClientSecret),
        server_secret_(kServerSecret) {}

  void SetUp() override { ASSERT_NE(layer, nullptr); }

  // Sends these records to the layer, then reads until it wants more or fails.
  Outcome feed(const std::vector<Bytes>& records) {
    for (const Bytes& r : records) sockets.send(r);
    Outcome o;
    std::array<char, 70000> buf;
    for (;;) {
      const auto a = layer->read(sockets.ours, buf.data(), buf.size());
      if (a.ec) {
        o.ec = a.ec;
        break;
      }
      if (a.bytes == 0) break;
      o.data.append(buf.data(), a.bytes);
    }
    return o;
  }

  // The records the layer sent since the last call, opened; our KeyUpdates are followed.
  std::vector<std::pair<uint8_t, Bytes>> sent() {
    Bytes in = sockets.received();
    std::vector<std::pair<uint8_t, Bytes>> out;
    uint8_t type = 0;
    Bytes content;
    while (!in.empty()) {
      if (!server.open(in, type, content)) {
        ADD_FAILURE() << "the layer sent a record that does not open";
        break;
      }
      out.emplace_back(type, content);
      if (type == kHandshake && content.size() == 5 && content[0] == 24) {
        server.rekey(next_key(server_secret_));
      }
    }
    return out;
  }

  // The description of the fatal alert the layer sent, kNoAlert for none.
  int alert_sent() {
    int alert = kNoAlert;
    for (const auto& [type, content] : sent()) {
      if (type == kAlert && content.size() == 2 && content[0] == 2) alert = content[1];
    }
    return alert;
  }

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

  AeadKind kind_;
  SocketPair sockets;
  std::unique_ptr<RecordLayer> layer;
  RecordBuilder client;  // seals what the client sends
  RecordBuilder server;  // opens what the layer sends

 private:
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
  const boost::asio::const_buffer piece(reply.data(), reply.size());
  const auto w = layer->write(sockets.ours, {&piece, 1});
  EXPECT_EQ(w.bytes, reply.size());
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
    const std::string piece_text = "record " + std::to_string(i);
    const boost::asio::const_buffer piece(piece_text.data(), piece_text.size());
    EXPECT_EQ(layer->write(sockets.ours, {&piece, 1}).bytes, piece_text.size());
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
  for (const char* text : {"a", "b"}) {
    const boost::asio::const_buffer piece(text, 1);
    EXPECT_EQ(layer->write(sockets.ours, {&piece, 1}).bytes, 1u);
  }
  const auto records = sent();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].second, bytes("a"));
  EXPECT_EQ(records[1].second, (Bytes{24, 0, 0, 1, 0}));
  EXPECT_EQ(records[2].second, bytes("b"));
}

}  // namespace
