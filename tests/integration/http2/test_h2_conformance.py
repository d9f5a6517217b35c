"""HTTP/2 conformance, case by case as h2spec (github.com/summerwind/h2spec) checks it: each test
sends the frames h2spec sends for one section of RFC 9113 (RFC 7540) or RFC 7541 (HPACK), with
raw frames on the TLS listener (ALPN h2) or the h2c prior-knowledge one, and asserts the error
Passeur answers (GOAWAY or RST_STREAM and its code) or the normal answer."""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from h2_support import (CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS,  # noqa
                        PING, PRIORITY, PROTOCOL_ERROR, RST_STREAM, SETTINGS, H2TestCase, RawH2,
                        frame, open_socket)
from harness import main  # noqa: E402
from tls_support import WEBMAIL  # noqa: E402

WINDOW_UPDATE = 0x8
ACK, PADDED, PRIORITY_FLAG = 0x1, 0x8, 0x20
FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR, STREAM_CLOSED, COMPRESSION_ERROR = 0x3, 0x6, 0x5, 0x9
CANCEL = 0x8
NAMES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
         5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL",
         9: "COMPRESSION_ERROR"}


def lit(name, value):
    """A literal header field without indexing, no Huffman (RFC 7541 6.2.2)."""
    name, value = name.encode(), value.encode()
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def block(fields=None, extra=(), drop=()):
    fields = fields if fields is not None else [
        (":method", "GET"), (":scheme", "https"), (":authority", WEBMAIL), (":path", "/")]
    return b"".join(lit(n, v) for n, v in list(fields) + list(extra) if n not in drop)


def post_block():
    """A POST without END_STREAM: its stream stays open for what follows."""
    return block([(":method", "POST"), (":scheme", "https"), (":authority", WEBMAIL),
                  (":path", "/")])


def settings(*pairs):
    return b"".join(struct.pack(">HI", k, v) for k, v in pairs)


def priority(dep, weight=15, exclusive=False):
    return struct.pack(">I", dep | (0x80000000 if exclusive else 0)) + bytes([weight])


class Peer(RawH2):
    """A connection that did h2spec's handshake: preface and SETTINGS both ways, acknowledged."""

    def __init__(self, port, tls, ca, initial=b""):
        super().__init__(port, tls=tls, ca=ca, timeout=5)
        if initial:
            self.send(frame(SETTINGS, 0, 0, initial))
        seen = set()

        def handshake(f):
            if f[0] == SETTINGS:
                seen.add("ack" if f[1] & ACK else "settings")
                if not f[1] & ACK:
                    self.send(frame(SETTINGS, ACK, 0))
            return {"settings", "ack"} <= seen

        if self.until(handshake, 5) is None:
            raise AssertionError("no SETTINGS exchange")

    def until(self, predicate, timeout=5.0):
        """As RawH2.until, with None also when nothing came in time."""
        try:
            return super().until(predicate, timeout)
        except OSError:  # socket.timeout included
            return None

    def answer(self, timeout=3):
        """The first RST_STREAM or GOAWAY: ("RST_STREAM", stream, code) or ("GOAWAY", last
        stream, code); None when the connection ends or stays silent without one."""
        f = self.until(lambda f: f[0] in (RST_STREAM, GOAWAY), timeout)
        if f is None:
            return None
        if f[0] == RST_STREAM:
            return ("RST_STREAM", f[2], struct.unpack(">I", f[3][:4])[0])
        return ("GOAWAY", struct.unpack(">I", f[3][:4])[0] & 0x7fffffff,
                struct.unpack(">I", f[3][4:8])[0])

    def response(self, stream, timeout=5):
        """The status of the answer on `stream` once it ended, or the first error frame."""
        status = None
        end = False
        while not end:
            f = self.until(lambda f: f[2] == stream or f[0] == GOAWAY, timeout)
            if f is None:
                return None
            if f[0] in (RST_STREAM, GOAWAY):
                return ("RST_STREAM" if f[0] == RST_STREAM else "GOAWAY",
                        struct.unpack(">I", f[3][-4:] if f[0] == RST_STREAM else f[3][4:8])[0])
            if f[0] == HEADERS and status is None:
                status = f[3]  # the block itself: its first byte is an indexed :status
            end = bool(f[1] & END_STREAM)
        return status

    def ping(self, payload=b"h2spec!!", timeout=3):
        """Whether a PING is answered with its payload (the connection is alive)."""
        self.send(frame(PING, 0, 0, payload))
        f = self.until(lambda f: f[0] in (PING, GOAWAY), timeout)
        return f is not None and f[0] == PING and f[1] & ACK and f[3] == payload


class H2ConformanceTest(H2TestCase):
    @classmethod
    def setUpClass(cls):
        """One passeur (TLS listener with http2, plain one with prior knowledge) in front of one
        nginx node for the whole class: every case opens connections of its own."""
        super().setUpClass()
        starter = cls("test_generic_requests_answered_on_both_listeners")
        starter.addCleanup = cls.addClassCleanup
        starter.setUp()
        cls.proxy = starter.h2_proxy(plain={"http2": "prior-knowledge"})

    def peer(self, tls=True, initial=b""):
        port = self.proxy.port if tls else self.proxy.plain_port
        c = Peer(port, tls, self.certs.ca, initial)
        self.addCleanup(c.close)
        return c

    def assertConnectionError(self, c, code, what):
        a = c.answer()
        self.assertIsNotNone(a, "%s: neither GOAWAY nor RST_STREAM" % what)
        self.assertEqual((a[0], NAMES.get(a[2], a[2])), ("GOAWAY", NAMES[code]), what)
        self.assertTrue(c.closed_within(3), "%s: the connection stays open after GOAWAY" % what)

    def assertStreamError(self, c, stream, code, what):
        a = c.answer()
        self.assertIsNotNone(a, "%s: neither GOAWAY nor RST_STREAM" % what)
        self.assertEqual((a[0], a[1], NAMES.get(a[2], a[2])), ("RST_STREAM", stream, NAMES[code]),
                         what)
        self.assertTrue(c.ping(), "%s: the connection died with the stream" % what)

    def assertAnswered(self, c, stream, what):
        status = c.response(stream)
        self.assertIsInstance(status, bytes, "%s: %r instead of an answer" % (what, status))
        self.assertEqual(status[:1], b"\x88", "%s: the answer is not 200" % what)  # :status 200

    # generic / 3.5 / 4.1

    def test_generic_requests_answered_on_both_listeners(self):
        for tls in (True, False):
            c = self.peer(tls)
            c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, block()))
            self.assertAnswered(c, 1, "GET, tls=%s" % tls)
            post = block([(":method", "POST"), (":scheme", "https"), (":authority", WEBMAIL),
                          (":path", "/"), ("content-length", "4")])
            c.send(frame(HEADERS, END_HEADERS, 3, post) + frame(DATA, 0, 3, b"te") +
                   frame(DATA, END_STREAM, 3, b"st"))
            self.assertAnswered(c, 3, "POST in two DATA frames, tls=%s" % tls)
            # 4.1: a frame header with the reserved bit of its stream identifier set
            c.send(frame(HEADERS, END_STREAM | END_HEADERS, 0x80000005, block()))
            self.assertAnswered(c, 5, "reserved bit, tls=%s" % tls)

    def test_3_5_invalid_preface_closes(self):
        for tls in (True, False):
            port = self.proxy.port if tls else self.proxy.plain_port
            c = Peer.__new__(Peer)
            c.sock, c.buf = open_socket(port, tls, self.certs.ca, 5), b""
            self.addCleanup(c.close)
            c.send(b"INVALID CONNECTION PREFACE\r\n\r\n")
            if tls:
                self.assertConnectionError(c, PROTOCOL_ERROR, "3.5/2: invalid preface over TLS")
            else:
                # the prior-knowledge listener speaks HTTP/1.1 too: not a preface, not a
                # request line either
                c.sock.settimeout(5)
                data = b""
                while True:
                    d = c.sock.recv(4096)
                    if not d:
                        break
                    data += d
                self.assertTrue(data.startswith(b"HTTP/1.1 400 "), data[:40])

    def test_4_1_unknown_type_and_flags_ignored(self):
        c = self.peer()
        c.send(frame(0x16, 0x16, 0, b"\x00" * 8))
        self.assertTrue(c.ping(), "4.1/1: unknown frame type")
        c.send(frame(PING, 0x16, 0, b"flagged!"))  # undefined flags
        f = c.until(lambda f: f[0] == PING)
        self.assertEqual((f[1], f[3]), (ACK, b"flagged!"), "4.1/2: undefined flags")

    # 4.2 / 4.3

    def test_4_2_frame_size(self):
        c = self.peer()
        c.send(frame(HEADERS, END_HEADERS, 1, post_block()) +
               frame(DATA, 0, 1, b"x" * 16385))  # past SETTINGS_MAX_FRAME_SIZE
        self.assertConnectionError(c, FRAME_SIZE_ERROR, "4.2/2: DATA over the maximum size")
        c = self.peer()
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, block() + lit("x-big", "y" * 100) * 160))
        self.assertConnectionError(c, FRAME_SIZE_ERROR, "4.2/3: HEADERS over the maximum size")

    def test_4_3_header_compression_errors(self):
        c = self.peer()
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, block() + b"\x00\x85ab"))
        self.assertConnectionError(c, COMPRESSION_ERROR, "4.3/1: invalid header block fragment")
        c = self.peer()
        b = block()
        c.send(frame(HEADERS, END_STREAM, 1, b[:10]) + frame(PRIORITY, 0, 1, priority(0)) +
               frame(CONTINUATION, END_HEADERS, 1, b[10:]))
        self.assertConnectionError(c, PROTOCOL_ERROR, "4.3/3: PRIORITY inside a header block")

    # 5.1 stream states

    def test_5_1_idle_stream(self):
        for what, data in (("DATA", frame(DATA, END_STREAM, 1, b"x")),
                           ("RST_STREAM", frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL))),
                           ("WINDOW_UPDATE", frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 100))),
                           ("CONTINUATION", frame(CONTINUATION, END_HEADERS, 1, block()))):
            c = self.peer()
            c.send(data)
            self.assertConnectionError(c, PROTOCOL_ERROR, "5.1/1-4: %s on an idle stream" % what)

    def test_5_1_half_closed_remote(self):
        slow = self.start_backend("http", "echo", delay=2)
        proxy = self.h2_proxy(node=slow)
        c = Peer(proxy.port, True, self.certs.ca)
        self.addCleanup(c.close)
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, block()))
        c.send(frame(DATA, 0, 1, b"late"))
        # nghttp2 makes it a connection error, which RFC 9113 5.1 allows for a stream error
        self.assertConnectionError(c, STREAM_CLOSED, "5.1/5: DATA on a half-closed stream")
        c = Peer(proxy.port, True, self.certs.ca)
        self.addCleanup(c.close)
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, block()))
        c.send(frame(HEADERS, END_HEADERS, 1, block()))
        self.assertConnectionError(c, STREAM_CLOSED, "5.1/6: HEADERS on a half-closed stream")

    def test_5_1_closed_after_client_reset(self):
        for what, late in (("DATA", frame(DATA, END_STREAM, 1, b"late")),
                           ("HEADERS", frame(HEADERS, END_STREAM | END_HEADERS, 1, block()))):
            c = self.peer()
            c.send(frame(HEADERS, END_HEADERS, 1, post_block()) +
                   frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL)) + late)
            self.assertConnectionError(c, STREAM_CLOSED, "5.1/8-9: %s after RST_STREAM" % what)

    def test_5_1_closed_after_end_stream(self):
        for what, late in (("DATA", frame(DATA, END_STREAM, 1, b"late")),
                           ("HEADERS", frame(HEADERS, END_STREAM | END_HEADERS, 1, block()))):
            for tls in (True, False):
                c = self.peer(tls)
                c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, block()))
                self.assertAnswered(c, 1, "the request before")
                c.send(late)
                self.assertConnectionError(c, STREAM_CLOSED, "5.1/11-12: %s on a closed stream, "
                                           "tls=%s" % (what, tls))

    def test_5_1_frames_after_passeur_reset_ignored(self):
        # RFC 9113 5.1 "closed": frames the client sent before it saw Passeur's RST_STREAM
        c = self.peer()
        c.send(frame(HEADERS, END_HEADERS, 1, post_block() + lit("X-Upper", "1")))
        self.assertStreamError(c, 1, PROTOCOL_ERROR, "a malformed request, its body to come")
        c.send(frame(DATA, 0, 1, b"in flight") + frame(HEADERS, END_STREAM | END_HEADERS, 1,
                                                        lit("x-trailer", "1")))
        self.assertTrue(c.ping(), "DATA and trailers after Passeur's RST_STREAM are not ignored")
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 3, block()))
        self.assertAnswered(c, 3, "the next stream")
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, lit("x-trailer", "2")))
        self.assertTrue(c.ping(), "trailers on an older stream Passeur reset are not ignored")

    def test_5_1_1_stream_identifiers(self):
        c = self.peer()
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 2, block()))
        self.assertConnectionError(c, PROTOCOL_ERROR, "5.1.1/1: even-numbered stream")
        c = self.peer()
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 5, block()) +
               frame(HEADERS, END_STREAM | END_HEADERS, 3, block()))
        self.assertConnectionError(c, PROTOCOL_ERROR, "5.1.1/2: a number below one used")

    # 5.3.1, 5.4.1, 5.5

    def test_5_3_1_stream_depending_on_itself(self):
        # a stream error in RFC 9113 5.3.1; nghttp2 makes it a connection error, which 5.4.1
        # allows
        c = self.peer()
        c.send(frame(HEADERS, END_STREAM | END_HEADERS | PRIORITY_FLAG, 1,
                     priority(1) + block()))
        self.assertConnectionError(c, PROTOCOL_ERROR, "5.3.1/1: HEADERS depending on itself")
        c = self.peer()
        c.send(frame(PRIORITY, 0, 3, priority(3)))
        self.assertConnectionError(c, PROTOCOL_ERROR, "5.3.1/2: PRIORITY depending on itself")

    def test_5_4_1_connection_error_goaway_names_last_stream(self):
        c = self.peer()
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, block()))
        self.assertAnswered(c, 1, "the request before")
        c.send(frame(PING, 0, 0, b"\x00" * 6))
        a = c.answer()
        self.assertEqual(a, ("GOAWAY", 1, FRAME_SIZE_ERROR), "5.4.1/1-2")
        self.assertTrue(c.closed_within(3))

    def test_5_5_extension_frames(self):
        c = self.peer()
        c.send(frame(0xff, 0, 0, b"extension"))
        self.assertTrue(c.ping(), "5.5/1: unknown extension frame")
        b = block()
        c.send(frame(HEADERS, END_STREAM, 1, b[:10]) + frame(0xff, 0, 1, b"x") +
               frame(CONTINUATION, END_HEADERS, 1, b[10:]))
        self.assertConnectionError(c, PROTOCOL_ERROR, "5.5/2: extension frame in a header block")

    # 6.x frame definitions

    def test_6_1_data(self):
        c = self.peer()
        c.send(frame(DATA, END_STREAM, 0, b"x"))
        self.assertConnectionError(c, PROTOCOL_ERROR, "6.1/1: DATA on stream 0")
        c = self.peer()
        c.send(frame(HEADERS, END_HEADERS, 1, post_block()) +
               frame(DATA, END_STREAM | PADDED, 1, b"\x06test"))  # pad length past the payload
        self.assertConnectionError(c, PROTOCOL_ERROR, "6.1/3: DATA with invalid pad length")

    def test_6_2_headers(self):
        c = self.peer()
        c.send(frame(HEADERS, END_STREAM, 1, block()) + frame(PRIORITY, 0, 1, priority(0)))
        self.assertConnectionError(c, PROTOCOL_ERROR, "6.2/1: HEADERS then no CONTINUATION")
        c = self.peer()
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 0, block()))
        self.assertConnectionError(c, PROTOCOL_ERROR, "6.2/2: HEADERS on stream 0")
        c = self.peer()
        c.send(frame(HEADERS, END_STREAM | END_HEADERS | PADDED, 1, b"\xff" + block()))
        self.assertConnectionError(c, PROTOCOL_ERROR, "6.2/3: HEADERS with invalid pad length")

    def test_6_3_priority(self):
        c = self.peer()
        c.send(frame(PRIORITY, 0, 0, priority(1)))
        self.assertConnectionError(c, PROTOCOL_ERROR, "6.3/1: PRIORITY on stream 0")
        c = self.peer()
        c.send(frame(PRIORITY, 0, 1, priority(0)[:4]))
        self.assertConnectionError(c, FRAME_SIZE_ERROR, "6.3/2: PRIORITY of 4 bytes")
        c = self.peer()
        c.send(frame(PRIORITY, 0, 9, priority(0)))  # on an idle stream: allowed
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 3, block()))
        self.assertAnswered(c, 3, "a request after PRIORITY on an idle stream")

    def test_6_4_rst_stream(self):
        for what, data, code in (
                ("6.4/1: on stream 0", frame(RST_STREAM, 0, 0, struct.pack(">I", CANCEL)),
                 PROTOCOL_ERROR),
                ("6.4/2: on an idle stream", frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL)),
                 PROTOCOL_ERROR),
                ("6.4/3: of 3 bytes", frame(HEADERS, END_HEADERS, 1, block()) +
                 frame(RST_STREAM, 0, 1, b"\x00\x00\x08"), FRAME_SIZE_ERROR)):
            c = self.peer()
            c.send(data)
            self.assertConnectionError(c, code, what)

    def test_6_5_settings(self):
        for what, data, code in (
                ("6.5/1: ACK with a payload", frame(SETTINGS, ACK, 0, b"\x00" * 6),
                 FRAME_SIZE_ERROR),
                ("6.5/2: on stream 1", frame(SETTINGS, 0, 1, settings((0x3, 100))),
                 PROTOCOL_ERROR),
                ("6.5/3: of 3 bytes", frame(SETTINGS, 0, 0, b"\x00\x03\x00"), FRAME_SIZE_ERROR),
                ("6.5.2/1: ENABLE_PUSH 2", frame(SETTINGS, 0, 0, settings((0x2, 2))),
                 PROTOCOL_ERROR),
                ("6.5.2/2: INITIAL_WINDOW_SIZE 2^31", frame(SETTINGS, 0, 0,
                                                            settings((0x4, 1 << 31))),
                 FLOW_CONTROL_ERROR),
                ("6.5.2/3: MAX_FRAME_SIZE 16383", frame(SETTINGS, 0, 0,
                                                        settings((0x5, 16383))), PROTOCOL_ERROR),
                ("6.5.2/4: MAX_FRAME_SIZE 2^24", frame(SETTINGS, 0, 0, settings((0x5, 1 << 24))),
                 PROTOCOL_ERROR)):
            c = self.peer()
            c.send(data)
            self.assertConnectionError(c, code, what)
        c = self.peer()
        c.send(frame(SETTINGS, 0, 0, settings((0xff, 1))))  # 6.5.2/5: unknown setting
        f = c.until(lambda f: f[0] in (SETTINGS, GOAWAY))
        self.assertEqual((f[0], f[1], f[3]), (SETTINGS, ACK, b""), "6.5.3/1: SETTINGS ACK")

    def test_6_7_ping(self):
        c = self.peer()
        c.send(frame(PING, ACK, 0, b"unasked!"))  # an ACK is not answered
        self.assertTrue(c.ping(b"answered"), "6.7/1-2: PING answered, ACK ignored")
        for what, data in (("6.7/3: on stream 1", frame(PING, 0, 1, b"\x00" * 8)),
                           ("6.7/4: of 6 bytes", frame(PING, 0, 0, b"\x00" * 6))):
            c = self.peer()
            c.send(data)
            self.assertConnectionError(c, PROTOCOL_ERROR if "stream" in what else
                                       FRAME_SIZE_ERROR, what)

    def test_6_8_goaway_on_a_stream(self):
        c = self.peer()
        c.send(frame(GOAWAY, 0, 1, struct.pack(">II", 0, 0)))
        self.assertConnectionError(c, PROTOCOL_ERROR, "6.8/1: GOAWAY on stream 1")

    def test_6_9_window_update(self):
        c = self.peer()
        c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)))
        self.assertConnectionError(c, PROTOCOL_ERROR, "6.9/1: increment 0 on the connection")
        c = self.peer()
        c.send(frame(HEADERS, END_HEADERS, 1, post_block()) +
               frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0)))
        self.assertConnectionError(c, PROTOCOL_ERROR, "6.9/2: increment 0 on a stream")
        c = self.peer()
        c.send(frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x01"))
        self.assertConnectionError(c, FRAME_SIZE_ERROR, "6.9/3: WINDOW_UPDATE of 3 bytes")
        c = self.peer()
        c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7fffffff)))
        self.assertConnectionError(c, FLOW_CONTROL_ERROR, "6.9.1/2: connection window past 2^31-1")
        c = self.peer()
        c.send(frame(HEADERS, END_HEADERS, 1, post_block()) +
               frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0x7fffffff)))
        self.assertStreamError(c, 1, FLOW_CONTROL_ERROR, "6.9.1/3: stream window past 2^31-1")

    def test_6_9_2_initial_window_size_changes(self):
        c = self.peer(initial=settings((0x4, 0)))
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, block()))
        f = c.until(lambda f: f[0] in (HEADERS, DATA, GOAWAY, RST_STREAM))
        self.assertEqual(f[0], HEADERS, "the answer's head comes whatever the window")
        self.assertIsNone(c.until(lambda f: f[0] == DATA, 0.5), "DATA within a window of 0")
        c.send(frame(SETTINGS, 0, 0, settings((0x4, 1))))
        f = c.until(lambda f: f[0] in (DATA, GOAWAY, RST_STREAM))
        self.assertEqual((f[0], len(f[3])), (DATA, 1), "6.9.2/1: DATA within the new window")

    def test_6_10_continuation(self):
        c = self.peer()
        b = block()
        c.send(frame(HEADERS, END_STREAM, 1, b[:5]) + frame(CONTINUATION, 0, 1, b[5:12]) +
               frame(CONTINUATION, END_HEADERS, 1, b[12:]))
        self.assertAnswered(c, 1, "6.10/1: several CONTINUATION frames")
        for what, data in (
                ("6.10/2: after END_HEADERS", frame(HEADERS, END_STREAM | END_HEADERS, 1, b) +
                 frame(CONTINUATION, END_HEADERS, 1, lit("x-late", "1"))),
                ("6.10/4: on stream 0", frame(HEADERS, END_STREAM, 1, b) +
                 frame(CONTINUATION, END_HEADERS, 0, lit("x-late", "1"))),
                ("6.10/5: on another stream", frame(HEADERS, END_STREAM, 1, b) +
                 frame(CONTINUATION, END_HEADERS, 3, lit("x-late", "1")))):
            c = self.peer()
            c.send(data)
            self.assertConnectionError(c, PROTOCOL_ERROR, what)

    # 8.1 HTTP request/response exchange

    def test_8_1_trailers_without_end_stream(self):
        post = post_block()
        c = self.peer()
        c.send(frame(HEADERS, END_HEADERS, 1, post) + frame(DATA, 0, 1, b"test") +
               frame(HEADERS, END_HEADERS, 1, lit("x-trailer", "1")))
        self.assertStreamError(c, 1, PROTOCOL_ERROR, "8.1/1: trailers without END_STREAM")

    def test_8_1_2_malformed_requests(self):
        base = [(":method", "GET"), (":scheme", "https"), (":authority", WEBMAIL), (":path", "/")]
        cases = (
            ("8.1.2/1: upper-case field name", block(base, [("X-Upper", "1")])),
            ("8.1.2.1/1: unknown pseudo-header", block(base, [(":test", "1")])),
            ("8.1.2.1/2: response pseudo-header", block(base, [(":status", "200")])),
            ("8.1.2.1/3: pseudo-header after a field", block([("x-a", "1")] + base)),
            ("8.1.2.2/1: connection-specific field", block(base, [("connection", "close")])),
            ("8.1.2.2/2: TE other than trailers", block(base, [("te", "gzip")])),
            ("8.1.2.3/1: empty :path", block(base[:3] + [(":path", "")])),
            ("8.1.2.3/2: no :method", block(base, drop=(":method",))),
            ("8.1.2.3/3: no :scheme", block(base, drop=(":scheme",))),
            ("8.1.2.3/4: no :path", block(base, drop=(":path",))),
            ("8.1.2.3/5: :method twice", block(base, [(":method", "GET")])),
        )
        c = self.peer()
        sid = 1
        for what, b in cases:
            c.send(frame(HEADERS, END_STREAM | END_HEADERS, sid, b))
            self.assertStreamError(c, sid, PROTOCOL_ERROR, what)
            sid += 2
        post = block([(":method", "POST")] + base[1:], [("content-length", "1")])
        c.send(frame(HEADERS, END_HEADERS, sid, post) + frame(DATA, END_STREAM, sid, b"test"))
        self.assertStreamError(c, sid, PROTOCOL_ERROR, "8.1.2.6/1: content-length mismatch")

    # HPACK (RFC 7541)

    def test_hpack_decoding_errors(self):
        # h2spec's representations, after (or before) a valid request's fields
        for what, b in (
                ("hpack 2.3.3/1: indexed field past the tables", block() + b"\xc6"),
                ("hpack 2.3.3/2: literal with a name index past the tables",
                 block() + b"\x7f\x07\x00"),
                ("hpack 4.2/1: table size update at the end of the block", block() + b"\x21"),
                ("hpack 5.2/1: Huffman padding over 7 bits",
                 block() + b"\x00\x85\xf2\xb2\x4a\x84\xff\x84\x49\x50\x9f\xff"),
                ("hpack 5.2/2: Huffman padded by zero",
                 block() + b"\x00\x85\xf2\xb2\x4a\x84\xff\x83\x49\x50\x90"),
                ("hpack 5.2/3: Huffman string with EOS",
                 block() + b"\x00\x85\xf2\xb2\x4a\x84\xff\x87\x49\x51\xff\xff\xff\xfa\x7f"),
                ("hpack 6.1/1: index 0", block() + b"\x80"),
                ("hpack 6.3/1: table size update past SETTINGS_HEADER_TABLE_SIZE",
                 b"\x3f\xe2\x1f" + block())):
            c = self.peer()
            c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, b))
            self.assertConnectionError(c, COMPRESSION_ERROR, what)


if __name__ == "__main__":
    main()
