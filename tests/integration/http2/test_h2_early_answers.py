"""A node's early answer on an HTTP/2 stream: Apache refuses an upload (413 for a body over
its LimitRequestBody, announced by its length or found while reading it) while the client is
still sending. The client gets
the answer at once, then RST_STREAM NO_ERROR for the rest of its body (RFC 9113 8.1), and the
connection's other streams go on."""

import os
import sys
import time

import h2.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "http"))
from h2_support import H2Client, H2TestCase, status_of  # noqa: E402
from harness import MiB, main  # noqa: E402
from test_upload_answers import Apache, access_line, field  # noqa: E402
from tls_support import WEBMAIL  # noqa: E402

NO_ERROR = 0


class H2EarlyAnswersTest(H2TestCase):
    def start(self):
        apache = Apache(self.tmp)
        self.addCleanup(apache.stop)
        apache.start()
        return self.start_tls_proxy([{"path_prefix": "/", "pool": "dav", "max_body": "0"}],
                                    {"dav": {"nodes": [apache.address]}},
                                    tls={"http2": True})

    def refused_upload(self, proxy, path, status, length=True, sent=256 * 1024):
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        size = 100 * MiB
        headers = [("content-length", str(size))] if length else []
        sid = c.request(path, method="PUT", host=WEBMAIL, headers=headers, end_stream=False)
        # Part of a 100 MiB body, then nothing more: the node's answer must come anyway. Sent
        # as the windows allow, until the node's answer is seen.
        r = c.responses[sid]
        left, end = sent, time.monotonic() + 10
        while left > 0 and r["headers"] is None and not c.done(sid):
            self.assertLess(time.monotonic(), end, "body not taken, no answer")
            try:
                room = min(c.conn.local_flow_control_window(sid), c.conn.max_outbound_frame_size,
                           left)
            except h2.exceptions.StreamClosedError:
                break
            if room <= 0:
                c.pump_once(0.2)
                continue
            c.conn.send_data(sid, b"x" * room)
            c.flush()
            left -= room
        t0 = time.monotonic()
        c.wait(lambda: c.responses[sid]["headers"] is not None, timeout=5)
        took = time.monotonic() - t0
        c.response(sid, timeout=5)
        self.assertEqual(status_of(r), status)
        self.assertLess(took, 2.0, "answer after %.2fs" % took)
        # The response is complete, and the stream is reset with NO_ERROR, not an error code.
        c.wait(lambda: r["reset"] is not None, timeout=5)
        self.assertEqual(r["reset"], NO_ERROR)
        # Another stream on the same connection is answered.
        sid2 = c.request("/dav/", method="OPTIONS", host=WEBMAIL)
        r2 = c.response(sid2, timeout=5)
        self.assertEqual(status_of(r2), 200, r2)
        self.assertIsNone(c.goaway)
        line = access_line(proxy, r'"PUT %s HTTP/2.0" %d ' % (path, status))
        self.assertLess(int(field(line, "bytes_in")), 100 * MiB, line)

    def test_413_before_the_body_is_in(self):
        proxy = self.start()
        self.refused_upload(proxy, "/dav/limited/big.bin", 413)

    def test_413_found_while_reading_a_body_of_unknown_length(self):
        # No content-length: the node gets the body chunked and refuses past its 1 MiB.
        proxy = self.start()
        self.refused_upload(proxy, "/dav/limited/chunked.bin", 413, length=False,
                            sent=2 * MiB)


if __name__ == "__main__":
    main()
