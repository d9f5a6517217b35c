"""A plain listener with redirect_to_https answers 301 to https://host/path?query, except ACME
challenges that a route sends to the certbot node; a TLS listener with hsts adds
Strict-Transport-Security to every response, and a plain listener never does."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tls_support import WEBMAIL, TlsConn, TlsTestCase, https  # noqa: E402
from harness import HttpConn, http, main, refused_port  # noqa: E402

HSTS = "max-age=63072000"
ACME = "/.well-known/acme-challenge/"


class RedirectTest(TlsTestCase):
    def start(self, acme_route=True, webmail_host=None):
        self.webmail = self.start_nginx("webmail")
        self.certbot = self.start_nginx("certbot")
        routes = [{"host": webmail_host, "path_prefix": "/", "pool": "webmail"}]
        if acme_route:
            routes.append({"path_prefix": ACME, "pool": "certbot"})
        pools = {"webmail": {"nodes": [self.webmail.address]},
                 "certbot": {"nodes": [self.certbot.address]}}
        self.proxy = self.start_tls_proxy(routes, pools, tls={"hsts": HSTS},
                                          plain={"redirect_to_https": True})
        return self.proxy

    def plain(self, path, host=WEBMAIL, method="GET", **kw):
        return http(self.proxy.plain_port, method, path, host=host, **kw)

    def test_redirect_keeps_path_and_query_and_drops_port(self):
        self.start()
        r = self.plain("/mail/?_task=mail&_mbox=INBOX",
                       host="%s:%d" % (WEBMAIL, self.proxy.plain_port))
        self.assertEqual(r.status, 301, r)
        self.assertEqual(r.header("Location"),
                         "https://%s/mail/?_task=mail&_mbox=INBOX" % WEBMAIL)
        self.assertNothingReached(self.webmail)
        self.assertNothingReached(self.certbot)

    def test_redirect_root(self):
        self.start()
        r = self.plain("/", host="cloud.example.coop")
        self.assertEqual((r.status, r.header("Location")), (301, "https://cloud.example.coop/"))

    def test_redirect_absolute_form_target(self):
        self.start()
        r = self.plain("http://cloud.example.coop:80/remote.php/dav?x=1", host="ignored.test")
        self.assertEqual((r.status, r.header("Location")),
                         (301, "https://cloud.example.coop/remote.php/dav?x=1"))

    def test_redirects_on_one_keepalive_connection(self):
        self.start()
        with HttpConn(self.proxy.plain_port) as c:
            for i in range(5):
                r = c.roundtrip("GET", "/p%d" % i, WEBMAIL)
                self.assertEqual((r.status, r.header("Location")),
                                 (301, "https://%s/p%d" % (WEBMAIL, i)))

    def test_redirect_of_request_with_body_closes(self):
        self.start()
        with HttpConn(self.proxy.plain_port) as c:
            c.request("POST", "/login", WEBMAIL, body=b"user=alice&pass=secret")
            r = c.read_response()
            self.assertEqual((r.status, r.header("Location")),
                             (301, "https://%s/login" % WEBMAIL))
            self.assertTrue(c.closed_within(2), "connection left open after an unread body")
        self.assertNothingReached(self.webmail)

    def test_request_without_host_is_not_redirected_to_nowhere(self):
        self.start()
        with HttpConn(self.proxy.plain_port) as c:
            c.send(b"GET /x HTTP/1.0\r\n\r\n")
            r = c.read_response()
        loc = r.header("Location") or ""
        self.assertFalse(loc.startswith("https:///"),
                         "redirected to a URL without host: %r" % loc)
        self.assertEqual(r.status, 400, r)

    def test_invalid_host_is_refused_not_reflected(self):
        # a Host that is not a host[:port] makes no redirect target (RFC 9112 3.2: 400)
        self.start()
        for host in ("a b", "evil.test/@x", "evil.test\\x", "", "[::1"):
            with HttpConn(self.proxy.plain_port) as c:
                c.send(("GET /p?q HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                        % host).encode())
                r = c.read_response()
            self.assertEqual(r.status, 400, "Host %r: %s Location %r"
                             % (host, r.status, r.header("Location")))

    def test_acme_challenge_goes_to_certbot(self):
        self.start()
        r = self.plain(ACME + "token-123", host="cloud.example.coop")
        self.assertEqual((r.status, r.text), (200, "certbot\n"))
        self.assertIsNone(r.header("Location"))
        entries = self.certbot.log_entries()
        self.assertEqual([e["uri"] for e in entries], [ACME + "token-123"])
        self.assertEqual(entries[0]["xfp"], "http")
        self.assertNothingReached(self.webmail)

    def test_acme_lookalike_paths_are_redirected(self):
        self.start()
        for path in ("/.well-known/acme-challenge", "/.well-known/other/x",
                     "/x/.well-known/acme-challenge/t"):
            r = self.plain(path)
            self.assertEqual((r.status, r.header("Location")),
                             (301, "https://%s%s" % (WEBMAIL, path)), path)
        self.assertNothingReached(self.certbot)

    def test_acme_challenge_without_route_is_redirected(self):
        # no ACME route, and the only route is for another host: nothing matches
        self.start(acme_route=False, webmail_host=WEBMAIL)
        r = self.plain(ACME + "token-123", host="cloud.example.coop")
        self.assertEqual((r.status, r.header("Location")),
                         (301, "https://cloud.example.coop%stoken-123" % ACME))
        self.assertNothingReached(self.certbot)
        self.assertNothingReached(self.webmail)

    def test_tls_listener_serves_what_plain_redirects(self):
        self.start()
        r = https(self.proxy.port, "/mail/?x=1", ca=self.certs.ca)
        self.assertEqual((r.status, r.text), (200, "webmail\n"))
        self.assertEqual([e["xfp"] for e in self.webmail.log_entries()], ["https"])


class HstsTest(TlsTestCase):
    def setUp(self):
        super().setUp()
        self.node = self.start_nginx("webmail", extra_server="location = /missing { return 404; }")
        routes = [{"host": WEBMAIL, "path_prefix": "/", "pool": "webmail"},
                  {"host": "down.example.coop", "path_prefix": "/", "pool": "down"}]
        pools = {"webmail": {"nodes": [self.node.address]},
                 "down": {"nodes": ["127.0.0.1:%d" % refused_port()]}}
        self.proxy = self.start_tls_proxy(routes, pools, tls={"hsts": HSTS}, plain={})

    def assertHsts(self, r):
        self.assertEqual(r.header_all("Strict-Transport-Security"), [HSTS], r)

    def test_hsts_on_200(self):
        r = https(self.proxy.port, "/", ca=self.certs.ca)
        self.assertEqual(r.status, 200)
        self.assertHsts(r)

    def test_hsts_on_backend_404(self):
        r = https(self.proxy.port, "/missing", ca=self.certs.ca)
        self.assertEqual(r.status, 404)
        self.assertHsts(r)

    def test_hsts_on_no_route_404(self):
        r = https(self.proxy.port, "/", host="nothing.example.org", ca=self.certs.ca)
        self.assertEqual(r.status, 404)
        self.assertHsts(r)

    def test_hsts_on_503(self):
        r = https(self.proxy.port, "/", host="down.example.coop", ca=self.certs.ca)
        self.assertEqual(r.status, 503)
        self.assertHsts(r)

    def test_hsts_on_every_keepalive_response(self):
        with TlsConn(self.proxy.port, WEBMAIL, ca=self.certs.ca) as c:
            for path, host, status in (("/", WEBMAIL, 200), ("/missing", WEBMAIL, 404),
                                       ("/", "nothing.example.org", 404), ("/", WEBMAIL, 200)):
                r = c.roundtrip("GET", path, host)
                self.assertEqual(r.status, status)
                self.assertHsts(r)
            r = c.roundtrip("HEAD", "/", WEBMAIL)
            self.assertEqual(r.status, 200)
            self.assertHsts(r)

    def test_no_hsts_on_plain_listener(self):
        for path, host, status in (("/", WEBMAIL, 200), ("/missing", WEBMAIL, 404),
                                   ("/", "nothing.example.org", 404),
                                   ("/", "down.example.coop", 503)):
            r = http(self.proxy.plain_port, "GET", path, host=host)
            self.assertEqual(r.status, status)
            self.assertEqual(r.header_all("Strict-Transport-Security"), [], r)

    def test_no_hsts_on_plain_redirect(self):
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "webmail"}],
                                     {"webmail": {"nodes": [self.node.address]}},
                                     tls={"hsts": HSTS}, plain={"redirect_to_https": True})
        r = http(proxy.plain_port, "GET", "/", host=WEBMAIL)
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header_all("Strict-Transport-Security"), [], r)


class NoHstsTest(TlsTestCase):
    def test_hsts_off_when_not_configured(self):
        proxy = self.webmail_proxy()
        r = https(proxy.port, "/", ca=self.certs.ca)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header_all("Strict-Transport-Security"), [], r)


if __name__ == "__main__":
    main()
