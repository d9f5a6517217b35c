#pragma once

// OpenSSL's read side of a server connection during its handshake: a BIO over the non-blocking
// socket that takes what the socket has in one recv(2) and serves OpenSSL's reads from it.
//
// The handshake runs without read ahead, so that OpenSSL asks for exactly one record (its
// 5-byte header, then its body) and never holds bytes that follow the client's Finished: those
// belong to the record layer that takes the connection over. With OpenSSL's socket BIO that is
// two system calls per record; the client's second TLS 1.3 flight (ChangeCipherSpec, Finished,
// often the first request) took four, this takes one. What OpenSSL did not ask for stays here,
// for unread(). When the record layer does not take the connection over, OpenSSL keeps reading
// through this BIO for the connection's life: it then holds bytes only between two reads.

#include <openssl/bio.h>

#include <cstddef>
#include <span>

namespace tls {

// A BIO reading from fd (not owned, not closed). Null when OpenSSL cannot make one.
BIO* new_read_bio(int fd);

// The bytes received and not read by OpenSSL yet, if bio is one of these (empty otherwise). Valid
// until the next read or the BIO's end.
std::span<const unsigned char> unread(BIO* bio);

}  // namespace tls
