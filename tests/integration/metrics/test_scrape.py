"""A live scrape of /metrics after real traffic (plain and TLS listeners, two nginx nodes, a
node stopped so that connect errors and retries happen): `promtool check metrics` finds no
parse or lint problem, every documented family is there with its type, and the counters agree
with what the test did."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from monitoring_support import MonitoredStackTestCase, promtool, scrape  # noqa: E402
from harness import main, wait_until  # noqa: E402


class LiveScrapeTest(MonitoredStackTestCase):
    def test_promtool_and_every_family_after_traffic(self):
        self.start_stack()
        sent = self.send_traffic(plain=100, failing=10, tls_connections=5, tls_per_connection=4)
        self.reload()
        # both nodes passed a check: the next one is a second away when node-b stops, and the
        # requests sent at once meet its refused port first
        for n in ("node-a", "node-b"):
            wait_until(lambda: self.scrape().total("passeur_node_checks_total", node=n,
                                                   result="ok") >= 1,
                       10, interval=0.1, message="a passed check of %s in /metrics" % n)
        self.stop_node_b()
        # node-b leaves the rotation (on live traffic at once), then fails its active checks
        wait_until(lambda: self.scrape().value("passeur_node_health", pool="web", node="node-b",
                                               state="down") == 1,
                   10, interval=0.2, message="node-b down in /metrics")
        wait_until(lambda: self.failed_checks(self.scrape(), "node-b") >= 1, 10, interval=0.2,
                   message="a failed check of node-b in /metrics")

        r = scrape(self.proxy.admin_port)
        self.assertTrue((r.header("Content-Type") or "").startswith("text/plain"), r)
        rc, out = promtool("check", "metrics", stdin=r.body)
        self.assertEqual(rc, 0, "promtool check metrics exit %d:\n%s" % (rc, out))
        self.assertEqual(out.strip(), "", "promtool lint output")

        m = self.scrape()
        self.assertEqual(m.family_problems(), [])

        # what the test did shows up where it should
        self.assertEqual(m.value("passeur_node_health", pool="web", node="node-a", state="up"), 1)
        self.assertEqual(m.value("passeur_node_usable", pool="web", node="node-b"), 0)
        self.assertGreaterEqual(m.total("passeur_node_requests_total", pool="web", code="5xx"), 10)
        self.assertGreaterEqual(m.total("passeur_node_requests_total", pool="web"), sent)
        self.assertGreaterEqual(m.total("passeur_listener_tls_handshakes_total",
                                        listener="web-tls", result="ok"), 5)
        self.assertGreaterEqual(m.total("passeur_listener_requests_total", listener="web-tls",
                                        code="2xx"), 20)
        self.assertGreaterEqual(self.failed_checks(m, "node-b"), 1)
        self.assertEqual(self.failed_checks(m, "node-a"), 0, "\n".join(
            l for l in m.text.splitlines() if "checks_total" in l) + "\n" + self.proxy.stderr_text())
        self.assertGreaterEqual(m.total("passeur_node_checks_total", node="node-a", result="ok"), 1)
        self.assertGreaterEqual(m.total("passeur_node_connect_errors_total", node="node-b",
                                        reason="refused"), 1, "\n".join(
            l for l in m.text.splitlines() if "node-b" in l) + "\n" + self.proxy.stderr_text())
        self.assertGreaterEqual(m.total("passeur_config_reloads_total", result="success"), 1)
        self.assertEqual(m.value("passeur_config_last_reload_successful"), 1)
        # the test leaf is valid for 30 days from now
        (labels, expiry), = m.series("passeur_certificate_expiry_timestamp_seconds")
        self.assertEqual(labels.get("name"), "webmail.example.coop")
        self.assertAlmostEqual(expiry, time.time() + 30 * 86400, delta=2 * 86400)
        self.assertGreater(m.total("process_resident_memory_bytes"), 0)

    @staticmethod
    def failed_checks(m, node):
        return sum(m.total("passeur_node_checks_total", pool="web", node=node, result=r)
                   for r in ("failed", "timeout"))


if __name__ == "__main__":
    main()
