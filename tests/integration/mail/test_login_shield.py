"""The brute-force shield in front of a real Dovecot (stock settings): password guessing from
one address is slowed, then refused before any node hears of it, while another address logs
the same user in normally; the admin API lists and clears the entry; the metrics count it. A
trusted webmail source is counted by the address it announces in IMAP ID.
Dovecot's own penalty (auth_failure_delay, then a per-address delay growing with failures)
stays on: the logins of a guessing address take seconds whatever Passeur does, so the shield's
delay is checked by its counters rather than by a clock."""

import imaplib
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import PASSWORD, USER, ImapSsl, MailTestCase  # noqa: E402
from harness import LOOPBACK, main, wait_until  # noqa: E402

# Small thresholds on the address only: after 1 failure the next logins wait 0.4 s, the 3rd
# failure blocks the address. The user dimension stays above what the test reaches.
SHIELD = """
[login_shield]
window = "10m"
block = "10m"
first_delay = "400ms"
max_delay = "400ms"
address = { delay_after = 1, refuse_after = 3 }
network = { delay_after = 0, refuse_after = 0 }
user = { delay_after = 50, refuse_after = 100 }
trusted_clients = ["127.0.0.50"]
"""


class LoginShieldTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.dovecot = self.start_dovecot("node1")
        d = self.dovecot
        self.imaps = {"name": "imaps", "protocol": "imap", "tls": True, "pool": "imap"}
        self.proxy = self.start_mail_proxy(
            [self.imaps],
            {"imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v2"}},
            extra_config=SHIELD)

    def login(self, source, password):
        """One connection, one login: (ok, error text, seconds the login took)."""
        c = ImapSsl(self.imaps["port"], self.client_context(), source=source, timeout=40)
        t0 = time.monotonic()
        try:
            c.login(USER, password)
            took = time.monotonic() - t0
            c.logout()
            return True, "", took
        except imaplib.IMAP4.error as e:
            took = time.monotonic() - t0
            c.shutdown()
            return False, str(e), took

    def node_saw(self, source):
        return sum(1 for l in self.dovecot.log().splitlines()
                   if "rip=" + source in l and "auth failed" in l)

    def api(self, method, path):
        req = urllib.request.Request("http://%s:%d%s" % (LOOPBACK, self.proxy.admin_port, path),
                                     method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def metric(self, name):
        with urllib.request.urlopen("http://%s:%d/metrics" % (LOOPBACK, self.proxy.admin_port),
                                    timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " ") or line.startswith(name + "{"):
                    return float(line.rsplit(" ", 1)[1])
        return None

    def node_metric(self, name, result):
        """The node's series of `name` with this result (the pool has one node)."""
        with urllib.request.urlopen("http://%s:%d/metrics" % (LOOPBACK, self.proxy.admin_port),
                                    timeout=10) as r:
            found = [float(line.rsplit(" ", 1)[1]) for line in r.read().decode().splitlines()
                     if line.startswith(name + '{pool="imap",')
                     and 'result="%s"}' % result in line]
        self.assertEqual(len(found), 1, (name, result))
        return found[0]

    def test_guessing_is_slowed_then_refused_while_another_address_logs_in(self):
        guesser = "127.0.0.41"
        for i in range(3):
            ok, err, _ = self.login(guesser, "wrong-%d" % i)
            self.assertFalse(ok)
            self.assertIn("AUTHENTICATIONFAILED", err)  # the node's own answer
        # The 2nd and 3rd logins were slowed by the shield before reaching the node.
        self.assertEqual(self.metric('passeur_login_shield_delays_total{dimension="address"}'), 2)
        self.assertIn("login shield: address %s delayed" % guesser,
                      open(self.proxy.stderr_path).read())
        # The address is now blocked: even the right password is refused at once with a
        # temporary failure, and the node never hears of it.
        before = self.node_saw(guesser)
        ok, err, took = self.login(guesser, PASSWORD)
        self.assertFalse(ok)
        self.assertIn("UNAVAILABLE", err)
        self.assertLess(took, 1.0)
        time.sleep(0.3)
        self.assertEqual(self.node_saw(guesser), before)
        self.assertEqual(
            self.metric('passeur_login_shield_refusals_total{dimension="address"}'), 1)
        # Another address logs the same user in, not slowed by the shield.
        ok, err, took = self.login("127.0.0.42", PASSWORD)
        self.assertTrue(ok, err)
        self.assertLess(took, 5.0)
        # The admin API shows the blocked address; clearing it lets the address in again.
        entries = self.api("GET", "/api/v1/shield")["list"]
        mine = [e for e in entries if e["dimension"] == "address" and e["key"] == guesser]
        self.assertEqual(len(mine), 1, entries)
        self.assertEqual(mine[0]["state"], "refused", mine)
        self.api("POST", "/api/v1/shield/address/%s/clear" % guesser)
        ok, err, _ = self.login(guesser, PASSWORD)
        self.assertTrue(ok, err)
        # Its sessions' log lines: the refusal by the shield names no node, the last one is ok.
        wait_until(lambda: len([l for l in self.proxy.access_lines()
                                if l.startswith(guesser + ":")]) == 5, 10, message="lines")
        lines = [l for l in self.proxy.access_lines() if l.startswith(guesser + ":")]
        self.assertRegex(lines[3], r' node=- .*user="alice" login=refused$')
        self.assertRegex(lines[4], r'user="alice" login=ok$')
        # Logins by result, on the listener and on the node that answered them.
        for result, count in (("ok", 2), ("refused", 3), ("failed", 0), ("shield", 1)):
            self.assertEqual(self.metric('passeur_listener_mail_logins_total{listener="imaps",'
                                         'protocol="imap",result="%s"}' % result), count, result)
        for result, count in (("ok", 2), ("refused", 3), ("failed", 0)):
            self.assertEqual(self.node_metric("passeur_node_mail_logins_total", result), count,
                             result)

    def test_a_trusted_webmail_is_counted_by_the_address_it_announces(self):
        def failed_login(source, announce):
            c = ImapSsl(self.imaps["port"], self.client_context(), source=source, timeout=40)
            if announce:
                typ, _ = c.xatom("ID", '("name" "Roundcube" "x-originating-ip" "%s")' % announce)
                self.assertEqual(typ, "OK")
            with self.assertRaises(imaplib.IMAP4.error):
                c.login(USER, "wrong")
            c.shutdown()

        def counted(key):
            return [e for e in self.api("GET", "/api/v1/shield")["list"]
                    if e["dimension"] == "address" and e["key"] == key]

        failed_login("127.0.0.50", "203.0.113.7")
        self.assertEqual(len(counted("203.0.113.7")), 1)
        self.assertEqual(counted("127.0.0.50"), [])
        # Without an announcement, the trusted source is not counted by address at all.
        failed_login("127.0.0.50", None)
        self.assertEqual(counted("127.0.0.50"), [])
        self.assertEqual(counted("203.0.113.7")[0]["failures"], 1)
        # An untrusted client cannot pick the address it is counted as.
        failed_login("127.0.0.51", "198.51.100.9")
        self.assertEqual(len(counted("127.0.0.51")), 1)
        self.assertEqual(counted("198.51.100.9"), [])


if __name__ == "__main__":
    main()
