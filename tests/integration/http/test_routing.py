"""Routing: exact and wildcard hosts, routes for any host, longest path prefix, 404."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import ProxyTestCase, http, main  # noqa: E402


class RoutingTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        names = ["webmail", "cloud", "cloud-api", "cloud-api-v2", "wild", "anyhost"]
        self.nodes = {n: self.start_nginx(n) for n in names}
        routes = [
            {"host": "webmail.example.coop", "path_prefix": "/", "pool": "webmail"},
            {"host": "cloud.example.coop", "path_prefix": "/", "pool": "cloud"},
            {"host": "cloud.example.coop", "path_prefix": "/api/", "pool": "cloud-api"},
            {"host": "cloud.example.coop", "path_prefix": "/api/v2/", "pool": "cloud-api-v2"},
            {"host": "*.example.coop", "path_prefix": "/", "pool": "wild"},
            {"path_prefix": "/anyhost/", "pool": "anyhost"},
        ]
        pools = {n: {"nodes": [node.address]} for n, node in self.nodes.items()}
        self.proxy = self.start_passeur(routes, pools)

    def get(self, host, path="/"):
        return http(self.proxy.port, "GET", path, host=host)

    def assertServedBy(self, node, host, path="/"):
        r = self.get(host, path)
        self.assertEqual((r.status, r.text), (200, node + "\n"),
                         "Host %s path %s should go to %s" % (host, path, node))

    def test_exact_host(self):
        self.assertServedBy("webmail", "webmail.example.coop")
        self.assertServedBy("cloud", "cloud.example.coop")

    def test_exact_host_beats_wildcard(self):
        self.assertServedBy("webmail", "webmail.example.coop", "/index.php")

    def test_host_with_port(self):
        self.assertServedBy("webmail", "webmail.example.coop:%d" % self.proxy.port)

    def test_host_is_case_insensitive(self):
        self.assertServedBy("webmail", "WebMail.Example.COOP")

    def test_wildcard_host(self):
        self.assertServedBy("wild", "calendar.example.coop")
        self.assertServedBy("wild", "x.example.coop", "/some/path")

    def test_wildcard_does_not_match_bare_domain(self):
        r = self.get("example.coop")
        self.assertEqual(r.status, 404)

    def test_route_for_any_host(self):
        self.assertServedBy("anyhost", "unknown.test", "/anyhost/x")
        self.assertServedBy("anyhost", "other.example.org", "/anyhost/")

    def test_longest_prefix_wins(self):
        self.assertServedBy("cloud", "cloud.example.coop", "/")
        self.assertServedBy("cloud", "cloud.example.coop", "/status.php")
        self.assertServedBy("cloud-api", "cloud.example.coop", "/api/v1/users")
        self.assertServedBy("cloud-api-v2", "cloud.example.coop", "/api/v2/users")
        self.assertServedBy("cloud-api-v2", "cloud.example.coop", "/api/v2/")

    def test_prefix_is_not_a_substring_match(self):
        # "/api/" must not take "/apix" or "/api" (no trailing slash).
        self.assertServedBy("cloud", "cloud.example.coop", "/apix")
        self.assertServedBy("cloud", "cloud.example.coop", "/api")

    def test_query_string_not_part_of_prefix(self):
        self.assertServedBy("cloud-api", "cloud.example.coop", "/api/?q=/api/v2/")

    def test_no_route_is_404(self):
        r = self.get("nothing.example.org", "/")
        self.assertEqual(r.status, 404)
        r = self.get("nothing.example.org", "/anyhostx")
        self.assertEqual(r.status, 404)
        for node in self.nodes.values():
            self.assertNothingReached(node)

    def test_404_keeps_connection_usable(self):
        from harness import HttpConn
        with HttpConn(self.proxy.port) as c:
            r = c.roundtrip("GET", "/", host="nothing.example.org")
            self.assertEqual(r.status, 404)
            r = c.roundtrip("GET", "/", host="webmail.example.coop")
            self.assertEqual((r.status, r.text), (200, "webmail\n"))


if __name__ == "__main__":
    main()
