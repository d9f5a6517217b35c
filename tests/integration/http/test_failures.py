"""Backend failures: refused nodes are skipped, 503 when none is left, 504 on response
timeout, and a backend dying mid-response never looks like a complete response."""

import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import (ConnectionClosed, DyingNode, HttpConn, ProxyTestCase, http,  # noqa: E402
                     main, refused_port, require_tool)


class FailuresTest(ProxyTestCase):
    def test_refused_node_skipped(self):
        node = self.start_nginx("node-a")
        dead = "127.0.0.1:%d" % refused_port()
        proxy = self.simple_proxy([dead, node], balance="round_robin")
        for _ in range(20):
            t0 = time.monotonic()
            r = http(proxy.port)
            self.assertEqual((r.status, r.text), (200, "node-a\n"))
            self.assertLess(time.monotonic() - t0, 2.0)

    def test_refused_node_skipped_with_request_body(self):
        echo = self.start_backend("http", "echo")
        dead = "127.0.0.1:%d" % refused_port()
        proxy = self.simple_proxy([dead, echo], balance="round_robin")
        for _ in range(6):
            r = http(proxy.port, "POST", "/head", body=b"b" * 1000)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("X-Body-Length"), "1000")

    def test_all_nodes_down_503(self):
        proxy = self.simple_proxy(["127.0.0.1:%d" % refused_port(),
                                   "127.0.0.1:%d" % refused_port()])
        t0 = time.monotonic()
        r = http(proxy.port)
        self.assertEqual(r.status, 503)
        self.assertLess(time.monotonic() - t0, 5.0)
        # and the proxy keeps serving
        self.assertEqual(http(proxy.port).status, 503)

    def test_response_timeout_504(self):
        hole = self.start_backend("blackhole", "hole")
        proxy = self.simple_proxy([hole], route_extra={"response_timeout": "1s"})
        t0 = time.monotonic()
        r = http(proxy.port)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 504)
        self.assertGreater(elapsed, 0.8)
        self.assertLess(elapsed, 5.0)

    def test_response_timeout_is_per_route(self):
        slow = self.start_backend("http", "slow", delay=1.5)
        routes = [{"path_prefix": "/", "pool": "p", "response_timeout": "4s"},
                  {"path_prefix": "/short/", "pool": "p", "response_timeout": "1s"}]
        proxy = self.start_passeur(routes, {"p": {"nodes": [slow.address]}})
        r = http(proxy.port, path="/long")
        self.assertEqual((r.status, r.text), (200, "slow\n"))
        r = http(proxy.port, path="/short/x")
        self.assertEqual(r.status, 504)

    def assertIncompleteOrError(self, proxy, path, complete_marker):
        """On a raw connection: either a 5xx, or a response whose body is cut short by a
        close, or a bare close; never something that looks complete."""
        with HttpConn(proxy.port) as c:
            c.request("GET", path)
            try:
                head = c.read_head()
            except ConnectionClosed:
                return  # closed before anything was sent: the client sees a failure
            if head.status >= 500:
                return
            self.assertEqual(head.status, 200)
            self.assertTrue(c.closed_within(10), "connection not closed after the backend died")
            self.assertFalse(complete_marker(c.buf), "the client got a complete-looking body")

    def test_mid_response_death_content_length(self):
        curl = require_tool("curl")
        broken = self.start_backend("partial", "broken")
        proxy = self.simple_proxy([broken])
        p = subprocess.run([curl, "-s", "--max-time", "20", "-o", "/dev/null",
                            "-w", "%{http_code} %{size_download}", proxy.url("/")],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0, "curl saw a complete response: " + p.stdout)
        code, size = p.stdout.split()
        self.assertLess(int(size), 1000000)
        self.assertIncompleteOrError(proxy, "/", lambda body: len(body) >= 1000000)

    def test_mid_response_death_chunked(self):
        curl = require_tool("curl")
        broken = self.start_backend("partial", "broken")
        proxy = self.simple_proxy([broken])
        p = subprocess.run([curl, "-s", "--max-time", "20", "-o", "/dev/null",
                            "-w", "%{http_code} %{size_download}", proxy.url("/chunked")],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0, "curl saw a complete response: " + p.stdout)
        self.assertIncompleteOrError(proxy, "/chunked", lambda body: b"0\r\n\r\n" in body)

    def test_serves_after_failures(self):
        node = self.start_nginx("node-a")
        hole = self.start_backend("blackhole", "hole")
        broken = self.start_backend("partial", "broken")
        routes = [{"path_prefix": "/", "pool": "good"},
                  {"path_prefix": "/hole/", "pool": "hole", "response_timeout": "1s"},
                  {"path_prefix": "/broken/", "pool": "broken"}]
        pools = {"good": {"nodes": [node.address]}, "hole": {"nodes": [hole.address]},
                 "broken": {"nodes": [broken.address]}}
        proxy = self.start_passeur(routes, pools)
        self.assertEqual(http(proxy.port, path="/hole/").status, 504)
        self.assertIncompleteOrError(proxy, "/broken/", lambda body: len(body) >= 1000000)
        for _ in range(10):
            self.assertEqual(http(proxy.port).text, "node-a\n")

    def test_backend_closes_without_response_is_502(self):
        # A node that reads the request and closes without a word: a 502, not a hang.
        broken = self.start_backend("partial", "broken")
        proxy = self.simple_proxy([broken])
        t0 = time.monotonic()
        r = http(proxy.port, path="/close")
        self.assertEqual(r.status, 502)
        self.assertLess(time.monotonic() - t0, 5.0)

    def test_node_resetting_its_backlog_gets_the_request_retried_on_another_node(self):
        # A stopping server whose listening socket is still open (nginx's master after its
        # workers left) takes connections into its backlog, then resets them all when it
        # closes. A GET waiting there goes to another node; a POST's body may have been read
        # by the node: a 502, never a second copy.
        node = self.start_nginx("node-a")
        for method, body, expected in (("GET", None, (200, "node-a\n")),
                                       ("POST", b"p" * 100, (502, None))):
            dying = DyingNode()
            self.addCleanup(dying.close)
            proxy = self.simple_proxy([dying.address, node], balance="round_robin")
            for _ in range(10):  # until a request waits in the dying node's backlog
                got = {}
                t = threading.Thread(target=lambda: got.update(
                    r=http(proxy.port, method, "/", body=body, timeout=10)))
                t.start()
                t.join(0.5)
                if t.is_alive():
                    break
                self.assertEqual((got["r"].status, got["r"].text), (200, "node-a\n"))
            self.assertTrue(t.is_alive(), "no request went to the dying node")
            dying.close()
            t.join(10)
            r = got["r"]
            self.assertEqual(r.status, expected[0], method)
            if expected[1] is not None:
                self.assertEqual(r.text, expected[1], method)


if __name__ == "__main__":
    main()
