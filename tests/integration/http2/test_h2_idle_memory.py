"""Idle HTTP/2 connections stay small: after one request each, 1,000 open HTTP/2 connections
(TLS, ALPN h2) cost the proxy less than a limit of resident memory apiece, measured next to
1,000 idle HTTPS/1.1 connections on the same listener.

An idle HTTP/2 connection holds what an idle HTTPS one does (OpenSSL's SSL object, no read
buffer) plus nghttp2's session: its state (about 3 KiB), its stream map (4 KiB) and HPACK tables,
and the connection's own state and its two coroutines. nghttp2's 16 KiB outbound frame buffer
and the writer's buffer are given back while the connection is idle, and reads go to a buffer
of the worker's: measured +15 KiB over HTTPS/1.1 (+60 KiB with those buffers kept). The
responses are 32 KiB, so that every page of the frame buffer was written before the connection
went idle.

An idle WebSocket over HTTP/2 (RFC 8441) holds its stream and its tunnel to the node, not the
request's and the node's answer's heads nor the node connection's read buffer: they are given
back when the tunnel starts (proxy/h2/stream_exchange.cpp). Measured: 17.4 KiB per idle
WebSocket stream, 31.7 KiB while the tunnel held them."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h2_support import H2Client, H2TestCase, status_of  # noqa: E402
from tls_support import WEBMAIL, TlsConn, client_context  # noqa: E402
from harness import WS_ECHO_NODE, KiB, ScriptNode, ensure_open_files, main  # noqa: E402

WARMUP = 50
CONNECTIONS = 1000
BODY = bytes(range(256)) * 128  # 32 KiB: two full DATA frames
LIMIT_OVER_HTTPS = 20 * KiB
WS_CONNECTIONS = 10
WS_PER_CONNECTION = 50  # of the 100 concurrent streams a connection may have
LIMIT_WS_STREAM = 24 * KiB
class IdleH2MemoryTest(H2TestCase):
    def setUp(self):
        super().setUp()
        ensure_open_files(2 * CONNECTIONS + 2 * WARMUP + 200)

    def rss(self):
        time.sleep(0.3)  # let the worker finish with the last response
        return self.proxy.status_field("VmRSS") * 1024

    def open_h2(self, n):
        conns = []
        for _ in range(n):
            c = H2Client(self.proxy.port)
            self.addCleanup(c.close)
            r = c.response(c.request("/static/body"))
            self.assertEqual((status_of(r), bytes(r["data"])), (200, BODY))
            conns.append(c)
        return conns

    def open_https(self, n):
        context = client_context(verify=False)
        conns = []
        for _ in range(n):
            c = TlsConn(self.proxy.port, WEBMAIL, context=context, timeout=10)
            self.addCleanup(c.close)
            r = c.roundtrip("GET", "/static/body", WEBMAIL)
            self.assertEqual((r.status, r.body), (200, BODY))
            conns.append(c)
        return conns

    def per_connection(self, opener):
        warm = opener(WARMUP)
        before = self.rss()
        conns = opener(CONNECTIONS)
        after = self.rss()
        return warm, conns, (after - before) / CONNECTIONS

    def test_idle_h2_connections(self):
        node = self.start_nginx("webmail")
        with open(os.path.join(node.static_dir, "body"), "wb") as f:
            f.write(BODY)
        self.proxy = self.h2_proxy(node)
        _, _, https = self.per_connection(self.open_https)
        warm, conns, h2 = self.per_connection(self.open_h2)
        sys.stderr.write("\nidle connection, proxy RSS each: HTTPS/1.1 %.2f KiB, HTTP/2 %.2f KiB "
                         "(+%.2f KiB; %d connections each)\n"
                         % (https / KiB, h2 / KiB, (h2 - https) / KiB, CONNECTIONS))
        self.assertLess(h2 - https, LIMIT_OVER_HTTPS,
                        "an idle HTTP/2 connection costs %.2f KiB, HTTPS/1.1 %.2f KiB"
                        % (h2 / KiB, https / KiB))
        # Every HTTP/2 connection still answers, the oldest and the newest first.
        for c in [warm[0], conns[0], conns[-1]] + conns:
            r = c.response(c.request("/static/body"))
            self.assertEqual((status_of(r), bytes(r["data"])), (200, BODY))

    def test_idle_websocket_streams(self):
        node = ScriptNode(self.tmp, "ws_node", WS_ECHO_NODE).start()
        self.addCleanup(node.stop)
        self.proxy = self.h2_proxy(node)

        def open_streams(c, n):
            sids = [c.request("/push/ws", method="CONNECT", end_stream=False,
                              headers=[(":protocol", "websocket"),
                                       ("sec-websocket-version", "13")]) for _ in range(n)]
            c.wait(lambda: all(c.responses[s]["headers"] is not None for s in sids), timeout=20)
            for sid in sids:
                self.assertEqual(status_of(c.responses[sid]), 200, c.responses[sid])
            return sids

        conns = []
        for _ in range(WS_CONNECTIONS):
            conns.append(H2Client(self.proxy.port))
            self.addCleanup(conns[-1].close)
        open_streams(conns[0], 5)  # warm-up
        before = self.rss()
        streams = [(c, sid) for c in conns for sid in open_streams(c, WS_PER_CONNECTION)]
        after = self.rss()
        per_stream = (after - before) / len(streams)
        sys.stderr.write("\nidle WebSocket over HTTP/2: %.2f KiB of proxy RSS each (%d streams "
                         "on %d connections)\n" % (per_stream / KiB, len(streams), len(conns)))
        self.assertLess(per_stream, LIMIT_WS_STREAM,
                        "%.2f KiB per idle WebSocket stream" % (per_stream / KiB))
        # Every tunnel still carries bytes both ways.
        for i, (c, sid) in enumerate(streams):
            data = b"message %d" % i
            c.send_body(sid, data, end=False)
            c.wait(lambda: bytes(c.responses[sid]["data"]) == data, timeout=10)


if __name__ == "__main__":
    main()
