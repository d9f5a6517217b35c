"""GET /metrics on a running passeur with real nginx nodes, plain and TLS listeners, and health
checks: every count adds up to the traffic the test sent, failures land on the right node and
reason, node state follows the checks, and reloads and certificates are reported."""

import os
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tls"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "admin"))

from admin_support import TOKEN, admin, node_state, write_token  # noqa: E402
from harness import LOOPBACK, HttpConn, http, main, wait_until  # noqa: E402
from metrics_support import scrape  # noqa: E402
from tls_support import TlsTestCase, https  # noqa: E402

APP = "app.example.coop"  # the one routed host; any other gets 404


class MetricsTest(TlsTestCase):
    def start(self, check_interval="300ms", **kw):
        self.a = self.start_nginx("node-a")
        self.b = self.start_nginx("node-b")
        routes = [{"host": APP, "pool": "app"}]
        pools = {"app": {"nodes": [{"address": self.a.address, "name": "n1"},
                                   {"address": self.b.address, "name": "n2"}],
                         "check": {"type": "http", "path": "/", "interval": check_interval,
                                   "rise": 1, "fall": 1}}}
        self.proxy = self.start_tls_proxy(routes, pools, plain={}, **kw)
        return self.proxy

    def test_counts_add_up_to_the_traffic_sent(self):
        proxy = self.start()
        # The harness's readiness probes connected to both ports: wait until the workers have
        # accepted and closed them, then count from there.
        def settled():
            m = scrape(proxy)
            return all(m.value("passeur_listener_connections_accepted_total", listener=l) >= 1
                       and m.value("passeur_listener_connections_active", listener=l) == 0
                       for l in ("web", "web-tls"))
        wait_until(settled, 5, message="the readiness probes to be accepted and closed")
        before = scrape(proxy)
        with HttpConn(proxy.plain_port) as c:
            for _ in range(30):
                self.assertEqual(c.roundtrip("GET", "/", APP).status, 200)
            for _ in range(4):
                self.assertEqual(c.roundtrip("GET", "/", "other.example.coop").status, 404)
        for _ in range(5):
            self.assertEqual(https(proxy.port, "/", host=APP, servername="webmail.example.coop",
                                   ca=self.certs.ca).status, 200)
        # Plain HTTP on the TLS port: a handshake failure of its own kind.
        with socket.create_connection((LOOPBACK, proxy.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                s.recv(100)
            except ConnectionResetError:
                pass

        # A request is counted once its answer is written, as it is logged: a scrape right after
        # the client read the last answer may come first.
        wait_until(lambda: scrape(proxy).total("passeur_listener_requests_total") >= 39, 5,
                   message="the 39 requests counted")
        m = scrape(proxy)
        self.assertEqual(m.total("passeur_node_requests_total", pool="app", code="2xx"), 35)
        self.assertEqual(m.total("passeur_node_requests_total", pool="app", code="4xx"), 0)
        per_node = [m.value("passeur_node_requests_total", node=n, code="2xx") for n in ("n1", "n2")]
        self.assertTrue(all(v > 0 for v in per_node), per_node)  # both nodes took requests
        self.assertEqual(m.value("passeur_listener_requests_total", listener="web", code="2xx"), 30)
        self.assertEqual(m.value("passeur_listener_requests_total", listener="web", code="4xx"), 4)
        self.assertEqual(m.value("passeur_listener_requests_total", listener="web-tls",
                                 code="2xx"), 5)
        # Histograms: one observation per request that reached a node.
        for h in ("passeur_node_response_header_duration_seconds",
                  "passeur_node_request_duration_seconds"):
            self.assertEqual(m.total(h + "_count", pool="app"), 35, h)
            self.assertEqual(m.total(h + "_bucket", pool="app", le="+Inf"), 35, h)
        connects = m.total("passeur_node_connect_duration_seconds_count", pool="app")
        self.assertGreaterEqual(connects, 2)
        self.assertLessEqual(connects, 35)  # keep-alive: fewer connects than requests
        # Keep-alive connections wait in the pool, and count as open.
        idle = m.total("passeur_node_connections_idle", pool="app")
        self.assertGreaterEqual(idle, 1)
        self.assertGreaterEqual(m.total("passeur_node_connections_active", pool="app"), idle)
        self.assertEqual(m.total("passeur_node_in_flight_requests", pool="app"), 0)
        # Connections: 1 plain keep-alive, 5 TLS, 1 refused handshake.
        def accepted(exposition, listener):
            return exposition.value("passeur_listener_connections_accepted_total",
                                    listener=listener)
        self.assertEqual(accepted(m, "web") - accepted(before, "web"), 1)
        self.assertEqual(accepted(m, "web-tls") - accepted(before, "web-tls"), 6)
        wait_until(lambda: scrape(proxy).value("passeur_listener_connections_active",
                                                listener="web-tls") == 0, 5,
                   message="the TLS connections to close")
        self.assertEqual(m.value("passeur_listener_tls_handshakes_total", listener="web-tls",
                                 result="ok", version="TLSv1.3"), 5)
        self.assertEqual(m.value("passeur_listener_tls_handshakes_total", listener="web-tls",
                                 result="http_request"), 1)
        # Bytes: at least the bodies nginx sent, counted on both sides.
        body = len(http(self.a.port, "GET", "/", APP).body)
        sent = m.value("passeur_listener_sent_bytes_total", listener="web")
        self.assertGreater(sent, 30 * body)
        self.assertGreater(m.total("passeur_node_received_bytes_total", pool="app"), 35 * body)
        self.assertGreater(m.total("passeur_node_sent_bytes_total", pool="app"),
                           35 * len("GET / HTTP/1.1\r\n"))
        self.assertGreater(m.value("passeur_listener_received_bytes_total", listener="web"),
                           34 * len("GET / HTTP/1.1\r\n"))

    def test_checks_and_certificates(self):
        proxy = self.start()
        wait_until(lambda: scrape(proxy).value("passeur_node_checks_total", node="n2",
                                               result="ok") >= 2, 10,
                   message="two passed checks on n2")
        m = scrape(proxy)
        self.assertEqual(m.value("passeur_node_checks_total", node="n1", result="failed"), 0)
        self.assertGreaterEqual(m.value("passeur_node_check_duration_seconds_count", node="n1"), 1)
        self.assertEqual(m.value("passeur_node_health", node="n1", state="up"), 1)
        self.assertEqual(m.value("passeur_node_usable", node="n1"), 1)
        # The pools JSON shows the last check too.
        last = node_state(proxy, "app", "n1")["last_check"]
        self.assertEqual((last["result"], last["detail"]), ("ok", "HTTP 200"))
        self.assertLess(last["seconds_ago"], 5)
        self.assertRegex(last["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # Certificate expiry: the test PKI issues leaves valid for 30 days.
        expiry = m.value("passeur_certificate_expiry_timestamp_seconds",
                         path=self.certs.cloud.fullchain)
        self.assertAlmostEqual(expiry, time.time() + 30 * 86400, delta=2 * 86400)
        self.assertEqual(len(m.series("passeur_certificate_expiry_timestamp_seconds")), 4)
        # The process and the build.
        self.assertEqual(len(m.series("passeur_build_info")), 1)
        self.assertGreater(m.value("process_resident_memory_bytes"), 1 << 20)
        self.assertGreater(m.value("process_open_fds"), 5)
        self.assertAlmostEqual(m.value("process_start_time_seconds"), time.time(), delta=120)

    def test_a_stopped_node_shows_its_failures_and_goes_down(self):
        proxy = self.start(check_interval="2s")
        self.b.stop()
        # Every GET still succeeds: connects refused by n2 are retried on n1.
        for _ in range(12):
            self.assertEqual(http(proxy.plain_port, "GET", "/", APP).status, 200)
        wait_until(lambda: scrape(proxy).value("passeur_node_requests_total", node="n1",
                                               code="2xx") == 12, 5,
                   message="the 12 requests counted (once each answer is written)")
        m = scrape(proxy)
        refused = m.value("passeur_node_connect_errors_total", node="n2", reason="refused")
        self.assertGreaterEqual(refused, 1)
        self.assertEqual(m.value("passeur_node_retries_total", node="n2"), refused)
        self.assertEqual(m.value("passeur_node_requests_total", node="n2", code="2xx"), 0)
        self.assertEqual(m.value("passeur_node_requests_total", node="n1", code="2xx"), 12)
        self.assertEqual(m.value("passeur_node_retries_total", node="n1"), 0)
        # Passive checks (refused connects) or the active check take it down, whichever first;
        # the next active check fails too.
        wait_until(lambda: scrape(proxy).value("passeur_node_health", node="n2",
                                               state="down") == 1, 10,
                   message="n2 down in /metrics")
        wait_until(lambda: scrape(proxy).value("passeur_node_checks_total", node="n2",
                                               result="failed") >= 1, 10,
                   message="a failed check of n2 counted")
        m = scrape(proxy)
        self.assertEqual(m.value("passeur_node_usable", node="n2"), 0)
        self.assertAlmostEqual(m.value("passeur_node_last_change_timestamp_seconds", node="n2"),
                               time.time(), delta=15)
        self.assertEqual(m.value("passeur_node_state_changes_total", node="n2", axis="health"), 1)
        self.assertEqual(node_state(proxy, "app", "n2")["last_check"]["result"], "failed")

    def test_reloads_by_result(self):
        proxy = self.start()
        m = scrape(proxy)
        self.assertEqual(m.value("passeur_config_reloads_total", result="success"), 0)
        self.assertEqual(m.value("passeur_config_last_reload_successful"), 1)
        proxy.signal(signal.SIGHUP)
        wait_until(lambda: scrape(proxy).value("passeur_config_reloads_total",
                                               result="success") == 1, 5,
                   message="a successful reload counted")
        with open(proxy.config_path, "a") as f:
            f.write("\n[server\n")  # broken TOML
        proxy.signal(signal.SIGHUP)
        wait_until(lambda: scrape(proxy).value("passeur_config_reloads_total",
                                               result="failure") == 1, 5,
                   message="a failed reload counted")
        m = scrape(proxy)
        self.assertEqual(m.value("passeur_config_last_reload_successful"), 0)
        self.assertAlmostEqual(m.value("passeur_config_last_reload_success_timestamp_seconds"),
                               time.time(), delta=30)

    def test_token_and_format(self):
        token_file = write_token(os.path.join(self.tmp, "token"))
        proxy = self.start(server={"admin_token_file": token_file})
        self.assertEqual(admin(proxy, "GET", "/metrics").status, 401)
        r = admin(proxy, "GET", "/metrics", TOKEN)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(admin(proxy, "POST", "/metrics", TOKEN).status, 405)
        text = r.body.decode()
        # Label values are bounded: no client address, no path, no raw status.
        self.assertNotIn(LOOPBACK + '"', text.replace(self.a.address, "").replace(
            self.b.address, ""))
        self.assertNotIn('code="200"', text)


if __name__ == "__main__":
    main()
