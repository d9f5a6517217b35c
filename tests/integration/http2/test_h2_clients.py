"""HTTP/2 towards clients: ALPN offers h2 on a TLS listener with http2 = true, and each stream
goes through the same stages as an HTTP/1.1 request to HTTP/1.1 nginx nodes. Real clients: curl
--http2, nghttp, h2load; python3-h2 for several streams on one connection; h2c with prior
knowledge on a plain listener."""

import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from h2_support import H2Client, H2TestCase, curl, header_of, status_of  # noqa: E402
from harness import free_port, main, require_tool  # noqa: E402
from tls_support import WEBMAIL, https  # noqa: E402



class H2ClientsTest(H2TestCase):
    def test_curl_negotiates_h2_and_node_gets_http11(self):
        proxy = self.h2_proxy()
        p = curl("--http2", "--cacert", self.certs.ca, *self.resolve(proxy),
                 "-w", "\n%{http_version} %{http_code}", self.url(proxy, "/a?b=1"))
        self.assertEqual(p.returncode, 0, p.stderr)
        body, info = p.stdout.decode().rsplit("\n", 1)
        self.assertEqual((body, info), ("webmail\n", "2 200"))
        entries = self.node.log_entries()
        self.assertEqual([e["request"] for e in entries], ["GET /a?b=1 HTTP/1.1"])
        self.assertEqual(entries[0]["host"], "%s:%d" % (WEBMAIL, proxy.port))
        self.assertEqual(entries[0]["xfp"], "https")
        self.assertEqual(entries[0]["xff"], "127.0.0.1")

    def test_http2_off_keeps_http11(self):
        proxy = self.webmail_proxy(tls={"http2": False})
        p = curl("--http2", "--cacert", self.certs.ca, *self.resolve(proxy),
                 "-o", "/dev/null", "-w", "%{http_version} %{http_code}", self.url(proxy))
        self.assertEqual((p.returncode, p.stdout.decode()), (0, "1.1 200"), p.stderr)

    def test_http11_client_on_h2_listener(self):
        proxy = self.h2_proxy()
        r = https(proxy.port, "/", ca=self.certs.ca)
        self.assertEqual((r.status, r.text), (200, "webmail\n"))

    def test_nghttp_verbose(self):
        nghttp = require_tool("nghttp")
        proxy = self.h2_proxy()
        p = subprocess.run([nghttp, "-nv", "https://127.0.0.1:%d/" % proxy.port,
                            "-H", ":authority: " + WEBMAIL],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("SETTINGS_MAX_HEADER_LIST_SIZE(0x06):32768", p.stdout)
        self.assertRegex(p.stdout, r"recv \(stream_id=\d+\) :status: 200")
        self.assertRegex(p.stdout, r"recv DATA frame <length=8, flags=0x01")

    def test_h2load_no_failures(self):
        h2load = require_tool("h2load")
        self.node = self.start_nginx("webmail")
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "webmail"}],
                                     {"webmail": {"nodes": [self.node.address], "max_idle": 128}},
                                     tls={"http2": True})
        p = subprocess.run([h2load, "-n", "2000", "-c", "10", "-m", "10",
                            "https://127.0.0.1:%d/" % proxy.port, "-H", ":authority: " + WEBMAIL],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Application protocol: h2", p.stdout)
        self.assertRegex(p.stdout, r"requests: 2000 total, 2000 started, 2000 done, "
                                   r"2000 succeeded, 0 failed, 0 errored")
        self.assertRegex(p.stdout, r"status codes: 2000 2xx")
        entries = self.node.log_entries()
        self.assertEqual(len(entries), 2000)
        self.assertEqual({e["request"].rsplit(" ", 1)[1] for e in entries}, {"HTTP/1.1"})
        # the node's connections are kept alive and reused (100 streams at once at most)
        self.assertLess(len({e["conn"] for e in entries}), 300)

    def test_concurrent_streams_on_one_connection(self):
        echo = self.start_backend("http", "echo", delay=0.3)
        proxy = self.h2_proxy(node=echo)
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        t0 = time.monotonic()
        sids = [c.request("/head?i=%d" % i) for i in range(100)]
        for i, sid in enumerate(sids):
            r = c.response(sid, timeout=20)
            self.assertEqual(status_of(r), 200)
            self.assertTrue(bytes(r["data"]).startswith(b"GET /head?i=%d HTTP/1.1" % i))
        took = time.monotonic() - t0
        # 100 requests of 0.3 s each: run at once, not one after the other
        self.assertLess(took, 6.0, "100 streams took %.1fs" % took)

    def test_request_body_and_trailers_both_ways(self):
        echo = self.start_backend("http", "echo")
        proxy = self.h2_proxy(node=echo)
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        body = os.urandom(300000)
        sid = c.request("/head", method="POST", body=body, end_stream=False)
        c.conn.send_headers(sid, [("x-checksum", "abc")], end_stream=True)
        c.flush()
        r = c.response(sid)
        self.assertEqual(status_of(r), 200, r)
        self.assertEqual(header_of(r, "x-body-length"), str(len(body)))
        text = bytes(r["data"]).decode("latin-1")
        # no declared length: the node gets it chunked
        self.assertIn("Transfer-Encoding: chunked", text)
        self.assertTrue(text.startswith("POST /head HTTP/1.1"), text)

    def test_response_trailers_pass(self):
        node = self.start_nginx("webmail", extra_server=(
            'location = /trailer { add_trailer X-Sum "s1"; return 200 "with trailer\\n"; }'))
        proxy = self.h2_proxy(node=node)
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        sid = c.request("/trailer", headers=[("te", "trailers")])
        r = c.response(sid)
        self.assertEqual(status_of(r), 200)
        self.assertEqual(bytes(r["data"]), b"with trailer\n")
        self.assertEqual([(bytes(k), bytes(v)) for k, v in r["trailers"] or ()],
                         [(b"x-sum", b"s1")], r)

    def test_errors_of_passeur_over_h2(self):
        proxy = self.h2_proxy(tls={"hsts": "max-age=100"})
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        ok = c.request("/")
        r = c.response(ok)
        self.assertEqual((status_of(r), bytes(r["data"])), (200, b"webmail\n"))
        self.assertEqual(header_of(r, "strict-transport-security"), "max-age=100")
        # hop-by-hop fields never reach an HTTP/2 client
        self.assertIsNone(header_of(r, "connection"))
        self.assertIsNone(header_of(r, "keep-alive"))

    def test_access_log_and_metrics_carry_the_protocol(self):
        node = self.start_nginx("webmail")
        proxy = self.h2_proxy(node=node)
        log = proxy.access_log
        p = curl("--http2", "--cacert", self.certs.ca, *self.resolve(proxy), "-o", "/dev/null",
                 self.url(proxy, "/x"))
        self.assertEqual(p.returncode, 0, p.stderr)
        r = https(proxy.port, "/y", ca=self.certs.ca)
        self.assertEqual(r.status, 200)

        def lines():
            try:
                with open(log) as f:
                    return f.read()
            except FileNotFoundError:
                return ""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "/y" not in lines():
            time.sleep(0.1)
        text = lines()
        self.assertIn('"GET /x HTTP/2.0" 200', text)
        self.assertIn('"GET /y HTTP/1.1" 200', text)
        metrics = urllib.request.urlopen(
            "http://127.0.0.1:%d/metrics" % proxy.admin_port, timeout=5).read().decode()
        self.assertRegex(metrics, r'passeur_listener_requests_by_protocol_total\{[^}]*'
                                  r'protocol="HTTP/2"[^}]*\} 1\b')
        self.assertRegex(metrics, r'passeur_listener_requests_by_protocol_total\{[^}]*'
                                  r'protocol="HTTP/1.1"[^}]*\} 1\b')
        self.assertIn("passeur_listener_h2_streams_active", metrics)

    def test_h2c_prior_knowledge_on_plain_listener(self):
        node = self.start_nginx("webmail")
        port = free_port()
        self.start_passeur(
            [{"path_prefix": "/", "pool": "webmail"}], {"webmail": {"nodes": [node.address]}},
            listener={"name": "h2c", "http2": "prior-knowledge"}, listen_port=port)
        p = curl("--http2-prior-knowledge", "-w", "\n%{http_version}",
                 "http://127.0.0.1:%d/" % port)
        self.assertEqual((p.returncode, p.stdout.decode()), (0, "webmail\n\n2"), p.stderr)
        # HTTP/1.1 clients still work there, and never get an Upgrade to h2c
        p = curl("--http2", "-D", "-", "-w", "\n%{http_version}", "http://127.0.0.1:%d/" % port)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertTrue(out.endswith("webmail\n\n1.1"), out)
        self.assertNotIn("101", out.split("\r\n")[0])


if __name__ == "__main__":
    main()
