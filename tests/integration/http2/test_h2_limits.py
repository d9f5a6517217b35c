"""HTTP/2 limits and the known attacks, with frames written by hand: too many concurrent
streams, rapid reset (CVE-2023-44487), CONTINUATION flood (CVE-2024-27316), an oversized header
list, SETTINGS / PING / empty DATA floods; an idle connection closes after keepalive_timeout;
a stop sends GOAWAY and lets the open streams finish."""

import os
import signal
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hpack  # noqa: E402

from h2_support import (PROTOCOL_ERROR, CONTINUATION, DATA, END_HEADERS, END_STREAM, ENHANCE_YOUR_CALM,  # noqa
                        GOAWAY, HEADERS, NO_ERROR, PING, RST_STREAM, SETTINGS, H2Client,
                        H2TestCase, RawH2, frame, status_of)
from harness import main  # noqa: E402
from tls_support import WEBMAIL  # noqa: E402


def request_block(path="/", extra=()):
    return hpack.Encoder().encode([(":method", "GET"), (":scheme", "https"),
                                   (":authority", WEBMAIL), (":path", path)] + list(extra))


class H2LimitsTest(H2TestCase):
    def raw(self, proxy):
        c = RawH2(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        return c

    def assertAlive(self, proxy):
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        r = c.response(c.request("/"))
        self.assertEqual(status_of(r), 200)

    def test_settings_announce_limits(self):
        proxy = self.h2_proxy()
        c = self.raw(proxy)
        f = c.until(lambda f: f[0] == SETTINGS and not f[1] & 1)
        values = {struct.unpack(">H", f[3][i:i + 2])[0]: struct.unpack(">I", f[3][i + 2:i + 6])[0]
                  for i in range(0, len(f[3]), 6)}
        self.assertEqual(values.get(0x3), 100)      # MAX_CONCURRENT_STREAMS
        self.assertEqual(values.get(0x6), 32768)    # MAX_HEADER_LIST_SIZE = max_header
        self.assertEqual(values.get(0x2), 0)        # ENABLE_PUSH

    def test_too_many_concurrent_streams_refused(self):
        echo = self.start_backend("http", "echo", delay=2)
        proxy = self.h2_proxy(node=echo)
        c = self.raw(proxy)
        c.until(lambda f: f[0] == SETTINGS and not f[1] & 1)
        c.send(frame(SETTINGS, 1, 0))
        enc = hpack.Encoder()
        block = [(":method", "GET"), (":scheme", "https"), (":authority", WEBMAIL),
                 (":path", "/slow")]
        for i in range(101):
            c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1 + 2 * i, enc.encode(block)))
        f = c.until(lambda f: f[0] in (RST_STREAM, GOAWAY), timeout=5)
        self.assertIsNotNone(f, "the 101st stream was accepted")
        # past a limit the client acknowledged: the stream refused, or (nghttp2's choice, RFC
        # 9113 5.1.2) the connection, with the 100 streams before it as the last ones
        if f[0] == RST_STREAM:
            self.assertEqual(f[2], 201)
        else:
            self.assertEqual(int.from_bytes(f[3][4:8], "big"), PROTOCOL_ERROR)
            self.assertEqual(int.from_bytes(f[3][:4], "big"), 199)
        self.assertAlive(proxy)

    def test_rapid_reset_gets_goaway(self):
        echo = self.start_backend("http", "echo", delay=1)
        proxy = self.h2_proxy(node=echo)
        c = self.raw(proxy)
        enc = hpack.Encoder()
        block = [(":method", "GET"), (":scheme", "https"), (":authority", WEBMAIL),
                 (":path", "/")]
        out = b""
        for i in range(2000):
            sid = 1 + 2 * i
            out += frame(HEADERS, END_STREAM | END_HEADERS, sid, enc.encode(block))
            out += frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
        try:
            c.send(out)
        except OSError:
            pass
        code = c.goaway()
        self.assertIn(code, (ENHANCE_YOUR_CALM,), "GOAWAY code %r" % code)
        self.assertTrue(c.closed_within(5))
        # the node was not asked 2000 times
        self.assertLess(len(echo.requests_seen()), 400)
        self.assertAlive(proxy)

    def test_continuation_flood_gets_goaway(self):
        proxy = self.h2_proxy()
        c = self.raw(proxy)
        block = request_block("/", [("x-pad", "a" * 10)])
        out = frame(HEADERS, 0, 1, block)
        for _ in range(1000):
            out += frame(CONTINUATION, 0, 1, hpack.Encoder().encode([("x-more", "b")]))
        try:
            c.send(out)
        except OSError:
            pass
        self.assertIsNotNone(c.goaway(), "no GOAWAY after a CONTINUATION flood")
        self.assertTrue(c.closed_within(5))
        self.assertAlive(proxy)

    def test_oversized_header_list_gets_goaway(self):
        proxy = self.h2_proxy()
        c = self.raw(proxy)
        # under every single-field limit, over max_header (32 KiB) all together
        block = request_block("/", [("x-h%d" % i, "v" * 1000) for i in range(40)])
        out = b""
        first, rest = block[:16000], block[16000:]
        out += frame(HEADERS, 0, 1, first)
        while rest:
            piece, rest = rest[:16000], rest[16000:]
            out += frame(CONTINUATION, 0 if rest else END_HEADERS, 1, piece)
        c.send(out)
        self.assertEqual(c.goaway(), ENHANCE_YOUR_CALM)
        self.assertAlive(proxy)

    def flood(self, proxy, make):
        c = self.raw(proxy)
        try:
            for _ in range(20):
                c.send(b"".join(make(i) for i in range(500)))
        except OSError:
            pass
        code = c.goaway()
        self.assertIsNotNone(code, "no GOAWAY")
        self.assertTrue(c.closed_within(5))
        return code

    def test_ping_flood_gets_goaway(self):
        proxy = self.h2_proxy()
        self.assertEqual(self.flood(proxy, lambda i: frame(PING, 0, 0, struct.pack(">Q", i))),
                         ENHANCE_YOUR_CALM)
        self.assertAlive(proxy)

    def test_settings_flood_gets_goaway(self):
        proxy = self.h2_proxy()
        self.assertEqual(self.flood(proxy, lambda i: frame(SETTINGS, 0, 0)), ENHANCE_YOUR_CALM)
        self.assertAlive(proxy)

    def test_empty_data_flood_gets_goaway(self):
        echo = self.start_backend("http", "echo", delay=5)
        proxy = self.h2_proxy(node=echo)
        c = self.raw(proxy)
        c.send(frame(HEADERS, END_HEADERS, 1,
                     hpack.Encoder().encode([(":method", "POST"), (":scheme", "https"),
                                             (":authority", WEBMAIL), (":path", "/")])))
        try:
            for _ in range(20):
                c.send(frame(DATA, 0, 1) * 500)
        except OSError:
            pass
        self.assertEqual(c.goaway(), ENHANCE_YOUR_CALM)
        self.assertAlive(proxy)

    def test_idle_connection_closes_after_keepalive_timeout(self):
        proxy = self.h2_proxy(tls={"keepalive_timeout": "1s"})
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        r = c.response(c.request("/"))
        self.assertEqual(status_of(r), 200)
        t0 = time.monotonic()
        c.wait(lambda: c.goaway is not None, timeout=5)
        self.assertEqual(c.goaway, NO_ERROR)
        self.assertFalse(c.pump_once(3))  # then the connection closes
        self.assertLess(time.monotonic() - t0, 4)

    def test_stop_sends_goaway_and_open_streams_finish(self):
        echo = self.start_backend("http", "echo", delay=1.5)
        proxy = self.h2_proxy(node=echo)
        c = self.raw(proxy)
        enc = hpack.Encoder()
        sids = [1 + 2 * i for i in range(5)]
        for sid in sids:
            c.send(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                         enc.encode([(":method", "GET"), (":scheme", "https"),
                                     (":authority", WEBMAIL), (":path", "/head?s=%d" % sid)])))
        time.sleep(0.5)
        proxy.signal(signal.SIGTERM)
        dec = hpack.Decoder()
        statuses, ended, goaway = {}, set(), None
        c.sock.settimeout(10)
        while len(ended) < len(sids):
            f = c.read_frame()
            if f is None:
                break
            if f[0] == HEADERS:
                statuses[f[2]] = dict(dec.decode(f[3])).get(":status")
            if f[0] == GOAWAY:
                goaway = int.from_bytes(f[3][4:8], "big")
            if f[0] in (HEADERS, DATA) and f[1] & END_STREAM:
                ended.add(f[2])
        self.assertEqual(goaway, NO_ERROR)
        self.assertEqual(statuses, {sid: "200" for sid in sids})
        self.assertEqual(ended, set(sids))
        self.assertTrue(c.closed_within(5))
        proxy.expect_exit = True
        self.assertEqual(proxy.wait(10), 0)


if __name__ == "__main__":
    main()
