"""SIGTERM drains in-flight requests then exits 0; SIGHUP swaps routes and pools without
dropping connections, and keeps the old config when the new one is broken."""

import errno
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import (HttpConn, ProxyTestCase, connect_error, http, main, run_wrk,  # noqa: E402
                     wait_until)


class SigtermTest(ProxyTestCase):
    def test_sigterm_lets_in_flight_request_finish(self):
        slow = self.start_backend("http", "slow", delay=2.0)
        proxy = self.simple_proxy([slow], grace_period="10s")
        result = {}

        def client():
            try:
                result["response"] = http(proxy.port, timeout=15)
            except Exception as e:  # noqa: BLE001
                result["error"] = repr(e)

        t = threading.Thread(target=client)
        t.start()
        wait_until(lambda: slow.requests_seen(), 5, message="the request to reach the backend")
        proxy.expect_exit = True
        proxy.signal(signal.SIGTERM)
        # the listener closes at once: new connections are refused
        wait_until(lambda: connect_error(proxy.port) == errno.ECONNREFUSED, 1.5,
                   message="new connections to be refused after SIGTERM")
        t.join(15)
        self.assertNotIn("error", result)
        self.assertEqual((result["response"].status, result["response"].text), (200, "slow\n"))
        self.assertEqual(proxy.wait(10), 0)

    def test_sigterm_idle_keepalive_connection_does_not_delay_exit(self):
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node], grace_period="10s")
        with HttpConn(proxy.port) as c:
            self.assertEqual(c.roundtrip().status, 200)
            proxy.expect_exit = True
            t0 = time.monotonic()
            proxy.signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(10), 0)
            self.assertLess(time.monotonic() - t0, 3.0,
                            "an idle keep-alive connection held the process for the grace period")

    def test_sigterm_grace_period_bounds_shutdown(self):
        slow = self.start_backend("http", "slow", delay=30)
        proxy = self.simple_proxy([slow], grace_period="1s")
        c = HttpConn(proxy.port, timeout=20)
        self.addCleanup(c.close)
        c.request("GET", "/")
        wait_until(lambda: slow.requests_seen(), 5, message="the request to reach the backend")
        proxy.expect_exit = True
        t0 = time.monotonic()
        proxy.signal(signal.SIGTERM)
        rc = proxy.wait(10)
        elapsed = time.monotonic() - t0
        self.assertEqual(rc, 0)
        self.assertGreater(elapsed, 0.8)
        self.assertLess(elapsed, 4.0)
        self.assertTrue(c.closed_within(2))


class SighupTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.a = self.start_nginx("node-a")
        self.b = self.start_nginx("node-b")
        self.pools = {"a": {"nodes": [self.a.address]}, "b": {"nodes": [self.b.address]}}
        self.proxy = self.start_passeur([{"path_prefix": "/", "pool": "a"}], self.pools)

    def get_text(self, path="/"):
        r = http(self.proxy.port, path=path)
        return r.text if r.status == 200 else "status %d" % r.status

    def test_reload_under_load_changes_routes_without_errors(self):
        held = HttpConn(self.proxy.port)
        self.addCleanup(held.close)
        self.assertEqual(held.roundtrip().text, "node-a\n")
        self.assertEqual(self.get_text("/new/x"), "node-a\n")

        def reload_midway():
            time.sleep(1.5)
            self.proxy.write_config(routes=[{"path_prefix": "/", "pool": "a"},
                                            {"path_prefix": "/new/", "pool": "b"}])
            self.proxy.signal(signal.SIGHUP)

        t = threading.Thread(target=reload_midway)
        t.start()
        res = run_wrk(self.proxy.port, 4, connections=8, threads=2)
        t.join()
        self.assertGreater(res["requests"], 0, res["output"])
        self.assertEqual(res["socket_errors"], {"connect": 0, "read": 0, "write": 0,
                                                "timeout": 0}, res["output"])
        self.assertEqual(res["non2xx"], 0, res["output"])
        wait_until(lambda: self.get_text("/new/x") == "node-b\n", 5,
                   message="the new route to take effect")
        self.assertEqual(self.get_text("/"), "node-a\n")
        # a client connection opened before the reload is still served
        self.assertEqual(held.roundtrip().status, 200)
        self.assertTrue(self.proxy.alive())

    def test_reload_changes_pool_nodes(self):
        self.proxy.write_config(pools={"a": {"nodes": [self.b.address]},
                                       "b": {"nodes": [self.b.address]}})
        self.proxy.signal(signal.SIGHUP)
        wait_until(lambda: self.get_text("/") == "node-b\n", 5,
                   message="pool a to point at node-b")

    def test_broken_toml_keeps_old_config(self):
        before = self.proxy.stderr_text()
        self.proxy.write_config(text="[server\nworkers = = 2\n")
        self.proxy.signal(signal.SIGHUP)
        time.sleep(1.0)
        self.assertTrue(self.proxy.alive(), "a broken config on SIGHUP stopped the proxy")
        for _ in range(5):
            self.assertEqual(self.get_text("/"), "node-a\n")
        logged = self.proxy.stderr_text()[len(before):]
        self.assertIn(self.proxy.config_path, logged, "the reload failure was not logged")
        # a later good config is still picked up
        self.proxy.write_config(routes=[{"path_prefix": "/", "pool": "b"}])
        self.proxy.signal(signal.SIGHUP)
        wait_until(lambda: self.get_text("/") == "node-b\n", 5, message="the fixed config")

    def test_invalid_config_keeps_old_config(self):
        # valid TOML, but the route names a pool that does not exist
        self.proxy.write_config(routes=[{"path_prefix": "/", "pool": "missing"}])
        self.proxy.signal(signal.SIGHUP)
        time.sleep(1.0)
        self.assertTrue(self.proxy.alive())
        for _ in range(5):
            self.assertEqual(self.get_text("/"), "node-a\n")

    def test_reload_keeps_listening(self):
        for i in range(3):
            self.proxy.write_config(routes=[{"path_prefix": "/", "pool": "ab"[i % 2]}])
            self.proxy.signal(signal.SIGHUP)
            want = "node-%s\n" % "ab"[i % 2]
            wait_until(lambda: self.get_text("/") == want, 5, message="reload %d" % i)


if __name__ == "__main__":
    main()
