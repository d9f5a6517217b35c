"""The admin API over HTTP: /healthz, the pools JSON, errors (404, 405, 400, 431), the bearer
token, the reload endpoint, limits and timeouts of the admin listener."""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_support import (TOKEN, ProxyTestCase, action, admin, node_state, pools,  # noqa: E402
                           wait_logged, write_token)
from harness import (HttpConn, free_port, http, main, raw_exchange, status_of,  # noqa: E402
                     wait_until)

NODE_KEYS = {"name", "address", "health", "admin", "usable", "weight", "effective_weight",
             "in_flight", "passive_failures", "affinity_requests_last_minute",
             "affinity_last_seconds_ago", "health_changed_seconds_ago",
             "admin_changed_seconds_ago", "last_change", "changes", "last_check"}


class AdminApiTest(ProxyTestCase):
    def two_pools(self, **kw):
        self.a = self.start_nginx("node-a")
        self.b = self.start_nginx("node-b")
        self.c = self.start_nginx("node-c")
        routes = [{"host": "cloud.example.test", "pool": "cloud"}, {"pool": "webmail"}]
        pool_defs = {
            "cloud": {"nodes": [{"address": self.a.address, "name": "node1", "weight": 2},
                                {"address": self.b.address, "name": "node2"}]},
            "webmail": {"balance": "round_robin", "nodes": [self.c.address]},
        }
        return self.start_passeur(routes, pool_defs, **kw)

    def test_healthz(self):
        proxy = self.two_pools()
        r = admin(proxy, "GET", "/healthz")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        self.assertTrue(r.header("Content-Type").startswith("text/plain"))
        self.assertEqual(admin(proxy, "HEAD", "/healthz").status, 200)

    def test_pools_json_shape(self):
        proxy = self.two_pools()
        r = admin(proxy, "GET", "/api/v1/pools")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertEqual([p["name"] for p in r.json["pools"]], ["cloud", "webmail"])
        cloud, webmail = r.json["pools"]
        self.assertEqual((cloud["balance"], webmail["balance"]), ("least_loaded", "round_robin"))
        self.assertEqual(cloud["usable_nodes"], 2)
        n1, n2 = cloud["nodes"]
        self.assertEqual(set(n1), NODE_KEYS)
        self.assertEqual((n1["name"], n1["address"], n1["weight"]), ("node1", self.a.address, 2))
        self.assertEqual((n1["health"], n1["admin"], n1["usable"]), ("up", "active", True))
        self.assertEqual((n1["effective_weight"], n1["in_flight"]), (2, 0))
        self.assertIsNone(n1["last_change"])
        self.assertIsNone(n1["last_check"])  # no check configured
        self.assertEqual(n1["changes"], {"health": 0, "admin": 0, "downs": 0})
        self.assertEqual(n2["name"], "node2")
        # a node given as an address string is named by it
        self.assertEqual(webmail["nodes"][0]["name"], self.c.address)
        # one pool, one node
        self.assertEqual(admin(proxy, "GET", "/api/v1/pools/webmail").json, webmail)
        one = admin(proxy, "GET", "/api/v1/pools/webmail/nodes/" + self.c.address)
        self.assertEqual(one.json["address"], self.c.address)

    def test_in_flight_is_counted(self):
        slow = self.start_backend("http", "slow", delay=1.5)
        proxy = self.simple_proxy([slow])
        with HttpConn(proxy.port) as c:
            c.request("GET", "/")
            node = self._wait_in_flight(proxy, "main", slow.address, 1)
            self.assertEqual(node["in_flight"], 1)
            self.assertEqual(c.read_response().status, 200)
        # the lease ends just after the last byte is written: the client may see it first
        self._wait_in_flight(proxy, "main", slow.address, 0)

    def _wait_in_flight(self, proxy, pool, name, n):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            node = node_state(proxy, pool, name)
            if node["in_flight"] == n:
                return node
            time.sleep(0.02)
        raise AssertionError("in_flight of %s never reached %d" % (name, n))

    def test_drain_ready_maintenance_answers(self):
        proxy = self.two_pools()
        r = action(proxy, "cloud", "node2", "drain")
        self.assertEqual(r.status, 200)
        self.assertEqual((r.json["pool"], r.json["changed"]), ("cloud", True))
        self.assertEqual((r.json["node"]["name"], r.json["node"]["admin"]), ("node2", "draining"))
        self.assertFalse(r.json["node"]["usable"])
        self.assertEqual(r.json["node"]["last_change"]["cause"], "admin API from 127.0.0.1")
        self.assertEqual(action(proxy, "cloud", "node2", "drain").json["changed"], False)
        r = action(proxy, "cloud", "node2", "maintenance")
        self.assertEqual(r.json["node"]["admin"], "maintenance")
        r = action(proxy, "cloud", "node2", "ready")
        self.assertEqual((r.json["node"]["admin"], r.json["node"]["usable"]), ("active", True))
        self.assertEqual(r.json["node"]["changes"]["admin"], 3)
        log = proxy.stderr_text()
        self.assertIn('pool "cloud" node "node2" (%s): admin active -> draining, no longer '
                      'usable: admin API from 127.0.0.1' % self.b.address, log)
        self.assertIn("admin maintenance -> active, now usable", log)

    def test_unknown_pool_node_or_path_is_404(self):
        proxy = self.two_pools()
        r = action(proxy, "nope", "node1", "drain")
        self.assertEqual((r.status, r.json), (404, {"error": 'no pool "nope"'}))
        self.assertEqual(r.header("Connection"), "close")
        r = action(proxy, "cloud", "node9", "drain")
        self.assertEqual((r.status, r.json), (404, {"error": 'no node "node9" in pool "cloud"'}))
        r = action(proxy, "cloud", "node1", "explode")
        self.assertEqual(r.status, 404)
        self.assertIn('no action "explode"', r.json["error"])
        for path in ("/metric", "/api/v1", "/api/v1/nodes", "/api/v2/pools",
                     "/api/v1/pools/cloud/nodes"):
            r = admin(proxy, "GET", path)
            self.assertEqual(r.status, 404, path)
            self.assertIn("no such path", r.json["error"])
        self.assertEqual(pools(proxy)["cloud"]["usable_nodes"], 2)

    def test_wrong_method_is_405(self):
        proxy = self.two_pools()
        r = admin(proxy, "GET", "/api/v1/pools/cloud/nodes/node1/drain")
        self.assertEqual((r.status, r.header("Allow")), (405, "POST"))
        self.assertIn("method GET is not allowed", r.json["error"])
        self.assertEqual(admin(proxy, "DELETE", "/api/v1/pools").status, 405)
        self.assertEqual(admin(proxy, "GET", "/api/v1/reload").header("Allow"), "POST")
        self.assertEqual(admin(proxy, "POST", "/healthz").status, 405)
        self.assertEqual(node_state(proxy, "cloud", "node1")["admin"], "active")

    def test_names_are_percent_decoded(self):
        proxy = self.two_pools()
        encoded = self.c.address.replace(":", "%3A")
        r = action(proxy, "webmail", encoded, "drain")
        self.assertEqual((r.status, r.json["node"]["admin"]), (200, "draining"))
        self.assertEqual(admin(proxy, "GET", "/api/v1/pools/%zz").status, 400)

    def test_malformed_and_oversized_requests(self):
        proxy = self.two_pools()
        out, closed = raw_exchange(proxy.admin_port, b"NONSENSE\r\n\r\n")
        self.assertEqual(status_of(out), 400)
        self.assertTrue(closed)
        big = b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * (17 * 1024) + b"\r\n\r\n"
        out, closed = raw_exchange(proxy.admin_port, big)
        self.assertEqual(status_of(out), 431)
        self.assertTrue(closed)
        out, closed = raw_exchange(proxy.admin_port, b"POST /api/v1/reload HTTP/1.1\r\n"
                                   b"Content-Length: 1000000\r\n\r\n")
        self.assertEqual(status_of(out), 413)
        self.assertTrue(proxy.alive())

    def test_keepalive_and_idle_timeout(self):
        proxy = self.two_pools()
        with HttpConn(proxy.admin_port, timeout=15) as c:
            for _ in range(3):
                r = c.roundtrip("GET", "/api/v1/pools", host="admin")
                self.assertEqual(r.status, 200)
                self.assertIsNone(r.header("Connection"))
            t0 = time.monotonic()
            self.assertTrue(c.closed_within(13), "an idle admin connection was kept open")
            self.assertGreater(time.monotonic() - t0, 8)

    def test_reload_endpoint(self):
        proxy = self.two_pools()
        d = self.start_nginx("node-d")
        proxy.pools["extra"] = {"nodes": [d.address]}
        proxy.routes.insert(0, {"host": "extra.example.test", "pool": "extra"})
        proxy.write_config()
        r = admin(proxy, "POST", "/api/v1/reload")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"ok": True, "message": "reloaded " + proxy.config_path})
        self.assertIn("extra", pools(proxy))
        # workers take the new snapshot from their own loop, a moment after the answer
        wait_until(lambda: http(proxy.port, host="extra.example.test").text == "node-d\n", 5,
                   message="the new route to be used")

        # a broken file: 422 with the errors; the running config stays
        with open(proxy.config_path, "a") as f:
            f.write("\n[bogus]\nx = 1\n")
        r = admin(proxy, "POST", "/api/v1/reload")
        self.assertEqual(r.status, 422, r)
        self.assertFalse(r.json["ok"])
        self.assertIn("running configuration stays", r.json["error"])
        self.assertTrue(any(e.startswith(proxy.config_path + ":") and "bogus" in e
                            for e in r.json["errors"]), r.json)
        self.assertIn("extra", pools(proxy))
        self.assertEqual(http(proxy.port, host="extra.example.test").text, "node-d\n")

    def test_admin_port_taken_is_a_clear_start_error(self):
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node], wait=False,
                                  server={"admin_listen": "127.0.0.1:%d" % port})
        proxy.expect_exit = True
        self.assertEqual(proxy.wait(10), 1)
        self.assertIn("admin_listen 127.0.0.1:%d: cannot listen: Address already in use" % port,
                      proxy.stderr_text())


class AdminTokenTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.token_file = write_token(os.path.join(self.tmp, "admin.token"))
        self.node = self.start_nginx("node-a")
        self.proxy = self.simple_proxy([self.node],
                                       server={"admin_token_file": self.token_file})

    def test_token_required(self):
        for token in (None, "wrong", TOKEN + "x", TOKEN[:-1]):
            r = admin(self.proxy, "GET", "/api/v1/pools", token)
            self.assertEqual(r.status, 401, token)
            self.assertEqual(r.header("WWW-Authenticate"), 'Bearer realm="passeur"')
            r = action(self.proxy, "main", self.node.address, "drain", token)
            self.assertEqual(r.status, 401)
        r = admin(self.proxy, "GET", "/api/v1/pools", headers=[("Authorization", "Basic " +
                                                                TOKEN)])
        self.assertEqual(r.status, 401)
        self.assertEqual(admin(self.proxy, "GET", "/nothing").status, 401)
        self.assertEqual(node_state(self.proxy, "main", self.node.address, TOKEN)["admin"],
                         "active")
        self.assertIn("admin API: refused a request from 127.0.0.1: no token",
                      self.proxy.stderr_text())

    def test_token_accepted(self):
        r = action(self.proxy, "main", self.node.address, "drain", TOKEN)
        self.assertEqual((r.status, r.json["node"]["admin"]), (200, "draining"))
        self.assertEqual(admin(self.proxy, "POST", "/api/v1/reload", TOKEN).status, 200)

    def test_healthz_needs_no_token(self):
        self.assertEqual(admin(self.proxy, "GET", "/healthz").status, 200)

    def test_new_token_on_sighup(self):
        new = "feedface" * 4
        write_token(self.token_file, new)
        since = len(self.proxy.stderr_text())
        self.proxy.signal(signal.SIGHUP)
        wait_logged(self.proxy, "reloaded", since)
        self.assertEqual(admin(self.proxy, "GET", "/api/v1/pools", TOKEN).status, 401)
        self.assertEqual(admin(self.proxy, "GET", "/api/v1/pools", new).status, 200)

    def test_check_requires_token_off_loopback(self):
        # checked only: nothing is bound off loopback
        self.proxy.server = {k: v for k, v in self.proxy.server.items()
                             if k != "admin_token_file"}
        self.proxy.server["admin_listen"] = "0.0.0.0:%d" % free_port()
        path = os.path.join(self.tmp, "open.toml")
        with open(path, "w") as f:
            f.write(self.proxy.config_text())
        rc, out, err = self.proxy.check(path)
        self.assertEqual(rc, 1)
        self.assertIn("is not a loopback address: set admin_token_file", err)
        self.proxy.server["admin_token_file"] = self.token_file
        with open(path, "w") as f:
            f.write(self.proxy.config_text())
        rc, out, err = self.proxy.check(path)
        self.assertEqual(rc, 0, err)

    def test_unreadable_token_file_is_a_config_error(self):
        self.proxy.server["admin_token_file"] = os.path.join(self.tmp, "missing.token")
        path = os.path.join(self.tmp, "missing.toml")
        with open(path, "w") as f:
            f.write(self.proxy.config_text())
        rc, out, err = self.proxy.check(path)
        self.assertEqual(rc, 1)
        self.assertIn("missing.token\": cannot read: No such file or directory", err)


if __name__ == "__main__":
    main()
