"""Who protects a TLS listener's records after the handshake: OpenSSL by default, Passeur's own
record layer with tls_records = "passeur" (TLS 1.2 and 1.3, keep-alive, key updates from the
client), kernel TLS requested with ktls = true, what the log says about each listener, and how
`passeur check` reports bad values. DHE suites use ffdhe2048 (RFC 7919)."""

import os
import signal
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tls_support import (OPENSSL, WEBMAIL, TlsConn, TlsTestCase, client_context,  # noqa: E402
                         s_client)
from harness import (LOOPBACK, main, passeur_binary, render_config, run_check,  # noqa: E402
                     wait_until)

OWN = {"tls_records": "passeur"}
REQUESTS_PER_CONNECTION = 20


def log_line(listener, records, ktls):
    return 'listener "%s": TLS records by %s, kernel TLS %s' % (
        listener, "Passeur's record layer after the handshake" if records == "passeur"
        else "OpenSSL", "requested (SSL_OP_ENABLE_KTLS)" if ktls else "not requested")


class SClientSession:
    """An `openssl s_client` kept open: lines are written to it one at a time, so that its
    command letters ('k', 'K') are seen as commands, and what it prints is collected."""

    def __init__(self, port, *args):
        cmd = [OPENSSL, "s_client", "-connect", "%s:%d" % (LOOPBACK, port),
               "-servername", WEBMAIL] + list(args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.out = b""
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                return
            with self.lock:
                self.out += chunk

    def text(self):
        with self.lock:
            return self.out.decode("utf-8", "replace")

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait_for(self, needle, count=1, timeout=10):
        wait_until(lambda: self.text().count(needle) >= count, timeout,
                   message="%d x %r from s_client:\n%s" % (count, needle, self.text()[-2000:]))

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)
        self.proc.stdout.close()


class RecordsTestBase(TlsTestCase):
    tls = {}

    def setUp(self):
        super().setUp()
        self.proxy = self.webmail_proxy(tls=dict(self.tls))

    def keep_alive(self, context):
        with TlsConn(self.proxy.port, WEBMAIL, context=context) as c:
            for i in range(REQUESTS_PER_CONNECTION):
                r = c.roundtrip("GET", "/%d" % i, WEBMAIL)
                self.assertEqual((r.status, r.text), (200, "webmail\n"))
            return c.sock.version(), c.sock.cipher()[0]

    def check_versions_and_ciphers(self):
        seen = set()
        for version, ciphers in ((ssl.TLSVersion.TLSv1_3, None),
                                 (ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-GCM-SHA256"),
                                 (ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384"),
                                 (ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-CHACHA20-POLY1305")):
            ctx = client_context(verify=False, min_version=version, max_version=version,
                                 ciphers=ciphers)
            got = self.keep_alive(ctx)
            seen.add(got)
            self.assertEqual(got[0], {ssl.TLSVersion.TLSv1_3: "TLSv1.3",
                                      ssl.TLSVersion.TLSv1_2: "TLSv1.2"}[version])
            if ciphers:
                self.assertEqual(got[1], ciphers)
        self.assertEqual(len(seen), 4, seen)

    def check_key_updates(self):
        """TLS 1.3 key updates from the client, alone and asking for the server's, between
        requests on one connection."""
        s = SClientSession(self.proxy.port, "-tls1_3")
        self.addCleanup(s.close)
        request = ("GET /ku HTTP/1.1\r\nHost: %s\r\n\r\n" % WEBMAIL).encode()
        s.send(request)
        s.wait_for("HTTP/1.1 200", 1)
        for n, command in enumerate((b"k\n", b"K\n", b"K\n", b"k\n"), start=2):
            time.sleep(0.2)  # its own read: s_client takes a command at the start of a read
            s.send(command)
            time.sleep(0.2)
            s.send(request)
            s.wait_for("HTTP/1.1 200", n)
        self.assertEqual(s.text().count("KEYUPDATE"), 4, s.text())
        s.send(("GET /end HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % WEBMAIL).encode())
        s.wait_for("HTTP/1.1 200", 6)
        s.close()
        self.assertEqual(s.proc.returncode, 0, s.text()[-2000:])


class DefaultRecordsTest(RecordsTestBase):
    """No tls_records: OpenSSL keeps every connection's records."""

    def test_log_says_openssl(self):
        self.assertIn(log_line("web-tls", "openssl", False), self.proxy.stderr_text())

    def test_keep_alive_over_tls12_and_tls13(self):
        self.check_versions_and_ciphers()

    def test_key_updates_from_the_client(self):
        self.check_key_updates()

    def test_dhe_uses_ffdhe2048(self):
        r = s_client(self.proxy.port, "-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256",
                     "-sigalgs", "RSA-PSS+SHA256:RSA+SHA256", "-msg",
                     stdin=("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                            % WEBMAIL).encode(), ign_eof=True)
        self.assertTrue(r.handshake_done, r)
        self.assertEqual(r.cipher, "DHE-RSA-AES128-GCM-SHA256", r)
        self.assertIn("Server Temp Key: DH, 2048 bits", r.out, r)
        self.assertIn("HTTP/1.1 200", r.out, r)
        # The ServerKeyExchange carries the group's prime: RFC 7919's ffdhe2048 starts
        # FFFFFFFFFFFFFFFFADF85458A2BB4A9A, RFC 3526's group 14 FFFFFFFFFFFFFFFFC90FDAA22168C234.
        flat = "".join(r.out.split()).lower()
        self.assertIn("ffffffffffffffffadf85458a2bb4a9a", flat, r)
        self.assertNotIn("ffffffffffffffffc90fdaa22168c234", flat, r)


class RecordsReloadTest(RecordsTestBase):
    """Who protects the records is fixed for the process: a reload that changes it is refused
    and the listener keeps serving as before."""

    def test_reload_changing_tls_records_is_refused(self):
        for change in (OWN, {"ktls": True}):
            listener = dict(self.proxy.listener)
            self.proxy.listener.update(change)
            self.proxy.write_config()
            self.proxy.signal(signal.SIGHUP)
            wait_until(lambda: self.proxy.stderr_text().count(
                "changed its tls_records or ktls setting") >= (2 if "ktls" in change else 1),
                10, message="the reload to be refused")
            self.proxy.listener = listener
            self.proxy.write_config()
            self.assertTrue(self.proxy.alive())
            self.assertEqual(self.keep_alive(client_context(verify=False))[0], "TLSv1.3")
        self.assertNotIn(log_line("web-tls", "passeur", False), self.proxy.stderr_text())


class PasseurRecordsTest(RecordsTestBase):
    """tls_records = "passeur": Passeur's record layer takes each connection over."""
    tls = OWN

    def test_log_says_passeur(self):
        self.assertIn(log_line("web-tls", "passeur", False), self.proxy.stderr_text())

    def test_keep_alive_over_tls12_and_tls13(self):
        self.check_versions_and_ciphers()

    def test_key_updates_from_the_client(self):
        self.check_key_updates()

    def test_resumed_sessions(self):
        sess = os.path.join(self.tmp, "session.pem")
        request = ("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % WEBMAIL).encode()
        for version in ("-tls1_3", "-tls1_2"):
            first = s_client(self.proxy.port, version, "-sess_out", sess, stdin=request,
                             ign_eof=True)
            self.assertIn("HTTP/1.1 200", first.out, first)
            second = s_client(self.proxy.port, version, "-sess_in", sess, stdin=request,
                              ign_eof=True)
            self.assertTrue(second.reused, second)
            self.assertIn("HTTP/1.1 200", second.out, second)


class KtlsTest(RecordsTestBase):
    """ktls = true: asked of OpenSSL. This machine has no `tls` kernel module, so OpenSSL keeps
    the records itself: the listener must serve as usual."""
    tls = {"ktls": True}

    def test_log_says_ktls_requested_and_https_is_served(self):
        self.assertIn(log_line("web-tls", "openssl", True), self.proxy.stderr_text())
        self.check_versions_and_ciphers()


class ConfigCheckTest(TlsTestCase):
    def check(self, listener_keys):
        path = os.path.join(self.tmp, "check.toml")
        listener = {"name": "web-tls", "listen": "%s:8443" % LOOPBACK, "protocol": "http",
                    "tls": True}
        listener.update(listener_keys)
        with open(path, "w") as f:
            f.write(render_config({"workers": 1}, [listener],
                                  [{"path_prefix": "/", "pool": "p"}],
                                  {"p": {"nodes": ["%s:8080" % LOOPBACK]}},
                                  certificates=self.default_certificates()))
        return run_check(passeur_binary(), path)

    def test_valid_values_pass(self):
        for keys in ({}, {"tls_records": "openssl"}, OWN, {"ktls": True},
                     {"tls_records": "openssl", "ktls": True}):
            rc, out, err = self.check(keys)
            self.assertEqual(rc, 0, "%s: %s%s" % (keys, out, err))

    def test_bad_values_name_the_key(self):
        rc, out, err = self.check({"tls_records": "kernel"})
        self.assertNotEqual(rc, 0)
        self.assertIn('unknown tls_records "kernel" (expected "openssl" or "passeur")', out + err)
        rc, out, err = self.check({"tls_records": "passeur", "ktls": True})
        self.assertNotEqual(rc, 0)
        self.assertIn('"ktls = true" needs OpenSSL\'s record layer', out + err)
        rc, out, err = self.check({"ktls": "yes"})
        self.assertNotEqual(rc, 0)
        self.assertIn('"ktls" must be true or false', out + err)


if __name__ == "__main__":
    main()
