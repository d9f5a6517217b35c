"""WebSocket over HTTP/2 (RFC 8441): Passeur announces SETTINGS_ENABLE_CONNECT_PROTOCOL, takes an
extended CONNECT (:protocol websocket) and relays it to the node as an HTTP/1.1 Upgrade (its own
Sec-WebSocket-Key, the node's Sec-WebSocket-Accept checked); the node's 101 becomes the stream's
200 and WebSocket frames (built here by hand, masked from the client) flow both ways as DATA.
The node is a real nginx proxying /ws/ to a WebSocket echo server (backends.py ws)."""

import json
import os
import struct
import sys
import time

import h2.settings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from h2_support import (H2Client, H2TestCase, RawNode, header_of, read_head,  # noqa: E402
                        status_of)
from harness import LOOPBACK, main, wait_until  # noqa: E402

CANCEL = 0x8
OP_TEXT, OP_BINARY, OP_CLOSE = 0x1, 0x2, 0x8


def ws_frame(opcode, payload):
    """A client frame (RFC 6455 5.2): FIN, masked with a random key."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack(">Q", n)
    key = os.urandom(4)
    if n == 0:
        return head + key
    mask = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
    return head + key + masked


def take_frame(buf):
    """(opcode, payload, rest) of the first whole server frame in buf (unmasked), or None."""
    if len(buf) < 2:
        return None
    opcode, n, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
    if buf[1] & 0x80:
        raise AssertionError("server frame masked")
    if n == 126:
        if len(buf) < 4:
            return None
        n, at = struct.unpack(">H", bytes(buf[2:4]))[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, at = struct.unpack(">Q", bytes(buf[2:10]))[0], 10
    if len(buf) < at + n:
        return None
    if not buf[0] & 0x80:
        raise AssertionError("fragmented server frame")
    return opcode, bytes(buf[at:at + n]), buf[at + n:]


class WsStream:
    """One WebSocket on a stream of an H2Client."""

    def __init__(self, client, sid):
        self.c, self.sid = client, sid
        self.r = client.responses[sid]

    def send(self, opcode, payload):
        self.c.send_body(self.sid, ws_frame(opcode, payload), end=False)

    def recv(self, timeout=10.0):
        box = []

        def ready():
            f = take_frame(self.r["data"])
            if f:
                box.append(f)
            return bool(box) or self.c.done(self.sid)

        self.c.wait(ready, timeout)
        if not box:
            raise AssertionError("stream ended without a frame: %r" % self.r)
        opcode, payload, rest = box[0]
        self.r["data"] = bytearray(rest)
        return opcode, payload


def nginx_ws_location(ws_port):
    return f"""
        location /ws/ {{
            proxy_pass http://{LOOPBACK}:{ws_port};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 60s;
        }}
        location /refuse/ {{ return 403 "no websocket here\\n"; }}
    """


class H2WebSocketTest(H2TestCase):
    def setUp(self):
        super().setUp()
        self.ws = self.start_backend("ws", "ws")

    def start(self, **route_extra):
        node = self.start_nginx("webmail", extra_server=nginx_ws_location(self.ws.port))
        self.node = node
        route = {"path_prefix": "/", "pool": "webmail"}
        route.update(route_extra)
        return self.start_tls_proxy([route], {"webmail": {"nodes": [node.address]}},
                                    tls={"http2": True})

    def client(self, proxy):
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        code = h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL
        c.wait(lambda: c.conn.remote_settings.get(code) == 1, timeout=5)
        return c

    def open_ws(self, c, path, extra=()):
        headers = [(":protocol", "websocket"), ("sec-websocket-version", "13")] + list(extra)
        sid = c.request(path, method="CONNECT", headers=headers, end_stream=False)
        c.wait(lambda: c.responses[sid]["headers"] is not None or c.done(sid), timeout=10)
        return sid

    def nginx_entries(self, path):
        return [e for e in self.node.log_entries() if e["request"].split(" ")[1] == path]

    def test_settings_announce_extended_connect_and_echo_is_byte_exact(self):
        proxy = self.start()
        c = self.client(proxy)
        sid = self.open_ws(c, "/ws/echo?user=alice", [("sec-websocket-protocol", "chat")])
        r = c.responses[sid]
        self.assertEqual(status_of(r), 200, r)
        names = {(k.decode() if isinstance(k, bytes) else k) for k, _ in r["headers"]}
        for hop in ("sec-websocket-accept", "upgrade", "connection"):
            self.assertNotIn(hop, names)
        ws = WsStream(c, sid)
        # The echo server speaks first: the request it got, an HTTP/1.1 Upgrade.
        opcode, hello = ws.recv()
        self.assertEqual(opcode, OP_TEXT)
        hello = json.loads(hello)
        self.assertEqual(hello["path"], "/ws/echo?user=alice")
        h = hello["headers"]
        self.assertEqual(h.get("upgrade", "").lower(), "websocket")
        self.assertIn("upgrade", h.get("connection", "").lower())
        self.assertEqual(h.get("sec-websocket-version"), "13")
        self.assertEqual(len(h.get("sec-websocket-key", "")), 24)
        self.assertEqual(h.get("sec-websocket-protocol"), "chat")
        self.assertEqual(h.get("x-forwarded-proto"), "https")
        # Text and binary messages, small to 1 MiB (several windows both ways), byte-exact.
        for i in range(10):
            ws.send(OP_TEXT, ("text message %d" % i).encode())
            self.assertEqual(ws.recv(), (OP_TEXT, ("text message %d" % i).encode()))
        for size in (1, 125, 126, 65535, 65536, 300 * 1024, 1024 * 1024):
            data = os.urandom(size)
            ws.send(OP_BINARY, data)
            self.assertEqual(ws.recv(), (OP_BINARY, data), size)
        # Several in flight.
        for i in range(50):
            ws.send(OP_TEXT, b"m%d" % i)
        self.assertEqual([ws.recv()[1] for _ in range(50)], [b"m%d" % i for i in range(50)])
        # Another stream of the same connection is served while the tunnel is open.
        sid2 = c.request("/other")
        r2 = c.response(sid2)
        self.assertEqual((status_of(r2), bytes(r2["data"])), (200, b"webmail\n"))
        self.assertEqual(self.nginx_entries("/ws/echo?user=alice"), [])  # still open
        # The close handshake: the server answers, closes, and the stream ends.
        ws.send(OP_CLOSE, struct.pack(">H", 1000))
        opcode, payload = ws.recv()
        self.assertEqual((opcode, payload[:2]), (OP_CLOSE, struct.pack(">H", 1000)))
        c.wait(lambda: r["ended"], timeout=10)
        self.assertIsNone(r["reset"])
        c.conn.end_stream(sid)
        c.flush()
        entries = wait_until(lambda: self.nginx_entries("/ws/echo?user=alice"), 10,
                             message="nginx logs the tunnel")
        self.assertEqual(entries[0]["status"], "101")
        self.assertEqual(entries[0]["request"], "GET /ws/echo?user=alice HTTP/1.1")
        line = wait_until(lambda: next((l for l in proxy.access_lines()
                                        if "/ws/echo?user=alice HTTP/2.0" in l), None), 10)
        self.assertIn(" 200 ", line)
        self.assertIn("close=upgrade", line)
        self.assertIsNone(c.goaway)

    def test_node_refusing_the_upgrade_answers_the_stream(self):
        proxy = self.start()
        c = self.client(proxy)
        sid = self.open_ws(c, "/refuse/chat")
        r = c.response(sid)
        self.assertEqual(status_of(r), 403, r)
        self.assertEqual(bytes(r["data"]), b"no websocket here\n")
        self.assertTrue(r["ended"])
        entries = self.nginx_entries("/refuse/chat")
        self.assertEqual([(e["request"], e["status"]) for e in entries],
                         [("GET /refuse/chat HTTP/1.1", "403")])
        # The connection goes on.
        sid2 = c.request("/")
        self.assertEqual(status_of(c.response(sid2)), 200)

    def test_client_reset_closes_the_node_tunnel(self):
        proxy = self.start()
        c = self.client(proxy)
        sid = self.open_ws(c, "/ws/reset")
        self.assertEqual(status_of(c.responses[sid]), 200)
        ws = WsStream(c, sid)
        ws.recv()  # hello
        ws.send(OP_TEXT, b"ping")
        self.assertEqual(ws.recv(), (OP_TEXT, b"ping"))
        time.sleep(0.3)
        self.assertEqual(self.nginx_entries("/ws/reset"), [])  # the tunnel is open
        c.conn.reset_stream(sid, CANCEL)
        c.flush()
        t0 = time.monotonic()
        entries = wait_until(lambda: self.nginx_entries("/ws/reset"), 5,
                             message="the node's tunnel closed")
        self.assertEqual(entries[0]["status"], "101")
        self.assertLess(time.monotonic() - t0, 5)
        sid2 = c.request("/")
        self.assertEqual(status_of(c.response(sid2)), 200)
        self.assertIsNone(c.goaway)

    def test_client_end_stream_ends_the_tunnel(self):
        proxy = self.start()
        c = self.client(proxy)
        sid = self.open_ws(c, "/ws/half")
        ws = WsStream(c, sid)
        ws.recv()
        c.conn.end_stream(sid)  # the client's side ends, without a close frame
        c.flush()
        c.wait(lambda: c.done(sid), timeout=10)
        entries = wait_until(lambda: self.nginx_entries("/ws/half"), 5,
                             message="the node's tunnel closed")
        self.assertEqual(entries[0]["status"], "101")

    def test_idle_tunnel_reset_after_tunnel_timeout(self):
        proxy = self.start(tunnel_timeout="1s")
        c = self.client(proxy)
        sid = self.open_ws(c, "/ws/idle")
        ws = WsStream(c, sid)
        ws.recv()
        t0 = time.monotonic()
        c.wait(lambda: c.done(sid), timeout=10)
        self.assertEqual(c.responses[sid]["reset"], CANCEL)
        self.assertLess(time.monotonic() - t0, 5)
        wait_until(lambda: self.nginx_entries("/ws/idle"), 5, message="the node's tunnel closed")


class BadAcceptNode(RawNode):
    """Answers every request with a 101 whose Sec-WebSocket-Accept is not the key's."""

    def serve(self, conn):
        read_head(conn)
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                     b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
        time.sleep(0.5)
        conn.close()


class H2WebSocketBadNodeTest(H2TestCase):
    def test_wrong_accept_from_the_node_is_a_502(self):
        node = BadAcceptNode()
        self.addCleanup(node.close)
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "p"}],
                                     {"p": {"nodes": [node.address]}}, tls={"http2": True})
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        sid = c.request("/ws", method="CONNECT", headers=[(":protocol", "websocket"),
                                                          ("sec-websocket-version", "13")],
                        end_stream=False)
        r = c.response(sid)
        self.assertEqual(status_of(r), 502, r)
        self.assertIsNone(header_of(r, "sec-websocket-accept"))


if __name__ == "__main__":
    main()
