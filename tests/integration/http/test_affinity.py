"""Session affinity of HTTP pools with two real nginx nodes.

cookie: a browser with a cookie jar (python http.cookiejar) stays on one node while a client
without cookies spreads; the value is opaque (not the address) and the same in another Passeur
with the same config; the node never sees Passeur's cookie; a node in maintenance or stopped
loses its browsers, which get a new cookie; a draining node keeps the browsers that hold its
cookie, gets no new one, and the drain status counts them; over the TLS listener the cookie
is Secure.

source: the client's address picks the node by weighted rendezvous hashing; the nodes are
predicted here by an implementation of the documented hash written from its description."""

import http.cookiejar
import math
import os
import socket
import struct
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "admin"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tls"))
from admin_support import action, ctl, node_state  # noqa: E402
from harness import LOOPBACK, HttpConn, ProxyTestCase, main  # noqa: E402
from tls_support import TlsTestCase, https  # noqa: E402

COOKIE = "PASSEUR_NODE"
NODES = ("node-a", "node-b")
# The node answers the Cookie field it received.
ECHO_COOKIE = 'location /cookie { return 200 "$http_cookie\\n"; }'


class Browser:
    """urllib with a cookie jar: what a browser does with Set-Cookie (Path, HttpOnly)."""

    def __init__(self, port):
        self.port = port
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path="/"):
        """(body text, the Set-Cookie fields of the answer)."""
        with self.opener.open("http://%s:%d%s" % (LOOPBACK, self.port, path), timeout=10) as r:
            return r.read().decode().strip(), r.headers.get_all("Set-Cookie") or []

    def cookie(self):
        for c in self.jar:
            if c.name == COOKIE:
                return c.value
        return None


def set_cookie_value(fields):
    for f in fields:
        name, _, rest = f.partition("=")
        if name.strip() == COOKIE:
            return rest.split(";")[0]
    return None


# --- the documented hash, written independently (Python integers, not the C++ code) ---------

M64 = (1 << 64) - 1


def murmur64a(data):
    m, r = 0xC6A4A7935BD1E995, 47
    h = (len(data) * m) & M64
    n = len(data) // 8
    for i in range(n):
        k = struct.unpack_from("<Q", data, 8 * i)[0]
        k = (k * m) & M64
        k ^= k >> r
        k = (k * m) & M64
        h ^= k
        h = (h * m) & M64
    tail = data[8 * n:]
    if tail:
        for i, b in enumerate(tail):
            h ^= b << (8 * i)
        h = (h * m) & M64
    h ^= h >> r
    h = (h * m) & M64
    h ^= h >> r
    return h


def splitmix_final(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def rendezvous_choice(key, nodes):
    """nodes: [(name, weight)]; the name of the highest -weight / ln(u)."""
    k = murmur64a(key.encode())
    best = None
    for name, weight in nodes:
        h = splitmix_final(k ^ splitmix_final((murmur64a(name.encode()) + 0x9E3779B97F4A7C15)
                                              & M64))
        u = ((h >> 12) + 0.5) * 2.0 ** -52
        score = -weight / math.log(u)
        if best is None or score > best[0]:
            best = (score, name)
    return best[1]


class SourceConn(HttpConn):
    """An HttpConn whose socket is bound to `source` (another loopback address)."""

    def __init__(self, port, source, timeout=10.0):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=timeout,
                                             source_address=(source, 0))
        self.buf = b""
        self.eof = False


class CookieAffinityTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.nodes = {name: self.start_nginx(name, extra_server=ECHO_COOKIE) for name in NODES}
        self.pools = {"web": {"affinity": "cookie",
                              "nodes": [{"address": n.address, "name": name}
                                        for name, n in self.nodes.items()]}}
        self.proxy = self.start_passeur([{"pool": "web"}], self.pools)

    def settle(self, browser):
        """The browser's first request: the node it got and the cookie value it was given."""
        node, fields = browser.get()
        value = set_cookie_value(fields)
        self.assertIsNotNone(value, fields)
        self.assertEqual(browser.cookie(), value)
        return node, value

    def test_a_browser_stays_and_a_client_without_cookies_spreads(self):
        b = Browser(self.proxy.port)
        node, value = self.settle(b)
        self.assertIn(node, NODES)
        field = b.get()[1]
        self.assertEqual(field, [], "the right cookie is not set again")
        for _ in range(48):
            got, fields = b.get()
            self.assertEqual(got, node)
            self.assertEqual(fields, [])
        # Opaque: neither the address nor the port of any node.
        for n in self.nodes.values():
            self.assertNotIn(n.address, value)
            self.assertNotIn(str(n.port), value)
            self.assertNotIn("127.0.0", value)
        # The full Set-Cookie of a first answer.
        with HttpConn(self.proxy.port) as c:
            r = c.roundtrip("GET", "/")
            fields = r.header_all("Set-Cookie")
            self.assertEqual(len(fields), 1, r)
            self.assertRegex(fields[0], r"^PASSEUR_NODE=[0-9a-f]{16}; Path=/; HttpOnly; "
                                        r"SameSite=Lax$")
            self.assertEqual(r.header("Cache-Control"), "private")
        # Without cookies (each request on its own), both nodes answer.
        seen = set()
        for _ in range(20):
            with HttpConn(self.proxy.port) as c:
                seen.add(c.roundtrip("GET", "/").text.strip())
        self.assertEqual(seen, set(NODES))

    def test_the_node_never_sees_the_cookie_and_other_cookies_pass(self):
        b = Browser(self.proxy.port)
        node, value = self.settle(b)
        with HttpConn(self.proxy.port) as c:
            r = c.roundtrip("GET", "/cookie", headers=[
                ("Cookie", "roundcube_sessid=abc; %s=%s; lang=fr" % (COOKIE, value))])
            self.assertEqual(r.status, 200)
            self.assertEqual(r.text.strip(), "roundcube_sessid=abc; lang=fr")
            self.assertEqual(r.header_all("Set-Cookie"), [])
            r = c.roundtrip("GET", "/cookie", headers=[("Cookie", "%s=%s" % (COOKIE, value))])
            self.assertEqual(r.text.strip(), "", "a Cookie field left empty is not sent")

    def test_another_passeur_with_the_same_config_understands_the_cookie(self):
        b = Browser(self.proxy.port)
        node, value = self.settle(b)
        other = self.start_passeur([{"pool": "web"}], self.pools)
        for _ in range(10):
            with HttpConn(other.port) as c:
                r = c.roundtrip("GET", "/", headers=[("Cookie", "%s=%s" % (COOKIE, value))])
                self.assertEqual(r.text.strip(), node)
                self.assertEqual(r.header_all("Set-Cookie"), [])
        # An unknown value is replaced.
        with HttpConn(other.port) as c:
            r = c.roundtrip("GET", "/", headers=[("Cookie", "%s=%s" % (COOKIE, "127.0.0.1"))])
            self.assertIsNotNone(set_cookie_value(r.header_all("Set-Cookie")))

    def test_maintenance_moves_the_browser_to_a_new_cookie(self):
        b = Browser(self.proxy.port)
        node, value = self.settle(b)
        other = [n for n in NODES if n != node][0]
        self.assertEqual(action(self.proxy, "web", node, "maintenance").status, 200)
        got, fields = b.get()
        self.assertEqual(got, other)
        new = set_cookie_value(fields)
        self.assertIsNotNone(new)
        self.assertNotEqual(new, value)
        self.assertEqual(b.cookie(), new)
        # Back in service, the browser stays where its cookie now points.
        self.assertEqual(action(self.proxy, "web", node, "ready").status, 200)
        for _ in range(10):
            self.assertEqual(b.get(), (other, []))

    def test_a_stopped_node_loses_its_browsers(self):
        b = Browser(self.proxy.port)
        node, value = self.settle(b)
        other = [n for n in NODES if n != node][0]
        self.nodes[node].stop()
        # The connect fails, another node answers and the cookie follows it.
        got, fields = b.get()
        self.assertEqual(got, other)
        self.assertNotEqual(set_cookie_value(fields), value)
        for _ in range(5):
            self.assertEqual(b.get(), (other, []))

    def test_a_draining_node_keeps_its_browsers_and_gets_no_new_one(self):
        b = Browser(self.proxy.port)
        node, value = self.settle(b)
        self.assertEqual(action(self.proxy, "web", node, "drain").status, 200)
        for _ in range(12):
            self.assertEqual(b.get(), (node, []))
        for _ in range(10):
            got, fields = Browser(self.proxy.port).get()
            self.assertNotEqual(got, node)
            self.assertIsNotNone(set_cookie_value(fields))
        state = node_state(self.proxy, "web", node)
        self.assertEqual(state["admin"], "draining")
        # 12 while draining, and the one of settle() was a first request (no cookie yet).
        self.assertEqual(state["affinity_requests_last_minute"], 12)
        self.assertLess(state["affinity_last_seconds_ago"], 30)
        rc, out, err = ctl(self.proxy, "--admin", "%s:%d" % (LOOPBACK, self.proxy.admin_port),
                           "drain", "web", node)
        self.assertEqual(rc, 0, err)
        self.assertIn("12 requests by affinity cookie in the last minute", out)
        # Ready again: the node takes new browsers as before.
        self.assertEqual(action(self.proxy, "web", node, "ready").status, 200)
        seen = set()
        for _ in range(20):
            seen.add(Browser(self.proxy.port).get()[0])
        self.assertEqual(seen, set(NODES))


class SourceAffinityTest(ProxyTestCase):
    def test_the_client_address_picks_the_node(self):
        nodes = {name: self.start_nginx(name) for name in NODES}
        weights = {"node-a": 1, "node-b": 2}
        proxy = self.start_passeur([{"pool": "web"}], {"web": {
            "affinity": "source",
            "nodes": [{"address": n.address, "name": name, "weight": weights[name]}
                      for name, n in nodes.items()]}})
        got = {}
        for i in range(2, 22):
            source = "127.0.0.%d" % i
            answers = set()
            for _ in range(4):
                with SourceConn(proxy.port, source) as c:
                    r = c.roundtrip("GET", "/")
                    self.assertEqual(r.status, 200)
                    self.assertEqual(r.header_all("Set-Cookie"), [])
                    answers.add(r.text.strip())
            self.assertEqual(len(answers), 1, "%s went to %s" % (source, answers))
            got[source] = answers.pop()
        expected = {s: rendezvous_choice(s, sorted(weights.items())) for s in got}
        self.assertEqual(got, expected)
        self.assertEqual(set(got.values()), set(NODES), "addresses map to different nodes")
        # A node in maintenance: its addresses go to the other node, the others stay.
        moved = [s for s in got if got[s] == "node-b"][0]
        stays = [s for s in got if got[s] == "node-a"][0]
        self.assertEqual(action(proxy, "web", "node-b", "maintenance").status, 200)
        with SourceConn(proxy.port, moved) as c:
            self.assertEqual(c.roundtrip("GET", "/").text.strip(), "node-a")
        with SourceConn(proxy.port, stays) as c:
            self.assertEqual(c.roundtrip("GET", "/").text.strip(), "node-a")
        self.assertEqual(action(proxy, "web", "node-b", "ready").status, 200)
        with SourceConn(proxy.port, moved) as c:
            self.assertEqual(c.roundtrip("GET", "/").text.strip(), "node-b")


class CookieAffinityTlsTest(TlsTestCase):
    def test_the_cookie_is_secure_over_tls_only(self):
        nodes = [self.start_nginx(name) for name in NODES]
        proxy = self.start_tls_proxy(
            [{"pool": "web"}],
            {"web": {"affinity": "cookie", "affinity_cookie": "SRV",
                     "nodes": [{"address": n.address, "name": n.name} for n in nodes]}},
            plain={})
        r = https(proxy.port, "/", ca=self.certs.ca)
        self.assertEqual(r.status, 200)
        fields = r.header_all("Set-Cookie")
        self.assertEqual(len(fields), 1, r)
        self.assertRegex(fields[0], r"^SRV=[0-9a-f]{16}; Path=/; HttpOnly; SameSite=Lax; Secure$")
        value = fields[0].split(";")[0].split("=")[1]
        node = r.text.strip()
        with HttpConn(proxy.plain_port) as c:
            r = c.roundtrip("GET", "/")
            fields = r.header_all("Set-Cookie")
            self.assertTrue(fields and "Secure" not in fields[0], fields)
            # The same value from either listener names the same node.
            for _ in range(5):
                r = c.roundtrip("GET", "/", headers=[("Cookie", "SRV=" + value)])
                self.assertEqual((r.text.strip(), r.header_all("Set-Cookie")), (node, []))


if __name__ == "__main__":
    main()
