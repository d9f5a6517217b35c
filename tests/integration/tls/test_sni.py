"""Certificate selection on a TLS listener: by SNI name (exact, then a wildcard one label deep),
a default for clients without SNI, RSA or ECDSA by the client's signature algorithms; and a
real request through TLS to nginx, which sees X-Forwarded-Proto: https."""

import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tls_support import (CLOUD, HTTP_GET_CLOSE, WEBMAIL, WILDCARD, TlsConn,  # noqa: E402
                         TlsTestCase, cert_names, client_context, https, peer_certificate,
                         s_client)
from harness import MiB, main, require_tool  # noqa: E402


class SniTest(TlsTestCase):
    def setUp(self):
        super().setUp()
        self.proxy = self.webmail_proxy()

    def names_for(self, servername):
        cert, _ = peer_certificate(self.proxy.port, servername, self.certs.ca)
        return cert_names(cert)

    def test_exact_names_get_their_certificates(self):
        self.assertEqual(self.names_for(WEBMAIL), [WEBMAIL])
        self.assertEqual(self.names_for(CLOUD), [CLOUD])

    def test_exact_name_verifies_against_the_ca(self):
        # hostname checking on: the chain (fullchain.pem) and the name both verify
        ctx = client_context(self.certs.ca, check_hostname=True)
        for name in (WEBMAIL, CLOUD, "calendar.example.coop"):
            with TlsConn(self.proxy.port, name, context=ctx) as c:
                self.assertIsNotNone(c.peer())

    def test_name_is_case_insensitive(self):
        self.assertEqual(self.names_for("WebMail.Example.COOP"), [WEBMAIL])

    def test_wildcard_name(self):
        self.assertEqual(self.names_for("calendar.example.coop"), [WILDCARD])
        self.assertEqual(self.names_for("x.example.coop"), [WILDCARD])

    def test_wildcard_is_one_label_deep(self):
        # a.b.example.coop is not covered by *.example.coop: the default certificate answers
        self.assertEqual(self.names_for("a.b.example.coop"), [WEBMAIL])

    def test_unknown_name_gets_the_default(self):
        self.assertEqual(self.names_for("other.example.org"), [WEBMAIL])

    def test_no_sni_gets_the_first_certificate(self):
        r = s_client(self.proxy.port, servername=None)
        self.assertTrue(r.handshake_done, r)
        self.assertEqual(r.leaf()["names"], [WEBMAIL], r)
        # the same with Python's client, which sends no SNI for server_hostname=None
        cert, _ = peer_certificate(self.proxy.port, None, self.certs.ca)
        self.assertEqual(cert_names(cert), [WEBMAIL])

    def test_ecdsa_for_clients_that_ask_for_ecdsa(self):
        for version in ("-tls1_2", "-tls1_3"):
            r = s_client(self.proxy.port, version, "-sigalgs", "ECDSA+SHA256")
            self.assertTrue(r.handshake_done, r)
            leaf = r.leaf()
            self.assertEqual((leaf["key_type"], leaf["names"]), ("ecdsa", [WEBMAIL]),
                             "%s: %r" % (version, r))
            self.assertEqual(leaf["serial"], int(self.certs.ecdsa.serial, 16))

    def test_rsa_for_clients_that_ask_for_rsa(self):
        for version, sigalgs in (("-tls1_2", "RSA-PSS+SHA256:RSA+SHA256"),
                                 ("-tls1_3", "RSA-PSS+SHA256")):
            r = s_client(self.proxy.port, version, "-sigalgs", sigalgs)
            self.assertTrue(r.handshake_done, r)
            leaf = r.leaf()
            self.assertEqual((leaf["key_type"], leaf["names"]), ("rsa", [WEBMAIL]),
                             "%s: %r" % (version, r))
            self.assertEqual(leaf["serial"], int(self.certs.rsa.serial, 16))

    def test_rsa_only_cipher_suites_get_rsa(self):
        r = s_client(self.proxy.port, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
        self.assertTrue(r.handshake_done, r)
        self.assertEqual(r.leaf()["key_type"], "rsa", r)
        r = s_client(self.proxy.port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
        self.assertTrue(r.handshake_done, r)
        self.assertEqual(r.leaf()["key_type"], "ecdsa", r)

    def test_s_client_sees_the_right_subject(self):
        r = s_client(self.proxy.port, "-CAfile", self.certs.ca, "-verify_hostname", CLOUD,
                     servername=CLOUD, stdin=(HTTP_GET_CLOSE % CLOUD).encode(), ign_eof=True)
        self.assertIn("Verify return code: 0 (ok)", r.out, r)
        self.assertIn("CN = cloud.example.coop", r.leaf()["subject"])
        self.assertIn("HTTP/1.1 200", r.out, r)

    def test_curl_through_tls_reaches_nginx(self):
        curl = require_tool("curl")
        url = "https://%s:%d/" % (WEBMAIL, self.proxy.port)
        p = subprocess.run([curl, "-sS", "--max-time", "10", "--cacert", self.certs.ca,
                            "--resolve", "%s:%d:127.0.0.1" % (WEBMAIL, self.proxy.port),
                            "-D", "-", url], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^HTTP/2 200")  # curl takes h2, offered by default
        self.assertTrue(p.stdout.endswith("webmail\n"), p.stdout)
        entries = self.node.log_entries()
        self.assertEqual(len(entries), 1, entries)
        self.assertEqual(entries[0]["xfp"], "https")
        self.assertEqual(entries[0]["host"], "%s:%d" % (WEBMAIL, self.proxy.port))

    def test_forwarded_proto_is_https_even_if_client_says_otherwise(self):
        r = https(self.proxy.port, headers=[("X-Forwarded-Proto", "http")])
        self.assertEqual((r.status, r.text), (200, "webmail\n"))
        entries = self.node.log_entries()
        self.assertEqual([e["xfp"] for e in entries], ["https"])

    def test_upload_through_tls_is_byte_exact(self):
        body = os.urandom(4 * MiB) * 8  # 32 MiB
        with TlsConn(self.proxy.port, WEBMAIL, ca=self.certs.ca, timeout=60) as c:
            c.request("PUT", "/dav/up.bin", WEBMAIL, body=body)
            r = c.read_response()
            self.assertIn(r.status, (201, 204), r)
            # and the same connection goes on
            r = c.roundtrip("GET", "/", WEBMAIL)
            self.assertEqual((r.status, r.text), (200, "webmail\n"))
        with open(os.path.join(self.node.dav_dir, "up.bin"), "rb") as f:
            self.assertTrue(f.read() == body, "uploaded file differs")

    def test_download_through_tls_is_byte_exact(self):
        data = os.urandom(3 * MiB + 12345)
        with open(os.path.join(self.node.static_dir, "f.bin"), "wb") as f:
            f.write(data)
        with TlsConn(self.proxy.port, WEBMAIL, ca=self.certs.ca, timeout=30) as c:
            for _ in range(2):
                r = c.roundtrip("GET", "/static/f.bin", WEBMAIL)
                self.assertEqual(r.status, 200)
                self.assertTrue(r.body == data, "downloaded body differs")

    def test_many_concurrent_handshakes(self):
        errors = []
        ok = [0]
        lock = threading.Lock()
        names = [WEBMAIL, CLOUD, "calendar.example.coop"]

        def client(i):
            ctx = client_context(self.certs.ca, check_hostname=True)
            for j in range(10):
                name = names[(i + j) % len(names)]
                try:
                    with TlsConn(self.proxy.port, name, context=ctx, timeout=15) as c:
                        r = c.roundtrip("GET", "/", name, [("Connection", "close")])
                    if (r.status, r.text) != (200, "webmail\n"):
                        raise AssertionError(repr(r))
                    with lock:
                        ok[0] += 1
                except Exception as e:  # noqa: BLE001 - any failure is a test result
                    with lock:
                        errors.append("%s: %r" % (name, e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors[:5], [])
        self.assertEqual(ok[0], 160)

    def test_keepalive_requests_over_one_tls_connection(self):
        with TlsConn(self.proxy.port, WEBMAIL, ca=self.certs.ca) as c:
            for _ in range(20):
                r = c.roundtrip("GET", "/", WEBMAIL)
                self.assertEqual((r.status, r.text), (200, "webmail\n"))
        self.assertEqual(len(self.node.log_entries()), 20)


class DefaultCertificateTest(TlsTestCase):
    def test_default_certificate_for_clients_without_sni(self):
        proxy = self.webmail_proxy(tls={"default_certificate": CLOUD})
        cert, _ = peer_certificate(proxy.port, None, self.certs.ca)
        self.assertEqual(cert_names(cert), [CLOUD])
        r = s_client(proxy.port, servername=None)
        self.assertEqual(r.leaf()["names"], [CLOUD], r)
        # names served still get their own certificate
        cert, _ = peer_certificate(proxy.port, WEBMAIL, self.certs.ca)
        self.assertEqual(cert_names(cert), [WEBMAIL])

    def test_default_certificate_for_unknown_names(self):
        proxy = self.webmail_proxy(tls={"default_certificate": CLOUD})
        cert, _ = peer_certificate(proxy.port, "unknown.example.org", self.certs.ca)
        self.assertEqual(cert_names(cert), [CLOUD])

    def test_first_certificate_is_the_default(self):
        c = self.certs
        proxy = self.webmail_proxy(certificates=[c.cloud.config(), c.rsa.config(),
                                                 c.wildcard.config()])
        cert, _ = peer_certificate(proxy.port, None, c.ca)
        self.assertEqual(cert_names(cert), [CLOUD])
        cert, _ = peer_certificate(proxy.port, WEBMAIL, c.ca)
        self.assertEqual(cert_names(cert), [WEBMAIL])

    def test_request_without_sni_is_still_routed_by_host(self):
        proxy = self.webmail_proxy()
        with TlsConn(proxy.port, None) as c:
            r = c.roundtrip("GET", "/", WEBMAIL, [("Connection", "close")])
        self.assertEqual((r.status, r.text), (200, "webmail\n"))


if __name__ == "__main__":
    main()
