"""Bad requests are answered by the proxy itself and never reach the backend."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import KiB, HttpConn, ProxyTestCase, http, main, status_of  # noqa: E402


class BadInputTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.node = self.start_nginx("node-a")
        routes = [{"path_prefix": "/", "pool": "main"},
                  {"path_prefix": "/small/", "pool": "main", "max_body": "1KiB"}]
        self.proxy = self.start_passeur(
            routes, {"main": {"nodes": [self.node.address]}},
            listener={"max_header": "4KiB", "header_timeout": "1s"})

    def tearDown(self):
        # Whatever the case, the backend must not have seen a thing.
        if getattr(self, "backend_may_see", False):
            return
        time.sleep(0.2)
        self.assertNothingReached(self.node)

    def rejected(self, data, statuses=(400,), must_close=True, timeout=5):
        """Send raw bytes; the proxy must answer one of `statuses` (and close, for requests
        it cannot parse)."""
        with HttpConn(self.proxy.port, timeout=timeout) as c:
            c.send(data)
            r = c.read_response()
            self.assertIn(r.status, statuses, "response: %r" % r.raw_head[:300])
            if must_close:
                self.assertTrue(c.closed_within(3), "connection left open after a %d" % r.status)
        return r

    def test_malformed_request_line(self):
        self.rejected(b"GARBAGE\r\n\r\n")

    def test_request_line_with_bad_version(self):
        self.rejected(b"GET / HTTP/9.Z\r\nHost: example.test\r\n\r\n", (400, 505))

    def test_header_without_colon(self):
        self.rejected(b"GET / HTTP/1.1\r\nHost: example.test\r\nNoColonHere\r\n\r\n")

    def test_space_before_colon(self):
        self.rejected(b"GET / HTTP/1.1\r\nHost : example.test\r\n\r\n")

    def test_header_block_too_large_431(self):
        big = b"X-Big: " + b"a" * (8 * KiB) + b"\r\n"
        self.rejected(b"GET / HTTP/1.1\r\nHost: example.test\r\n" + big + b"\r\n", (431,),
                      must_close=False)

    def test_many_headers_too_large_431(self):
        many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 50) for i in range(200))
        self.rejected(b"GET / HTTP/1.1\r\nHost: example.test\r\n" + many + b"\r\n", (431,),
                      must_close=False)

    def test_request_line_too_long(self):
        self.rejected(b"GET /" + b"a" * (8 * KiB) + b" HTTP/1.1\r\nHost: example.test\r\n\r\n",
                      (414, 431), must_close=False)

    def test_body_too_large_413(self):
        self.rejected(b"POST /small/x HTTP/1.1\r\nHost: example.test\r\n"
                      b"Content-Length: 4096\r\n\r\n" + b"x" * 4096, (413,),
                      must_close=False)

    def test_body_too_large_413_before_body_sent(self):
        # The answer comes from the headers alone: the client need not send the body.
        with HttpConn(self.proxy.port, timeout=5) as c:
            c.request("POST", "/small/x", headers=[("Content-Length", str(10 * 1024 * 1024))],
                      send_body=False)
            r = c.read_response()
        self.assertEqual(r.status, 413)

    def test_chunked_body_over_max_body(self):
        # A chunked body's size is known only as it streams: the request may have been
        # started upstream, but it must not succeed. The node reads the whole body before it
        # answers, as an application does (a node's answer that comes before the body is in
        # is relayed as it is: test_upload_answers.py).
        self.backend_may_see = True
        reader = self.start_backend("http", "reader")
        proxy = self.start_passeur(
            [{"path_prefix": "/small/", "pool": "reader", "max_body": "1KiB"}],
            {"reader": {"nodes": [reader.address]}}, listener={"header_timeout": "1s"})
        status = None
        with HttpConn(proxy.port, timeout=5) as c:
            c.request("POST", "/small/x", headers=[("Transfer-Encoding", "chunked")])
            try:
                for _ in range(8):
                    c.send(b"400\r\n" + b"x" * 1024 + b"\r\n")
                c.send(b"0\r\n\r\n")
            except OSError:  # the proxy may answer and close before the body is all sent
                pass
            try:
                status = c.read_response().status
            except Exception:  # noqa: BLE001 - a close without answer is acceptable too
                pass
        self.assertIn(status, (None, 413))

    def test_content_length_and_transfer_encoding(self):
        self.rejected(b"POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")

    def test_transfer_encoding_not_chunked(self):
        self.rejected(b"POST / HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: gzip\r\n\r\n"
                      b"hello")

    def test_transfer_encoding_chunked_not_last(self):
        self.rejected(b"POST / HTTP/1.1\r\nHost: example.test\r\n"
                      b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n")

    def test_conflicting_content_lengths(self):
        self.rejected(b"POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n"
                      b"Content-Length: 6\r\n\r\nhello!")

    def test_invalid_content_length(self):
        self.rejected(b"POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: -1\r\n\r\n")

    def test_non_numeric_content_length(self):
        self.rejected(b"POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5x\r\n\r\nhello")

    def test_missing_host_http11(self):
        self.rejected(b"GET / HTTP/1.1\r\nUser-Agent: test\r\n\r\n")

    def test_two_host_headers(self):
        self.rejected(b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n")

    def test_nul_in_header(self):
        self.rejected(b"GET / HTTP/1.1\r\nHost: example.test\r\nX-A: a\x00b\r\n\r\n")

    def test_slowloris_header_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=10)
        self.addCleanup(s.close)
        t0 = time.monotonic()
        s.sendall(b"GET / HTTP/1.1\r\nHost: example.test\r\n")
        closed_at = None
        # keep trickling header lines, each well within any per-read timeout
        for i in range(20):
            time.sleep(0.25)
            try:
                s.sendall(b"X-Slow-%d: x\r\n" % i)
            except OSError:
                closed_at = time.monotonic()
                break
            s.setblocking(False)
            try:
                data = s.recv(4096)
                if data == b"" or data:
                    closed_at = time.monotonic()
                    break
            except BlockingIOError:
                pass
            except OSError:
                closed_at = time.monotonic()
                break
            finally:
                s.setblocking(True)
        self.assertIsNotNone(closed_at, "slow header still accepted after 5 s")
        self.assertGreater(closed_at - t0, 0.8)
        self.assertLess(closed_at - t0, 3.0)

    def test_idle_connection_without_request_closed(self):
        s = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=10)
        self.addCleanup(s.close)
        s.settimeout(5)
        t0 = time.monotonic()
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            self.fail("connection without a request still open after 5 s")
        self.assertLess(time.monotonic() - t0, 4)
        self.assertIn(status_of(data), (None, 408))

    def test_good_request_after_bad_ones_still_served(self):
        self.rejected(b"GARBAGE\r\n\r\n")
        r = http(self.proxy.port)
        self.assertEqual((r.status, r.text), (200, "node-a\n"))
        # this one did reach the backend (nginx may log it after the response arrived)
        self.backend_may_see = True


if __name__ == "__main__":
    main()
