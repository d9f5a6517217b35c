"""Request headers on the way to the backend: X-Forwarded-*, hop-by-hop removal, Expect."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import HttpConn, ProxyTestCase, http, main, wait_until  # noqa: E402


def parse_echo(text):
    """The /head echo body: request line, then the headers the backend received."""
    lines = text.replace("\r\n", "\n").split("\n")
    headers = []
    for line in lines[1:]:
        if not line.strip():
            continue
        k, _, v = line.partition(":")
        headers.append((k.strip().lower(), v.strip()))
    return lines[0], headers


def values(headers, name):
    return [v for k, v in headers if k == name.lower()]


class HeadersTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.echo = self.start_backend("http", "echo")
        self.proxy = self.simple_proxy([self.echo])

    def echo_headers(self, headers=(), host="webmail.example.coop", method="GET", body=b""):
        r = http(self.proxy.port, method, "/head", host=host, headers=headers, body=body)
        self.assertEqual(r.status, 200, r)
        line, hs = parse_echo(r.text)
        return line, hs, r

    def test_x_forwarded_for_added(self):
        _, hs, _ = self.echo_headers()
        self.assertEqual(values(hs, "x-forwarded-for"), ["127.0.0.1"])

    def test_x_forwarded_for_appended(self):
        _, hs, _ = self.echo_headers({"X-Forwarded-For": "203.0.113.7, 198.51.100.9"})
        xff = values(hs, "x-forwarded-for")
        self.assertEqual(len(xff), 1, hs)
        self.assertRegex(xff[0], r"^203\.0\.113\.7,\s*198\.51\.100\.9,\s*127\.0\.0\.1$")

    def test_x_forwarded_for_several_lines_combined(self):
        _, hs, _ = self.echo_headers([("X-Forwarded-For", "203.0.113.7"),
                                      ("X-Forwarded-For", "198.51.100.9")])
        xff = values(hs, "x-forwarded-for")
        self.assertEqual(len(xff), 1, hs)
        self.assertRegex(xff[0], r"^203\.0\.113\.7,\s*198\.51\.100\.9,\s*127\.0\.0\.1$")

    def test_x_forwarded_proto_and_host(self):
        _, hs, _ = self.echo_headers(host="webmail.example.coop")
        self.assertEqual(values(hs, "x-forwarded-proto"), ["http"])
        self.assertEqual(values(hs, "x-forwarded-host"), ["webmail.example.coop"])

    def test_client_x_forwarded_proto_replaced(self):
        _, hs, _ = self.echo_headers({"X-Forwarded-Proto": "https",
                                      "X-Forwarded-Host": "evil.example"})
        self.assertEqual(values(hs, "x-forwarded-proto"), ["http"])
        self.assertEqual(values(hs, "x-forwarded-host"), ["webmail.example.coop"])

    def test_host_and_end_to_end_headers_kept(self):
        line, hs, _ = self.echo_headers([("X-Custom", "kept"), ("Cookie", "a=1"),
                                         ("User-Agent", "test-agent/1.0"),
                                         ("Accept", "text/plain")])
        self.assertEqual(line, "GET /head HTTP/1.1")
        self.assertEqual(values(hs, "host"), ["webmail.example.coop"])
        self.assertEqual(values(hs, "x-custom"), ["kept"])
        self.assertEqual(values(hs, "cookie"), ["a=1"])
        self.assertEqual(values(hs, "user-agent"), ["test-agent/1.0"])
        self.assertEqual(values(hs, "accept"), ["text/plain"])

    def test_hop_by_hop_removed(self):
        _, hs, _ = self.echo_headers([
            ("Connection", "keep-alive, X-Hop"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"),
            ("Trailer", "X-Checksum"),
            ("X-Hop", "secret"),
            ("X-Custom", "kept"),
        ])
        for name in ("keep-alive", "proxy-connection", "x-hop"):
            self.assertEqual(values(hs, name), [], "%s reached the backend: %r" % (name, hs))
        # Trailer is end-to-end (RFC 9110 6.6.2); TE is Passeur's own: it passes trailers on.
        self.assertEqual(values(hs, "trailer"), ["X-Checksum"], hs)
        self.assertEqual(values(hs, "te"), ["trailers"], hs)
        for v in values(hs, "connection"):
            self.assertNotIn("x-hop", v.lower(), hs)
        self.assertEqual(values(hs, "x-custom"), ["kept"])

    def test_connection_header_tokens_case_insensitive(self):
        _, hs, _ = self.echo_headers([("Connection", "X-HOP"), ("x-hop", "secret")])
        self.assertEqual(values(hs, "x-hop"), [], hs)

    def test_non_websocket_upgrade_removed(self):
        line, hs, r = self.echo_headers([("Connection", "Upgrade, HTTP2-Settings"),
                                         ("Upgrade", "h2c"),
                                         ("HTTP2-Settings", "AAMAAABkAAQAAP__")])
        self.assertEqual(r.status, 200)
        self.assertEqual(values(hs, "upgrade"), [], hs)
        self.assertEqual(values(hs, "http2-settings"), [], hs)

    def test_expect_100_continue_relayed_from_the_backend(self):
        body = b"hello world"
        with HttpConn(self.proxy.port) as c:
            c.request("POST", "/head", host="webmail.example.coop",
                      headers=[("Expect", "100-continue"),
                               ("Content-Length", str(len(body)))], send_body=False)
            c.settimeout(3)
            interim = c.read_head()
            self.assertEqual(interim.status, 100, "expected 100 Continue before the body")
            c.settimeout(10)
            c.send(body)
            r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-Body-Length"), str(len(body)))
        _, hs = parse_echo(r.text)
        # The expectation goes to the node, whose 100 the client got (RFC 9110 10.1.1).
        self.assertEqual(values(hs, "expect"), ["100-continue"], hs)

    def test_expect_100_continue_sent_to_backend_by_nginx_log(self):
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node])
        with HttpConn(proxy.port) as c:
            c.request("PUT", "/dav/f.txt", headers=[("Expect", "100-continue"),
                                                    ("Content-Length", "5")], send_body=False)
            c.settimeout(3)
            self.assertEqual(c.read_head().status, 100)
            c.send(b"12345")
            self.assertEqual(c.read_response().status, 201)
        # nginx logs just after its response: on a loaded machine the line can come late
        wait_until(lambda: node.log_entries(), 5, message="the PUT in nginx's access log")
        entry = node.log_entries()[-1]
        self.assertEqual(entry["expect"], "100-continue")
        self.assertEqual(entry["xfp"], "http")
        with open(os.path.join(node.dav_dir, "f.txt"), "rb") as f:
            self.assertEqual(f.read(), b"12345")

    def test_via_and_forwarded_absent_by_default(self):
        _, hs, _ = self.echo_headers()
        self.assertEqual(values(hs, "via"), [])
        self.assertEqual(values(hs, "forwarded"), [])


if __name__ == "__main__":
    main()
