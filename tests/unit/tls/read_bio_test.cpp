#include "tls/read_bio.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tls/records/bio_ctrl.h"

namespace {

struct SocketPair {
  int ours = -1;
  int peer = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ours = fds[0];
    peer = fds[1];
    ::fcntl(ours, F_SETFL, ::fcntl(ours, F_GETFL) | O_NONBLOCK);
  }
  ~SocketPair() {
    ::close(ours);
    if (peer >= 0) ::close(peer);
  }
  void send(std::string_view s) const {
    ASSERT_EQ(::send(peer, s.data(), s.size(), 0), static_cast<ssize_t>(s.size()));
  }
};

std::string read(BIO* bio, int size) {
  std::string out(static_cast<size_t>(size), '\0');
  const int n = BIO_read(bio, out.data(), size);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

std::string unread_text(BIO* bio) {
  const auto u = tls::unread(bio);
  return {reinterpret_cast<const char*>(u.data()), u.size()};
}

// OpenSSL's reads are served from one recv(2); what it did not ask for waits in the BIO.
TEST(ReadBio, ServesSmallReadsFromOneReceive) {
  SocketPair p;
  BIO* bio = tls::new_read_bio(p.ours);
  ASSERT_NE(bio, nullptr);
  EXPECT_EQ(unread_text(bio), "");
  p.send("hdr01recordbody+next");
  EXPECT_EQ(read(bio, 5), "hdr01");
  // Gone from the socket already: only the BIO holds the rest.
  char probe;
  EXPECT_EQ(::recv(p.ours, &probe, 1, MSG_PEEK | MSG_DONTWAIT), -1);
  EXPECT_EQ(BIO_pending(bio), 15);
  EXPECT_EQ(unread_text(bio), "recordbody+next");
  EXPECT_EQ(read(bio, 10), "recordbody");
  EXPECT_EQ(unread_text(bio), "+next");
  EXPECT_EQ(read(bio, 100), "+next");  // no more than there is
  EXPECT_EQ(BIO_pending(bio), 0);

  // Nothing to read: a retry, not an error and not the end.
  EXPECT_EQ(BIO_read(bio, &probe, 1), -1);
  EXPECT_TRUE(BIO_should_retry(bio));
  EXPECT_TRUE(BIO_should_read(bio));
  EXPECT_EQ(BIO_eof(bio), 0);

  // A read larger than the BIO's buffer goes straight to the caller.
  const std::string big(10000, 'b');
  p.send(big);
  EXPECT_EQ(read(bio, 20000), big);

  // The peer's FIN: 0 and the end of stream, without retry.
  p.send("z");
  ::close(p.peer);
  p.peer = -1;
  EXPECT_EQ(read(bio, 1), "z");
  EXPECT_EQ(BIO_read(bio, &probe, 1), 0);
  EXPECT_FALSE(BIO_should_retry(bio));
  EXPECT_EQ(BIO_eof(bio), 1);

  int fd = -1;
  EXPECT_EQ(BIO_get_fd(bio, &fd), p.ours);
  EXPECT_EQ(fd, p.ours);
  BIO_free(bio);
}

TEST(ReadBio, UnreadOfAnotherBioIsEmpty) {
  BIO* mem = BIO_new(BIO_s_mem());
  BIO_write(mem, "abc", 3);
  EXPECT_TRUE(tls::unread(mem).empty());
  EXPECT_TRUE(tls::unread(nullptr).empty());
  BIO_free(mem);
}

// The records passed on after the peer's ChangeCipherSpec are counted, however OpenSSL reads
// them; what is still unread is not.
TEST(ReadBio, CountsRecordsAfterChangeCipherSpec) {
  SocketPair p;
  BIO* bio = tls::new_read_bio(p.ours);
  ASSERT_NE(bio, nullptr);
  const auto count = [&] {
    return BIO_ctrl(bio, tls::kBioCtrlRecordsAfterChangeCipherSpec, 0, nullptr);
  };
  using namespace std::string_literals;
  const std::string handshake =
      "\x16\x03\x03\x00\x02"
      "ab"s;
  const std::string ccs = "\x14\x03\x03\x00\x01\x01"s;
  const std::string one = "\x16\x03\x03\x00\x01x"s;
  p.send(handshake + ccs + one + one + one + "\x17\x03\x03\x00\x01y"s);
  EXPECT_EQ(read(bio, 7), handshake);
  EXPECT_EQ(count(), 0);  // no ChangeCipherSpec yet
  EXPECT_EQ(read(bio, 5), ccs.substr(0, 5));
  EXPECT_EQ(read(bio, 1), ccs.substr(5));
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(read(bio, 3), one.substr(0, 3));  // part of a header
  EXPECT_EQ(read(bio, 9), one.substr(3) + one);
  EXPECT_EQ(count(), 2);
  EXPECT_EQ(read(bio, 6), one);
  EXPECT_EQ(count(), 3);  // the application data record after them is not OpenSSL's
  EXPECT_EQ(unread_text(bio).size(), 6u);
  BIO_free(bio);
}

}  // namespace
