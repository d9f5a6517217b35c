"""SMTP listeners (protocol = "smtp") in front of a real Postfix (SASL through a real Dovecot,
both with their stock security settings): Passeur greets the client and answers it until its
AUTH (STARTTLS with its own certificate, AUTH refused before TLS), then replays the login to
Postfix's submission port behind a PROXY v2 header (AUTH without TLS there, as the README
says) and relays the rest: the message is submitted and delivered. Clients: python3 smtplib,
swaks, raw sockets, openssl s_client -starttls smtp."""

import base64
import os
import re
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import (ADDRESS, MAIL_NAME, PASSWORD, USER, MailTestCase,  # noqa: E402
                          read_text, swaks, wait_log)
from harness import LOOPBACK, main, wait_until  # noqa: E402

PLAIN = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode()).decode()
SENDER = "bob@example.test"
# The login shield: one failure from an address blocks it.
SHIELD = """
[login_shield]
window = "10m"
block = "10m"
address = { delay_after = 0, refuse_after = 1 }
network = { delay_after = 0, refuse_after = 0 }
user = { delay_after = 0, refuse_after = 0 }
"""


def message(subject):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nSent through Passeur.\r\n"
            % (SENDER, ADDRESS, subject))


class RawSmtp:
    """A line-level SMTP client over a plain socket, from a chosen source address."""

    def __init__(self, port, source):
        self.sock = socket.create_connection((LOOPBACK, port), 10, source_address=(source, 0))
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

    def closed(self):
        out = self.buf
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.sock.close()
                return out.decode(errors="replace")
            out += chunk


class SmtpFrontTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.dovecot = self.start_dovecot("node1")
        self.postfix = self.start_postfix(self.dovecot)

    def proxy(self, extra_config="", **listener):
        p = self.postfix
        self.plain = dict({"name": "submission", "protocol": "smtp", "pool": "submission"},
                          **listener)
        self.smtps = {"name": "submissions", "protocol": "smtp", "tls": True,
                      "pool": "submission"}
        return self.start_mail_proxy(
            [self.plain, self.smtps],
            {"submission": {"nodes": ["%s:%d" % (LOOPBACK, p.submissions_proxy_port)],
                            "proxy_protocol": "v2"}},
            extra_config=extra_config)

    def access_line(self, proxy, source):
        wait_until(lambda: self.sessions_from(proxy, source), 10, message="access line")
        lines = self.sessions_from(proxy, source)
        self.assertEqual(len(lines), 1, lines)
        return lines[0]

    def delivered(self, subject):
        """Waits for a message with this subject in alice's maildir (Postfix's virtual
        delivery into the mail store Dovecot serves)."""
        new = os.path.join(self.dovecot.mail_dir, USER, "Maildir", "new")

        def found():
            if not os.path.isdir(new):
                return False
            return any("Subject: " + subject in read_text(os.path.join(new, f))
                       for f in os.listdir(new))
        wait_until(found, 20, message="message %r delivered" % subject)

    def smtp(self, port, source):
        return smtplib.SMTP(LOOPBACK, port, timeout=10, source_address=(source, 0))

    def test_starttls_then_auth_plain_and_login_and_a_message_delivered(self):
        proxy = self.proxy()
        c = self.smtp(self.plain["port"], "127.0.0.51")
        code, text = c.ehlo("client.example")
        self.assertEqual(code, 250)
        self.assertTrue(text.startswith(b"Passeur\n"), text)
        self.assertTrue(c.has_extn("starttls"))
        self.assertFalse(c.has_extn("auth"))
        self.assertEqual(c.docmd("AUTH", "PLAIN " + PLAIN),
                         (530, b"5.7.0 Must issue a STARTTLS command first"))
        self.assertEqual(c.docmd("MAIL", "FROM:<%s>" % SENDER)[0], 530)
        c.starttls(context=self.starttls_context())
        c.ehlo("client.example")
        self.assertFalse(c.has_extn("starttls"))
        self.assertEqual(c.esmtp_features["auth"].split(), ["PLAIN", "LOGIN"])
        c.user, c.password = USER, PASSWORD
        code, text = c.auth("PLAIN", c.auth_plain)
        self.assertEqual(code, 235)
        self.assertIn(b"Authentication successful", text)
        self.assertEqual(c.sendmail(SENDER, [ADDRESS], message("via passeur plain")), {})
        c.quit()
        self.delivered("via passeur plain")
        # The client's address reached Postfix in the PROXY header.
        wait_log(self.postfix.log, "connect from unknown[127.0.0.51]")
        wait_log(self.postfix.log, "client=unknown[127.0.0.51], sasl_method=PLAIN, "
                                   "sasl_username=alice")
        self.assertRegex(self.access_line(proxy, "127.0.0.51"),
                         r'"SMTP submission" listener=submission pool=submission node=\S+ .* '
                         r'user="alice" login=ok$')

        # AUTH LOGIN, with the 334 prompts (no initial response).
        c = self.smtp(self.plain["port"], "127.0.0.52")
        c.starttls(context=self.starttls_context())
        c.ehlo("client.example")
        c.user, c.password = USER, PASSWORD
        self.assertEqual(c.auth("LOGIN", c.auth_login, initial_response_ok=False)[0], 235)
        self.assertEqual(c.sendmail(SENDER, [ADDRESS], message("via auth login")), {})
        c.quit()
        self.delivered("via auth login")
        wait_log(self.postfix.log, "client=unknown[127.0.0.52], sasl_method=PLAIN, "
                                   "sasl_username=alice")

    def test_implicit_tls_wrong_password_then_a_retry(self):
        proxy = self.proxy()
        c = smtplib.SMTP_SSL(LOOPBACK, self.smtps["port"], timeout=10,
                             source_address=("127.0.0.53", 0),
                             context=self.starttls_context())
        c.ehlo("client.example")
        self.assertEqual(c.esmtp_features["auth"].split(), ["PLAIN", "LOGIN"])
        self.assertEqual(c.sock.getpeercert()["subject"], ((("commonName", MAIL_NAME),),))
        c.user, c.password = USER, "wrong"
        with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
            c.auth("PLAIN", c.auth_plain)
        # Postfix's own refusal, unchanged.
        self.assertEqual(e.exception.smtp_code, 535)
        self.assertIn(b"5.7.8 Error: authentication failed", e.exception.smtp_error)
        # Back in Passeur's dialogue: AUTH LOGIN with the user name as initial response.
        c.password = PASSWORD
        self.assertEqual(c.auth("LOGIN", c.auth_login)[0], 235)
        self.assertEqual(c.sendmail(SENDER, [ADDRESS], message("via smtps")), {})
        c.quit()
        self.delivered("via smtps")
        wait_log(self.postfix.log, "connect from unknown[127.0.0.53]")
        self.assertRegex(self.access_line(proxy, "127.0.0.53"),
                         r'"SMTP submissions" listener=submissions .* user="alice" login=ok$')

    def test_login_shield_refuses_with_a_temporary_failure(self):
        proxy = self.proxy(extra_config=SHIELD)
        c = smtplib.SMTP_SSL(LOOPBACK, self.smtps["port"], timeout=20,
                             source_address=("127.0.0.59", 0),
                             context=self.starttls_context())
        c.ehlo("client.example")
        c.user, c.password = USER, "wrong"
        with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
            c.auth("PLAIN", c.auth_plain)
        self.assertEqual(e.exception.smtp_code, 535)
        # The address is blocked now: the right password gets the temporary failure, from
        # Passeur, and Postfix never hears of this login.
        c.password = PASSWORD
        with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
            c.auth("PLAIN", c.auth_plain)
        self.assertEqual((e.exception.smtp_code, e.exception.smtp_error),
                         (454, b"4.7.0 Temporary authentication failure"))
        c.quit()
        self.assertEqual(self.postfix.log().count(": connect from unknown[127.0.0.59]"), 1)
        # Another address logs the same user in.
        c = smtplib.SMTP_SSL(LOOPBACK, self.smtps["port"], timeout=20,
                             source_address=("127.0.0.60", 0),
                             context=self.starttls_context())
        c.login(USER, PASSWORD)
        c.quit()
        self.assertRegex(self.access_line(proxy, "127.0.0.59"),
                         r' node=- .*user="alice" login=refused$')
        self.assertRegex(self.access_line(proxy, "127.0.0.60"), r'user="alice" login=ok$')

    def test_a_node_without_auth_is_passed_over(self):
        """A node whose EHLO offers no AUTH (Postfix's port without SASL) never sees the login:
        each session moves on to the node that takes it."""
        p = self.postfix
        good = "%s:%d" % (LOOPBACK, p.submissions_proxy_port)
        listener = {"name": "submissions", "protocol": "smtp", "tls": True, "pool": "pair"}
        proxy = self.start_mail_proxy(
            [listener],
            {"pair": {"nodes": ["%s:%d" % (LOOPBACK, p.smtp_proxy_port), good],
                      "proxy_protocol": "v2"}})
        # Idle nodes tie and the balancer breaks ties at random: sessions go on until one was
        # first offered to the node without AUTH, which then heard only an EHLO.
        tried = False
        for i in range(20):
            source = "127.0.0.%d" % (61 + i)
            c = smtplib.SMTP_SSL(LOOPBACK, listener["port"], timeout=20,
                                 source_address=(source, 0), context=self.starttls_context())
            c.login(USER, PASSWORD)
            c.quit()
            self.assertRegex(self.access_line(proxy, source),
                             r" node=%s .*login=ok$" % re.escape(good))
            needle = "lost connection after EHLO from unknown[%s]" % source
            try:
                wait_log(self.postfix.log, needle, timeout=2)
            except AssertionError:
                continue
            tried = True
            break
        self.assertTrue(tried, "no session was offered to the node without AUTH")

    def test_swaks_starttls_and_tls_on_connect(self):
        self.proxy()
        rc, out = swaks(self.plain["port"], "--tls", "--auth", "PLAIN", "--auth-user", USER,
                        "--auth-password", PASSWORD, "--header", "Subject: via swaks",
                        source="127.0.0.54")
        self.assertEqual(rc, 0, out)
        self.assertIn("<-  220 2.0.0 Ready to start TLS", out)
        self.assertIn("TLS peer DN=\"/CN=%s\"" % MAIL_NAME, out)
        self.assertIn("235 2.7.0 Authentication successful", out)
        rc, out = swaks(self.smtps["port"], "--tls-on-connect", "--auth", "LOGIN",
                        "--auth-user", USER, "--auth-password", PASSWORD,
                        "--header", "Subject: via swaks login", source="127.0.0.55")
        self.assertEqual(rc, 0, out)
        self.assertIn("334 VXNlcm5hbWU6", out)
        self.delivered("via swaks")
        self.delivered("via swaks login")
        # Before TLS, swaks is told to start TLS first.
        rc, out = swaks(self.plain["port"], "--auth", "PLAIN", "--auth-user", USER,
                        "--auth-password", PASSWORD, source="127.0.0.56")
        self.assertNotEqual(rc, 0, out)
        self.assertNotIn("235 ", out)

    def test_openssl_s_client_starttls_with_pipelined_commands(self):
        self.proxy()
        p = subprocess.run(
            ["openssl", "s_client", "-starttls", "smtp", "-connect",
             "%s:%d" % (LOOPBACK, self.plain["port"]), "-CAfile", self.pki.ca_cert,
             "-verify_return_error", "-servername", MAIL_NAME, "-quiet", "-ign_eof"],
            input=("EHLO client.example\r\nAUTH PLAIN %s\r\nMAIL FROM:<%s>\r\n"
                   "RCPT TO:<%s>\r\nRSET\r\nQUIT\r\n" % (PLAIN, SENDER, ADDRESS)).encode(),
            capture_output=True, timeout=30)
        out = p.stdout.decode(errors="replace")
        self.assertIn("250-AUTH PLAIN LOGIN", out)
        # Postfix's answers to the commands sent with the login.
        self.assertIn("235 2.7.0 Authentication successful", out)
        self.assertIn("250 2.1.0 Ok", out)
        self.assertIn("250 2.1.5 Ok", out)
        self.assertIn("221 2.0.0 Bye", out)

    def test_malformed_oversized_and_silent_clients(self):
        proxy = self.proxy(login_timeout="1s")
        r = RawSmtp(self.plain["port"], "127.0.0.57")
        self.assertEqual(r.greeting, "220 Passeur ESMTP ready")
        r.send(b"AUTH PLAIN " + PLAIN.encode() + b"\r\n")
        self.assertEqual(r.line(), "503 5.5.1 Error: send HELO/EHLO first")
        r.send(b"BOGUS\r\nNOOP\r\n")
        self.assertEqual(r.line(), "500 5.5.2 Error: command not recognized")
        self.assertEqual(r.line(), "250 2.0.0 Ok")
        r.send(b"EHLO x\r\n" + b"x" * 9000)
        self.assertEqual([r.line() for _ in range(4)],
                         ["250-Passeur", "250-PIPELINING", "250-8BITMIME", "250-STARTTLS"])
        self.assertEqual(r.line(), "250 ENHANCEDSTATUSCODES")
        self.assertEqual(r.closed(), "421 4.7.0 Line too long, closing connection\r\n")
        self.assertIn("close=line_too_long user=- login=none",
                      self.access_line(proxy, "127.0.0.57"))

        r = RawSmtp(self.plain["port"], "127.0.0.58")
        start = time.monotonic()
        self.assertEqual(r.closed(), "421 4.4.2 Disconnected for inactivity\r\n")
        took = time.monotonic() - start
        self.assertGreater(took, 0.8)
        self.assertLess(took, 4)
        self.assertIn("close=login_timeout", self.access_line(proxy, "127.0.0.58"))


if __name__ == "__main__":
    main()
