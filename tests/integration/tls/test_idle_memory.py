"""Idle HTTPS keep-alive connections stay small: after one request each, 500 open TLS
connections cost the proxy less than 18 KiB of resident memory apiece.

OpenSSL 3.0 itself keeps about 13.7 KiB per established connection even with its buffers
released (the SSL object alone is 7.4 KiB); Passeur's own part is about 1.7 KiB. HAProxy 2.6
and nginx 1.22 hold 15-16 KiB per idle HTTPS connection on the same machine."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tls_support import WEBMAIL, TlsConn, TlsTestCase, client_context  # noqa: E402
from harness import KiB, main  # noqa: E402

WARMUP = 50
CONNECTIONS = 500
LIMIT_PER_CONNECTION = 18 * KiB


class IdleMemoryTest(TlsTestCase):
    def open_many(self, n, ctx):
        conns = []
        for _ in range(n):
            c = TlsConn(self.proxy.port, WEBMAIL, context=ctx, timeout=10)
            self.addCleanup(c.close)
            r = c.roundtrip("GET", "/", WEBMAIL)
            self.assertEqual((r.status, r.text), (200, "webmail\n"))
            conns.append(c)
        return conns

    def rss(self):
        time.sleep(0.3)  # let every worker finish with the last response
        return self.proxy.status_field("VmRSS") * 1024

    def test_idle_tls_keepalive_connections_are_small(self):
        self.proxy = self.webmail_proxy()
        ctx = client_context(verify=False)
        warm = self.open_many(WARMUP, ctx)
        before = self.rss()
        conns = self.open_many(CONNECTIONS, ctx)
        after = self.rss()
        per_conn = (after - before) / CONNECTIONS
        sys.stderr.write("\nidle TLS keep-alive connection: %.2f KiB of proxy RSS each "
                         "(%d connections, RSS %.1f -> %.1f MiB)\n"
                         % (per_conn / KiB, CONNECTIONS, before / KiB / KiB, after / KiB / KiB))
        # every connection is still open and usable
        for c in (warm[0], conns[0], conns[-1]):
            self.assertEqual(c.roundtrip("GET", "/", WEBMAIL).status, 200)
        self.assertLess(per_conn, LIMIT_PER_CONNECTION,
                        "%.2f KiB per idle TLS connection" % (per_conn / KiB))


if __name__ == "__main__":
    main()
