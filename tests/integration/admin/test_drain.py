"""Draining a node through the admin API: no new requests reach it while a slow download in
flight on it completes byte-exact; ready brings it back; maintenance keeps it out; the admin
state of nodes that stay survives a SIGHUP reload."""

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_support import (ProxyTestCase, action, node_state, pools,  # noqa: E402
                           wait_logged)
from harness import (MiB, HttpConn, MarkedStreamChecker, http, main,  # noqa: E402
                     make_marked_file, wait_until)

BIG = 100 * MiB
RATE = "25m"  # bytes/s per connection at the node: the download takes about 4 s


class DrainTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.nodes = {}
        for name in ("node-a", "node-b"):
            static = os.path.join(self.tmp, "nginx-" + name, "static")
            extra = ("location /slow/ { alias %s/; limit_rate_after 0; limit_rate %s; }"
                     % (static, RATE))
            n = self.start_nginx(name, extra_server=extra)
            make_marked_file(os.path.join(n.static_dir, "big.bin"), BIG)
            self.nodes[name] = n
        self.pool = {"nodes": [{"address": n.address, "name": name}
                               for name, n in self.nodes.items()]}
        self.proxy = self.start_passeur([{"pool": "main"}], {"main": self.pool})

    def answered_by(self, count=30):
        """Which nodes answer `count` requests (on keep-alive connections, a few at a time)."""
        seen = {}
        with HttpConn(self.proxy.port) as c1, HttpConn(self.proxy.port) as c2:
            for i in range(count):
                c = c1 if i % 2 else c2
                r = c.roundtrip("GET", "/")
                self.assertEqual(r.status, 200)
                seen[r.text.strip()] = seen.get(r.text.strip(), 0) + 1
        return seen

    def requests_logged(self, name, uri="/"):
        return sum(1 for e in self.nodes[name].log_entries() if e["uri"] == uri)

    def start_download(self):
        result = {}
        conn = HttpConn(self.proxy.port, timeout=60)
        self.addCleanup(conn.close)

        def run():
            try:
                conn.request("GET", "/slow/big.bin")
                head = conn.read_head()
                result["status"] = head.status
                checker = MarkedStreamChecker(BIG)
                left = int(head.header("Content-Length"))
                while left > 0:
                    if not conn.buf:
                        conn._fill()
                    chunk, conn.buf = conn.buf[:left], conn.buf[left:]
                    checker.feed(chunk)
                    left -= len(chunk)
                result["problems"] = checker.check()
            except Exception as e:  # noqa: BLE001 - reported by the test
                result["error"] = repr(e)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        # the node serving it is the one with a request in flight
        def busy():
            for n in pools(self.proxy)["main"]["nodes"]:
                if n["in_flight"] == 1:
                    return n["name"]
            return None
        name = wait_until(busy, 5, message="the download to be in flight on a node")
        return t, result, name

    def test_drain_lets_download_finish_and_takes_no_new_requests(self):
        t, result, busy = self.start_download()
        other = "node-b" if busy == "node-a" else "node-a"
        r = action(self.proxy, "main", busy, "drain")
        self.assertEqual(r.status, 200)
        self.assertEqual((r.json["node"]["admin"], r.json["node"]["in_flight"]), ("draining", 1))

        seen = self.answered_by(40)
        self.assertEqual(seen, {other: 40}, "a draining node received new requests")
        self.assertTrue(t.is_alive(), "the download ended before the test could check the drain")
        state = node_state(self.proxy, "main", busy)
        self.assertEqual((state["in_flight"], state["usable"]), (1, False))

        t.join(60)
        self.assertNotIn("error", result)
        self.assertEqual(result["status"], 200)
        self.assertEqual(result["problems"], [])
        self.assertEqual(self.requests_logged(busy), 0)
        wait_until(lambda: node_state(self.proxy, "main", busy)["in_flight"] == 0, 5,
                   message="the drained node to have nothing in flight")

        r = action(self.proxy, "main", busy, "ready")
        self.assertEqual((r.json["node"]["admin"], r.json["node"]["usable"]), ("active", True))
        seen = self.answered_by(40)
        self.assertGreater(seen.get(busy, 0), 0, "a ready node gets requests again: %r" % seen)

    def test_maintenance_keeps_node_out_until_ready(self):
        r = action(self.proxy, "main", "node-a", "maintenance")
        self.assertEqual(r.json["node"]["admin"], "maintenance")
        self.assertEqual(self.answered_by(30), {"node-b": 30})
        self.assertEqual(self.requests_logged("node-a"), 0)
        action(self.proxy, "main", "node-a", "ready")
        self.assertGreater(self.answered_by(30).get("node-a", 0), 0)

    def test_all_nodes_drained_gives_503(self):
        for name in self.nodes:
            self.assertEqual(action(self.proxy, "main", name, "drain").status, 200)
        with HttpConn(self.proxy.port) as c:
            self.assertEqual(c.roundtrip("GET", "/").status, 503)
        action(self.proxy, "main", "node-b", "ready")
        self.assertEqual(self.answered_by(10), {"node-b": 10})

    def test_admin_state_survives_sighup(self):
        action(self.proxy, "main", "node-a", "drain")
        action(self.proxy, "main", "node-b", "maintenance")
        c = self.start_nginx("node-c")
        self.pool["nodes"].append({"address": c.address, "name": "node-c"})
        self.nodes["node-c"] = c
        self.proxy.write_config()
        since = len(self.proxy.stderr_text())
        self.proxy.signal(signal.SIGHUP)
        wait_logged(self.proxy, "reloaded", since)

        nodes = {n["name"]: n for n in pools(self.proxy)["main"]["nodes"]}
        self.assertEqual(set(nodes), {"node-a", "node-b", "node-c"})
        self.assertEqual(nodes["node-a"]["admin"], "draining")
        self.assertEqual(nodes["node-b"]["admin"], "maintenance")
        self.assertEqual(nodes["node-c"]["admin"], "active")
        # workers take the new snapshot from their own loop, a moment after the log line
        wait_until(lambda: http(self.proxy.port).status == 200, 5,
                   message="the reloaded pool to answer")
        self.assertEqual(self.answered_by(20), {"node-c": 20})

        # a node that left the config and came back starts afresh
        self.pool["nodes"] = [n for n in self.pool["nodes"] if n["name"] != "node-a"]
        self.proxy.write_config()
        since = len(self.proxy.stderr_text())
        self.proxy.signal(signal.SIGHUP)
        wait_logged(self.proxy, "reloaded", since)
        self.pool["nodes"].append({"address": self.nodes["node-a"].address, "name": "node-a"})
        self.proxy.write_config()
        since = len(self.proxy.stderr_text())
        self.proxy.signal(signal.SIGHUP)
        wait_logged(self.proxy, "reloaded", since)
        self.assertEqual(node_state(self.proxy, "main", "node-a")["admin"], "active")
        self.assertEqual(node_state(self.proxy, "main", "node-b")["admin"], "maintenance")


if __name__ == "__main__":
    main()
