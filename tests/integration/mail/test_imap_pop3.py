"""IMAP and POP3 through TCP listeners to a real Dovecot: implicit TLS at Passeur (993/995
style) and plain listeners where STARTTLS stays end to end; the client's own address reaches
Dovecot's log (rip=) through a PROXY v1 or v2 header; one access log line per session."""

import imaplib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import (MAIL_NAME, Imap, ImapSsl, MailTestCase, Pop3, Pop3Ssl,  # noqa: E402
                          imap_login, wait_log)
from harness import main, wait_until  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "metrics"))
from metrics_support import scrape  # noqa: E402


class ImapPop3Test(MailTestCase):
    def setUp(self):
        super().setUp()
        self.dovecot = self.start_dovecot("node1")
        self.dovecot.deliver("first message", b"Hello from the test.\r\n")

    def test_imaps_with_tls_at_passeur_and_proxy_v2(self):
        d = self.dovecot
        proxy = self.start_mail_proxy(
            [{"name": "imaps", "tls": True, "pool": "imap"}],
            {"imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v2"}})
        c = imap_login(proxy.port, tls=True, context=self.client_context(), source="127.0.0.5")
        typ, data = c.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"1"]))
        typ, msg = c.fetch("1", "(BODY[])")
        self.assertEqual(typ, "OK")
        self.assertIn(b"Hello from the test.", msg[0][1])
        c.logout()
        # Dovecot saw the client's address from the PROXY v2 header, and a plain session.
        wait_log(d.log, "Login: user=<alice>")
        login = [l for l in d.log().splitlines() if "Login: user=<alice>" in l][-1]
        self.assertIn("rip=127.0.0.5", login)
        wait_until(lambda: self.sessions_from(proxy, "127.0.0.5"), 5, message="access line")
        lines = self.sessions_from(proxy, "127.0.0.5")
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r'^127\.0\.0\.5:\d+ - \[.*\] "TCP imaps" listener=imaps '
                         r'pool=imap node=\S+ bytes_in=\d+ bytes_out=\d+ connect_time=[\d.]+ '
                         r'duration=[\d.]+ close=(node_fin|client_fin)$')
        # The session in /metrics: its handshake, its duration and bytes on the node.
        bytes_in = int(lines[0].split("bytes_in=")[1].split()[0])
        bytes_out = int(lines[0].split("bytes_out=")[1].split()[0])
        m = scrape(proxy)
        self.assertEqual(m.value("passeur_listener_tls_handshakes_total", listener="imaps",
                                 result="ok", version="TLSv1.3"), 1)
        self.assertEqual(m.total("passeur_node_session_duration_seconds_count", pool="imap"), 1)
        self.assertEqual(m.total("passeur_node_sent_bytes_total", pool="imap"), bytes_in)
        self.assertEqual(m.total("passeur_node_received_bytes_total", pool="imap"), bytes_out)
        self.assertEqual(m.total("passeur_node_connections_active", pool="imap"), 0)
        self.assertEqual(m.total("passeur_node_in_flight_requests", pool="imap"), 0)
        self.assertGreaterEqual(m.value("passeur_listener_sent_bytes_total", listener="imaps"),
                                bytes_out)

    def test_stock_dovecot_trusts_tls_at_passeur_only(self):
        """Dovecot's stock disable_plaintext_auth = yes: a client over TLS ended at Passeur may
        log in (the PROXY v2 header carries the SSL TLV), a plaintext client may not."""
        d = self.dovecot
        proxy = self.start_mail_proxy(
            [{"name": "imaps", "tls": True, "pool": "imap"},
             {"name": "imap", "pool": "imap"}],
            {"imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v2"}})
        plain_port = int(proxy.extra_listeners[0]["listen"].rsplit(":", 1)[1])
        over_tls = ImapSsl(proxy.port, self.client_context(), source="127.0.0.11")
        self.assertNotIn("LOGINDISABLED", over_tls.capabilities)
        over_tls.login("alice", "alicepw")
        over_tls.logout()
        wait_log(d.log, "rip=127.0.0.11")
        login = [l for l in d.log().splitlines() if "rip=127.0.0.11" in l][-1]
        self.assertIn("Login: user=<alice>", login)
        plain = Imap(plain_port, source="127.0.0.12")
        self.assertIn("LOGINDISABLED", plain.capabilities)
        with self.assertRaisesRegex(imaplib.IMAP4.error, "PRIVACYREQUIRED|disabled"):
            plain.login("alice", "alicepw")
        plain.logout()

    def test_imap_starttls_end_to_end_and_proxy_v1(self):
        d = self.dovecot
        proxy = self.start_mail_proxy(
            [{"name": "imap", "pool": "imap"}],
            {"imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v1"}})
        from mail_support import Imap
        c = Imap(proxy.port, source="127.0.0.6")
        self.assertIn(b"Dovecot node1 ready", c.welcome)
        c.starttls(ssl_context=self.starttls_context())  # Dovecot's certificate, verified
        # The certificate came from Dovecot, not from Passeur (which has none here).
        self.assertEqual(c.sock.getpeercert()["subject"], ((("commonName", MAIL_NAME),),))
        c.login("alice", "alicepw")
        self.assertEqual(c.select("INBOX")[0], "OK")
        c.logout()
        wait_log(d.log, "rip=127.0.0.6")
        login = [l for l in d.log().splitlines() if "Login: user=<alice>" in l][-1]
        self.assertIn("rip=127.0.0.6", login)
        self.assertIn("TLS", login)  # Dovecot did the TLS itself
        wait_until(lambda: self.sessions_from(proxy, "127.0.0.6"), 5, message="access line")

    def test_pop3s_and_pop3(self):
        d = self.dovecot
        proxy = self.start_mail_proxy(
            [{"name": "pop3s", "tls": True, "pool": "pop3"},
             {"name": "pop3", "pool": "pop3"}],
            {"pop3": {"nodes": [d.address(d.pop3_proxy_port)], "proxy_protocol": "v2"}})
        pop3s_port = proxy.port
        pop3_port = int(proxy.extra_listeners[0]["listen"].rsplit(":", 1)[1])
        c = Pop3Ssl(pop3s_port, self.client_context(), source="127.0.0.7")
        self.assertIn(b"Dovecot node1 ready", c.getwelcome())
        c.user("alice")
        c.pass_("alicepw")
        count, _ = c.stat()
        self.assertEqual(count, 1)
        _, lines, _ = c.retr(1)
        self.assertIn(b"Hello from the test.", lines)
        c.quit()
        c = Pop3(pop3_port, source="127.0.0.8")
        c.stls(self.starttls_context())
        self.assertEqual(c.sock.getpeercert()["subject"], ((("commonName", MAIL_NAME),),))
        c.user("alice")
        c.pass_("alicepw")
        self.assertEqual(c.stat()[0], 1)
        c.quit()
        wait_log(d.log, "rip=127.0.0.8")
        logins = [l for l in d.log().splitlines() if "pop3-login: Info: Login" in l]
        self.assertTrue(any("rip=127.0.0.7" in l for l in logins), logins)
        self.assertTrue(any("rip=127.0.0.8" in l for l in logins), logins)

    def test_plain_client_on_tls_listener_is_closed(self):
        d = self.dovecot
        proxy = self.start_mail_proxy(
            [{"name": "imaps", "tls": True, "pool": "imap", "handshake_timeout": "1s"}],
            {"imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v2"}})
        import socket
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
            s.sendall(b"a1 LOGIN alice alicepw\r\n")
            try:
                data = s.recv(100)
            except ConnectionResetError:
                data = b""
            self.assertNotIn(b"OK", data)
        wait_until(lambda: any("tls_handshake_failed" in l for l in proxy.access_lines()), 5,
                   message="access line with the cause")
        self.assertNotIn("Login", d.log())
        m = scrape(proxy)
        self.assertEqual(m.value("passeur_listener_tls_handshakes_total", listener="imaps",
                                 result="protocol"), 1)
        self.assertEqual(m.total("passeur_node_session_duration_seconds_count", pool="imap"), 0)


if __name__ == "__main__":
    main()
