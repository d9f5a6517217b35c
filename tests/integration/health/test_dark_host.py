"""A host that goes dark (its link down: packets dropped, nothing refused) is found by the
probe's timeout and leaves the rotation; when its link comes back, so does it."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from health_support import (DarkHost, HealthTestCase, check, health_lines, node,  # noqa: E402
                            wait_for_health)
from harness import http, main, wait_until  # noqa: E402


class DarkHostTest(HealthTestCase):
    def setUp(self):
        super().setUp()
        self.dark = DarkHost(self.tmp)
        if not self.dark.usable():
            self.skipTest("needs root and iproute2 for a network namespace")
        self.addCleanup(self.dark.stop)
        self.dark.start()

    def test_dark_host_detected_by_timeout(self):
        a = self.start_nginx("node-a")
        fall, interval, timeout = 2, 0.5, 0.3
        proxy = self.simple_proxy(
            [node(a.address, "node-a"), node(self.dark.address, "dark")],
            balance="round_robin",
            route_extra={"connect_timeout": "1s", "response_timeout": "2s"},
            pool_extra={"check": check("http", interval="500ms", timeout="300ms", fall=fall,
                                       rise=1),
                        "passive_failures": 0})
        wait_until(lambda: any("checking 2 nodes" in l for l in health_lines(proxy)), 5,
                   message="the checks to start")
        bodies = {http(proxy.port).text for _ in range(6)}
        self.assertEqual(bodies, {"node-a\n", "dark-node\n"})

        dark_at = time.monotonic()
        self.dark.go_dark()
        # Each failed probe takes the whole timeout: fall x (interval + timeout) at most.
        line, seen = wait_for_health(proxy, "dark", "up -> down",
                                     fall * (interval * 1.1 + timeout) + 3)
        self.assertIn("timeout while connecting", line)
        self.assertLessEqual(seen - dark_at, fall * (interval * 1.1 + timeout) + 0.5, line)
        # New requests no longer go there: all answered at once by node-a.
        t0 = time.monotonic()
        for _ in range(10):
            self.assertEqual(http(proxy.port, timeout=5).text, "node-a\n")
        self.assertLess(time.monotonic() - t0, 2.0)

        self.dark.come_back()
        wait_for_health(proxy, "dark", "down -> up", 5)
        wait_until(lambda: http(proxy.port).text == "dark-node\n", 5,
                   message="traffic to reach the host again")


if __name__ == "__main__":
    main()
