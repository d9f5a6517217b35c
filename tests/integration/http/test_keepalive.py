"""Keep-alive: backend connections are pooled and reused; client connections stay open."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import HttpConn, ProxyTestCase, http, main, parallel_load  # noqa: E402


class KeepAliveTest(ProxyTestCase):
    def test_backend_connections_reused_under_keepalive_clients(self):
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node])
        counts, errors, total = parallel_load(proxy.port, clients=4, duration=60,
                                              max_requests=2000)
        self.assertEqual(errors, [])
        self.assertEqual(counts, {(200, "node-a"): 2000})
        entries = node.log_entries()
        self.assertEqual(len(entries), 2000)
        conns = {e["conn"] for e in entries}
        # 4 clients on 2 workers: a handful of upstream connections, not one per request.
        self.assertLessEqual(len(conns), 10, "%d backend connections for 2000 requests"
                             % len(conns))

    def test_backend_connections_reused_across_client_connections(self):
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node])
        for _ in range(300):
            r = http(proxy.port)  # a new client connection each time
            self.assertEqual((r.status, r.text), (200, "node-a\n"))
        conns = {e["conn"] for e in node.log_entries()}
        self.assertLessEqual(len(conns), 4, "%d backend connections for 300 sequential "
                             "requests" % len(conns))

    def test_client_keepalive(self):
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node])
        with HttpConn(proxy.port) as c:
            for i in range(50):
                r = c.roundtrip("GET", "/r%d" % i)
                self.assertEqual((r.status, r.text), (200, "node-a\n"))
                self.assertNotEqual((r.header("Connection") or "").lower(), "close")
            self.assertFalse(c.closed_within(0.2), "proxy closed a keep-alive connection")

    def test_client_connection_close_honoured(self):
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node])
        with HttpConn(proxy.port) as c:
            r = c.roundtrip("GET", "/", headers={"Connection": "close"})
            self.assertEqual(r.status, 200)
            self.assertTrue(c.closed_within(3), "connection left open after Connection: close")

    def test_http10_client_closed_after_response(self):
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node])
        with HttpConn(proxy.port) as c:
            c.request("GET", "/", version="HTTP/1.0")
            r = c.read_response()
            self.assertEqual((r.status, r.text), (200, "node-a\n"))
            self.assertTrue(c.closed_within(3), "HTTP/1.0 connection left open")

    def test_pipelined_requests_answered_in_order(self):
        echo = self.start_backend("http", "echo")
        proxy = self.simple_proxy([echo])
        with HttpConn(proxy.port) as c:
            c.send(b"".join(b"GET /head?seq=%d HTTP/1.1\r\nHost: example.test\r\n\r\n" % i
                            for i in range(5)))
            for i in range(5):
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertIn("GET /head?seq=%d HTTP/1.1" % i, r.text)

    def test_client_keepalive_timeout(self):
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node], listener={"keepalive_timeout": "1s"})
        with HttpConn(proxy.port) as c:
            self.assertEqual(c.roundtrip().status, 200)
            t0 = time.monotonic()
            self.assertTrue(c.closed_within(4), "idle client connection not closed")
            self.assertGreater(time.monotonic() - t0, 0.5)

    def test_backend_closing_idle_connections(self):
        # The backend drops idle keep-alive connections after 1 s; the proxy must not hand
        # the client a failure for a pooled connection the backend already closed.
        node = self.start_nginx("node-a", keepalive_timeout="1s")
        proxy = self.simple_proxy([node])
        for _ in range(3):
            r = http(proxy.port)
            self.assertEqual((r.status, r.text), (200, "node-a\n"))
            time.sleep(1.3)
        r = http(proxy.port, "POST", "/", body=b"x" * 100)
        self.assertEqual((r.status, r.text), (200, "node-a\n"))

    def test_idle_timeout_closes_pooled_connections(self):
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node], pool_extra={"idle_timeout": "1s"})
        self.assertEqual(http(proxy.port).status, 200)
        time.sleep(2.5)
        self.assertEqual(http(proxy.port).status, 200)
        conns = [e["conn"] for e in node.log_entries()]
        self.assertEqual(len(conns), 2)
        self.assertNotEqual(conns[0], conns[1], "an upstream connection idle past "
                            "idle_timeout was reused")


if __name__ == "__main__":
    main()
