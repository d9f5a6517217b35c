"""Active HTTP checks against real nginx: a stopped backend leaves the rotation within
fall x interval without a single failed request, a backend whose status page fails (500, or
"maintenance":true) is taken out while its port stays open and comes back after `rise` good
checks, and passive checks take a refusing node out at once."""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from health_support import (HealthTestCase, check, health_lines, node,  # noqa: E402
                            wait_for_health)
from harness import can_connect, http, main, run_wrk, stop_process, wait_until  # noqa: E402

INTERVAL = 0.5  # seconds, as "500ms" below
JITTER = 1.1    # each delay is drawn within +/- 10 %

STATUS_OK = 'location = /status.php { return 200 \'{"installed":true,"maintenance":false}\'; }'
STATUS_500 = "location = /status.php { return 500; }"
STATUS_MAINTENANCE = ('location = /status.php '
                      '{ return 200 \'{"installed":true,"maintenance":true}\'; }')


class HttpCheckTest(HealthTestCase):
    def two_nodes(self, pool_check, b_status=STATUS_OK, **pool_extra):
        self.a = self.start_nginx("node-a", extra_server=STATUS_OK)
        self.b = self.start_nginx("node-b", extra_server=b_status)
        pool = {"check": pool_check}
        pool.update(pool_extra)
        proxy = self.simple_proxy([node(self.a.address, "node-a"), node(self.b.address, "node-b")],
                                  pool_extra=pool)
        wait_until(lambda: any("checking 2 nodes" in l for l in health_lines(proxy)), 5,
                   message="the checks to start")
        return proxy

    def bodies(self, proxy, n=30):
        return [http(proxy.port).text for _ in range(n)]

    def test_stopped_backend_leaves_rotation_without_failed_requests(self):
        fall, rise = 3, 2
        proxy = self.two_nodes(check("http", path="/status.php", interval="500ms",
                                     timeout="300ms", fall=fall, rise=rise),
                               passive_failures=0)  # the active check alone, timed
        result = {}
        load = threading.Thread(
            target=lambda: result.update(run_wrk(proxy.port, 6, connections=8)))
        load.start()
        time.sleep(2)
        stopped_at = time.monotonic()
        stop_process(self.b.proc, signal.SIGQUIT, 10)  # graceful, as systemctl stop does
        self.b.proc = None
        line, seen = wait_for_health(proxy, "node-b", "up -> down", fall * INTERVAL * JITTER + 3)
        load.join()

        took = seen - stopped_at
        if os.environ.get("PASSEUR_IT_VERBOSE") == "1":
            print("\nnode-b out of rotation %.2fs after it stopped; wrk: %d requests"
                  % (took, result.get("requests", 0)))
        self.assertLessEqual(took, fall * INTERVAL * JITTER + 0.3, line)
        self.assertIn("health check failed 3 times in a row: connection refused", line)
        self.assertGreater(result["requests"], 500, result["output"])
        self.assertEqual(result["non2xx"], 0, result["output"])
        self.assertEqual(result["socket_errors"],
                         {"connect": 0, "read": 0, "write": 0, "timeout": 0}, result["output"])

        # Back on its port: in again after `rise` good checks, and it gets traffic.
        self.start_nginx("node-b", port=self.b.port, extra_server=STATUS_OK)
        line, _ = wait_for_health(proxy, "node-b", "down -> up", rise * INTERVAL * JITTER + 3)
        self.assertIn("health check passed 2 times in a row: HTTP 200", line)
        self.assertIn("node-b\n", self.bodies(proxy))

    def test_failing_status_page_takes_the_node_out_while_its_port_is_open(self):
        proxy = self.two_nodes(check("http", path="/status.php", expect_status="200-299",
                                     expect_body='"maintenance":false', interval="500ms",
                                     timeout="400ms", fall=2, rise=2),
                               b_status=STATUS_500)
        # First probe: on probation, the first failure takes node-b out.
        line, _ = wait_for_health(proxy, "node-b", "up -> down", 3)
        self.assertIn("HTTP 500", line)
        self.assertTrue(can_connect(self.b.port), "node-b's port is open")
        self.assertEqual(set(self.bodies(proxy)), {"node-a\n"})
        self.assertEqual(health_lines(proxy, "node-a"), [], "node-a stays up, silently")

        # Maintenance mode: 200, but the body says so. Still out.
        self.rewrite_nginx(self.b, STATUS_MAINTENANCE)
        wait_until(lambda: '"maintenance":true' in http(self.b.port, path="/status.php").text,
                   5, message="nginx to reload")
        time.sleep(4 * INTERVAL)
        self.assertEqual(len(health_lines(proxy, "node-b")), 1, "no change while failing")
        self.assertEqual(set(self.bodies(proxy)), {"node-a\n"})

        # Fixed: back after two good checks.
        fixed_at = time.monotonic()
        self.rewrite_nginx(self.b, STATUS_OK)
        line, seen = wait_for_health(proxy, "node-b", "down -> up", 2 * INTERVAL * JITTER + 3)
        self.assertIn("health check passed 2 times in a row: HTTP 200, body matched", line)
        self.assertLessEqual(seen - fixed_at, 2 * INTERVAL * JITTER + 1.0)
        self.assertIn("node-b\n", self.bodies(proxy))

    def test_passive_failures_take_a_refusing_node_out_at_once(self):
        # A long interval: only the live traffic can notice quickly.
        proxy = self.two_nodes(check("http", path="/status.php", interval="1m", timeout="1s"),
                               passive_failures=2)
        self.assertEqual(set(self.bodies(proxy)), {"node-a\n", "node-b\n"})
        self.b.stop()
        t0 = time.monotonic()
        # The balancer picks between the two at random while both look up: keep requests
        # coming until node-b has been tried twice, each answered by node-a.
        for _ in range(100):
            self.assertEqual(http(proxy.port).text, "node-a\n")
            if any("health up -> down" in l for l in health_lines(proxy, "node-b")):
                break
        line, seen = wait_for_health(proxy, "node-b", "up -> down", 2)
        self.assertLess(seen - t0, 2)
        self.assertIn("2 failures in a row on live traffic (last: connect failure)", line)


if __name__ == "__main__":
    main()
