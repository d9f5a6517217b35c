"""IMAP listeners (protocol = "imap") in front of a real Dovecot with its stock security
settings: Passeur greets the client, answers it until its login (STARTTLS with its own
certificate, plaintext logins refused before TLS), then replays the login to the node behind a
PROXY v2 header and relays the rest. Clients: python3 imaplib, raw sockets, openssl s_client
-starttls imap, curl imap:// --ssl-reqd."""

import base64
import imaplib
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import (MAIL_NAME, PASSWORD, USER, Imap, ImapSsl, MailTestCase,  # noqa: E402
                          wait_log)
from harness import LOOPBACK, main, wait_until  # noqa: E402

PLAIN = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode()).decode()


class RawImap:
    """A line-level IMAP client over a socket (TLS when `context`), from a chosen source."""

    def __init__(self, port, context=None, source="127.0.0.1"):
        s = socket.create_connection((LOOPBACK, port), 10, source_address=(source, 0))
        self.sock = context.wrap_socket(s, server_hostname=MAIL_NAME) if context else s
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed; read so far: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def until_tag(self, tag):
        """The lines up to and with the tagged answer of `tag`."""
        lines = []
        while True:
            lines.append(self.line())
            if lines[-1].startswith(tag + " "):
                return lines

    def closed(self):
        """Reads until the server closes; returns what came."""
        out = self.buf
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.sock.close()
                return out.decode(errors="replace")
            out += chunk


class ImapFrontTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.dovecot = self.start_dovecot("node1")
        self.dovecot.deliver("first message", b"Hello from the test.\r\n")

    def proxy(self, **listener):
        d = self.dovecot
        self.plain = dict({"name": "imap", "protocol": "imap", "pool": "imap"}, **listener)
        self.imaps = {"name": "imaps", "protocol": "imap", "tls": True, "pool": "imap"}
        proxy = self.start_mail_proxy(
            [self.plain, self.imaps],
            {"imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v2"}})
        return proxy

    def login_line(self, source):
        wait_log(self.dovecot.log, "rip=" + source)
        return [l for l in self.dovecot.log().splitlines() if "rip=" + source in l][-1]

    def access_line(self, proxy, source):
        wait_until(lambda: self.sessions_from(proxy, source), 10, message="access line")
        lines = self.sessions_from(proxy, source)
        self.assertEqual(len(lines), 1, lines)
        return lines[0]

    def test_starttls_then_login_and_plaintext_refused_before(self):
        proxy = self.proxy()
        c = Imap(self.plain["port"], source="127.0.0.21")
        self.assertIn("STARTTLS", c.capabilities)
        self.assertIn("LOGINDISABLED", c.capabilities)
        with self.assertRaisesRegex(imaplib.IMAP4.error, "PRIVACYREQUIRED"):
            c.login(USER, PASSWORD)
        c.starttls(ssl_context=self.starttls_context())
        self.assertIn(("DNS", MAIL_NAME), c.sock.getpeercert()["subjectAltName"])
        self.assertIn("AUTH=PLAIN", c.capabilities)
        self.assertNotIn("LOGINDISABLED", c.capabilities)
        typ, data = c.login(USER, PASSWORD)
        self.assertEqual(typ, "OK")
        # The node's post-login capabilities, relayed in its tagged OK.
        self.assertIn(b"Logged in", data[0])
        self.assertEqual(c.select("INBOX"), ("OK", [b"1"]))
        typ, msg = c.fetch("1", "(BODY[])")
        self.assertIn(b"Hello from the test.", msg[0][1])
        c.logout()
        # Dovecot saw the client's own address, and TLS (the PROXY v2 SSL TLV).
        login = self.login_line("127.0.0.21")
        self.assertIn("Login: user=<alice>", login)
        self.assertIn("secured", login)
        line = self.access_line(proxy, "127.0.0.21")
        self.assertRegex(line, r'^127\.0\.0\.21:\d+ - \[.*\] "IMAP imap" listener=imap pool=imap '
                         r'node=\S+ bytes_in=\d+ bytes_out=\d+ connect_time=[\d.]+ '
                         r'duration=[\d.]+ close=\S+ user="alice" login=ok$')

    def test_imaps_listener(self):
        proxy = self.proxy()
        c = ImapSsl(self.imaps["port"], self.client_context(), source="127.0.0.22")
        self.assertNotIn("STARTTLS", c.capabilities)
        self.assertIn("AUTH=PLAIN", c.capabilities)
        c.login(USER, PASSWORD)
        self.assertEqual(c.select("INBOX"), ("OK", [b"1"]))
        c.logout()
        self.assertIn("Login: user=<alice>", self.login_line("127.0.0.22"))
        self.assertIn('"IMAP imaps"', self.access_line(proxy, "127.0.0.22"))

    def test_openssl_s_client_starttls_with_pipelined_commands(self):
        self.proxy()
        # s_client does CAPABILITY and STARTTLS itself; the login and the commands after it
        # go in one write.
        p = subprocess.run(
            ["openssl", "s_client", "-starttls", "imap", "-connect",
             "%s:%d" % (LOOPBACK, self.plain["port"]), "-CAfile", self.pki.ca_cert,
             "-verify_return_error", "-servername", MAIL_NAME, "-quiet", "-ign_eof"],
            input=b"a LOGIN alice alicepw\r\nb SELECT INBOX\r\nc LOGOUT\r\n",
            capture_output=True, timeout=30)
        out = p.stdout.decode(errors="replace")
        self.assertRegex(out, r"a OK \[CAPABILITY [^\]]*\] Logged in")
        self.assertIn("b OK [READ-WRITE] Select completed", out)
        self.assertIn("* BYE Logging out", out)
        self.assertIn("c OK Logout completed", out)
        self.assertLess(out.index("a OK"), out.index("b OK"))

    def test_curl_imap_ssl_reqd(self):
        self.proxy()
        port = self.plain["port"]
        p = subprocess.run(
            ["curl", "-sS", "--ssl-reqd", "--cacert", self.pki.ca_cert, "--interface",
             "127.0.0.23", "--resolve", "%s:%d:%s" % (MAIL_NAME, port, LOOPBACK),
             "-u", "%s:%s" % (USER, PASSWORD),
             "imap://%s:%d/INBOX;MAILINDEX=1" % (MAIL_NAME, port)],
            capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"Hello from the test.", p.stdout)
        self.assertIn("Login: user=<alice>", self.login_line("127.0.0.23"))

    def test_authenticate_plain_with_and_without_initial_response(self):
        self.proxy()
        r = RawImap(self.imaps["port"], self.client_context(), source="127.0.0.24")
        r.send(("a AUTHENTICATE PLAIN %s\r\n" % PLAIN).encode())
        lines = r.until_tag("a")
        self.assertRegex(lines[-1], r"^a OK \[CAPABILITY .*IDLE.*\] Logged in$")
        r.send(b"b LOGOUT\r\n")
        self.assertIn("b OK", r.closed())
        c = ImapSsl(self.imaps["port"], self.client_context(), source="127.0.0.25")
        typ, _ = c.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (USER, PASSWORD)).encode())
        self.assertEqual(typ, "OK")
        self.assertEqual(c.select("INBOX"), ("OK", [b"1"]))
        c.logout()
        for source in ("127.0.0.24", "127.0.0.25"):
            self.assertIn("Login: user=<alice>", self.login_line(source))

    def test_login_with_literals(self):
        self.proxy()
        r = RawImap(self.imaps["port"], self.client_context(), source="127.0.0.26")
        r.send(b"L1 LOGIN {5}\r\n")
        self.assertTrue(r.line().startswith("+"))
        r.send(b"alice {7+}\r\nalicepw\r\nL2 SELECT INBOX\r\n")
        lines = r.until_tag("L1")
        self.assertRegex(lines[-1], r"^L1 OK .*Logged in$")
        lines = r.until_tag("L2")
        self.assertIn("* 1 EXISTS", lines)
        r.send(b"L3 LOGOUT\r\n")
        self.assertIn("L3 OK", r.closed())

    def test_wrong_password_gets_the_nodes_answer_then_a_retry_works(self):
        proxy = self.proxy()
        c = ImapSsl(self.imaps["port"], self.client_context(), source="127.0.0.27")
        with self.assertRaisesRegex(imaplib.IMAP4.error, "AUTHENTICATIONFAILED"):
            c.login(USER, "wrong")
        c.login(USER, PASSWORD)
        c.logout()
        self.assertRegex(self.access_line(proxy, "127.0.0.27"), r'user="alice" login=ok$')
        # Refused only.
        c = ImapSsl(self.imaps["port"], self.client_context(), source="127.0.0.28")
        with self.assertRaisesRegex(imaplib.IMAP4.error, "AUTHENTICATIONFAILED"):
            c.login(USER, "wrong")
        c.shutdown()
        self.assertRegex(self.access_line(proxy, "127.0.0.28"), r'user="alice" login=refused$')

    def test_malformed_and_oversized_lines(self):
        proxy = self.proxy()
        r = RawImap(self.plain["port"], source="127.0.0.29")
        r.send(b"\r\n")
        self.assertEqual(r.line(), "* BAD Error in IMAP command received by server.")
        r.send(b"a SELECT INBOX\r\n")
        self.assertRegex(r.line(), r"^a BAD ")
        r.send(b"b LOGIN \"open\r\n")
        self.assertRegex(r.line(), r"^b BAD ")
        r.send(b"c NOOP\r\n")
        self.assertEqual(r.line(), "c OK NOOP completed.")
        r.send(b"d LOGIN " + b"x" * 9000)
        self.assertEqual(r.closed(), "* BYE Line too long.\r\n")
        self.assertIn("close=line_too_long user=- login=none",
                      self.access_line(proxy, "127.0.0.29"))
        # A literal larger than a login needs, sent at once.
        r = RawImap(self.plain["port"], source="127.0.0.30")
        r.send(b"e LOGIN {1000000+}\r\n" + b"y" * 100000)
        self.assertIn("* BYE Literal too large.", r.closed())

    def test_silent_client_closed_after_login_timeout(self):
        proxy = self.proxy(login_timeout="1s")
        r = RawImap(self.plain["port"], source="127.0.0.31")
        self.assertTrue(r.greeting.startswith("* OK [CAPABILITY IMAP4rev1"))
        start = time.monotonic()
        self.assertEqual(r.closed(), "* BYE Disconnected for inactivity.\r\n")
        took = time.monotonic() - start
        self.assertGreater(took, 0.8)
        self.assertLess(took, 4)
        self.assertIn("close=login_timeout", self.access_line(proxy, "127.0.0.31"))


class ImapIdTest(MailTestCase):
    def test_id_tells_a_trusting_dovecot_the_clients_address(self):
        """Without a PROXY header, a Dovecot that trusts Passeur (login_trusted_networks) logs
        the address Passeur sent in IMAP ID x-originating-ip."""
        d = self.start_dovecot("node1", login_trusted="127.0.0.1/32")
        imaps = {"name": "imaps", "protocol": "imap", "tls": True, "pool": "imap"}
        self.start_mail_proxy([imaps], {"imap": {"nodes": [d.address(d.imap_port)],
                                                 "mail_id": True}})
        c = ImapSsl(imaps["port"], self.client_context(), source="127.0.0.32")
        c.login(USER, PASSWORD)
        c.logout()
        wait_log(d.log, "rip=127.0.0.32")
        login = [l for l in d.log().splitlines() if "rip=127.0.0.32" in l][-1]
        self.assertIn("Login: user=<alice>", login)


if __name__ == "__main__":
    main()
