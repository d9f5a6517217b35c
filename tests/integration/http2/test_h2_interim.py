"""Interim (1xx) answers on HTTP/2 streams: a request with `expect: 100-continue` reaches the
node with the expectation, the node's 100 comes back as a HEADERS frame (:status 100, no
END_STREAM) and the body follows; a node that never sends one gets the body after
expect_timeout, the client a 100 of Passeur's own; a 103 (Early Hints) is relayed before the
final answer."""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from h2_support import H2Client, H2TestCase, RawNode, curl, read_head, status_of  # noqa: E402
from harness import main  # noqa: E402

BODY = os.urandom(300 * 1024)


def interim_statuses(r):
    out = []
    for headers in r["interim"]:
        for k, v in headers:
            if k in (b":status", ":status"):
                out.append(int(v))
    return out


def interim_field(r, index, name):
    for k, v in r["interim"][index]:
        k = k.decode() if isinstance(k, bytes) else k
        if k == name:
            return v.decode() if isinstance(v, bytes) else v
    return None


class EarlyHintsNode(RawNode):
    """An HTTP/1.1 node answering each request with a 103 (a Link to preload), then after a
    moment 200 "ok". (nginx 1.22 sends no 103.)"""

    def serve(self, conn):
        buf = b""
        try:
            while True:
                head, buf = read_head(conn, buf)
                if head is None:
                    return
                conn.sendall(b"HTTP/1.1 103 Early Hints\r\n"
                             b"Link: </style.css>; rel=preload; as=style\r\n\r\n")
                time.sleep(0.3)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
        except OSError:
            pass
        finally:
            conn.close()


class H2InterimTest(H2TestCase):
    def dav_proxy(self, **route_extra):
        node = self.start_nginx("webmail")
        self.node = node
        route = {"path_prefix": "/", "pool": "webmail"}
        route.update(route_extra)
        return self.start_tls_proxy([route], {"webmail": {"nodes": [node.address]}},
                                    tls={"http2": True})

    def expect_upload(self, proxy, path):
        """A PUT with expect: 100-continue whose body goes only once a 100 came."""
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        t0 = time.monotonic()
        sid = c.request(path, method="PUT", end_stream=False,
                        headers=[("content-length", str(len(BODY))),
                                 ("expect", "100-continue")])
        r = c.responses[sid]
        c.wait(lambda: r["interim"] or r["headers"] is not None or c.done(sid), timeout=10)
        waited = r["at"].get("interim", time.monotonic()) - t0
        self.assertEqual(interim_statuses(r), [100], r)
        self.assertIsNone(r["headers"])  # no final answer yet: the body is awaited
        c.send_body(sid, BODY)
        r = c.response(sid, timeout=20)
        return c, r, waited

    def test_node_100_relayed_then_body(self):
        # expect_timeout far away: a prompt 100 is the node's (nginx reading the PUT's body).
        proxy = self.dav_proxy(expect_timeout="5s")
        c, r, waited = self.expect_upload(proxy, "/dav/expect.bin")
        self.assertLess(waited, 3.0)
        self.assertIn(status_of(r), (201, 204), r)
        with open(os.path.join(self.node.dav_dir, "expect.bin"), "rb") as f:
            self.assertEqual(f.read(), BODY)
        self.assertEqual(interim_statuses(r), [100])  # once only

    def test_passeur_100_after_expect_timeout(self):
        # backends.py plain never sends a 100: it reads the body straight away.
        node = self.start_backend("plain")
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "p", "expect_timeout": "1s"}],
                                     {"p": {"nodes": [node.address]}}, tls={"http2": True})
        c, r, waited = self.expect_upload(proxy, "/upload")
        self.assertGreater(waited, 0.8)
        self.assertLess(waited, 4.0)
        self.assertEqual(status_of(r), 200, r)
        report = json.loads(bytes(r["data"]))
        self.assertEqual(report["body_length"], len(BODY))
        fields = {k.lower(): v for k, v in report["headers"]}
        self.assertEqual(fields.get("expect"), "100-continue")

    def test_curl_expect_100_continue(self):
        proxy = self.dav_proxy(expect_timeout="5s")
        path = os.path.join(self.tmp, "up.bin")
        with open(path, "wb") as f:
            f.write(BODY)
        p = curl("--http2", "-v", "--cacert", self.certs.ca, *self.resolve(proxy),
                 "-H", "Expect: 100-continue", "-T", path, "-o", "/dev/null",
                 "-w", "%{http_version} %{http_code}", self.url(proxy, "/dav/curl.bin"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(p.stdout.decode(), ("2 201", "2 204"))
        self.assertRegex(p.stderr.decode(), r"< HTTP/2 100")
        with open(os.path.join(self.node.dav_dir, "curl.bin"), "rb") as f:
            self.assertEqual(f.read(), BODY)

    def test_node_refusing_before_the_body(self):
        node = self.start_nginx("webmail", extra_server="""
            location /locked/ { return 403 "locked\\n"; }""")
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "w", "expect_timeout": "5s"}],
                                     {"w": {"nodes": [node.address]}}, tls={"http2": True})
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        sid = c.request("/locked/x", method="PUT", end_stream=False,
                        headers=[("content-length", str(len(BODY))),
                                 ("expect", "100-continue")])
        # The body is never sent: the answer must come anyway (after nginx's own 100, if it
        # sends one while discarding the body).
        r = c.response(sid, timeout=10)
        self.assertEqual((status_of(r), bytes(r["data"])), (403, b"locked\n"))
        self.assertIn(interim_statuses(r), ([], [100]))

    def test_103_early_hints_relayed(self):
        node = EarlyHintsNode()
        self.addCleanup(node.close)
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "p"}],
                                     {"p": {"nodes": [node.address]}}, tls={"http2": True})
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        sid = c.request("/page")
        r = c.response(sid)
        self.assertEqual(interim_statuses(r), [103], r)
        self.assertEqual(interim_field(r, 0, "link"), "</style.css>; rel=preload; as=style")
        self.assertLess(r["at"]["interim"] + 0.2, r["at"]["headers"])  # before the final one
        self.assertEqual((status_of(r), bytes(r["data"])), (200, b"ok\n"))
        # A request with a body gets its 103 too.
        sid = c.request("/form", method="POST", body=b"a=1")
        r = c.response(sid)
        self.assertEqual((interim_statuses(r), status_of(r)), ([103], 200))


if __name__ == "__main__":
    main()
