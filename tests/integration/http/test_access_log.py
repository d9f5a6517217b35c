"""Access log: one line per request with client, request line, status, bytes, host, pool,
node and timings."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import (HttpConn, ProxyTestCase, http, main, refused_port,  # noqa: E402
                     wait_until)

TIME = r"(\d+(?:\.\d+)?)"


class AccessLogTest(ProxyTestCase):
    def start(self, node_spec, access_log=None, **route_extra):
        route = {"host": "webmail.example.coop", "path_prefix": "/", "pool": "webmail"}
        route.update(route_extra)
        kw = {"access_log": access_log} if access_log is not None else {}
        return self.start_passeur([route], {"webmail": {"nodes": [node_spec]}}, **kw)

    def wait_lines(self, proxy, n, source=None):
        source = source or proxy.access_lines
        return wait_until(lambda: len(source()) >= n and source(), 5,
                          message="%d access log line(s)" % n)

    def test_fields_present(self):
        node = self.start_nginx("node-a")
        proxy = self.start({"address": node.address, "name": "node1"})
        r = http(proxy.port, "GET", "/hello?x=1", host="webmail.example.coop")
        self.assertEqual(r.status, 200)
        line = self.wait_lines(proxy, 1)[0]
        self.assertIn("127.0.0.1", line)
        self.assertIn('"GET /hello?x=1 HTTP/1.1"', line)
        m = re.search(r'"GET /hello\?x=1 HTTP/1\.1" (\d{3}) (\d+)', line)
        self.assertIsNotNone(m, "status and bytes should follow the request line: " + line)
        self.assertEqual(m.group(1), "200")
        self.assertGreaterEqual(int(m.group(2)), len("node-a\n"))
        self.assertRegex(line, r'\bhost="?webmail\.example\.coop"?(\s|$)')
        self.assertIn("pool=webmail", line)
        self.assertRegex(line, r"\bnode=node1\b")
        self.assertRegex(line, r"upstream_time=" + TIME)
        self.assertRegex(line, r"request_time=" + TIME)

    def test_node_name_defaults_to_address(self):
        node = self.start_nginx("node-a")
        proxy = self.start(node.address)
        http(proxy.port, host="webmail.example.coop")
        line = self.wait_lines(proxy, 1)[0]
        self.assertIn("node=" + node.address, line)

    def test_one_line_per_request(self):
        node = self.start_nginx("node-a")
        proxy = self.start(node.address)
        with HttpConn(proxy.port) as c:
            for i in range(5):
                self.assertEqual(c.roundtrip("GET", "/r%d" % i,
                                             host="webmail.example.coop").status, 200)
        lines = self.wait_lines(proxy, 5)
        time.sleep(0.3)
        lines = proxy.access_lines()
        self.assertEqual(len(lines), 5, lines)
        for i, line in enumerate(lines):
            self.assertIn('"GET /r%d HTTP/1.1"' % i, line)

    def test_timings(self):
        slow = self.start_backend("http", "slow", delay=0.5)
        proxy = self.start(slow.address)
        http(proxy.port, host="webmail.example.coop")
        line = self.wait_lines(proxy, 1)[0]
        up = float(re.search(r"upstream_time=" + TIME, line).group(1))
        total = float(re.search(r"request_time=" + TIME, line).group(1))
        self.assertGreaterEqual(up, 0.45, line)
        self.assertLess(up, 5, line)
        self.assertGreaterEqual(total, up, line)

    def test_404_logged(self):
        node = self.start_nginx("node-a")
        proxy = self.start(node.address)
        r = http(proxy.port, "GET", "/nowhere", host="unknown.example")
        self.assertEqual(r.status, 404)
        line = self.wait_lines(proxy, 1)[0]
        self.assertIn('"GET /nowhere HTTP/1.1" 404', line)
        self.assertRegex(line, r'\bhost="?unknown\.example"?(\s|$)')

    def test_503_logged_with_pool(self):
        proxy = self.start("127.0.0.1:%d" % refused_port())
        r = http(proxy.port, host="webmail.example.coop")
        self.assertEqual(r.status, 503)
        line = self.wait_lines(proxy, 1)[0]
        self.assertIn('" 503', line)
        self.assertIn("pool=webmail", line)

    def test_failed_requests_logged(self):
        # A 504 and a response cut short by the backend still leave a line each.
        hole = self.start_backend("blackhole", "hole")
        broken = self.start_backend("partial", "broken")
        routes = [{"path_prefix": "/hole/", "pool": "hole", "response_timeout": "1s"},
                  {"path_prefix": "/broken/", "pool": "broken"}]
        proxy = self.start_passeur(routes, {"hole": {"nodes": [hole.address]},
                                            "broken": {"nodes": [broken.address]}})
        self.assertEqual(http(proxy.port, path="/hole/x").status, 504)
        with HttpConn(proxy.port) as c:
            c.request("GET", "/broken/x")
            c.closed_within(10)
        lines = self.wait_lines(proxy, 2)
        self.assertTrue(any('"GET /hole/x HTTP/1.1" 504' in l and "pool=hole" in l
                            for l in lines), lines)
        self.assertTrue(any('"GET /broken/x HTTP/1.1"' in l and "pool=broken" in l
                            for l in lines), lines)

    def test_access_log_to_stdout(self):
        node = self.start_nginx("node-a")
        proxy = self.start(node.address, access_log="stdout")
        http(proxy.port, "GET", "/to-stdout", host="webmail.example.coop")
        self.wait_lines(proxy, 1, lambda: [l for l in proxy.stdout_text().splitlines()
                                           if "/to-stdout" in l])

    def test_access_log_off(self):
        node = self.start_nginx("node-a")
        proxy = self.start(node.address, access_log="off")
        http(proxy.port, "GET", "/quiet", host="webmail.example.coop")
        time.sleep(0.5)
        self.assertNotIn("/quiet", proxy.stdout_text())
        self.assertNotIn("/quiet", proxy.stderr_text())
        self.assertFalse(os.path.exists(os.path.join(proxy.dir, "off")))


if __name__ == "__main__":
    main()
