"""Graceful stop and idle close of HTTP/2 connections, seen frame by frame. On SIGTERM a
connection gets GOAWAY NO_ERROR in two steps (a shutdown notice with last stream id 2^31-1 and
a PING, then, once the PING comes back or after a second, GOAWAY with the last stream taken);
its open streams finish within grace_period, later streams are not served, then it closes.
Streams still open when grace_period ends are cut. SIGHUP closes nothing: open streams finish
and later streams on the same connection take the new config. A connection without streams
for keepalive_timeout gets GOAWAY NO_ERROR and closes."""

import os
import signal
import socket
import sys
import time

import hpack

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from h2_support import (ACK, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, NO_ERROR,  # noqa: E402
                        PING, REFUSED_STREAM, RST_STREAM, SETTINGS, H2TestCase, RawH2, frame)
from harness import main, wait_until  # noqa: E402
from tls_support import WEBMAIL  # noqa: E402

NOTICE_ID = 2**31 - 1


class FrameClient(RawH2):
    """Requests written as frames (HPACK by the hpack module), and every frame the server sends
    recorded with the time it came: GOAWAYs, PINGs (acknowledged unless ack_pings is False),
    each stream's status, body and end."""

    def __init__(self, port, ca=None, tls=True, ack_pings=True):
        super().__init__(port, tls=tls, ca=ca)
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.ack_pings = ack_pings
        self.goaways = []  # (time, last stream id, error code)
        self.pings = []  # (time, opaque data) of the server's PINGs
        self.streams = {}
        self.ended_at = None  # when the server closed the connection

    def request(self, sid, path):
        block = self.encoder.encode([(":method", "GET"), (":scheme", "https"),
                                     (":authority", WEBMAIL), (":path", path)])
        self.streams[sid] = {"status": None, "data": b"", "ended": False, "reset": None}
        self.send(frame(HEADERS, END_STREAM | END_HEADERS, sid, block))

    def ack_ping(self, opaque):
        self.send_if_open(frame(PING, ACK, 0, opaque))

    def send_if_open(self, data):
        """An answer to a frame read after the server closed (buffered) goes nowhere."""
        try:
            self.send(data)
        except OSError:  # ssl.SSLError is one
            pass

    def pump(self, until, timeout=10.0):
        """Reads and records frames until until() holds, the connection ends or timeout."""
        end = time.monotonic() + timeout
        while not until() and self.ended_at is None:
            left = end - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                f = self.read_frame()
            except (socket.timeout, TimeoutError):
                break
            if f is None:
                self.ended_at = time.monotonic()
                break
            self.handle(f)
        return until()

    def handle(self, f):
        ftype, flags, sid, payload = f
        now = time.monotonic()
        s = self.streams.get(sid)
        if ftype == SETTINGS and not flags & ACK:
            self.send_if_open(frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK:
            self.pings.append((now, payload))
            if self.ack_pings:
                self.ack_ping(payload)
        elif ftype == GOAWAY:
            self.goaways.append((now, int.from_bytes(payload[:4], "big") & 0x7fffffff,
                                 int.from_bytes(payload[4:8], "big")))
        elif ftype == HEADERS:
            fields = dict(self.decoder.decode(payload))
            if s is not None and ":status" in fields:
                s["status"] = int(fields[":status"])
        elif ftype == DATA and s is not None:
            s["data"] += payload
        elif ftype == RST_STREAM and s is not None:
            s["reset"] = int.from_bytes(payload[:4], "big")
        if s is not None and ftype in (HEADERS, DATA) and flags & END_STREAM:
            s["ended"] = True

    def answered(self, sid):
        s = self.streams[sid]
        return s["ended"] or s["reset"] is not None


class H2GracefulTest(H2TestCase):
    def proxy_with_slow_node(self, grace_period="10s", **tls):
        self.slow = self.start_backend("http", "slow")
        t = {"http2": True}
        t.update(tls)
        return self.start_tls_proxy([{"path_prefix": "/", "pool": "slow"}],
                                    {"slow": {"nodes": [self.slow.address]}}, tls=t,
                                    grace_period=grace_period)

    def seen(self, path):
        return any(path in line for line in self.slow.requests_seen())

    def test_stop_sends_goaway_in_two_steps_and_open_streams_finish(self):
        proxy = self.proxy_with_slow_node(grace_period="10s")
        c = FrameClient(proxy.port, ca=self.certs.ca, ack_pings=False)
        self.addCleanup(c.close)
        c.request(1, "/first?delay=3")
        wait_until(lambda: self.seen("/first"), 5, message="the first stream to reach the node")
        proxy.expect_exit = True
        t0 = time.monotonic()
        proxy.signal(signal.SIGTERM)
        # Step one: the shutdown notice and a PING.
        self.assertTrue(c.pump(lambda: c.goaways and c.pings, timeout=3), (c.goaways, c.pings))
        self.assertEqual(c.goaways[0][1:], (NOTICE_ID, NO_ERROR))
        # A stream the client sent before it saw the notice is still taken.
        c.request(3, "/between?delay=1")
        c.ack_ping(c.pings[0][1])
        acked = time.monotonic()
        # Step two, once the PING is back: GOAWAY naming stream 3 as the last one taken.
        self.assertTrue(c.pump(lambda: len(c.goaways) >= 2, timeout=3), c.goaways)
        self.assertEqual(c.goaways[1][1:], (3, NO_ERROR))
        self.assertLess(c.goaways[1][0] - acked, 0.9, "the GOAWAY waited for its timer")
        # A stream after the GOAWAY is not served.
        c.request(5, "/late")
        # The open streams finish with their whole answer, then the connection closes.
        self.assertTrue(c.pump(lambda: c.answered(1) and c.answered(3), timeout=8), c.streams)
        for sid in (1, 3):
            self.assertEqual((c.streams[sid]["status"], c.streams[sid]["data"],
                              c.streams[sid]["ended"]), (200, b"slow\n", True), sid)
        c.pump(lambda: False, timeout=5)
        self.assertIsNotNone(c.ended_at, "the connection stayed open after its last stream")
        # not answered: ignored, or refused (RFC 9113 6.8)
        self.assertIsNone(c.streams[5]["status"], c.streams[5])
        self.assertIn(c.streams[5]["reset"], (None, REFUSED_STREAM), c.streams[5])
        self.assertFalse(self.seen("/late"), self.slow.requests_seen())
        self.assertEqual(len(c.goaways), 2, c.goaways)
        self.assertEqual(proxy.wait(5), 0)
        self.assertLess(time.monotonic() - t0, 7.0)

    def test_goaway_follows_the_notice_when_the_ping_is_not_answered(self):
        proxy = self.proxy_with_slow_node(grace_period="10s")
        c = FrameClient(proxy.port, ca=self.certs.ca, ack_pings=False)
        self.addCleanup(c.close)
        c.request(1, "/first?delay=3")
        wait_until(lambda: self.seen("/first"), 5, message="the stream to reach the node")
        proxy.expect_exit = True
        proxy.signal(signal.SIGTERM)
        self.assertTrue(c.pump(lambda: len(c.goaways) >= 2, timeout=5), c.goaways)
        self.assertEqual([g[1:] for g in c.goaways], [(NOTICE_ID, NO_ERROR), (1, NO_ERROR)])
        self.assertGreater(c.goaways[1][0] - c.goaways[0][0], 0.8)
        self.assertTrue(c.pump(lambda: c.answered(1), timeout=8), c.streams)
        self.assertEqual((c.streams[1]["status"], c.streams[1]["data"]), (200, b"slow\n"))
        self.assertEqual(proxy.wait(8), 0)

    def test_stop_closes_an_idle_connection_at_once(self):
        proxy = self.proxy_with_slow_node(grace_period="10s")
        c = FrameClient(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        c.request(1, "/done")
        self.assertTrue(c.pump(lambda: c.answered(1)), c.streams)
        proxy.expect_exit = True
        t0 = time.monotonic()
        proxy.signal(signal.SIGTERM)
        c.pump(lambda: False, timeout=5)
        self.assertIsNotNone(c.ended_at, "the idle connection was not closed")
        self.assertEqual([g[1:] for g in c.goaways], [(NOTICE_ID, NO_ERROR), (1, NO_ERROR)])
        self.assertEqual(proxy.wait(5), 0)
        self.assertLess(time.monotonic() - t0, 3.0,
                        "an idle HTTP/2 connection held the process for the grace period")

    def test_grace_period_cuts_a_longer_stream(self):
        proxy = self.proxy_with_slow_node(grace_period="1s")
        c = FrameClient(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        c.request(1, "/long?delay=30")
        wait_until(lambda: self.seen("/long"), 5, message="the stream to reach the node")
        proxy.expect_exit = True
        t0 = time.monotonic()
        proxy.signal(signal.SIGTERM)
        self.assertTrue(c.pump(lambda: len(c.goaways) >= 2, timeout=3), c.goaways)
        self.assertEqual([g[1:] for g in c.goaways], [(NOTICE_ID, NO_ERROR), (1, NO_ERROR)])
        # The stream is cut with the connection when grace_period ends; the process exits 0.
        c.pump(lambda: False, timeout=5)
        self.assertIsNotNone(c.ended_at, "the connection outlived grace_period")
        self.assertEqual(proxy.wait(5), 0)
        elapsed = time.monotonic() - t0
        self.assertGreater(elapsed, 0.8)
        self.assertLess(elapsed, 4.0)
        self.assertFalse(c.streams[1]["ended"], c.streams[1])
        self.assertIsNone(c.streams[1]["status"], c.streams[1])

    def test_stop_on_an_h2c_connection(self):
        self.slow = self.start_backend("http", "slow")
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "slow"}],
                                     {"slow": {"nodes": [self.slow.address]}},
                                     plain={"http2": "prior-knowledge"}, grace_period="10s")
        c = FrameClient(proxy.plain_port, tls=False)
        self.addCleanup(c.close)
        c.request(1, "/first?delay=2")
        wait_until(lambda: self.seen("/first"), 5, message="the stream to reach the node")
        proxy.expect_exit = True
        proxy.signal(signal.SIGTERM)
        self.assertTrue(c.pump(lambda: c.answered(1), timeout=8), c.streams)
        self.assertEqual((c.streams[1]["status"], c.streams[1]["data"]), (200, b"slow\n"))
        c.pump(lambda: False, timeout=5)
        self.assertIsNotNone(c.ended_at)
        self.assertEqual([g[1:] for g in c.goaways], [(NOTICE_ID, NO_ERROR), (1, NO_ERROR)])
        self.assertEqual(proxy.wait(5), 0)

    def test_reload_keeps_the_connection_and_its_open_streams(self):
        a = self.start_backend("http", "node-a")
        b = self.start_backend("http", "node-b")
        pools = {"a": {"nodes": [a.address]}, "b": {"nodes": [b.address]}}
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "a"}], pools,
                                     tls={"http2": True})
        c = FrameClient(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        c.request(1, "/first?delay=2")
        wait_until(lambda: any("/first" in l for l in a.requests_seen()), 5,
                   message="the stream to reach node-a")
        proxy.write_config(routes=[{"path_prefix": "/", "pool": "b"}])
        proxy.signal(signal.SIGHUP)
        wait_until(lambda: "reloaded " in proxy.stderr_text(), 5, message="the reload")
        self.assertTrue(c.pump(lambda: c.answered(1), timeout=8), c.streams)
        self.assertEqual((c.streams[1]["status"], c.streams[1]["data"]), (200, b"node-a\n"))
        # Later streams on the same connection take the new routes; no GOAWAY.
        sid = 3
        while True:
            c.request(sid, "/after")
            self.assertTrue(c.pump(lambda: c.answered(sid), timeout=5), c.streams)
            if c.streams[sid]["data"] == b"node-b\n" or sid > 40:
                break
            sid += 2
        self.assertEqual((c.streams[sid]["status"], c.streams[sid]["data"]), (200, b"node-b\n"))
        self.assertEqual(c.goaways, [])
        self.assertIsNone(c.ended_at)

    def test_idle_connection_gets_goaway_after_keepalive_timeout(self):
        proxy = self.proxy_with_slow_node(keepalive_timeout="1s")
        c = FrameClient(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        c.request(1, "/done")
        self.assertTrue(c.pump(lambda: c.answered(1)), c.streams)
        idle = time.monotonic()
        c.pump(lambda: False, timeout=6)
        self.assertIsNotNone(c.ended_at, "the idle connection stayed open")
        self.assertEqual([g[1:] for g in c.goaways], [(1, NO_ERROR)])
        self.assertGreater(c.goaways[0][0] - idle, 0.8)
        self.assertLess(c.goaways[0][0] - idle, 3.0)
        # A connection with a stream open longer than keepalive_timeout is not idle.
        c2 = FrameClient(proxy.port, ca=self.certs.ca)
        self.addCleanup(c2.close)
        c2.request(1, "/busy?delay=2.5")
        self.assertTrue(c2.pump(lambda: c2.answered(1), timeout=8), c2.streams)
        self.assertEqual((c2.streams[1]["status"], c2.streams[1]["data"]), (200, b"slow\n"))
        self.assertEqual(c2.goaways, [])


if __name__ == "__main__":
    main()
