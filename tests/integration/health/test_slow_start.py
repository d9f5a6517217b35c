"""Slow start: a node that comes back gets its share of the traffic back gradually over
slow_start, under the default balancer (least loaded) and under round robin."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from health_support import HealthTestCase, check, node, wait_for_health  # noqa: E402
from harness import main, stop_process  # noqa: E402

SLOW_START = 6.0  # seconds, as "6s" below
WINDOWS = 4       # the ramp is cut in this many windows


class SlowStartTest(HealthTestCase):
    def ramp_shares(self, balance):
        """Stops node-b under load, starts it again, and returns node-b's share of the answers
        in each window of the ramp, then after it."""
        a = self.start_nginx("node-a")
        b = self.start_nginx("node-b")
        proxy = self.simple_proxy(
            [node(a.address, "node-a"), node(b.address, "node-b")], balance=balance,
            pool_extra={"check": check("http", interval="200ms", timeout="300ms", rise=1,
                                       fall=1),
                        "slow_start": "6s"})
        load = self.start_load(proxy.port, clients=8)
        time.sleep(0.5)
        stop_process(b.proc, signal.SIGQUIT, 10)
        b.proc = None
        wait_for_health(proxy, "node-b", "up -> down", 3)
        time.sleep(0.5)
        self.start_nginx("node-b", port=b.port)
        _, started = wait_for_health(proxy, "node-b", "down -> starting", 3)
        line, upped = wait_for_health(proxy, "node-b", "starting -> up", SLOW_START + 3)
        self.assertIn("slow start done (6000 ms)", line)
        self.assertGreater(upped - started, SLOW_START - 0.5)
        time.sleep(2)
        load.stop()
        self.assertEqual(load.errors, [])
        failed = [(round(t - started, 2), status, body) for t, status, body in load.records
                  if status != 200]
        self.assertEqual(failed[:5], [], "%d failed answers (time from down -> starting, "
                         "status, body)" % len(failed))

        step = SLOW_START / WINDOWS
        shares = []
        for i in range(WINDOWS):
            share, n = load.share("node-b", started + i * step, started + (i + 1) * step)
            self.assertGreater(n, 100, "too few requests to judge window %d" % i)
            shares.append(share)
        after, n = load.share("node-b", upped + 0.3, upped + 2)
        self.assertGreater(n, 100)
        if os.environ.get("PASSEUR_IT_VERBOSE") == "1":
            print("\n%s: node-b share per window %s, after %.2f"
                  % (balance, ["%.2f" % s for s in shares], after))
        return shares, after

    def assertRamps(self, shares, after):
        self.assertLess(shares[0], 0.2, shares)
        half = WINDOWS // 2
        self.assertGreater(sum(shares[half:]) / half, sum(shares[:half]) / half + 0.1,
                           "the share must grow: %s" % shares)
        self.assertGreater(shares[-1], shares[0] + 0.15, shares)
        self.assertGreater(after, 0.35, "full share after the ramp")
        self.assertLess(after, 0.65)

    def test_least_loaded(self):
        # The least-loaded share also depends on how many requests are in flight at once:
        # the trend is checked, not each step.
        self.assertRamps(*self.ramp_shares("least_loaded"))

    def test_round_robin(self):
        shares, after = self.ramp_shares("round_robin")
        self.assertRamps(shares, after)
        for earlier, later in zip(shares, shares[1:]):
            self.assertLess(earlier, later, "the share grows window by window: %s" % shares)
        # A node at ramp r of 256 takes its turn with probability r/256: in the first quarter of
        # the ramp (mean r = 1/8) that is about 1/9 of the traffic.
        self.assertLess(shares[0], 0.16, shares)
        self.assertGreater(shares[0], 0.04, shares)


if __name__ == "__main__":
    main()
