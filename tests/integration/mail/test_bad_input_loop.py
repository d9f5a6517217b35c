"""Bad input over the network, in a loop bounded in rounds and time, against a running Passeur
with real nodes (nginx behind an HTTP and an HTTPS listener, Dovecot behind an IMAPS listener
and a plain IMAP listener that trusts one front balancer's PROXY headers): malformed HTTP
request heads, random bytes on the TLS and mail ports, PROXY headers from a source not trusted
to send them and broken ones from the trusted source, and connections half-closed or reset
mid-request, mid-handshake and mid-session. Each gets its documented answer (the README's
status, or the connection closed); between the rounds everyone else is served (HTTP, HTTPS and
an IMAPS login); at the end Passeur's descriptor count is back to where it was before.

PASSEUR_BAD_INPUT_ROUNDS (default 4) sets the rounds; the loop also stops after 90 s."""

import os
import random
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import (MAIL_NAME, MailTestCase, imap_login, proxy_header_v1,  # noqa: E402
                          proxy_header_v2)
from harness import LOOPBACK, HttpConn, KiB, free_port, main, wait_until  # noqa: E402

FRONT = "127.0.0.30"  # the front balancer, trusted to send PROXY headers
OTHER = "127.0.0.31"  # anybody else
ROUNDS = int(os.environ.get("PASSEUR_BAD_INPUT_ROUNDS", "4"))
TIME_LIMIT = 90.0
# Idle pooled connections to nginx time out after 1 s (idle_timeout): once they have, nothing
# but what Passeur holds for good (listeners, admin, log, epoll, eventfds...) is left open.
FD_TOLERANCE = 2
SETTLE_SECONDS = 10.0

# (request head, statuses the README's table gives for it)
MALFORMED_HEADS = [
    (b"GARBAGE\r\n\r\n", (400,)),
    (b"GET / HTTP/9.Z\r\nHost: example.test\r\n\r\n", (400, 505)),
    (b"GET / HTTP/1.1\r\nHost: example.test\r\nNoColonHere\r\n\r\n", (400,)),
    (b"GET / HTTP/1.1\r\nHost : example.test\r\n\r\n", (400,)),
    (b"GET / HTTP/1.1\r\nHost: example.test\r\nX-A: a\x00b\r\n\r\n", (400,)),
    (b"GET / HTTP/1.1\r\nHost: example.test\r\n folded\r\n\r\n", (400,)),
    (b"GET / HTTP/1.1\nHost: example.test\n\n", (400,)),
    (b"GET / HTTP/1.1\r\n\r\n", (400,)),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", (400,)),
    (b"GET /\x7f HTTP/1.1\r\nHost: example.test\r\n\r\n", (400,)),
    (b"POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
     (400,)),
    (b"POST / HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Length: 3\r\n\r\n", (400,)),
    (b"POST / HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
     (501,)),
    (b"POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: -1\r\n\r\n", (400,)),
    (b"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n", (405,)),
    (b"GET / HTTP/1.1\r\nHost: example.test\r\nX-Big: " + b"a" * (40 * KiB) + b"\r\n\r\n",
     (431,)),
]


def connect(port, source=LOOPBACK, timeout=5):
    s = socket.create_connection((LOOPBACK, port), timeout=timeout, source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(s):
    """Closes with a RST rather than a FIN (SO_LINGER 0)."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def send_and_finish(s, data):
    """Sends `data`, then a FIN; Passeur may have refused and closed (or reset) the connection
    before either went out."""
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def read_to_close(s, timeout):
    """What the peer sends until it closes; None if it is still open after `timeout`."""
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
    except socket.timeout:
        return None
    except ConnectionResetError:
        return data


def only_alerts(data):
    """True if `data` is nothing, or TLS alert records only."""
    while data:
        if len(data) < 5 or data[0] != 21:
            return False
        data = data[5 + int.from_bytes(data[3:5], "big"):]
    return True


def client_hello(ctx):
    """The first flight of a real TLS client (its ClientHello), to be cut or followed by
    nothing."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=MAIL_NAME)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


class BadInputLoopTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.rng = random.Random(int(os.environ.get("PASSEUR_BAD_INPUT_SEED", "2026")))
        self.node = self.start_nginx("node-a")
        self.dovecot = self.start_dovecot("node1")
        d = self.dovecot
        self.https_port, self.imaps_port, self.imap_port = free_port(), free_port(), free_port()
        pools = {"main": {"nodes": [self.node.address], "idle_timeout": "1s"},
                 "imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v2"}}
        extra = [{"name": "webs", "listen": "%s:%d" % (LOOPBACK, self.https_port),
                  "protocol": "http", "tls": True},
                 {"name": "imaps", "listen": "%s:%d" % (LOOPBACK, self.imaps_port),
                  "protocol": "tcp", "tls": True, "pool": "imap"},
                 {"name": "imap", "listen": "%s:%d" % (LOOPBACK, self.imap_port),
                  "protocol": "tcp", "pool": "imap", "accept_proxy": [FRONT + "/32"]}]
        self.proxy = self.start_passeur(
            [{"path_prefix": "/", "pool": "main"}], pools,
            listener={"header_timeout": "2s", "max_header": "32KiB"},
            extra_listeners=extra, certificates=[self.leaf.config()],
            server={"workers": 2})
        self.tls = self.client_context()

    # ---- everyone else ----------------------------------------------------------------------

    def served(self):
        """A plain and an HTTPS request, and an IMAPS login, each as it should be."""
        with HttpConn(self.proxy.port) as c:
            r = c.roundtrip("GET", "/")
            self.assertEqual((r.status, r.body), (200, b"node-a\n"))
        with self.tls.wrap_socket(connect(self.https_port), server_hostname=MAIL_NAME) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n")
            reply = read_to_close(s, 10)
            self.assertIsNotNone(reply, "the HTTPS request was not answered")
            self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:200])
            self.assertTrue(reply.endswith(b"node-a\n"), reply[-200:])
        c = imap_login(self.imaps_port, tls=True, context=self.tls)
        self.assertEqual(c.select("INBOX")[0], "OK")
        c.logout()

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.proxy.pid))

    # ---- bad input --------------------------------------------------------------------------

    def malformed_heads(self):
        for head, statuses in MALFORMED_HEADS:
            with HttpConn(self.proxy.port, timeout=5) as c:
                c.send(head)
                r = c.read_response()
                self.assertIn(r.status, statuses, "for %r: %r" % (head[:60], r.raw_head[:200]))
                self.assertTrue(r.status == 431 or c.closed_within(3),
                                "left open after a %d for %r" % (r.status, head[:60]))

    def mutated_heads(self, n):
        """A valid request with random bytes overwritten: any answer, or a close, in time."""
        base = bytearray(b"POST /a/b?c=d HTTP/1.1\r\nHost: example.test\r\n"
                         b"Content-Length: 5\r\nConnection: keep-alive\r\n\r\nhello")
        for _ in range(n):
            data = bytearray(base)
            for _ in range(self.rng.randint(1, 6)):
                data[self.rng.randrange(len(data))] = self.rng.randrange(256)
            s = connect(self.proxy.port)
            send_and_finish(s, bytes(data))  # nothing more comes: a cut head is never complete
            reply = read_to_close(s, 10)
            s.close()
            self.assertIsNotNone(reply, "no answer nor close for %r" % bytes(data))
            if reply:
                self.assertRegex(reply[:13], rb"^HTTP/1\.1 [1-5]\d\d ", bytes(data))

    def random_bytes_on_tls(self, port):
        """Random bytes, some behind a handshake record's header, then the client's FIN: closed,
        with at most an alert."""
        for i in range(4):
            junk = os.urandom(self.rng.randint(1, 3000))
            if i % 2:
                junk = b"\x16\x03\x01" + len(junk).to_bytes(2, "big") + junk
            s = connect(port)
            send_and_finish(s, junk)
            reply = read_to_close(s, 10)
            s.close()
            self.assertIsNotNone(reply, "the TLS port %d kept a connection of junk open" % port)
            self.assertTrue(only_alerts(reply), reply[:64])

    def proxy_headers(self):
        # The trusted front balancer sending junk, or a header cut short then a FIN: refused
        # without a greeting (bad_proxy_header).
        for junk in (os.urandom(200), b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n",
                     b"PROXY TCP4 not an address\r\n", b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff",
                     proxy_header_v2("192.0.2.1", 1, "192.0.2.2", 143)[:20]):
            s = connect(self.imap_port, FRONT)
            send_and_finish(s, junk)
            reply = read_to_close(s, 10)
            s.close()
            self.assertEqual(reply, b"", "a broken PROXY header %r got %r"
                             % (junk[:40], reply))
        # Anybody else: relayed to Dovecot at once (its greeting), but a PROXY header is refused
        # (proxy_header_refused): no login.
        for header in (proxy_header_v1("192.0.2.99", 1234, "192.0.2.1", 143),
                       proxy_header_v2("192.0.2.98", 1235, "192.0.2.1", 143)):
            s = connect(self.imap_port, OTHER)
            greeting = s.recv(4096)
            self.assertIn(b"Dovecot node1 ready", greeting)
            s.sendall(header + b"a1 LOGIN alice alicepw\r\n")
            reply = read_to_close(s, 10)
            s.close()
            self.assertIsNotNone(reply, "a refused PROXY header left the session open")
            self.assertNotIn(b"a1 OK", reply)
        # Random bytes from anybody else are Dovecot's to answer; Passeur only relays them.
        s = connect(self.imap_port, OTHER)
        self.assertIn(b"Dovecot node1 ready", s.recv(4096))
        s.sendall(os.urandom(500) + b"\r\n")
        reset(s)

    def cut_connections(self):
        """Half-open and reset connections, mid-request, mid-handshake and mid-session."""
        # Connected, then reset before a byte.
        for port in (self.proxy.port, self.https_port, self.imaps_port, self.imap_port):
            reset(connect(port))
        # A head cut short, then reset; then a FIN (a 400, or just the close).
        s = connect(self.proxy.port)
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: exam")
        reset(s)
        s = connect(self.proxy.port)
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: exam")
        s.shutdown(socket.SHUT_WR)
        reply = read_to_close(s, 5)
        s.close()
        self.assertIsNotNone(reply, "a half-closed request head was kept open")
        self.assertTrue(reply == b"" or reply.startswith(b"HTTP/1.1 400 "), reply[:100])
        # A body cut short (the node has the head already), then reset.
        s = connect(self.proxy.port)
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: 100000\r\n\r\n"
                  + b"x" * 1000)
        time.sleep(0.05)
        reset(s)
        # A ClientHello cut in half, then reset; a whole one, then a FIN.
        hello = client_hello(self.tls)
        for port in (self.https_port, self.imaps_port):
            s = connect(port)
            s.sendall(hello[:len(hello) // 2])
            reset(s)
            s = connect(port)
            send_and_finish(s, hello)
            self.assertIsNotNone(read_to_close(s, 10), "a handshake half-closed was kept open")
            s.close()
        # An IMAPS session reset after the greeting, and one after a login.
        s = self.tls.wrap_socket(connect(self.imaps_port), server_hostname=MAIL_NAME)
        self.assertIn(b"Dovecot node1 ready", s.recv(4096))
        reset(s)
        s = self.tls.wrap_socket(connect(self.imaps_port), server_hostname=MAIL_NAME)
        s.recv(4096)
        s.sendall(b"a1 LOGIN alice alicepw\r\na2 SELECT INBOX\r\n")
        time.sleep(0.1)
        reset(s)
        # An HTTPS request cut mid-head, after the handshake.
        s = self.tls.wrap_socket(connect(self.https_port), server_hostname=MAIL_NAME)
        s.sendall(b"GET / HTTP/1.1\r\nHo")
        reset(s)
        # A PROXY header cut short by a reset.
        s = connect(self.imap_port, FRONT)
        s.sendall(b"PROXY TCP4 192.0.2.")
        reset(s)

    # ---- the loop ---------------------------------------------------------------------------

    def test_bad_input_loop(self):
        self.served()
        time.sleep(1.5)  # the pooled nginx connection times out
        baseline = self.fd_count()
        started = time.monotonic()
        rounds = 0
        while rounds < ROUNDS and time.monotonic() - started < TIME_LIMIT:
            self.malformed_heads()
            self.mutated_heads(20)
            self.random_bytes_on_tls(self.https_port)
            self.random_bytes_on_tls(self.imaps_port)
            self.proxy_headers()
            self.cut_connections()
            self.served()
            self.assertTrue(self.proxy.alive(), "passeur exited")
            rounds += 1
        self.assertGreaterEqual(rounds, 1)
        sys.stderr.write("\n%d rounds of bad input in %.1f s; descriptors before: %d\n"
                         % (rounds, time.monotonic() - started, baseline))
        wait_until(lambda: self.fd_count() <= baseline + FD_TOLERANCE, SETTLE_SECONDS,
                   message="descriptors back to %d (+%d), now %d"
                   % (baseline, FD_TOLERANCE, self.fd_count()))
        self.served()
        lines = self.proxy.access_lines()
        for reason in ("bad_proxy_header", "proxy_header_refused"):
            self.assertTrue(any(reason in l for l in lines), "no %s in the access log" % reason)


if __name__ == "__main__":
    main()
