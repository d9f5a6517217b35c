"""Backpressure on a TCP listener: a node sends 256 MiB as fast as it can to a client that
reads nothing for a while. Passeur must not buffer it (its resident memory stays flat: the
kernel's socket buffers fill, then the node's sends block), and every byte arrives in order
once the client reads. Named *streaming* so the sanitizer run, whose shadow memory inflates
RSS, leaves it out."""

import hashlib
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import MailTestCase  # noqa: E402
from harness import MiB, main  # noqa: E402

TOTAL = 256 * MiB


def pattern(i):
    return hashlib.sha256(str(i).encode()).digest() * 2048  # 64 KiB, different each time


class BackpressureTest(MailTestCase):
    def test_slow_client_does_not_make_passeur_buffer(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        self.addCleanup(srv.close)
        sent_digest = hashlib.sha256()

        def serve():
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                try:
                    first = conn.recv(1)  # the client says "go"; the readiness probe does not
                except OSError:
                    first = b""
                if first != b"g":
                    conn.close()
                    continue
                sent = 0
                i = 0
                try:
                    while sent < TOTAL:
                        chunk = pattern(i)
                        conn.sendall(chunk)
                        sent_digest.update(chunk)
                        sent += len(chunk)
                        i += 1
                finally:
                    conn.close()

        threading.Thread(target=serve, daemon=True).start()
        proxy = self.start_mail_proxy([{"name": "bulk", "pool": "bulk"}],
                                      {"bulk": {"nodes": ["127.0.0.1:%d"
                                                          % srv.getsockname()[1]]}})
        rss_before = proxy.status_field("VmRSS")
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=30) as c:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            c.sendall(b"g")
            time.sleep(2.0)  # the node is blocked by now; nothing read yet
            rss_stalled = proxy.status_field("VmRSS")
            got = hashlib.sha256()
            n = 0
            while True:
                chunk = c.recv(1 << 20)
                if not chunk:
                    break
                got.update(chunk)
                n += len(chunk)
        self.assertEqual(n, TOTAL)
        self.assertEqual(got.hexdigest(), sent_digest.hexdigest())
        # Kilobytes: a stalled 256 MiB transfer costs Passeur no more than a few MiB.
        self.assertLess(rss_stalled - rss_before, 8 * 1024,
                        "RSS %d kB before, %d kB stalled" % (rss_before, rss_stalled))


if __name__ == "__main__":
    main()
