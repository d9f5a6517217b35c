"""GeoIP on HTTP: the country of the client (a database written at test time maps loopback
addresses to countries; clients bind their source address) sent to nginx in X-Country-Code
with any forged copy removed, route rules answering 403, a listener rule closing the
connection at accept, the access log field, the metrics, IPv6, and the database replaced
while running (a good file is taken, a corrupt one refused)."""

import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from geoip_support import (CN, DE, FR, corrupt_copy, geoip_table, mmdblookup,  # noqa: E402
                           request_from, wait_stderr, write_db)
from harness import LOOPBACK, ProxyTestCase, free_port, main, run_check, wait_until  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "metrics"))
from metrics_support import scrape  # noqa: E402

# nginx answers with the country header it received (empty when none).
COUNTRY_ECHO = 'location /country { return 200 "country=[$http_x_country_code]\\n"; }'


class HttpGeoipTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.db = write_db(os.path.join(self.tmp, "country.mmdb"))
        self.nginx = self.start_nginx("node-a", extra_server=COUNTRY_ECHO)
        self.members_port = free_port()
        self.v6_port = free_port()
        pool = {"nodes": [self.nginx.address]}
        routes = [{"host": "open.test", "pool": "main"},
                  {"host": "webmail.test", "pool": "main", "deny_countries": ["CN"]},
                  {"host": "eu.test", "pool": "main", "allow_countries": ["DE", "FR"]},
                  {"host": "office.test", "pool": "main", "allow_sources": ["127.0.1.0/24"]}]
        listeners = [{"name": "members", "listen": "%s:%d" % (LOOPBACK, self.members_port),
                      "allow_countries": ["DE"]},
                     {"name": "v6", "listen": "[::1]:%d" % self.v6_port}]
        self.proxy = self.start_passeur(routes, {"main": pool}, extra_listeners=listeners,
                                        extra_config=geoip_table(self.db))

    def country_seen(self, source, headers=(), port=None, dest=LOOPBACK):
        r = request_from(source, port or self.proxy.port, "open.test", "/country", headers,
                         dest=dest)
        self.assertIsNotNone(r, "closed without a response")
        self.assertEqual(r[0], 200, r)
        return re.search(r"country=\[(.*)\]", r[1]).group(1)

    def test_database_written_for_the_test(self):
        self.assertIn('"DE"', mmdblookup(self.db, DE) or '"DE"')
        rc, out, err = run_check(self.proxy.binary, self.proxy.config_path)
        self.assertEqual(rc, 0, err)

    def test_header_reaches_the_backend_and_forged_copies_are_removed(self):
        self.assertEqual(self.country_seen(DE), "DE")
        self.assertEqual(self.country_seen(FR), "FR")
        self.assertEqual(self.country_seen(DE, [("X-Country-Code", "US")]), "DE")
        self.assertEqual(self.country_seen(DE, [("x-country-code", "US")]), "DE")
        # Unknown address: no header at all, and a forged one is still removed.
        self.assertEqual(self.country_seen("127.0.0.1", [("X-Country-Code", "US")]), "")

    def test_ipv6_client(self):
        self.assertEqual(self.country_seen("::1", port=self.v6_port, dest="::1"), "JP")

    def test_route_rules_answer_403(self):
        status = lambda src, host: request_from(src, self.proxy.port, host)[0]  # noqa: E731
        before = len(self.nginx.log_entries())
        self.assertEqual(status(CN, "webmail.test"), 403)
        self.assertEqual(status(CN, "eu.test"), 403)
        self.assertEqual(status("127.0.0.1", "eu.test"), 403)  # unknown: not in an allow list
        self.assertEqual(status(DE, "office.test"), 403)  # allow_sources alone
        self.assertEqual(len(self.nginx.log_entries()), before, "a refused request reached nginx")
        self.assertEqual(status(DE, "webmail.test"), 200)
        self.assertEqual(status("127.0.0.1", "webmail.test"), 200)  # unknown passes a deny list
        self.assertEqual(status(FR, "eu.test"), 200)
        self.assertEqual(status(FR, "office.test"), 200)
        self.assertEqual(status(CN, "open.test"), 200)
        r = request_from(CN, self.proxy.port, "webmail.test")
        self.assertIn("forbidden", r[1])
        m = scrape(self.proxy)
        self.assertGreaterEqual(m.value("passeur_listener_requests_total", listener="web",
                                        code="4xx"), 5)

    def test_listener_rule_closes_at_accept(self):
        self.assertEqual(request_from(DE, self.members_port, "open.test")[0], 200)
        self.assertIsNone(request_from(CN, self.members_port, "open.test"))
        self.assertIsNone(request_from(FR, self.members_port, "open.test"))
        self.assertIsNone(request_from("127.0.0.1", self.members_port, "open.test"))
        m = scrape(self.proxy)
        self.assertEqual(m.value("passeur_listener_refused_connections_total",
                                 listener="members", reason="country"), 2)
        self.assertEqual(m.value("passeur_listener_refused_connections_total",
                                 listener="members", reason="unknown_country"), 1)
        self.assertEqual(m.value("passeur_connections_by_country_total", listener="members",
                                 country="CN"), 1)
        # A listener without a rule has no refusal series.
        self.assertEqual(m.series("passeur_listener_refused_connections_total", listener="web"),
                         [])

    def test_access_log_and_metric(self):
        for src in (DE, DE, FR, "127.0.0.1"):
            request_from(src, self.proxy.port, "open.test")
        wait_until(lambda: len([l for l in self.proxy.access_lines() if "open.test" in l]) >= 4,
                   5, message="access lines")
        lines = [l for l in self.proxy.access_lines() if "open.test" in l]
        by_client = {l.split(":")[0]: l for l in lines}
        self.assertTrue(by_client[DE].endswith(" country=DE"), by_client[DE])
        self.assertTrue(by_client[FR].endswith(" country=FR"), by_client[FR])
        self.assertTrue(by_client["127.0.0.1"].endswith(" country=-"), by_client["127.0.0.1"])
        m = scrape(self.proxy)
        self.assertEqual(m.value("passeur_connections_by_country_total", listener="web",
                                 country="DE"), 2)
        self.assertEqual(m.value("passeur_connections_by_country_total", listener="web",
                                 country="FR"), 1)
        self.assertGreaterEqual(m.value("passeur_connections_by_country_total", listener="web",
                                        country="unknown"), 1)

    def test_replaced_database_is_taken_and_a_corrupt_one_refused(self):
        self.assertEqual(self.country_seen(DE), "DE")
        good = write_db(os.path.join(self.tmp, "next.mmdb"), {DE + "/32": "NL"})
        os.replace(good, self.db)
        wait_stderr(self.proxy, "loaded (replaced)")
        wait_until(lambda: self.country_seen(DE) == "NL", 5, message="new database in use")
        self.assertEqual(self.country_seen(FR), "")  # not in the new one
        write_db(good, {DE + "/32": "BE"})
        corrupt_copy(good, self.db)
        wait_stderr(self.proxy, "(replaced) refused")
        self.assertEqual(self.country_seen(DE), "NL")  # the old one keeps serving
        self.assertTrue(self.proxy.alive())
        # Refused once: not retried (nor logged again) until the file changes.
        n = self.proxy.stderr_text().count("refused")
        # SIGHUP: the config is reloaded; the corrupt file is still refused, the database stays.
        self.proxy.signal(signal.SIGHUP)
        wait_stderr(self.proxy, "but not its geoip database")
        self.assertEqual(self.country_seen(DE), "NL")
        self.assertGreater(self.proxy.stderr_text().count("refused"), n)
        # A good file again, taken on SIGHUP as well as by the timer.
        os.replace(good, self.db)
        wait_until(lambda: self.country_seen(DE) == "BE", 10, message="good database taken")

    def test_geoip_lookup_command(self):
        p = subprocess.run([self.proxy.binary, "geoip", "lookup", CN, "-c",
                            self.proxy.config_path], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("country CN", p.stdout)
        self.assertIn('listener "members": closed at accept (country)', p.stdout)
        self.assertIn('listener "web": no rule: allowed', p.stdout)
        self.assertIn("route webmail.test/: 403 forbidden (country)", p.stdout)
        self.assertIn("route open.test/: no rule: allowed", p.stdout)
        p = subprocess.run([self.proxy.binary, "geoip", "lookup", "::1", "-d", self.db],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("country JP", p.stdout)
        p = subprocess.run([self.proxy.binary, "geoip", "lookup", "not-an-ip", "-d", self.db],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)


class GeoipStartTest(ProxyTestCase):
    def test_missing_or_corrupt_database_stops_the_start(self):
        nginx = self.start_nginx()
        missing = os.path.join(self.tmp, "missing.mmdb")
        corrupt = os.path.join(self.tmp, "corrupt.mmdb")
        corrupt_copy(write_db(os.path.join(self.tmp, "good.mmdb")), corrupt)
        for path, why in ((missing, "No such file"), (corrupt, "")):
            p = self.start_passeur([{"pool": "main", "deny_countries": ["CN"]}],
                                   {"main": {"nodes": [nginx.address]}}, wait=False,
                                   extra_config=geoip_table(path))
            p.expect_exit = True
            self.assertEqual(p.wait(15), 1)
            err = p.stderr_text()
            self.assertIn('[geoip] database "%s" cannot be used' % path, err)
            self.assertIn(why, err)
            rc, out, cerr = run_check(p.binary, p.config_path)
            self.assertEqual(rc, 1)
            self.assertIn("cannot be used", cerr)

    def test_reload_adding_a_broken_database_is_rejected(self):
        nginx = self.start_nginx()
        p = self.start_passeur([{"pool": "main"}], {"main": {"nodes": [nginx.address]}})
        broken = os.path.join(self.tmp, "broken.mmdb")
        with open(broken, "w") as f:
            f.write("not a database\n")
        p.routes = [{"pool": "main", "deny_countries": ["CN"]}]
        p.extra_config = geoip_table(broken)
        p.write_config()
        p.signal(signal.SIGHUP)
        wait_stderr(p, "rejected: its [geoip] database cannot be used")
        self.assertIn("geoip database %s (reload) refused" % broken, p.stderr_text())
        # The running config stays: no country field, requests served.
        self.assertEqual(request_from(CN, p.port, "x.test")[0], 200)
        wait_until(lambda: any(l.startswith(CN + ":") for l in p.access_lines()), 5,
                   message="access line")
        self.assertNotIn("country=", [l for l in p.access_lines() if l.startswith(CN)][0])
        # Fixed: the next reload takes it, and the rule applies.
        write_db(broken)
        p.signal(signal.SIGHUP)
        wait_stderr(p, "loaded (reload)")
        wait_until(lambda: request_from(CN, p.port, "x.test")[0] == 403, 5,
                   message="rule applied")

    def test_without_geoip_the_header_is_left_alone(self):
        nginx = self.start_nginx(extra_server=COUNTRY_ECHO)
        p = self.start_passeur([{"pool": "main"}], {"main": {"nodes": [nginx.address]}})
        r = request_from(DE, p.port, "x.test", "/country", [("X-Country-Code", "US")])
        self.assertEqual(r, (200, "country=[US]\n"))
        wait_until(lambda: any(l.startswith(DE + ":") for l in p.access_lines()), 5,
                   message="access line")
        self.assertNotIn("country=", [l for l in p.access_lines() if l.startswith(DE)][0])

    def test_country_keys_need_a_geoip_table(self):
        nginx = self.start_nginx()
        p = self.start_passeur([{"pool": "main", "deny_countries": ["CN"]}],
                               {"main": {"nodes": [nginx.address]}}, wait=False)
        p.expect_exit = True
        self.assertEqual(p.wait(15), 1)
        self.assertIn('"deny_countries" needs a [geoip] table', p.stderr_text())


if __name__ == "__main__":
    main()
