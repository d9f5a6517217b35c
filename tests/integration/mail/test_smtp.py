"""SMTP through TCP listeners to a real Postfix: submission with STARTTLS and AUTH end to end
(587 style, Postfix does the TLS), SMTPS with TLS at Passeur (465 style), inbound SMTP; the
client's own address in Postfix's `connect from` through PROXY v1 and v2; the mail read back
over IMAP through Passeur."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import MailTestCase, imap_login, swaks, wait_log  # noqa: E402
from harness import main, wait_until  # noqa: E402


class SmtpTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.dovecot = self.start_dovecot("node1")
        self.postfix = self.start_postfix(self.dovecot)

    def inbox_subjects(self, imap_port):
        c = imap_login(imap_port, context=self.starttls_context())
        c.select("INBOX")
        typ, data = c.search(None, "ALL")
        subjects = []
        for num in data[0].split():
            typ, msg = c.fetch(num, "(BODY[HEADER.FIELDS (SUBJECT)])")
            subjects.append(msg[0][1].decode().strip())
        c.logout()
        return subjects

    def test_submission_starttls_smtps_and_inbound(self):
        d, p = self.dovecot, self.postfix
        proxy = self.start_mail_proxy(
            [{"name": "submission", "pool": "submission"},
             {"name": "submissions", "tls": True, "pool": "submissions"},
             {"name": "smtp", "pool": "smtp"},
             {"name": "imap", "pool": "imap"}],
            {"submission": {"nodes": [d.address(p.submission_proxy_port)],
                            "proxy_protocol": "v2"},
             "submissions": {"nodes": [d.address(p.submissions_proxy_port)],
                             "proxy_protocol": "v1"},
             "smtp": {"nodes": [d.address(p.smtp_proxy_port)], "proxy_protocol": "v1"},
             "imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v2"}})
        ports = {l["name"]: int(l["listen"].rsplit(":", 1)[1])
                 for l in [proxy.listener] + proxy.extra_listeners}

        # 587: STARTTLS and AUTH with Postfix itself (its certificate, its TLS).
        rc, out = swaks(ports["submission"], "--tls", "--auth", "PLAIN", "--auth-user", "alice",
                        "--auth-password", "alicepw", "--header", "Subject: via submission",
                        source="127.0.0.11")
        self.assertEqual(rc, 0, out)
        self.assertIn("<-  220 2.0.0 Ready to start TLS", out)
        self.assertIn("TLS peer DN=\"/CN=mail.example.coop\"", out)
        self.assertIn("235 2.7.0 Authentication successful", out)
        # 465: TLS at Passeur, AUTH over the plain link behind it.
        rc, out = swaks(ports["submissions"], "--tls-on-connect", "--auth", "PLAIN",
                        "--auth-user", "alice", "--auth-password", "alicepw",
                        "--header", "Subject: via smtps", source="127.0.0.12")
        self.assertEqual(rc, 0, out)
        self.assertIn("235 2.7.0 Authentication successful", out)
        # 25: inbound, no auth, the domain is local.
        rc, out = swaks(ports["smtp"], "--header", "Subject: inbound", source="127.0.0.13")
        self.assertEqual(rc, 0, out)

        for addr in ("127.0.0.11", "127.0.0.12", "127.0.0.13"):
            wait_log(p.log, "connect from unknown[%s]" % addr)
        # Delivered, and read back through Passeur.
        wait_until(lambda: len(self.inbox_subjects(ports["imap"])) >= 3, 20,
                   message="three messages delivered")
        subjects = self.inbox_subjects(ports["imap"])
        for s in ("Subject: via submission", "Subject: via smtps", "Subject: inbound"):
            self.assertIn(s, subjects)
        sessions = self.sessions_from(proxy, "127.0.0.11")
        self.assertEqual(len(sessions), 1, proxy.access_lines())
        self.assertIn('"TCP submission" listener=submission pool=submission', sessions[0])

    def test_big_message_is_byte_exact(self):
        """A 50 MiB message submitted through Passeur and read back through Passeur."""
        d, p = self.dovecot, self.postfix
        proxy = self.start_mail_proxy(
            [{"name": "smtp", "pool": "smtp"}, {"name": "imap", "pool": "imap"}],
            {"smtp": {"nodes": [d.address(p.smtp_proxy_port)], "proxy_protocol": "v2"},
             "imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v2"}})
        ports = {l["name"]: int(l["listen"].rsplit(":", 1)[1])
                 for l in [proxy.listener] + proxy.extra_listeners}
        import hashlib
        import random
        import smtplib
        rnd = random.Random(6)
        alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        lines = []
        size = 0
        while size < 50 * 1024 * 1024:
            line = bytes(rnd.choice(alphabet) for _ in range(76)) if not lines else \
                lines[-1][1:] + lines[-1][:1]  # cheap variation, never a lone "."
            lines.append(line)
            size += 78
        body = b"\r\n".join(lines) + b"\r\n"
        digest = hashlib.sha256(body).hexdigest()
        msg = (b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: big\r\n"
               b"Message-ID: <big@example.test>\r\n\r\n" + body)
        t0 = time.monotonic()
        s = smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=120)
        s.sendmail("bob@example.test", ["alice@example.test"], msg)
        s.quit()
        wait_until(lambda: "Subject: big" in self.inbox_subjects(ports["imap"]), 60,
                   message="big message delivered")
        c = imap_login(ports["imap"], context=self.starttls_context(), timeout=120)
        c.select("INBOX")
        typ, data = c.search(None, "HEADER", "Subject", "big")
        typ, fetched = c.fetch(data[0].split()[0], "(BODY[TEXT])")
        c.logout()
        got = fetched[0][1]
        self.assertEqual(len(got), len(body))
        self.assertEqual(hashlib.sha256(got).hexdigest(), digest)
        if os.environ.get("PASSEUR_IT_VERBOSE") == "1":
            print("50 MiB in and out in %.1fs" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
