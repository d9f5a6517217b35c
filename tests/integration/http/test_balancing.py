"""Balancing: least-loaded avoids a slow node, round robin spreads evenly, weights count."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import HttpConn, ProxyTestCase, http, main, parallel_load  # noqa: E402


class BalancingTest(ProxyTestCase):
    def test_least_loaded_avoids_slow_node(self):
        fast = self.start_nginx("fast")
        slow = self.start_backend("http", "slow", delay=0.3)
        proxy = self.simple_proxy([fast, slow], balance="least_loaded")
        counts, errors, total = parallel_load(proxy.port, clients=8, duration=3,
                                              max_requests=50000)
        self.assertEqual(errors, [])
        n_fast = counts.get((200, "fast"), 0)
        n_slow = counts.get((200, "slow"), 0)
        self.assertEqual(n_fast + n_slow, total, counts)
        self.assertGreater(n_slow, 0, "the slow node should still get some requests")
        # A slow request holds its node for 0.3 s; a least-loaded balancer sends nearly
        # everything else to the fast node.
        self.assertLess(n_slow, total * 0.05, counts)
        if os.environ.get("PASSEUR_IT_VERBOSE"):
            print(counts)

    def test_round_robin_spreads_evenly(self):
        nodes = [self.start_nginx(n) for n in ("node-a", "node-b", "node-c")]
        proxy = self.simple_proxy(nodes, balance="round_robin")
        counts = {}
        for _ in range(300):
            r = http(proxy.port)
            self.assertEqual(r.status, 200)
            counts[r.text.strip()] = counts.get(r.text.strip(), 0) + 1
        for n in ("node-a", "node-b", "node-c"):
            self.assertAlmostEqual(counts.get(n, 0), 100, delta=10, msg=str(counts))

    def test_round_robin_on_one_keepalive_connection(self):
        nodes = [self.start_nginx(n) for n in ("node-a", "node-b")]
        proxy = self.simple_proxy(nodes, balance="round_robin")
        counts = {}
        with HttpConn(proxy.port) as c:
            for _ in range(100):
                r = c.roundtrip()
                self.assertEqual(r.status, 200)
                counts[r.text.strip()] = counts.get(r.text.strip(), 0) + 1
        self.assertAlmostEqual(counts.get("node-a", 0), 50, delta=5, msg=str(counts))
        self.assertAlmostEqual(counts.get("node-b", 0), 50, delta=5, msg=str(counts))

    def test_round_robin_weights(self):
        a = self.start_nginx("node-a")
        b = self.start_nginx("node-b")
        proxy = self.simple_proxy([{"address": a.address, "name": "a", "weight": 3},
                                   {"address": b.address, "name": "b", "weight": 1}],
                                  balance="round_robin")
        counts = {}
        for _ in range(400):
            r = http(proxy.port)
            self.assertEqual(r.status, 200)
            counts[r.text.strip()] = counts.get(r.text.strip(), 0) + 1
        self.assertAlmostEqual(counts.get("node-a", 0), 300, delta=30, msg=str(counts))
        self.assertAlmostEqual(counts.get("node-b", 0), 100, delta=30, msg=str(counts))

    def test_least_loaded_weights(self):
        # Two equal nodes, each request takes 50 ms; weight 3 should carry about three
        # times the in-flight load of weight 1 under concurrency.
        a = self.start_backend("http", "heavy", delay=0.05)
        b = self.start_backend("http", "light", delay=0.05)
        proxy = self.simple_proxy([{"address": a.address, "name": "heavy", "weight": 3},
                                   {"address": b.address, "name": "light", "weight": 1}],
                                  balance="least_loaded")
        counts, errors, total = parallel_load(proxy.port, clients=8, duration=3,
                                              max_requests=20000)
        self.assertEqual(errors, [])
        heavy = counts.get((200, "heavy"), 0)
        light = counts.get((200, "light"), 0)
        self.assertGreater(light, 0, counts)
        self.assertGreater(heavy / max(light, 1), 1.8, counts)
        if os.environ.get("PASSEUR_IT_VERBOSE"):
            print(counts)


if __name__ == "__main__":
    main()
