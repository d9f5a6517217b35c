"""Certificates on reload and at start-up: SIGHUP re-reads every certificate (new handshakes get
the renewed one, open connections and transfers go on untouched); a broken file on SIGHUP is
logged with its path and the old certificate keeps serving; `passeur check` and start-up refuse
a broken certificate, naming its path."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pki  # noqa: E402
from tls_support import (CLOUD, HTTP_GET_CLOSE, WEBMAIL, TlsConn, TlsTestCase,  # noqa: E402
                         client_context, s_client)
from harness import (MiB, MarkedStreamChecker, main, make_marked_file,  # noqa: E402
                     wait_until)

BIG = 512 * MiB


class ReloadTest(TlsTestCase):
    """passeur serves webmail from a certbot-like live/ directory whose files the tests
    replace, as a renewal does."""

    def setUp(self):
        super().setUp()
        live = os.path.join(self.tmp, "live")
        self.webmail_files = pki.copy_leaf(self.certs.rsa, os.path.join(live, WEBMAIL))
        self.cloud_files = pki.copy_leaf(self.certs.cloud, os.path.join(live, CLOUD))
        self.node = self.start_nginx("webmail")
        self.proxy = self.start_tls_proxy(
            [{"path_prefix": "/", "pool": "webmail"}],
            {"webmail": {"nodes": [self.node.address]}},
            certificates=[self.webmail_files, self.cloud_files])
        self.ctx = client_context(self.certs.ca, check_hostname=True)

    def serial(self, name=WEBMAIL):
        with TlsConn(self.proxy.port, name, context=self.ctx) as c:
            return c.serial()

    def install(self, cert_src=None, key_src=None, files=None):
        files = files or self.webmail_files
        pki.install_files(files["cert"], cert_src, files["key"], key_src)

    def reload(self):
        self.proxy.signal(signal.SIGHUP)

    def wait_logged(self, since, *paths, timeout=5.0):
        def logged():
            text = self.proxy.stderr_text()[since:]
            return any(p in text for p in paths) and text
        return wait_until(logged, timeout, message="a log line naming %s" % " or ".join(paths))

    def test_sighup_serves_renewed_certificate(self):
        old, new = int(self.certs.rsa.serial, 16), int(self.certs.rsa2.serial, 16)
        self.assertEqual(self.serial(), old)
        held = TlsConn(self.proxy.port, WEBMAIL, context=self.ctx)
        self.addCleanup(held.close)
        self.assertEqual(held.roundtrip("GET", "/", WEBMAIL).status, 200)

        since = len(self.proxy.stderr_text())
        self.install(self.certs.rsa2.fullchain, self.certs.rsa2.key)
        self.reload()
        wait_until(lambda: self.serial() == new, 5, 0.1, "the renewed certificate")
        # only the renewed certificate's TLS context is made again; cloud's is kept
        self.assertIn("certificates: 1 TLS contexts made, 1 unchanged kept",
                      self.wait_logged(since, "TLS contexts made"))
        for _ in range(3):
            self.assertEqual(self.serial(), new)
        self.assertEqual(self.serial(CLOUD), int(self.certs.cloud.serial, 16))
        # the connection opened before the reload goes on, on its own certificate
        r = held.roundtrip("GET", "/", WEBMAIL)
        self.assertEqual((r.status, r.text), (200, "webmail\n"))
        self.assertEqual(held.serial(), old)
        self.assertTrue(self.proxy.alive())

    def test_certificate_added_and_removed_by_reload(self):
        wild = self.certs.wildcard
        # no certificate names calendar.example.coop yet: the default (webmail's) answers
        self.assertEqual(self.serial_any("calendar.example.coop"), int(self.certs.rsa.serial, 16))
        self.proxy.certificates = [self.webmail_files, self.cloud_files, wild.config()]
        self.proxy.write_config()
        self.reload()
        wait_until(lambda: self.serial_any("calendar.example.coop") == int(wild.serial, 16),
                   5, 0.1, "the added wildcard certificate")
        # cloud's dropped: its name is now covered by the wildcard
        self.proxy.certificates = [self.webmail_files, wild.config()]
        self.proxy.write_config()
        self.reload()
        wait_until(lambda: self.serial_any(CLOUD) == int(wild.serial, 16), 5, 0.1,
                   "cloud.example.coop to be served by the wildcard")

    def serial_any(self, name):
        """The serial served for `name`, without checking the name."""
        ctx = client_context(self.certs.ca)
        with TlsConn(self.proxy.port, name, context=ctx) as c:
            return c.serial()

    def test_download_continues_across_reload(self):
        make_marked_file(os.path.join(self.node.static_dir, "big.bin"), BIG)
        c = TlsConn(self.proxy.port, WEBMAIL, context=self.ctx, timeout=30)
        self.addCleanup(c.close)
        c.request("GET", "/static/big.bin", WEBMAIL)
        head = c.read_head()
        self.assertEqual(head.status, 200)
        self.assertEqual(head.header("Content-Length"), str(BIG))
        chk = MarkedStreamChecker(BIG)
        got = len(c.buf)
        chk.feed(c.buf)
        c.buf = b""
        buf = bytearray(1 * MiB)
        view = memoryview(buf)

        def read_upto(limit):
            nonlocal got
            while got < limit:
                n = c.sock.recv_into(view, min(len(buf), limit - got))
                if n == 0:
                    raise AssertionError("connection closed after %d of %d bytes" % (got, BIG))
                chk.feed(bytes(view[:n]))
                got += n

        read_upto(32 * MiB)
        # the transfer is under way: renew the certificate and reload
        self.install(self.certs.rsa2.fullchain, self.certs.rsa2.key)
        self.reload()
        wait_until(lambda: self.serial() == int(self.certs.rsa2.serial, 16), 5, 0.1,
                   "the renewed certificate")
        read_upto(BIG)
        self.assertEqual(chk.check(), [])
        self.assertEqual(c.serial(), int(self.certs.rsa.serial, 16))
        # and the connection is still good for another request
        r = c.roundtrip("GET", "/", WEBMAIL)
        self.assertEqual((r.status, r.text), (200, "webmail\n"))

    def assertBrokenReloadKeepsOld(self, *paths, repair=None):
        since = len(self.proxy.stderr_text())
        self.reload()
        self.wait_logged(since, *paths)
        time.sleep(0.2)
        self.assertTrue(self.proxy.alive(), "a broken certificate on SIGHUP stopped the proxy")
        for _ in range(3):
            self.assertEqual(self.serial(), int(self.certs.rsa.serial, 16))
        self.assertEqual(self.serial(CLOUD), int(self.certs.cloud.serial, 16))
        with TlsConn(self.proxy.port, WEBMAIL, context=self.ctx) as c:
            r = c.roundtrip("GET", "/", WEBMAIL)
            self.assertEqual((r.status, r.text), (200, "webmail\n"))
        # a good certificate later is picked up
        if repair:
            repair()
        self.install(self.certs.rsa2.fullchain, self.certs.rsa2.key)
        self.reload()
        wait_until(lambda: self.serial() == int(self.certs.rsa2.serial, 16), 5, 0.1,
                   "the fixed certificate")

    def test_mismatched_key_on_reload_keeps_old_certificate(self):
        self.install(key_src=self.certs.mismatched_key)
        self.assertBrokenReloadKeepsOld(self.webmail_files["key"], self.webmail_files["cert"])

    def test_renewed_cert_with_old_key_keeps_old_certificate(self):
        # a renewal caught half-way: the new certificate is in place, its key not yet
        self.install(cert_src=self.certs.rsa2.fullchain)
        self.assertBrokenReloadKeepsOld(self.webmail_files["key"], self.webmail_files["cert"])

    def test_garbage_certificate_on_reload_keeps_old_certificate(self):
        with open(self.webmail_files["cert"], "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n"
                    "-----END CERTIFICATE-----\n")
        self.assertBrokenReloadKeepsOld(self.webmail_files["cert"])

    def test_missing_certificate_on_reload_keeps_old_certificate(self):
        os.unlink(self.webmail_files["cert"])
        self.assertBrokenReloadKeepsOld(self.webmail_files["cert"])

    def test_unreadable_key_on_reload_keeps_old_certificate(self):
        # a directory where the key should be: open works, reading fails
        os.unlink(self.webmail_files["key"])
        os.mkdir(self.webmail_files["key"])
        self.assertBrokenReloadKeepsOld(self.webmail_files["key"],
                                        repair=lambda: os.rmdir(self.webmail_files["key"]))

    def test_broken_second_certificate_keeps_all_old_ones(self):
        # one bad file fails the whole reload: webmail (good, renewed) is not swapped alone
        self.install(self.certs.rsa2.fullchain, self.certs.rsa2.key)
        pki.install_files(self.cloud_files["cert"], None, self.cloud_files["key"],
                          self.certs.mismatched_key)
        since = len(self.proxy.stderr_text())
        self.reload()
        self.wait_logged(since, self.cloud_files["key"], self.cloud_files["cert"])
        time.sleep(0.2)
        self.assertTrue(self.proxy.alive())
        self.assertEqual(self.serial(), int(self.certs.rsa.serial, 16))
        self.assertEqual(self.serial(CLOUD), int(self.certs.cloud.serial, 16))

    def test_session_resumes_across_reload(self):
        sess = os.path.join(self.tmp, "session.pem")
        req = (HTTP_GET_CLOSE % WEBMAIL).encode()
        first = s_client(self.proxy.port, "-tls1_3", "-sess_out", sess, stdin=req, ign_eof=True)
        self.assertIn("HTTP/1.1 200", first.out, first)
        since = len(self.proxy.stderr_text())
        self.reload()
        # a reload without changes: wait for it to be done (the log says so) or a moment
        time.sleep(0.5)
        self.assertTrue(self.proxy.alive(), self.proxy.stderr_text()[since:])
        second = s_client(self.proxy.port, "-tls1_3", "-sess_in", sess, stdin=req,
                          ign_eof=True)
        self.assertIn("HTTP/1.1 200", second.out, second)
        self.assertTrue(second.reused, second)


class CheckAndStartupTest(TlsTestCase):
    def config_with(self, webmail_cert, webmail_key, start=False):
        node_addr = "127.0.0.1:1"
        proxy_kw = dict(certificates=[{"cert": webmail_cert, "key": webmail_key},
                                      self.certs.cloud.config()])
        if start:
            return self.start_tls_proxy([{"path_prefix": "/", "pool": "p"}],
                                        {"p": {"nodes": [node_addr]}}, wait=False, **proxy_kw)
        from harness import Passeur
        listener = {"name": "web-tls", "tls": True}
        return Passeur(self.tmp, [{"path_prefix": "/", "pool": "p"}],
                       {"p": {"nodes": [node_addr]}}, listener=listener, **proxy_kw)

    def assertCheckFails(self, cert, key, *paths):
        p = self.config_with(cert, key)
        rc, out, err = p.check()
        self.assertNotEqual(rc, 0, "check accepted a broken certificate:\n%s%s" % (out, err))
        self.assertTrue(any(path in out + err for path in paths),
                        "check did not name %s:\n%s%s" % (" or ".join(paths), out, err))

    def test_check_accepts_good_certificates(self):
        p = self.config_with(self.certs.rsa.fullchain, self.certs.rsa.key)
        rc, out, err = p.check()
        self.assertEqual(rc, 0, out + err)

    def test_check_fails_on_mismatched_key(self):
        self.assertCheckFails(self.certs.rsa.fullchain, self.certs.mismatched_key,
                              self.certs.mismatched_key, self.certs.rsa.fullchain)

    def test_check_fails_on_missing_certificate(self):
        missing = os.path.join(self.tmp, "no-such-dir", "fullchain.pem")
        self.assertCheckFails(missing, self.certs.rsa.key, missing)

    def test_check_fails_on_garbage_key(self):
        garbage = os.path.join(self.tmp, "garbage.key")
        with open(garbage, "wb") as f:
            f.write(os.urandom(600))
        self.assertCheckFails(self.certs.rsa.fullchain, garbage, garbage)

    def test_check_fails_on_key_given_as_certificate(self):
        self.assertCheckFails(self.certs.rsa.key, self.certs.rsa.key, self.certs.rsa.key)

    def assertStartupFails(self, cert, key, path):
        proxy = self.config_with(cert, key, start=True)
        proxy.expect_exit = True
        try:
            rc = proxy.wait(10)
        except Exception:  # noqa: BLE001 - still running is the failure reported below
            rc = None
        self.assertIsNotNone(rc, "passeur started with a broken certificate")
        self.assertNotEqual(rc, 0)
        err = proxy.stderr_text()
        self.assertIn(path, err)
        return err

    def test_startup_fails_on_missing_certificate(self):
        missing = os.path.join(self.tmp, "live", "fullchain.pem")
        err = self.assertStartupFails(missing, self.certs.rsa.key, missing)
        self.assertRegex(err, r"(?i)no such file|not found|cannot|missing")

    def test_startup_fails_on_mismatched_key(self):
        self.assertStartupFails(self.certs.rsa.fullchain, self.certs.mismatched_key,
                                self.certs.mismatched_key)

    def test_expired_certificate_is_served_with_a_warning(self):
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "p"}],
                                     {"p": {"nodes": ["127.0.0.1:1"]}},
                                     certificates=self.default_certificates()
                                     + [self.certs.expired.config()])
        with TlsConn(proxy.port, pki.EXPIRED_NAME,
                     context=client_context(verify=False)) as c:
            der = c.sock.getpeercert(binary_form=True)
        self.assertTrue(der)
        wait_until(lambda: self.certs.expired.fullchain in proxy.stderr_text(), 3,
                   message="a warning naming the expired certificate")
        self.assertIn("expire", proxy.stderr_text())


if __name__ == "__main__":
    main()
