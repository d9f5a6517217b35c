"""Re-encryption to the nodes (a pool with tls = true) against a real nginx serving HTTPS:
verified against the pool's CA and the node's address, refused when the certificate does not
verify (counted as a TLS connect error, nothing reaches the node), accepted unverified only
when verify = false, and kept alive across requests like plain connections."""

import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "metrics"))

import pki  # noqa: E402
from harness import LOOPBACK, HttpConn, http, main  # noqa: E402
from metrics_support import scrape  # noqa: E402
from tls_support import TlsTestCase  # noqa: E402


class UpstreamTlsTest(TlsTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The node's certificate names its address (an IP subjectAltName), as a backend on a
        # private network would have it from an internal CA.
        cls.node_leaf = cls.certs.pki.issue("node-ip", [LOOPBACK], "ecdsa")
        cls.other_dir = tempfile.mkdtemp(prefix="passeur-pki-other-")
        cls.addClassCleanup(shutil.rmtree, cls.other_dir, True)
        cls.other_ca = pki.Pki(cls.other_dir).ca_cert  # a CA that signed nothing of ours

    def https_node(self):
        return self.start_nginx("secure", body="over tls\n",
                                tls=(self.node_leaf.fullchain, self.node_leaf.key))

    def proxy_to(self, node, **pool):
        p = {"nodes": [{"address": node.address, "name": "secure"}], "tls": True}
        p.update(pool)
        return self.start_passeur([{"path_prefix": "/", "pool": "app"}], {"app": p})

    def test_verified_against_the_pools_ca(self):
        node = self.https_node()
        proxy = self.proxy_to(node, ca=self.certs.ca)
        r = http(proxy.port, "GET", "/")
        self.assertEqual((r.status, r.body), (200, b"over tls\n"))
        m = scrape(proxy)
        self.assertEqual(m.value("passeur_node_connect_duration_seconds_count", node="secure"), 1)
        self.assertEqual(m.total("passeur_node_connect_errors_total", node="secure"), 0)

    def test_kept_alive_across_requests(self):
        node = self.https_node()
        proxy = self.proxy_to(node, ca=self.certs.ca)
        with HttpConn(proxy.port) as c:
            for _ in range(20):
                self.assertEqual(c.roundtrip("GET", "/").status, 200)
        # One TLS connection carried all twenty requests.
        self.assertEqual(len({e["conn"] for e in node.log_entries()}), 1)
        self.assertEqual(len(node.log_entries()), 20)
        m = scrape(proxy)
        self.assertEqual(m.value("passeur_node_connect_duration_seconds_count", node="secure"), 1)
        self.assertEqual(m.value("passeur_node_connections_idle", node="secure"), 1)

    def test_unverifiable_certificate_is_refused(self):
        node = self.https_node()
        proxy = self.proxy_to(node, ca=self.other_ca)
        r = http(proxy.port, "GET", "/")
        self.assertIn(r.status, (502, 503))
        self.assertNothingReached(node)
        m = scrape(proxy)
        self.assertGreaterEqual(m.value("passeur_node_connect_errors_total", node="secure",
                                        reason="tls"), 1)

    def test_unverified_when_asked(self):
        node = self.https_node()
        proxy = self.proxy_to(node, ca=self.other_ca, verify=False)
        r = http(proxy.port, "GET", "/")
        self.assertEqual((r.status, r.body), (200, b"over tls\n"))


if __name__ == "__main__":
    main()
