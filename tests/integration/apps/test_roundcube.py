"""Roundcube (Debian 12's roundcube-core with SQLite, php-fpm behind nginx) behind Passeur's HTTPS
listener, logging its users in to a real Dovecot (stock settings: disable_plaintext_auth = yes)
through Passeur's IMAP listener with STARTTLS, Passeur's certificate verified by Roundcube.

A browser (python, from 127.0.0.5) fetches the login page over HTTPS, takes its _token, logs in
and lists the inbox. What Roundcube must be told, as deploy/APPLICATIONS.md says:
- proxy_whitelist = [Passeur's address]: Roundcube then takes the client's address from
  X-Forwarded-For (its session row, the IP check) and the scheme from X-Forwarded-Proto (its
  session cookie gets `secure`); without it, every browser has Passeur's address.
- imap_host "tls://...:143" with imap_conn_options naming the certificate's name and its CA:
  Roundcube connects to an address and checks the name it is told.
- Passeur's login shield trusts the Roundcube node (trusted_clients) and counts a wrong password
  against the browser's address, which a small plugin makes Roundcube announce in IMAP ID.
- its health check on a static file: a GET of Roundcube's "/" writes one session row per probe.
"""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "mail"))
from mail_support import MAIL_NAME, PASSWORD, USER, Dovecot, MailTestCase  # noqa: E402
from harness import LOOPBACK, Passeur, free_port, main, wait_until  # noqa: E402
from harness import http as plain_http  # noqa: E402
from roundcube_node import RoundcubeNode  # noqa: E402

WEBMAIL = "webmail.example.coop"
UNTOLD = "untold.example.coop"  # a Roundcube node not told about the proxy
NO_AFFINITY = "plain.example.coop"  # the two webmail nodes without affinity
# Each test's browser has its own address; Passeur's own is 127.0.0.1.
BROWSER, GUESSER, UNTOLD_BROWSER, WANDERER = "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8"
STATIC_CHECK = "/program/resources/blank.gif"  # 43 bytes, whatever the skin
# Roundcube 1.6 sends no IMAP ID before the login by itself: a plugin gives it the browser's
# address to announce (the `preauth_ident` option rcube_imap_generic sends). The one
# deploy/APPLICATIONS.md shows.
ANNOUNCE_PLUGIN = """<?php
class announce_client extends rcube_plugin
{
    function init()
    {
        $this->add_hook('storage_connect', [$this, 'storage_connect']);
    }

    function storage_connect($args)
    {
        $args['preauth_ident'] = ['x-originating-ip' => rcube_utils::remote_addr()];
        return $args;
    }
}
"""


class Browser:
    """HTTPS to Passeur from a loopback address, with SNI and Host `host`, cookies kept by
    name."""

    def __init__(self, port, cafile, host=WEBMAIL, source=BROWSER):
        self.port = port
        self.host = host
        self.source = source
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.cookies = {}
        self.set_cookie_lines = []

    def request(self, method, path, body=None, headers=None):
        sock = socket.create_connection((LOOPBACK, self.port), 20, source_address=(self.source, 0))
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=20)
        conn.sock = self.ctx.wrap_socket(sock, server_hostname=self.host)
        h = {"Host": self.host, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) passeur-test"}
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        h.update(headers or {})
        if body is not None:
            body = urllib.parse.urlencode(body)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read().decode("utf-8", "replace")
        for line in r.headers.get_all("Set-Cookie") or []:
            self.set_cookie_lines.append(line)
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if value in ("", "-del-", "deleted"):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        conn.close()
        return r.status, r.headers, data


class RoundcubeBehindPasseurTest(MailTestCase):
    """One stack for the class (starting Dovecot, two Roundcube nodes and Passeur takes most of
    the run): the tests look at their own sessions only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.addClassCleanup(MailTestCase.tearDownClass.__func__, cls)
        cls.tmp = tempfile.mkdtemp(prefix="passeur-it-")
        if os.environ.get("PASSEUR_KEEP_TMP") == "1":
            sys.stderr.write("\n[%s] temporary directory: %s\n" % (cls.__name__, cls.tmp))
        else:
            cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.web_leaf = cls.pki.issue("webmail", [WEBMAIL, UNTOLD, NO_AFFINITY])
        cls.dovecot = Dovecot(cls.tmp, "node1", cls.leaf.cert, cls.leaf.key)
        cls.addClassCleanup(cls.dovecot.stop)
        cls.dovecot.start()
        d = cls.dovecot
        cls.imap_port = free_port()
        cls.https_port = free_port()
        # Two webmail nodes as Debian installs them: each its own SQLite database (sessions)
        # and temp_dir.
        cls.nodes = []
        for name in ("node1", "node2"):
            ca = os.path.join(cls.tmp, "roundcube-" + name, "config", "ca.pem")
            node = RoundcubeNode(cls.tmp, name, {
                # STARTTLS with Passeur on its IMAP listener: Roundcube connects to an address,
                # so it is told the name on Passeur's certificate, and here the test CA that
                # signed it (with a public CA, the system's store: no cafile).
                "imap_host": "tls://%s:%d" % (LOOPBACK, cls.imap_port),
                "imap_conn_options": {"ssl": {"verify_peer": True, "verify_peer_name": True,
                                              "peer_name": MAIL_NAME, "cafile": ca}},
                "smtp_host": "",
                # Passeur's address as Roundcube sees it: X-Forwarded-For/Proto are believed.
                "proxy_whitelist": [LOOPBACK],
                "ip_check": True,
            }, files=[cls.pki.ca_cert], plugins={"announce_client": ANNOUNCE_PLUGIN})
            cls.addClassCleanup(node.stop)
            node.start()
            cls.nodes.append(node)
        cls.roundcube = cls.nodes[0]
        webmail_nodes = [{"address": n.address, "name": "web%d" % (i + 1)}
                         for i, n in enumerate(cls.nodes)]
        cls.untold = RoundcubeNode(cls.tmp, "untold", {"imap_host": "tls://%s:%d" % (
            LOOPBACK, cls.imap_port)})
        cls.addClassCleanup(cls.untold.stop)
        cls.untold.start()
        cls.proxy = Passeur(
            cls.tmp,
            [{"host": WEBMAIL, "pool": "webmail"}, {"host": UNTOLD, "pool": "untold"},
             {"host": NO_AFFINITY, "pool": "plain"}],
            # round_robin, one worker: without affinity a browser's requests alternate.
            {"webmail": {"nodes": webmail_nodes, "balance": "round_robin", "affinity": "cookie",
                         "check": {"type": "http", "path": STATIC_CHECK, "interval": "200ms",
                                   "timeout": "2s"}},
             "plain": {"nodes": webmail_nodes, "balance": "round_robin"},
             "untold": {"nodes": [cls.untold.address]},
             "imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v2",
                      "check": {"type": "imap", "interval": "1s"}}},
            listener={"name": "https", "tls": True, "default_certificate": WEBMAIL},
            listen_port=cls.https_port,
            extra_listeners=[{"name": "imap", "listen": "%s:%d" % (LOOPBACK, cls.imap_port),
                              "protocol": "imap", "pool": "imap",
                              "default_certificate": MAIL_NAME}],
            certificates=[cls.web_leaf.config(), cls.leaf.config()],
            # Roundcube's node: counted by the address it announces
            extra_config='\n[login_shield]\ntrusted_clients = ["%s"]\n' % LOOPBACK,
            workers=1)
        cls.addClassCleanup(cls.proxy.cleanup)
        cls.proxy.start()

    @classmethod
    def tearDownClass(cls):
        pass  # the class cleanups above, which also run when setUpClass fails

    def setUp(self):
        pass  # the class's stack

    def session_ip(self, browser, nodes=None):
        """The address Roundcube keeps in the session row of a browser's session cookie (on
        whichever node has it)."""
        rows = []
        for node in nodes or self.nodes:
            rows += node.query("SELECT ip FROM session WHERE sess_id = ?",
                               browser.cookies["roundcube_sessid"])
        self.assertEqual(len(rows), 1, rows)
        return rows[0][0]

    @staticmethod
    def requests_from(node, source):
        """The lines of a node's nginx log of requests a browser sent through Passeur."""
        return [l for l in node.nginx.access_lines() if 'xff="%s"' % source in l]

    def fail_with_logs(self, msg):
        self.fail("%s\n%s\n--- passeur\n%s\n--- dovecot\n%s" % (
            msg, "\n".join(n.logs() for n in self.nodes), self.proxy.stderr_text()[-3000:],
            self.dovecot.log()[-3000:]))

    def test_login_through_passeur(self):
        started = time.monotonic()
        self.dovecot.deliver("Hello through the edge", b"A message for the webmail.\r\n")
        b = Browser(self.https_port, self.pki.ca_cert)
        status, headers, page = b.request("GET", "/")
        self.assertEqual(status, 200, page[:500])
        m = re.search(r'name="_token" value="([^"]+)"', page)
        if not m:
            self.fail_with_logs("no _token on the login page: %s" % page[:2000])
        # Passeur's affinity cookie and Roundcube's session cookie, both Secure: Roundcube
        # believed X-Forwarded-Proto: https from Passeur's address (proxy_whitelist).
        sess = [l for l in b.set_cookie_lines if l.startswith("roundcube_sessid=")]
        self.assertTrue(sess, b.set_cookie_lines)
        self.assertIn("secure", sess[-1].lower(), sess)
        self.assertIn("PASSEUR_NODE", b.cookies)

        status, headers, page = b.request("POST", "/?_task=login", body={
            "_token": m.group(1), "_task": "login", "_action": "login", "_timezone": "UTC",
            "_url": "", "_user": USER, "_pass": PASSWORD})
        if status != 302:
            self.fail_with_logs("login answered %d, not a redirect: %s" % (status, page[:2000]))
        location = headers.get("Location")
        self.assertIn("_task=mail", location)
        status, headers, page = b.request("GET", "/" + location.lstrip("./"))
        self.assertEqual(status, 200)
        if '"task":"mail"' not in page or "INBOX" not in page:
            self.fail_with_logs("no mailbox page after the login: %s" % page[:2000])
        token = re.search(r'"request_token":"([^"]+)"', page).group(1)
        # The message list, read by Roundcube over its IMAP session through Passeur.
        status, headers, listing = b.request(
            "GET", "/?_task=mail&_action=list&_mbox=INBOX&_remote=1",
            headers={"X-Roundcube-Request": token, "X-Requested-With": "XMLHttpRequest"})
        self.assertEqual(status, 200, listing[:500])
        self.assertIn("Hello through the edge", listing)

        # Roundcube's session row has the browser's address, not Passeur's (and ip_check, which
        # compares it on every request, let the browser through).
        self.assertEqual(self.session_ip(b), BROWSER)
        # The affinity cookie kept every request of the browser on one node.
        wait_until(lambda: sum(len(self.requests_from(n, BROWSER)) for n in self.nodes) >= 4,
                   10, message="the four requests in the nodes' logs")
        served = [n for n in self.nodes if self.requests_from(n, BROWSER)]
        self.assertEqual(len(served), 1, [n.nginx.access_lines() for n in self.nodes])
        node = served[0]
        self.assertEqual(len(self.requests_from(node, BROWSER)), 4)
        logins = node.log("userlogins")
        self.assertRegex(logins, r"Successful login for %s .* from %s \(X-Forwarded-For: %s\)"
                         % (USER, re.escape(LOOPBACK), re.escape(BROWSER)))

        # The IMAP side: Roundcube's login went through Passeur's IMAP listener (STARTTLS there),
        # and Dovecot saw it over TLS (PROXY v2's SSL TLV), from Roundcube's node.
        imap_lines = [l for l in self.proxy.access_lines() if '"IMAP imap"' in l]
        self.assertTrue(any('user="%s" login=ok' % USER in l for l in imap_lines), imap_lines)
        self.assertTrue(all(l.startswith(LOOPBACK + ":") for l in imap_lines), imap_lines)
        dlog = self.dovecot.log()
        self.assertRegex(dlog, r"imap-login: Info: Login: user=<%s>, .*rip=%s, .*secured"
                         % (USER, LOOPBACK))
        # Each request reached Roundcube with X-Forwarded-Proto: https.
        self.assertTrue(all('proto="https"' in l for l in self.requests_from(node, BROWSER)))
        self.elapsed = time.monotonic() - started
        if os.environ.get("PASSEUR_IT_VERBOSE") == "1":
            sys.stderr.write("\nlogin and listing through Passeur: %.1fs\n" % self.elapsed)

    def test_failed_login_counted_by_browser_address(self):
        """A wrong password typed into Roundcube is counted by Passeur's login shield against
        the browser's address, which Roundcube announced (plugin) from a trusted_clients source,
        not against Roundcube's node: one guesser does not get the webmail blocked for all."""
        b = Browser(self.https_port, self.pki.ca_cert, source=GUESSER)
        status, headers, page = b.request("GET", "/")
        token = re.search(r'name="_token" value="([^"]+)"', page).group(1)
        status, headers, page = b.request("POST", "/?_task=login", body={
            "_token": token, "_task": "login", "_action": "login", "_timezone": "UTC",
            "_url": "", "_user": USER, "_pass": "wrong"})
        self.assertNotEqual(status, 302, headers)
        self.assertIn("Failed login for %s from %s (X-Forwarded-For: %s)" % (
            USER, LOOPBACK, GUESSER), "".join(n.log("userlogins") for n in self.nodes))
        with urllib.request.urlopen("http://%s:%d/api/v1/shield" % (
                LOOPBACK, self.proxy.admin_port), timeout=10) as r:
            entries = json.loads(r.read())["list"]
        addresses = {e["key"]: e["failures"] for e in entries if e["dimension"] == "address"}
        self.assertEqual(addresses, {GUESSER: 1}, entries)

    def test_without_proxy_whitelist(self):
        """A Roundcube not told Passeur's address takes every browser for Passeur: its session
        row has 127.0.0.1, and its session cookie lacks `secure` over HTTPS."""
        b = Browser(self.https_port, self.pki.ca_cert, host=UNTOLD, source=UNTOLD_BROWSER)
        status, headers, page = b.request("GET", "/")
        self.assertEqual(status, 200, page[:500])
        sess = [l for l in b.set_cookie_lines if l.startswith("roundcube_sessid=")]
        self.assertTrue(sess, b.set_cookie_lines)
        self.assertNotIn("secure", sess[-1].lower(), sess)
        self.assertEqual(self.session_ip(b, [self.untold]), LOOPBACK)
        # while a node told about it keeps the browser's address
        b = Browser(self.https_port, self.pki.ca_cert, source=UNTOLD_BROWSER)
        self.assertEqual(b.request("GET", "/")[0], 200)
        self.assertEqual(self.session_ip(b), UNTOLD_BROWSER)

    def test_without_affinity_the_login_is_lost(self):
        """The same two nodes without affinity: the login page comes from one node, the login
        form goes to the other, which has no such session (its own SQLite database): the login
        fails. The webmail pool's affinity = "cookie" is what lets test_login_through_passeur
        log in."""
        b = Browser(self.https_port, self.pki.ca_cert, host=NO_AFFINITY, source=WANDERER)
        status, headers, page = b.request("GET", "/")
        token = re.search(r'name="_token" value="([^"]+)"', page).group(1)
        status, headers, page = b.request("POST", "/?_task=login", body={
            "_token": token, "_task": "login", "_action": "login", "_timezone": "UTC",
            "_url": "", "_user": USER, "_pass": PASSWORD})
        self.assertNotIn("_task=mail", headers.get("Location") or "", page[:1000])
        # nginx writes a request's log line once the answer has left it: the browser may
        # read that answer before the line is in the file.
        wait_until(lambda: sum(len(self.requests_from(n, WANDERER)) for n in self.nodes) >= 2,
                   10, message="both requests in the nodes' logs")
        self.assertEqual([len(self.requests_from(n, WANDERER)) for n in self.nodes], [1, 1])

    def test_health_check_paths(self):
        """The static file the pool's check asks for writes no session; Roundcube's "/" writes one
        row per request from a client without cookies, as a health check is."""
        def checks():
            return sum(STATIC_CHECK in l for l in self.roundcube.nginx.access_lines())

        def sessions():
            return self.roundcube.query("SELECT COUNT(*) FROM session")[0][0]

        before, rows = checks(), sessions()
        wait_until(lambda: checks() >= before + 5, 10, message="5 health checks")
        self.assertEqual(sessions(), rows)
        for _ in range(3):
            r = plain_http(self.roundcube.nginx.port, path="/", host=WEBMAIL)
            self.assertEqual(r.status, 200)
        self.assertEqual(sessions(), rows + 3)

    def test_imap_checks_are_logged_by_dovecot_as_aborted_logins(self):
        """Each imap probe of the pool is a line in Dovecot's log with the edge's address (the
        probe's PROXY header names the edge itself): the line fail2ban's dovecot filter matches
        in its aggressive mode, hence the edge in ignoreip (deploy/APPLICATIONS.md)."""
        line = re.compile(r"imap-login: Info: Disconnected: Aborted login by logging out \(no auth "
                          r"attempts in \d+ secs\): user=<>, rip=%s, " % re.escape(LOOPBACK))

        def probes():
            return len(line.findall(self.dovecot.log()))

        before = probes()
        wait_until(lambda: probes() >= before + 2, 10, message="two imap checks in Dovecot's log")


if __name__ == "__main__":
    main()
