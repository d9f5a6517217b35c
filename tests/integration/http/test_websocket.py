"""WebSocket: the Upgrade is relayed, then bytes flow both ways through the tunnel."""

import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import HttpConn, ProxyTestCase, main  # noqa: E402

import websockets  # noqa: E402  (Debian's python3-websockets, /usr/bin/python3)


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class WebSocketTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.ws = self.start_backend("ws", "ws")

    def proxy_for(self, **route_extra):
        route = {"path_prefix": "/", "pool": "push"}
        route.update(route_extra)
        return self.start_passeur([route], {"push": {"nodes": [self.ws.address]}})

    def connect(self, proxy, path="/push"):
        return websockets.connect("ws://127.0.0.1:%d%s" % (proxy.port, path),
                                  max_size=None, ping_interval=None, open_timeout=5,
                                  close_timeout=5)

    def test_echo_both_directions(self):
        proxy = self.proxy_for()

        async def scenario():
            async with self.connect(proxy, "/push?user=alice") as c:
                hello = json.loads(await c.recv())  # sent by the server unprompted
                self.assertEqual(hello["path"], "/push?user=alice")
                self.assertEqual(hello["headers"].get("upgrade", "").lower(), "websocket")
                self.assertIn("upgrade", hello["headers"].get("connection", "").lower())
                for i in range(10):
                    await c.send("text message %d" % i)
                    self.assertEqual(await c.recv(), "text message %d" % i)
                for i in range(5):
                    data = bytes([i]) * (i * 1000 + 1)
                    await c.send(data)
                    self.assertEqual(await c.recv(), data)
                big = os.urandom(1024 * 1024)
                await c.send(big)
                self.assertEqual(await c.recv(), big)
                await c.close()
                return c.close_code

        self.assertEqual(run(scenario()), 1000)

    def test_many_messages_in_flight(self):
        proxy = self.proxy_for()

        async def scenario():
            async with self.connect(proxy) as c:
                await c.recv()
                for i in range(200):
                    await c.send("m%d" % i)
                got = [await c.recv() for _ in range(200)]
                self.assertEqual(got, ["m%d" % i for i in range(200)])

        run(scenario())

    def test_server_initiated_close(self):
        proxy = self.proxy_for()

        async def scenario():
            async with self.connect(proxy) as c:
                await c.recv()
                await c.send("close-me")
                with self.assertRaises(websockets.ConnectionClosed) as cm:
                    await c.recv()
                return cm.exception.code, cm.exception.reason

        self.assertEqual(run(scenario()), (4001, "bye"))

    def test_tunnel_not_cut_by_response_timeout(self):
        # An idle tunnel is governed by tunnel_timeout, not response_timeout.
        proxy = self.proxy_for(response_timeout="1s", tunnel_timeout="1h")

        async def scenario():
            async with self.connect(proxy) as c:
                await c.recv()
                await asyncio.sleep(2.5)
                await c.send("still there?")
                self.assertEqual(await c.recv(), "still there?")

        run(scenario())

    def test_idle_tunnel_closed_after_tunnel_timeout(self):
        proxy = self.proxy_for(tunnel_timeout="1s")

        async def scenario():
            async with self.connect(proxy) as c:
                await c.recv()
                t0 = time.monotonic()
                with self.assertRaises(websockets.ConnectionClosed):
                    await asyncio.wait_for(c.recv(), 6)
                return time.monotonic() - t0

        elapsed = run(scenario())
        self.assertGreater(elapsed, 0.5)

    def test_handshake_response_relayed(self):
        proxy = self.proxy_for()
        with HttpConn(proxy.port) as c:
            c.request("GET", "/push", headers=[
                ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13")])
            r = c.read_head()
        self.assertEqual(r.status, 101)
        self.assertEqual((r.header("Upgrade") or "").lower(), "websocket")
        self.assertEqual(r.header("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")

    def test_plain_request_on_websocket_route(self):
        # A request without Upgrade to the WebSocket backend is an ordinary request.
        proxy = self.proxy_for()
        with HttpConn(proxy.port) as c:
            r = c.roundtrip("GET", "/push", headers={"Connection": "close"})
        self.assertEqual(r.status, 426)  # websockets answers "Upgrade Required"


if __name__ == "__main__":
    main()
