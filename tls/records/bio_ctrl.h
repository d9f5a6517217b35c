#pragma once

// What the record layer asks the read BIO of a server handshake (tls/read_bio.h) when it takes
// the connection over.

namespace tls {

// BIO_ctrl() command: how many records the peer sent after its last ChangeCipherSpec, all
// passed on to OpenSSL (0 when the BIO does not count them). In TLS 1.2 that is the sequence
// number of the peer's next record: its Finished may span several (RFC 5246 section 6.2.1).
inline constexpr int kBioCtrlRecordsAfterChangeCipherSpec = 0x7e50;

}  // namespace tls
