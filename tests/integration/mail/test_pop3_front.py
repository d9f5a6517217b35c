"""POP3 listeners (protocol = "pop3") in front of a real Dovecot with its stock security
settings: Passeur greets the client and answers it until its login (STLS with its own
certificate, USER/PASS and AUTH PLAIN refused before TLS), then replays the login to the node
behind a PROXY v2 header and relays the rest. Clients: python3 poplib, raw sockets, openssl
s_client -starttls pop3."""

import base64
import os
import poplib
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import (MAIL_NAME, PASSWORD, USER, MailTestCase, Pop3, Pop3Ssl,  # noqa: E402
                          wait_log)
from harness import LOOPBACK, main, wait_until  # noqa: E402

PLAIN = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode()).decode()


class Pop3FrontTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.dovecot = self.start_dovecot("node1")
        self.dovecot.deliver("first message", b"Hello from the test.\r\n")
        d = self.dovecot
        self.plain = {"name": "pop3", "protocol": "pop3", "pool": "pop3"}
        self.pop3s = {"name": "pop3s", "protocol": "pop3", "tls": True, "pool": "pop3"}
        self.proxy = self.start_mail_proxy(
            [self.plain, self.pop3s],
            {"pop3": {"nodes": [d.address(d.pop3_proxy_port)], "proxy_protocol": "v2"}})

    def access_line(self, source):
        wait_until(lambda: self.sessions_from(self.proxy, source), 10, message="access line")
        lines = self.sessions_from(self.proxy, source)
        self.assertEqual(len(lines), 1, lines)
        return lines[0]

    def login_line(self, source):
        wait_log(self.dovecot.log, "rip=" + source)
        return [l for l in self.dovecot.log().splitlines() if "rip=" + source in l][-1]

    def test_stls_then_user_pass_and_plaintext_refused_before(self):
        c = Pop3(self.plain["port"], source="127.0.0.41")
        self.assertIn("STLS", c.capa())
        self.assertNotIn("USER", c.capa())
        with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\]"):
            c.user(USER)
        c.stls(context=self.starttls_context())
        self.assertIn("USER", c.capa())
        c.user(USER)
        self.assertTrue(c.pass_(PASSWORD).startswith(b"+OK"))
        self.assertEqual(c.stat()[0], 1)
        self.assertIn(b"Hello from the test.", b"\n".join(c.retr(1)[1]))
        c.quit()
        self.assertIn("Login: user=<alice>", self.login_line("127.0.0.41"))
        self.assertRegex(self.access_line("127.0.0.41"),
                         r'"POP3 pop3" listener=pop3 pool=pop3 node=\S+ .* user="alice" '
                         r'login=ok$')

    def test_pop3s_auth_plain_and_wrong_password(self):
        c = Pop3Ssl(self.pop3s["port"], self.client_context(), source="127.0.0.42")
        with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\] Authentication failed"):
            c.user(USER)
            c.pass_("wrong")
        # Back in Passeur's dialogue: AUTH PLAIN with an initial response.
        self.assertTrue(c._shortcmd("AUTH PLAIN " + PLAIN).startswith(b"+OK"))
        self.assertEqual(c.stat()[0], 1)
        c.quit()
        self.assertRegex(self.access_line("127.0.0.42"), r'user="alice" login=ok$')

    def test_openssl_s_client_starttls_with_pipelined_commands(self):
        p = subprocess.run(
            ["openssl", "s_client", "-starttls", "pop3", "-connect",
             "%s:%d" % (LOOPBACK, self.plain["port"]), "-CAfile", self.pki.ca_cert,
             "-verify_return_error", "-servername", MAIL_NAME, "-quiet", "-ign_eof"],
            input=b"USER alice\r\nPASS alicepw\r\nSTAT\r\nQUIT\r\n",
            capture_output=True, timeout=30)
        out = p.stdout.decode(errors="replace")
        self.assertIn("+OK Logged in.", out)
        self.assertRegex(out, r"\+OK 1 \d+")
        self.assertIn("+OK Logging out", out)

    def test_silent_and_malformed_clients(self):
        s = socket.create_connection((LOOPBACK, self.plain["port"]), 10,
                                     source_address=("127.0.0.43", 0))
        self.assertEqual(s.recv(100), b"+OK Ready.\r\n")
        s.sendall(b"STAT\r\n" + b"x" * 9000)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        self.assertEqual(data, b"-ERR Unknown command.\r\n-ERR Line too long.\r\n")
        self.assertIn("close=line_too_long user=- login=none", self.access_line("127.0.0.43"))


if __name__ == "__main__":
    main()
