"""Idle WebSockets stay small: 500 open tunnels cost Passeur less than a limit of resident memory
apiece, and every one of them still carries bytes both ways afterwards.

Once the node's 101 has gone to the client, the tunnel holds none of the exchange's request
and response heads (100 header fields each), nor its read buffers (the node connection's is
made for a 32 KiB first read): proxy/http/relay.h gives them back before the tunnel starts.
Measured on Debian 12, one worker: 10.4 KiB per idle WebSocket (bench/scale, 2,000 of them),
21.8 KiB while the tunnel held them; the limit leaves room for the allocator's moods, not for
the heads and buffers.

The node is a small WebSocket server of the test's own (the 101 with the right
Sec-WebSocket-Accept, then an echo of the raw bytes). The memory is Passeur's VmRSS after the
tunnels minus before, over their number: it moves with what else the process allocates
meanwhile, so this test runs alone (scripts/test: `idle_memory`)."""

import base64
import hashlib
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import (LOOPBACK, WS_ECHO_NODE, KiB, ProxyTestCase, ScriptNode,  # noqa: E402
                     ensure_open_files, main)

WARMUP = 32
TUNNELS = 500
LIMIT = 15 * KiB
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

class Tunnel:
    """One client: the Upgrade, its 101, then an open tunnel."""

    def __init__(self, port):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=10)
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(b"GET /push/ws HTTP/1.1\r\nHost: cloud.example.coop\r\n"
                          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + b"\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError("closed before the 101: %r" % head)
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        if not status.startswith(b"HTTP/1.1 101"):
            raise AssertionError("not a 101: %r" % head)
        fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
        accept = {k.strip().lower(): v.strip() for k, v in fields.items()}.get(
            b"sec-websocket-accept")
        if accept != base64.b64encode(hashlib.sha1(key + GUID).digest()):
            raise AssertionError("wrong or missing Sec-WebSocket-Accept: %r" % head)

    def echo(self, data):
        self.sock.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            got += chunk
        return got

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class WebSocketIdleMemoryTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        ensure_open_files(2 * (TUNNELS + WARMUP) + 200)
        self.node = ScriptNode(self.tmp, "ws_node", WS_ECHO_NODE)
        self.addCleanup(self.node.stop)
        self.node.start()

    def open_many(self, port, n):
        tunnels = []
        for _ in range(n):
            t = Tunnel(port)
            self.addCleanup(t.close)
            tunnels.append(t)
        return tunnels

    def rss(self, proxy):
        time.sleep(0.3)  # the worker done with the last tunnel's bytes
        return proxy.status_field("VmRSS") * 1024

    def test_idle_tunnels_hold_no_heads_nor_buffers(self):
        proxy = self.start_passeur([{"path_prefix": "/push/", "pool": "push"}],
                                   {"push": {"nodes": [self.node.address]}},
                                   workers=1)
        warm = self.open_many(proxy.port, WARMUP)
        before = self.rss(proxy)
        tunnels = self.open_many(proxy.port, TUNNELS)
        after = self.rss(proxy)
        per_tunnel = (after - before) / TUNNELS
        sys.stderr.write("\nidle WebSocket: %.2f KiB of proxy RSS each (%d tunnels, RSS %.1f -> "
                         "%.1f MiB)\n" % (per_tunnel / KiB, TUNNELS, before / KiB / KiB,
                                          after / KiB / KiB))
        self.assertLess(per_tunnel, LIMIT, "%.2f KiB per idle WebSocket" % (per_tunnel / KiB))
        # Every tunnel still carries bytes both ways, from the oldest to the newest.
        for i, t in enumerate(warm + tunnels):
            data = b"frame %d " % i * 20
            self.assertEqual(t.echo(data), data)


if __name__ == "__main__":
    main()
