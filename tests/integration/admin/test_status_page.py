"""The status page on the admin listener, against the real daemon and nginx nodes: the token is
given once through the login form and kept in an HttpOnly, SameSite=Strict session cookie (never
in a URL or the page); a drain without the form's CSRF token or from another origin is refused
and changes nothing, with them it drains the node (the API shows it) and the log names the
client; the JSON counts requests; 50 pools of 10 nodes answer small and fast; headless Chromium
at a phone's viewport renders the node table and its sparklines."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_support import (TOKEN, ProxyTestCase, admin, node_state, wait_admin,  # noqa: E402
                           wait_logged, write_token)
from harness import LOOPBACK, HttpConn, http, main, wait_until  # noqa: E402

# Bounds for 50 pools x 10 nodes on a loaded 2-core machine (measured: see the test's output).
MANY_JSON_MAX = 64 * 1024
MANY_PAGE_MAX = 512 * 1024
MANY_SECONDS_MAX = 0.5


def form(fields):
    return urllib.parse.urlencode(fields).encode()


def hidden(html, name, after):
    """The value of hidden field `name` in the first form after the text `after`."""
    start = html.index(after)
    m = re.compile(r'name="%s" value="([^"]*)"' % re.escape(name)).search(html, start)
    return m.group(1)


class StatusPageTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.a = self.start_nginx("node-a")
        self.b = self.start_nginx("node-b")
        token_file = write_token(os.path.join(self.tmp, "token"))
        pools = {"main": {"nodes": [{"address": self.a.address, "name": "node-a"},
                                    {"address": self.b.address, "name": "node-b"}]}}
        self.proxy = self.start_passeur([{"pool": "main"}], pools,
                                        server={"admin_token_file": token_file})
        wait_admin(self.proxy)
        self.host = "%s:%d" % (LOOPBACK, self.proxy.admin_port)

    def page(self, method, path, cookie=None, body=b"", headers=()):
        h = list(headers)
        if cookie:
            h.append(("Cookie", cookie))
        if body:
            h.append(("Content-Type", "application/x-www-form-urlencoded"))
        return http(self.proxy.admin_port, method, path, host=self.host, headers=h, body=body)

    def login(self):
        r = self.page("POST", "/login", body=form({"token": TOKEN}),
                      headers=[("Origin", "http://" + self.host)])
        self.assertEqual(r.status, 303, r)
        self.assertEqual(r.header("Location"), "/")
        cookie = r.header("Set-Cookie")
        attrs = [a.strip() for a in cookie.split(";")]
        self.assertIn("HttpOnly", attrs)
        self.assertIn("SameSite=Strict", attrs)
        self.assertNotIn(TOKEN, cookie)
        return attrs[0]

    def test_page_needs_the_token(self):
        r = self.page("GET", "/")
        self.assertEqual(r.status, 401)
        self.assertIn('action="/login"', r.text)
        self.assertNotIn("node-a", r.text)
        self.assertEqual(self.page("GET", "/status.json").status, 401)
        self.assertEqual(self.page("GET", "/status.json", cookie="passeur_session=" + "0" * 64)
                         .status, 401)
        wrong = self.page("POST", "/login", body=form({"token": "not-the-token"}))
        self.assertEqual(wrong.status, 401)
        self.assertIsNone(wrong.header("Set-Cookie"))
        wait_logged(self.proxy, "status page: refused a login from 127.0.0.1: wrong token")
        # a bearer token works too, for scripts
        r = admin(self.proxy, "GET", "/status.json", token=TOKEN)
        self.assertEqual(r.status, 200)

    def test_login_then_drain_with_csrf_and_origin(self):
        cookie = self.login()
        r = self.page("GET", "/", cookie=cookie)
        self.assertEqual(r.status, 200)
        self.assertIn('id="n0-1"', r.text)
        self.assertNotIn(TOKEN, r.text)
        for asset in ("/status/page.js", "/status/page.css"):
            self.assertNotIn(TOKEN, self.page("GET", asset).text)
        csrf = hidden(r.text, "csrf", 'value="node-b"')
        fields = {"pool": "main", "node": "node-b", "action": "drain", "confirm": "yes"}
        same = [("Origin", "http://" + self.host)]

        since = len(self.proxy.stderr_text())
        refused = [
            self.page("POST", "/status/action", cookie, form(fields), same),  # no CSRF token
            self.page("POST", "/status/action", cookie, form(dict(fields, csrf=csrf)),
                      [("Origin", "http://evil.example")]),
            self.page("POST", "/status/action", cookie, form(dict(fields, csrf=csrf)),
                      [("Sec-Fetch-Site", "cross-site")]),
            self.page("POST", "/status/action", None, form(dict(fields, csrf=csrf)), same),
        ]
        self.assertEqual([x.status for x in refused], [403, 403, 403, 403])
        self.assertEqual(node_state(self.proxy, "main", "node-b", TOKEN)["admin"], "active")
        wait_logged(self.proxy, "status page: refused a drain of node \"node-b\" in pool "
                    "\"main\" from 127.0.0.1: cross-site request (Origin: http://evil.example)",
                    since)

        # the confirmation step changes nothing
        ask = self.page("POST", "/status/action", cookie,
                        form(dict(fields, csrf=csrf, confirm="")), same)
        self.assertEqual(ask.status, 200)
        self.assertIn('name="confirm" value="yes"', ask.text)
        self.assertEqual(node_state(self.proxy, "main", "node-b", TOKEN)["admin"], "active")

        done = self.page("POST", "/status/action", cookie, form(dict(fields, csrf=csrf)),
                         same + [("Sec-Fetch-Site", "same-origin")])
        self.assertEqual(done.status, 200, done)
        self.assertEqual(node_state(self.proxy, "main", "node-b", TOKEN)["admin"], "draining")
        wait_logged(self.proxy, 'status page: drain of node "node-b" in pool "main" asked by '
                    "127.0.0.1", since)
        wait_logged(self.proxy, "admin active -> draining, no longer usable: status page from "
                    "127.0.0.1", since)
        s = json.loads(self.page("GET", "/status.json", cookie).body)
        self.assertEqual(s["pools"][0]["nodes"][1][:3], ["node-b", "up", "draining"])

        # logout ends the session
        out = self.page("POST", "/logout", cookie,
                        form({"csrf": hidden(r.text, "csrf", 'action="/logout"')}), same)
        self.assertEqual(out.status, 303)
        self.assertEqual(self.page("GET", "/status.json", cookie).status, 401)

    def test_json_counts_requests(self):
        cookie = self.login()
        before = json.loads(self.page("GET", "/status.json", cookie).body)
        with HttpConn(self.proxy.port) as c:
            for _ in range(30):
                self.assertEqual(c.roundtrip("GET", "/").status, 200)

        def counted():
            s = json.loads(self.page("GET", "/status.json", cookie).body)
            return s if sum(n[8] for n in s["pools"][0]["nodes"]) >= 30 else None
        after = wait_until(counted, 5, message="30 requests counted in /status.json")
        self.assertEqual(sum(n[8] for n in before["pools"][0]["nodes"]), 0)
        self.assertEqual(after["listeners"][0]["requests"], 30)
        node_rates = [n[9] for n in after["pools"][0]["nodes"]]
        self.assertGreater(sum(node_rates), 0)
        p99s = [n[11] for n in after["pools"][0]["nodes"] if n[8]]
        self.assertTrue(all(p is not None and p > 0 for p in p99s), after)

        # the sparklines: a point per node every 10 s, the traffic in the first one
        def sparkline():
            h = json.loads(self.page("GET", "/status/history.json?after=0", cookie).body)
            rates = [r for rates, _ in h["pools"][0] for r in rates]
            return h if sum(rates) > 0 else None
        h = wait_until(sparkline, 25, interval=0.5, message="a sparkline point with traffic")
        self.assertGreaterEqual(h["seq"], 2)
        self.assertEqual((h["interval"], h["points"]), (10, 90))
        newer = json.loads(self.page("GET", "/status/history.json?after=%d" % h["seq"],
                                     cookie).body)
        self.assertTrue(all(rates == [] for rates, _ in newer["pools"][0]), newer)

    def test_reload_button(self):
        cookie = self.login()
        csrf = hidden(self.page("GET", "/", cookie).text, "csrf", 'id="reload"')
        same = [("Origin", "http://" + self.host), ("Accept", "application/json")]
        r = self.page("POST", "/status/action", cookie,
                      form({"action": "reload", "csrf": csrf, "confirm": "yes"}), same)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(json.loads(r.body)["ok"])
        wait_logged(self.proxy, "status page: reload asked by 127.0.0.1: done")
        s = json.loads(self.page("GET", "/status.json", cookie).body)
        self.assertEqual((s["reload"]["ok"], s["reload"]["successes"]), (True, 1))
        self.assertIn("reloaded", s["reload"]["message"])
        # a node's form token is no reload token
        node_csrf = hidden(self.page("GET", "/", cookie).text, "csrf", 'value="node-a"')
        r = self.page("POST", "/status/action", cookie,
                      form({"action": "reload", "csrf": node_csrf, "confirm": "yes"}), same)
        self.assertEqual(r.status, 403)


class ManyPoolsTest(ProxyTestCase):
    def test_fifty_pools_of_ten_nodes(self):
        pools = {"pool%02d" % p: {"nodes": [{"address": "127.0.0.1:%d" % (20000 + p * 10 + n),
                                             "name": "node%d" % n} for n in range(10)]}
                 for p in range(50)}
        proxy = self.start_passeur([{"pool": "pool00"}], pools)
        wait_admin(proxy)
        sizes, times = {}, {}
        for path in ("/", "/status.json", "/status/history.json"):
            best = None
            for _ in range(5):
                t = time.monotonic()
                r = admin(proxy, "GET", path)
                took = time.monotonic() - t
                self.assertEqual(r.status, 200)
                best = took if best is None else min(best, took)
            sizes[path], times[path] = len(r.body), best
        sys.stderr.write("\n50x10 nodes: sizes %r bytes, best of 5 %r s\n" % (sizes, times))
        self.assertEqual(len(json.loads(admin(proxy, "GET", "/status.json").body)["pools"]), 50)
        self.assertEqual(admin(proxy, "GET", "/").body.count(b'<tr id="n'), 500)
        self.assertLess(sizes["/status.json"], MANY_JSON_MAX)
        self.assertLess(sizes["/"], MANY_PAGE_MAX)
        for path, took in times.items():
            self.assertLess(took, MANY_SECONDS_MAX, path)


class CertificatesTest(ProxyTestCase):
    def test_certificates_and_listener_kind(self):
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))), "tls"))
        from pki import Pki  # noqa: E402
        leaf = Pki(os.path.join(self.tmp, "pki")).issue("webmail", ["webmail.example.coop",
                                                                    "mail.example.coop"])
        proxy = self.start_passeur([{"pool": "main"}], {"main": {"nodes": ["127.0.0.1:1"]}},
                                   listener={"name": "web-tls", "tls": True},
                                   certificates=[leaf.config()])
        wait_admin(proxy)
        s = json.loads(admin(proxy, "GET", "/status.json").body)
        self.assertEqual(s["listeners"][0]["kind"], "https")
        cert = s["certificates"][0]
        self.assertEqual(cert["names"], ["webmail.example.coop", "mail.example.coop"])
        self.assertIn(cert["days_left"], (29, 30))  # issued for 30 days
        page = admin(proxy, "GET", "/").text
        self.assertIn("webmail.example.coop, mail.example.coop", page)


class ChromiumTest(ProxyTestCase):
    def test_phone_viewport_renders_the_node_table(self):
        chromium = shutil.which("chromium")
        self.assertIsNotNone(chromium, "chromium is installed by scripts/install-deps --test")
        a = self.start_nginx("node-a")
        proxy = self.start_passeur([{"pool": "main"}],
                                   {"main": {"nodes": [{"address": a.address, "name": "node-a"}]}})
        wait_admin(proxy)
        url = "http://%s:%d/" % (LOOPBACK, proxy.admin_port)
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.tmp)
        shot = os.path.join(os.environ.get("PASSEUR_ARTIFACTS", self.tmp), "status-390x844.png")
        base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--user-data-dir=" + profile, "--window-size=390,844",
                "--virtual-time-budget=4000"]
        dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        self.assertIn('id="n0-0"', dom.stdout)
        self.assertIn("node-a", dom.stdout)
        # the script ran: the sparkline cell holds its SVG, the time is not stale
        self.assertRegex(dom.stdout, r'<td class="spark"><svg')
        self.assertNotIn('class="stale"', dom.stdout)
        r = subprocess.run(base + ["--screenshot=" + shot, url], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        with open(shot, "rb") as f:
            png = f.read()
        self.assertTrue(png.startswith(b"\x89PNG"))
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        self.assertEqual((width, height), (390, 844))


if __name__ == "__main__":
    main()
