"""STARTTLS from Passeur to the mail nodes (a pool's node_tls), against real servers with their
stock security settings: Postfix's submission port offers AUTH only after STARTTLS
(smtpd_tls_auth_only = yes), and Dovecot reached without a PROXY header sees Passeur's address,
not the client's TLS, so its stock disable_plaintext_auth = yes refuses a login in clear. The
nodes' certificate is made at run time by the test's CA, which Passeur gets as node_ca_file. A
node whose certificate does not verify cannot take the login: the client gets the temporary
failure and Passeur's log names the node and the verification error."""

import imaplib
import os
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import (ADDRESS, MAIL_NAME, PASSWORD, USER, Imap, MailTestCase,  # noqa: E402
                          Pki, Pop3, read_text, wait_log)
from harness import LOOPBACK, main, wait_until  # noqa: E402

SENDER = "bob@example.test"
# Dovecot also listens here: Passeur's connections to it come from 127.0.0.1, another address,
# so Dovecot does not take them as local (and secured) connections.
NODE_IP = "127.0.0.2"


class NodeStartTlsTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.dovecot = self.start_dovecot("node1", ip=NODE_IP)

    def tls_pool(self, node, **extra):
        pool = {"nodes": [node], "node_tls": "starttls", "node_ca_file": self.pki.ca_cert,
                "node_server_name": MAIL_NAME}
        pool.update(extra)
        return pool

    def access_line(self, proxy, source):
        wait_until(lambda: self.sessions_from(proxy, source), 10, message="access line")
        lines = self.sessions_from(proxy, source)
        self.assertEqual(len(lines), 1, lines)
        return lines[0]

    def imap_client(self, port, source):
        c = Imap(port, source)
        c.starttls(ssl_context=self.starttls_context())
        return c

    def test_imap_login_over_starttls_to_dovecot_without_proxy_header(self):
        node = self.dovecot.address(self.dovecot.imap_port)
        tls = {"name": "imap", "protocol": "imap", "pool": "tls"}
        clear = {"name": "imap_clear", "protocol": "imap", "pool": "clear"}
        proxy = self.start_mail_proxy([tls, clear],
                                      {"tls": self.tls_pool(node), "clear": {"nodes": [node]}})

        # In clear, Dovecot's stock settings refuse the login: what node_tls is for.
        c = self.imap_client(clear["port"], "127.0.0.61")
        with self.assertRaises(imaplib.IMAP4.error) as e:
            c.login(USER, PASSWORD)
        self.assertIn("PRIVACYREQUIRED", str(e.exception))
        c.logout()

        c = self.imap_client(tls["port"], "127.0.0.62")
        typ, data = c.login(USER, PASSWORD)
        self.assertEqual(typ, "OK", data)
        self.assertEqual(c.select("INBOX")[0], "OK")
        typ, data = c.noop()
        self.assertEqual(typ, "OK")
        c.logout()
        # Dovecot saw Passeur's address over TLS.
        wait_log(self.dovecot.log, "Login: user=<alice>, method=PLAIN, rip=127.0.0.1, "
                                   "lip=%s" % NODE_IP)
        logins = [l for l in self.dovecot.log().splitlines()
                  if "imap-login" in l and "Login: user=<alice>" in l]
        self.assertEqual(len(logins), 1, logins)
        self.assertIn(", TLS", logins[0])
        self.assertRegex(self.access_line(proxy, "127.0.0.62"),
                         r'"IMAP imap" listener=imap pool=tls node=\S+ .*close=(node|client)_fin '
                         r'user="alice" login=ok$')

    def test_pop3_login_over_stls_when_the_node_offers_it(self):
        # node_tls = "auto": Dovecot's CAPA lists STLS, so Passeur uses it.
        node = self.dovecot.address(self.dovecot.pop3_port)
        pop3 = {"name": "pop3", "protocol": "pop3", "pool": "tls"}
        proxy = self.start_mail_proxy([pop3], {"tls": self.tls_pool(node, node_tls="auto")})
        c = Pop3(pop3["port"], "127.0.0.63")
        c.stls(context=self.starttls_context())
        c.user(USER)
        self.assertTrue(c.pass_(PASSWORD).startswith(b"+OK"))
        self.assertEqual(len(c.stat()), 2)
        c.quit()
        wait_until(lambda: [l for l in self.dovecot.log().splitlines()
                            if "pop3-login" in l and "Login: user=<alice>, method=PLAIN, "
                            "rip=127.0.0.1, lip=%s" % NODE_IP in l and ", TLS" in l], 10,
                   message="Dovecot's POP3 login over TLS")
        self.assertRegex(self.access_line(proxy, "127.0.0.63"),
                         r'"POP3 pop3" listener=pop3 pool=tls .* user="alice" login=ok$')

    def test_a_node_whose_certificate_does_not_verify_is_not_used(self):
        node = self.dovecot.address(self.dovecot.imap_port)
        other = Pki(os.path.join(self.tmp, "other-ca"))
        imap = {"name": "imap", "protocol": "imap", "pool": "tls"}
        proxy = self.start_mail_proxy([imap], {"tls": self.tls_pool(
            node, node_ca_file=other.ca_cert)})
        c = self.imap_client(imap["port"], "127.0.0.64")
        with self.assertRaises(imaplib.IMAP4.error) as e:
            c.login(USER, PASSWORD)
        self.assertIn("UNAVAILABLE", str(e.exception))
        c.shutdown()
        wait_until(lambda: "certificate verify failed" in proxy.stderr_text(), 10,
                   message="the verification error in Passeur's log")
        line = [l for l in proxy.stderr_text().splitlines() if "certificate verify failed" in l]
        self.assertIn('pool "tls" node "%s"' % node, line[0])
        self.assertIn("unable to get local issuer certificate", line[0])
        self.assertRegex(self.access_line(proxy, "127.0.0.64"),
                         r'close=node_tls_failed user="alice" login=failed$')
        # The password never reached the node.
        self.assertNotIn("user=<alice>", self.dovecot.log())

        # The name is checked too: by default the node's address, which its certificate does
        # not name.
        by_address = {"name": "imap", "protocol": "imap", "pool": "tls"}
        proxy = self.start_mail_proxy([by_address], {"tls": {
            "nodes": [node], "node_tls": "starttls", "node_ca_file": self.pki.ca_cert}})
        c = self.imap_client(by_address["port"], "127.0.0.67")
        with self.assertRaises(imaplib.IMAP4.error) as e:
            c.login(USER, PASSWORD)
        self.assertIn("UNAVAILABLE", str(e.exception))
        c.shutdown()
        wait_until(lambda: "certificate verify failed" in proxy.stderr_text(), 10,
                   message="the verification error in Passeur's log")
        self.assertIn('certificate verify failed for "%s": IP address mismatch' % NODE_IP,
                      proxy.stderr_text())
        self.assertNotIn("user=<alice>", self.dovecot.log())

    def test_smtp_submission_auth_after_starttls_and_a_message_delivered(self):
        postfix = self.start_postfix(self.dovecot)
        node = "%s:%d" % (LOOPBACK, postfix.submission_proxy_port)
        tls = {"name": "submission", "protocol": "smtp", "pool": "tls"}
        clear = {"name": "submission_clear", "protocol": "smtp", "pool": "clear"}
        proxy = self.start_mail_proxy(
            [tls, clear], {"tls": self.tls_pool(node, proxy_protocol="v2"),
                           "clear": {"nodes": [node], "proxy_protocol": "v2"}})

        def client(port, source):
            c = smtplib.SMTP(LOOPBACK, port, timeout=10, source_address=(source, 0))
            c.ehlo("client.example")
            c.starttls(context=self.starttls_context())
            c.ehlo("client.example")
            c.user, c.password = USER, PASSWORD
            return c

        # In clear, Postfix offers no AUTH (smtpd_tls_auth_only): no node can take the login.
        c = client(clear["port"], "127.0.0.65")
        with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
            c.auth("PLAIN", c.auth_plain)
        self.assertEqual(e.exception.smtp_code, 454)
        c.close()

        c = client(tls["port"], "127.0.0.66")
        self.assertEqual(c.auth("PLAIN", c.auth_plain)[0], 235)
        msg = ("From: %s\r\nTo: %s\r\nSubject: over node starttls\r\n\r\nHello.\r\n"
               % (SENDER, ADDRESS))
        self.assertEqual(c.sendmail(SENDER, [ADDRESS], msg), {})
        c.quit()
        new = os.path.join(self.dovecot.mail_dir, USER, "Maildir", "new")
        wait_until(lambda: os.path.isdir(new) and any(
            "Subject: over node starttls" in read_text(os.path.join(new, f))
            for f in os.listdir(new)), 20, message="message delivered")
        wait_log(postfix.log, "client=unknown[127.0.0.66], sasl_method=PLAIN, "
                              "sasl_username=alice")
        self.assertRegex(self.access_line(proxy, "127.0.0.66"),
                         r'"SMTP submission" listener=submission pool=tls .* user="alice" '
                         r'login=ok$')


if __name__ == "__main__":
    main()
