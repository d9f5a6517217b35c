"""Protocol policy of a TLS listener: TLS 1.2 and 1.3 only, Mozilla intermediate suites (checked
with sslscan), ALPN http/1.1, session resumption (tickets and the session cache), and what
happens to connections that never complete a handshake."""

import os
import re
import socket
import ssl
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tls_support import (HTTP_GET_CLOSE, MOZILLA_INTERMEDIATE_TLS12,  # noqa: E402
                         MOZILLA_INTERMEDIATE_TLS13, WEBMAIL, TlsConn, TlsTestCase,
                         client_context, old_protocol_env, s_client)
from harness import LOOPBACK, HttpConn, main, raw_exchange, require_tool  # noqa: E402

REQUEST = (HTTP_GET_CLOSE % WEBMAIL).encode()


class VersionsTest(TlsTestCase):
    def setUp(self):
        super().setUp()
        self.proxy = self.webmail_proxy()

    def test_tls11_refused(self):
        r = s_client(self.proxy.port, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0",
                     env=old_protocol_env(self.tmp))
        self.assertFalse(r.handshake_done, r)
        # the refusal comes from the server (a protocol_version alert), not from the client
        self.assertIn("alert protocol version", r.out, r)
        self.assertTrue(self.proxy.alive())

    def test_tls10_refused(self):
        r = s_client(self.proxy.port, "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0",
                     env=old_protocol_env(self.tmp))
        self.assertFalse(r.handshake_done, r)
        self.assertIn("alert protocol version", r.out, r)

    def test_tls11_refused_python_client(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = client_context(verify=False, min_version=ssl.TLSVersion.TLSv1,
                                 max_version=ssl.TLSVersion.TLSv1_1,
                                 ciphers="DEFAULT:@SECLEVEL=0")
        with self.assertRaises((ssl.SSLError, ConnectionResetError)):
            TlsConn(self.proxy.port, WEBMAIL, context=ctx).close()

    def test_tls12_accepted(self):
        r = s_client(self.proxy.port, "-tls1_2", stdin=REQUEST, ign_eof=True)
        self.assertTrue(r.handshake_done, r)
        self.assertEqual(r.protocol, "TLSv1.2", r)
        self.assertIn(r.cipher, MOZILLA_INTERMEDIATE_TLS12, r)
        self.assertIn("HTTP/1.1 200", r.out, r)

    def test_tls13_accepted(self):
        r = s_client(self.proxy.port, "-tls1_3", stdin=REQUEST, ign_eof=True)
        self.assertTrue(r.handshake_done, r)
        self.assertEqual(r.protocol, "TLSv1.3", r)
        self.assertIn(r.cipher, MOZILLA_INTERMEDIATE_TLS13, r)
        self.assertIn("HTTP/1.1 200", r.out, r)

    def test_default_client_gets_tls13(self):
        with TlsConn(self.proxy.port, WEBMAIL, ca=self.certs.ca) as c:
            self.assertEqual(c.sock.version(), "TLSv1.3")
            r = c.roundtrip("GET", "/", WEBMAIL)
            self.assertEqual((r.status, r.text), (200, "webmail\n"))

    def test_weak_tls12_suite_refused(self):
        for suite in ("AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA256",
                      "ECDHE-ECDSA-AES256-SHA"):
            r = s_client(self.proxy.port, "-tls1_2", "-cipher", suite + ":@SECLEVEL=0",
                         env=old_protocol_env(self.tmp))
            self.assertFalse(r.handshake_done, "%s accepted: %r" % (suite, r))


class CloseNotifyTest(TlsTestCase):
    """A TLS connection the proxy ends is ended the TLS way, with a close_notify alert: clients
    can tell a complete response from a truncated one, and the session stays resumable."""

    def setUp(self):
        super().setUp()
        self.proxy = self.webmail_proxy()

    def test_close_notify_after_connection_close(self):
        for version in ("-tls1_2", "-tls1_3"):
            r = s_client(self.proxy.port, version, stdin=REQUEST, ign_eof=True)
            self.assertIn("HTTP/1.1 200", r.out, r)
            self.assertFalse("unexpected eof" in r.out,
                             "%s: the proxy closed without close_notify: %r" % (version, r))

    def test_close_notify_python_client(self):
        ctx = client_context(self.certs.ca)
        # Python ignores a missing close_notify by default; this client must notice
        ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
        raw = socket.create_connection((LOOPBACK, self.proxy.port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname=WEBMAIL)
        try:
            s.sendall(REQUEST)
            data = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except ssl.SSLError as e:  # UNEXPECTED_EOF_WHILE_READING
                    self.fail("TCP close without close_notify after %d bytes: %s"
                              % (len(data), e))
                if not chunk:
                    break  # close_notify received
                data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
        finally:
            s.close()


class CipherAuditTest(TlsTestCase):
    def test_sslscan_sees_only_mozilla_intermediate(self):
        sslscan = require_tool("sslscan")
        proxy = self.webmail_proxy()
        p = subprocess.run([sslscan, "--no-colour", "--sni-name=" + WEBMAIL,
                            "%s:%d" % (LOOPBACK, proxy.port)],
                           capture_output=True, text=True, timeout=120)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, out)
        problems = []
        for proto in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"):
            if re.search(r"^%s\s+enabled" % re.escape(proto), out, re.M):
                problems.append("%s enabled" % proto)
        for proto in ("TLSv1.2", "TLSv1.3"):
            if not re.search(r"^%s\s+enabled" % re.escape(proto), out, re.M):
                problems.append("%s not enabled" % proto)
        accepted = re.findall(r"^(?:Preferred|Accepted)\s+(\S+)\s+\d+ bits\s+(\S+)(.*)$", out,
                              re.M)
        seen = set()
        for proto, suite, rest in accepted:
            seen.add(suite)
            allowed = {"TLSv1.2": MOZILLA_INTERMEDIATE_TLS12,
                       "TLSv1.3": MOZILLA_INTERMEDIATE_TLS13}.get(proto, set())
            if suite not in allowed:
                problems.append("accepted %s %s" % (proto, suite))
            m = re.search(r"DHE (\d+) bits", rest)
            if m and suite.startswith("DHE-") and int(m.group(1)) < 2048:
                problems.append("%s with %s-bit DH" % (suite, m.group(1)))
        # both certificate types are served for this name: both families of suites answer
        for must in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
                     "TLS_AES_128_GCM_SHA256"):
            if must not in seen:
                problems.append("%s not accepted" % must)
        groups = re.findall(r"^TLSv1\.[23]\s+\d+ bits\s+(\S+)", out, re.M)
        for g in set(groups) - {"x25519", "secp256r1", "secp384r1"}:
            problems.append("key exchange group %s" % g)
        if os.environ.get("PASSEUR_IT_VERBOSE") == "1":
            print("\n" + out)
        self.assertEqual(problems, [], out)


class AlpnTest(TlsTestCase):
    def setUp(self):
        super().setUp()
        self.proxy = self.webmail_proxy()

    def test_alpn_h2_chosen_by_default(self):
        r = s_client(self.proxy.port, "-alpn", "h2,http/1.1")
        self.assertTrue(r.handshake_done, r)
        self.assertEqual(r.alpn, "h2", r)
        r = s_client(self.proxy.port, "-alpn", "http/1.1")
        self.assertEqual(r.alpn, "http/1.1", r)

    def test_alpn_http11_chosen_over_h2_with_http2_off(self):
        proxy = self.webmail_proxy(tls={"http2": False})
        r = s_client(proxy.port, "-alpn", "h2,http/1.1")
        self.assertTrue(r.handshake_done, r)
        self.assertEqual(r.alpn, "http/1.1", r)
        r = s_client(proxy.port, "-alpn", "h2")
        self.assertTrue(r.handshake_done, r)
        self.assertIsNone(r.alpn, r)  # a client without http/1.1 gets no ALPN answer

    def test_alpn_python_client(self):
        ctx = client_context(self.certs.ca, alpn=["http/1.1"])
        with TlsConn(self.proxy.port, WEBMAIL, context=ctx) as c:
            self.assertEqual(c.sock.selected_alpn_protocol(), "http/1.1")
            r = c.roundtrip("GET", "/", WEBMAIL)
            self.assertEqual((r.status, r.text), (200, "webmail\n"))

    def test_client_with_an_unknown_protocol_only_gets_no_alpn(self):
        r = s_client(self.proxy.port, "-alpn", "spdy/3")
        self.assertTrue(r.handshake_done, r)
        self.assertIsNone(r.alpn, r)

    def test_client_without_alpn(self):
        r = s_client(self.proxy.port, stdin=REQUEST, ign_eof=True)
        self.assertTrue(r.handshake_done, r)
        self.assertIsNone(r.alpn, r)
        self.assertIn("HTTP/1.1 200", r.out, r)


class ResumptionTest(TlsTestCase):
    def setUp(self):
        super().setUp()
        self.proxy = self.webmail_proxy()
        self.sess = os.path.join(self.tmp, "session.pem")

    def resume(self, *args):
        first = s_client(self.proxy.port, "-sess_out", self.sess, *args, stdin=REQUEST,
                         ign_eof=True)
        self.assertTrue(first.handshake_done, first)
        self.assertFalse(first.reused, first)
        self.assertIn("HTTP/1.1 200", first.out, first)
        self.assertTrue(os.path.getsize(self.sess) > 0, "s_client saved no session")
        second = s_client(self.proxy.port, "-sess_in", self.sess, *args, stdin=REQUEST,
                          ign_eof=True)
        self.assertIn("HTTP/1.1 200", second.out, second)
        return second

    def test_tls12_ticket(self):
        r = self.resume("-tls1_2")
        self.assertTrue(r.reused, r)
        self.assertIn("Reused, TLSv1.2", r.out)

    def test_tls12_session_cache_without_tickets(self):
        r = self.resume("-tls1_2", "-no_ticket")
        self.assertTrue(r.reused, r)

    def test_tls13_ticket(self):
        r = self.resume("-tls1_3")
        self.assertTrue(r.reused, r)
        self.assertIn("Reused, TLSv1.3", r.out)

    def test_python_client_resumes(self):
        ctx = client_context(self.certs.ca)
        with TlsConn(self.proxy.port, WEBMAIL, context=ctx) as c:
            self.assertEqual(c.roundtrip("GET", "/", WEBMAIL).status, 200)
            session = c.sock.session
        raw = socket.create_connection((LOOPBACK, self.proxy.port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname=WEBMAIL, session=session)
        try:
            self.assertTrue(s.session_reused)
        finally:
            s.close()


class HandshakeDeadlineTest(TlsTestCase):
    def setUp(self):
        super().setUp()
        self.proxy = self.webmail_proxy(tls={"handshake_timeout": "1s"})

    def test_plain_http_to_tls_port_is_closed_quickly(self):
        t0 = time.monotonic()
        out, closed = raw_exchange(self.proxy.port,
                                   b"GET / HTTP/1.1\r\nHost: webmail.example.coop\r\n\r\n",
                                   timeout=5)
        elapsed = time.monotonic() - t0
        self.assertTrue(closed, "plain HTTP on the TLS port: connection left open")
        self.assertLess(elapsed, 0.9, "closed only after %.2fs (the handshake timeout?)"
                        % elapsed)
        # nothing but a TLS alert, or an HTTP error, may come back
        if out:
            self.assertTrue(out[:1] == b"\x15" or re.match(rb"HTTP/1\.[01] 4\d\d", out),
                            out[:200])
        self.assertNothingReached(self.node)
        # and the listener still serves TLS
        with TlsConn(self.proxy.port, WEBMAIL, ca=self.certs.ca) as c:
            self.assertEqual(c.roundtrip("GET", "/", WEBMAIL).status, 200)

    def test_silent_connection_closed_after_handshake_timeout(self):
        with HttpConn(self.proxy.port) as c:
            t0 = time.monotonic()
            self.assertTrue(c.closed_within(4), "a silent connection was not closed")
            elapsed = time.monotonic() - t0
        self.assertGreater(elapsed, 0.7)
        self.assertLess(elapsed, 3.0)

    def test_stalled_client_hello_closed_after_handshake_timeout(self):
        # a TLS record header announcing 512 bytes, and then nothing
        with HttpConn(self.proxy.port) as c:
            c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            t0 = time.monotonic()
            self.assertTrue(c.closed_within(4), "a stalled handshake was not closed")
            elapsed = time.monotonic() - t0
        self.assertGreater(elapsed, 0.7)
        self.assertLess(elapsed, 3.0)

    def test_garbage_is_closed_quickly(self):
        t0 = time.monotonic()
        out, closed = raw_exchange(self.proxy.port, os.urandom(64) + b"\x00" * 64, timeout=5)
        self.assertTrue(closed)
        self.assertLess(time.monotonic() - t0, 0.9)
        self.assertTrue(self.proxy.alive())

    def test_handshake_timeout_does_not_cut_established_connections(self):
        with TlsConn(self.proxy.port, WEBMAIL, ca=self.certs.ca) as c:
            self.assertEqual(c.roundtrip("GET", "/", WEBMAIL).status, 200)
            time.sleep(1.6)
            r = c.roundtrip("GET", "/", WEBMAIL)
            self.assertEqual((r.status, r.text), (200, "webmail\n"))


if __name__ == "__main__":
    main()
