"""Idle HTTPS keep-alive connections stay small: after one request each, 1,000 open TLS
connections (half TLS 1.3, half TLS 1.2) cost the proxy less than a limit of resident memory
apiece, for each setting of tls_records.

By default OpenSSL protects the records for the connection's whole life: with its buffers
released when empty, an idle connection holds OpenSSL's SSL object (about 12 KiB with OpenSSL
3.0) and, as for plain HTTP, no read buffer, plus the HTTP session (about 1.2 KiB):
14.8 KiB measured, below 18 KiB. With tls_records = "passeur" the record layer
takes the connection over after the handshake and frees the SSL object: what is left is the two
cipher contexts and keys (about 2.5 KiB) and the HTTP session: 3.7 KiB measured,
below 6 KiB. HAProxy 2.6 and nginx 1.22 hold 15-16 KiB per idle HTTPS connection on the same
machine (bench/README.md)."""

import os
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tls_support import WEBMAIL, TlsConn, TlsTestCase, client_context  # noqa: E402
from harness import KiB, ensure_open_files, main  # noqa: E402

WARMUP = 50
CONNECTIONS = 1000
LIMIT_OPENSSL = 18 * KiB
LIMIT_PASSEUR = 6 * KiB


class IdleMemoryTest(TlsTestCase):
    def setUp(self):
        super().setUp()
        ensure_open_files(CONNECTIONS + WARMUP + 200)

    def open_many(self, n, contexts):
        conns = []
        for i in range(n):
            c = TlsConn(self.proxy.port, WEBMAIL, context=contexts[i % len(contexts)], timeout=10)
            self.addCleanup(c.close)
            r = c.roundtrip("GET", "/", WEBMAIL)
            self.assertEqual((r.status, r.text), (200, "webmail\n"))
            conns.append(c)
        return conns

    def rss(self):
        time.sleep(0.3)  # let every worker finish with the last response
        return self.proxy.status_field("VmRSS") * 1024

    def check_idle_connections(self, records, limit):
        self.proxy = self.webmail_proxy(tls={"tls_records": records})
        contexts = [client_context(verify=False),
                    client_context(verify=False, max_version=ssl.TLSVersion.TLSv1_2)]
        warm = self.open_many(WARMUP, contexts)
        before = self.rss()
        conns = self.open_many(CONNECTIONS, contexts)
        after = self.rss()
        per_conn = (after - before) / CONNECTIONS
        sys.stderr.write("\nidle TLS keep-alive connection, tls_records = %s: %.2f KiB of proxy "
                         "RSS each (%d connections, RSS %.1f -> %.1f MiB)\n"
                         % (records, per_conn / KiB, CONNECTIONS, before / KiB / KiB,
                            after / KiB / KiB))
        self.assertLess(per_conn, limit,
                        "%.2f KiB per idle TLS connection (%s)" % (per_conn / KiB, records))
        # Every connection still answers, the oldest and the newest first, then all of them.
        for c in [warm[0], conns[0], conns[-1]] + conns:
            r = c.roundtrip("GET", "/again", WEBMAIL)
            self.assertEqual((r.status, r.text), (200, "webmail\n"))
        self.assertEqual({c.sock.version() for c in conns[:2]}, {"TLSv1.3", "TLSv1.2"})
        return per_conn

    def test_openssl_records(self):
        self.check_idle_connections("openssl", LIMIT_OPENSSL)

    def test_passeur_records(self):
        self.check_idle_connections("passeur", LIMIT_PASSEUR)


if __name__ == "__main__":
    main()
