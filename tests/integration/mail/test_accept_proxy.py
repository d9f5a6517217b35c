"""A front balancer in front of Passeur: sources in accept_proxy must start with a PROXY
header (v1 or v2), and the address it carries is the one Passeur logs and hands to Dovecot;
a trusted source without a header, and an untrusted one sending a header, are refused."""

import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import (MAIL_NAME, MailTestCase, proxy_header_v1,  # noqa: E402
                          proxy_header_v2, wait_log)
from harness import main, wait_until  # noqa: E402

FRONT = "127.0.0.20"  # the front balancer's address, trusted
OTHER = "127.0.0.21"  # anybody else


def connect_from(source, port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    return s


def read_line(s):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


class AcceptProxyTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.dovecot = self.start_dovecot("node1")
        d = self.dovecot
        self.proxy = self.start_mail_proxy(
            [{"name": "imap", "pool": "imap", "accept_proxy": [FRONT + "/32", "::1"]},
             {"name": "imaps", "pool": "imap", "tls": True, "accept_proxy": [FRONT]}],
            {"imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v2"}})
        self.imaps_port = int(self.proxy.extra_listeners[0]["listen"].rsplit(":", 1)[1])

    def login_over(self, s, starttls=False):
        """Logs in; on a plain listener after STARTTLS with Dovecot, as its stock
        disable_plaintext_auth = yes wants. Returns the socket to go on with."""
        greeting = read_line(s)
        self.assertIn(b"Dovecot node1 ready", greeting)
        if starttls:
            s.sendall(b"a0 STARTTLS\r\n")
            self.assertTrue(read_line(s).startswith(b"a0 OK"))
            s = self.starttls_context().wrap_socket(s)
        s.sendall(b"a1 LOGIN alice alicepw\r\n")
        reply = b""
        while b"a1 " not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        self.assertIn(b"a1 OK", reply)
        s.sendall(b"a2 LOGOUT\r\n")
        return s

    def test_trusted_front_v1_and_v2_carry_the_client_address(self):
        for header in (proxy_header_v1("192.0.2.44", 40001, "192.0.2.1", 143),
                       proxy_header_v2("198.51.100.45", 40002, "192.0.2.1", 143)):
            with connect_from(FRONT, self.proxy.port) as s:
                s.sendall(header)
                self.login_over(s, starttls=True).close()
        wait_log(self.dovecot.log, "rip=198.51.100.45")
        logins = [l for l in self.dovecot.log().splitlines() if "Login: user=<alice>" in l]
        self.assertIn("rip=192.0.2.44", logins[0])
        self.assertIn("rip=198.51.100.45", logins[1])
        front = lambda: [l for l in self.proxy.access_lines()  # noqa: E731
                         if not l.startswith("127.0.0.1:")]  # (the harness's readiness probe)
        wait_until(lambda: len(front()) >= 2, 5, message="access lines")
        lines = front()  # the two sessions may have run on different workers: any order
        self.assertEqual(sorted(l.split(" ")[0] for l in lines),
                         ["192.0.2.44:40001", "198.51.100.45:40002"], lines)

    def test_header_then_tls_client_hello(self):
        """The front balancer passes TLS through: the header, then the ClientHello right
        behind it in the same segment."""
        ctx = ssl.create_default_context(cafile=self.pki.ca_cert)
        raw = connect_from(FRONT, self.imaps_port)
        raw.sendall(proxy_header_v2("203.0.113.77", 41000, "192.0.2.1", 993))
        with ctx.wrap_socket(raw, server_hostname=MAIL_NAME) as s:
            self.login_over(s)
        wait_log(self.dovecot.log, "rip=203.0.113.77")

    def test_trusted_source_without_header_is_refused(self):
        with connect_from(FRONT, self.proxy.port) as s:
            s.sendall(b"a1 LOGIN alice alicepw\r\n")
            s.settimeout(5)
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            self.assertEqual(data, b"")
        wait_until(lambda: any("bad_proxy_header" in l for l in self.proxy.access_lines()), 5,
                   message="refusal in the access log")
        self.assertIn("no PROXY protocol header", self.proxy.stderr_text())
        self.assertNotIn("Login", self.dovecot.log())

    def test_untrusted_source_sending_a_header_is_refused(self):
        with connect_from(OTHER, self.proxy.port) as s:
            s.settimeout(5)
            greeting = read_line(s)  # not trusted: relayed to Dovecot at once
            self.assertIn(b"Dovecot node1 ready", greeting)
            s.sendall(proxy_header_v1("192.0.2.99", 1234, "192.0.2.1", 143) +
                      b"a1 LOGIN alice alicepw\r\n")
            rest = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    rest += chunk
            except ConnectionResetError:
                pass
            self.assertNotIn(b"a1 OK", rest)
        wait_until(lambda: any("proxy_header_refused" in l for l in self.proxy.access_lines()),
                   5, message="refusal in the access log: %s" % self.proxy.access_lines())
        line = [l for l in self.proxy.access_lines() if "proxy_header_refused" in l][0]
        self.assertTrue(line.startswith(OTHER + ":"), line)
        time.sleep(0.2)
        self.assertNotIn("192.0.2.99", self.dovecot.log())
        self.assertNotIn("Login: user=<alice>", self.dovecot.log())


if __name__ == "__main__":
    main()
