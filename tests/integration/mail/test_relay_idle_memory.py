"""Idle relayed sessions stay small: 500 sessions logged in and in IMAP IDLE cost the proxy
less than a limit of resident memory apiece, through a `protocol = "tcp"` listener, through an
`imap` listener after a plain-text login, and through an `imap` listener after STARTTLS.

A relayed direction waiting for its source holds no 16 KiB buffer from the worker's pool
(proxy/tcp/idle_reader.h): a TCP socket waits in a read into a 512-byte buffer of its own, a
TLS stream waits for readability with no buffer at all. Measured on Debian 12 (OpenSSL 3.0),
one worker: 9.3 KiB per session through the tcp listener and 10.1 KiB through the imap
listener (16.6 and 18.4 KiB when each direction held a pool buffer while it waited), 24.0 KiB
after STARTTLS (40.4 KiB), OpenSSL's connection state included; the limits leave room for
the allocator's moods, not for a pool buffer per idle direction.

The node is a small IMAP server of the test's own (greeting, `OK` to every command, `+ idling`
to IDLE; Dovecot would need one process per logged-in session). The memory is Passeur's VmRSS
after the sessions minus before, over the number of sessions: it moves with what else the
process allocates meanwhile, so this test runs alone (scripts/test: `idle_memory`)."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import MAIL_NAME, MailTestCase  # noqa: E402
from harness import LOOPBACK, KiB, ScriptNode, ensure_open_files, main  # noqa: E402

WARMUP = 32
SESSIONS = 500
LIMIT_PLAIN = 12 * KiB
LIMIT_STARTTLS = 30 * KiB

NODE = r'''
import asyncio, sys

async def serve(reader, writer):
    writer.write(b"* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN] ready.\r\n")
    idle_tag = None
    while True:
        line = await reader.readline()
        if not line:
            break
        words = line.split()
        if words == [b"DONE"] and idle_tag:
            writer.write(idle_tag + b" OK IDLE done.\r\n")
            idle_tag = None
        elif len(words) < 2:
            continue
        elif words[1].upper() == b"IDLE":
            idle_tag = words[0]
            writer.write(b"+ idling\r\n")
        elif words[1].upper() == b"LOGOUT":
            writer.write(b"* BYE\r\n" + words[0] + b" OK bye.\r\n")
            break
        else:
            writer.write(words[0] + b" OK done.\r\n")
        await writer.drain()
    writer.close()

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()

asyncio.run(main())
'''


class Session:
    """One client: greeting, optionally STARTTLS, LOGIN, IDLE (`+ idling` received)."""

    def __init__(self, port, context=None):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=10)
        self.buf = b""
        self.expect(b"* OK")
        if context:
            self.command(b"s STARTTLS", b"s OK")
            self.sock = context.wrap_socket(self.sock, server_hostname=MAIL_NAME)
        self.command(b"a LOGIN alice alicepw", b"a OK")
        self.command(b"i IDLE", b"+ ")

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError("closed; got %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def expect(self, prefix):
        while True:
            line = self.line()
            if line.startswith(prefix):
                return line
            if not line.startswith(b"* "):
                raise AssertionError("expected %r, got %r" % (prefix, line))

    def command(self, text, answer):
        self.sock.sendall(text + b"\r\n")
        return self.expect(answer)

    def done(self):
        """Ends IDLE: the session still relays both ways."""
        self.sock.sendall(b"DONE\r\n")
        return self.expect(b"i OK")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class RelayIdleMemoryTest(MailTestCase):
    def setUp(self):
        super().setUp()
        ensure_open_files(2 * (SESSIONS + WARMUP) + 200)
        self.node = ScriptNode(self.tmp, "imap_node", NODE)
        self.addCleanup(self.node.stop)
        self.node.start()

    def proxy(self, listener):
        """Passeur with this listener (one worker); sets listener["port"]."""
        listener.update(name="mail", pool="mail")
        return self.start_mail_proxy(
            [listener], {"mail": {"nodes": [self.node.address]}}, workers=1)

    def rss(self, proxy):
        time.sleep(0.3)  # the worker done with the last session's bytes
        return proxy.status_field("VmRSS") * 1024

    def open_many(self, port, n, context):
        sessions = []
        for _ in range(n):
            s = Session(port, context)
            self.addCleanup(s.close)
            sessions.append(s)
        return sessions

    def check(self, what, listener, limit, context=None):
        proxy = self.proxy(listener)
        port = listener["port"]
        warm = self.open_many(port, WARMUP, context)
        before = self.rss(proxy)
        sessions = self.open_many(port, SESSIONS, context)
        after = self.rss(proxy)
        per_session = (after - before) / SESSIONS
        sys.stderr.write("\nidle relayed session, %s: %.2f KiB of proxy RSS each (%d sessions, "
                         "RSS %.1f -> %.1f MiB)\n" % (what, per_session / KiB, SESSIONS,
                                                      before / KiB / KiB, after / KiB / KiB))
        self.assertLess(per_session, limit, "%.2f KiB per idle session (%s)"
                        % (per_session / KiB, what))
        # Every session still relays both ways, from the oldest to the newest.
        for s in warm + sessions:
            self.assertTrue(s.done().startswith(b"i OK"))
        return per_session

    def test_tcp_listener(self):
        self.check("tcp listener", {"protocol": "tcp"}, LIMIT_PLAIN)

    def test_imap_listener_plain_text_login(self):
        self.check("imap listener, plain-text login",
                   {"protocol": "imap", "allow_plaintext_auth": True}, LIMIT_PLAIN)

    def test_imap_listener_after_starttls(self):
        self.check("imap listener, STARTTLS", {"protocol": "imap"}, LIMIT_STARTTLS,
                   self.starttls_context())


if __name__ == "__main__":
    main()
