"""Requests at the edges of HTTP/1.1: OPTIONS *, a transfer coding Passeur does not decode, a
head whose lines end in a bare LF, an HTTP/1.0 request without Host."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import HttpConn, ProxyTestCase, main, raw_exchange, status_of, wait_until  # noqa: E402
from test_headers import parse_echo, values  # noqa: E402


class RequestFormsTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.cloud = self.start_backend("http", "cloud")
        self.dav = self.start_backend("http", "dav")
        self.other = self.start_backend("http", "other")
        routes = [
            {"host": "cloud.example.coop", "path_prefix": "/apps/", "pool": "other"},
            {"host": "cloud.example.coop", "path_prefix": "/", "pool": "cloud"},
            {"host": "dav.example.coop", "path_prefix": "/", "pool": "other"},
            {"host": "dav.example.coop", "path_prefix": "*", "pool": "dav"},
            {"path_prefix": "/", "pool": "other"},
        ]
        pools = {"cloud": {"nodes": [self.cloud.address]},
                 "dav": {"nodes": [self.dav.address]},
                 "other": {"nodes": [self.other.address]}}
        self.proxy = self.start_passeur(routes, pools, listener={"header_timeout": "10s"})

    def options_star(self, host):
        with HttpConn(self.proxy.port) as c:
            r = c.roundtrip("OPTIONS", "*", host=host, headers=[("Connection", "close")])
        return r

    def test_options_star_goes_to_the_hosts_route(self):
        r = self.options_star("cloud.example.coop")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.text, "cloud\n")  # the "/" route, not /apps/
        wait_until(lambda: "REQ OPTIONS *" in self.cloud.requests_seen(), 5,
                   message="OPTIONS * at the node")

    def test_options_star_route(self):
        r = self.options_star("dav.example.coop")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.text, "dav\n")
        # the "*" route serves nothing else
        with HttpConn(self.proxy.port) as c:
            r = c.roundtrip("GET", "/", host="dav.example.coop",
                            headers=[("Connection", "close")])
        self.assertEqual(r.text, "other\n")

    def test_gzip_transfer_coding_is_not_implemented(self):
        body = b"5\r\nhello\r\n0\r\n\r\n"
        for te in ("gzip, chunked", "deflate, chunked"):
            raw, closed = raw_exchange(
                self.proxy.port,
                b"POST /upload HTTP/1.1\r\nHost: cloud.example.coop\r\n"
                b"Transfer-Encoding: " + te.encode() + b"\r\n\r\n" + body)
            self.assertEqual(status_of(raw), 501, raw)
            self.assertTrue(closed)
        self.assertNotIn("REQ POST /upload", self.cloud.requests_seen())
        # plain chunked still passes
        raw, _ = raw_exchange(
            self.proxy.port,
            b"POST /upload HTTP/1.1\r\nHost: cloud.example.coop\r\nConnection: close\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + body)
        self.assertEqual(status_of(raw), 200, raw)

    def test_bare_lf_is_refused_at_once(self):
        for data in (b"GET / HTTP/1.1\nHost: cloud.example.coop\n\n",
                     b"GET / HTTP/1.1\r\nHost: cloud.example.coop\n\n",
                     b"GET / HTTP/1.1\n"):
            start = time.monotonic()
            raw, closed = raw_exchange(self.proxy.port, data, timeout=5)
            took = time.monotonic() - start
            self.assertEqual(status_of(raw), 400, (data, raw))
            self.assertTrue(closed)
            self.assertLess(took, 2.0, "answered after %.1fs, not at once" % took)

    def test_http10_without_host_gets_the_routes_host(self):
        # Only the catch-all route matches a request without Host: its pool's first node.
        raw, _ = raw_exchange(self.proxy.port, b"GET /head HTTP/1.0\r\n\r\n")
        self.assertEqual(status_of(raw), 200, raw)
        line, hs = parse_echo(raw.split(b"\r\n\r\n", 1)[1].decode("latin-1"))
        self.assertEqual(line, "GET /head HTTP/1.1")
        self.assertEqual(values(hs, "host"), [self.other.address])
        # An absolute target names its host: that is the Host sent.
        raw, _ = raw_exchange(self.proxy.port,
                              b"GET http://cloud.example.coop/head HTTP/1.0\r\n\r\n")
        self.assertEqual(status_of(raw), 200, raw)
        _, hs = parse_echo(raw.split(b"\r\n\r\n", 1)[1].decode("latin-1"))
        self.assertEqual(values(hs, "host"), ["cloud.example.coop"])


if __name__ == "__main__":
    main()
