"""Pieces shared by the HTTP/2 tests: a python3-h2 client over TLS (ALPN h2) or plain TCP, that
can also send raw frames, and a test case base with a TLS listener speaking HTTP/2."""

import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tls"))

import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402
import h2.settings  # noqa: E402

from harness import LOOPBACK, require_tool  # noqa: E402
from tls_support import WEBMAIL, TlsTestCase, client_context  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types and flags (RFC 9113 6)
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
NO_ERROR, PROTOCOL_ERROR, REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM = 0x0, 0x1, 0x7, 0x8, 0xb


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


def open_socket(port, tls=True, ca=None, timeout=10.0):
    raw = socket.create_connection((LOOPBACK, port), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not tls:
        return raw
    ctx = client_context(ca, verify=ca is not None, alpn=["h2", "http/1.1"])
    s = ctx.wrap_socket(raw, server_hostname=WEBMAIL)
    if s.selected_alpn_protocol() != "h2":
        s.close()
        raise AssertionError("ALPN selected %r, not h2" % s.selected_alpn_protocol())
    return s


class RawH2:
    """Frames written by hand (for what a well-behaved client never sends), and the frames the
    server answers, read one by one."""

    def __init__(self, port, tls=True, ca=None, timeout=10.0):
        self.sock = open_socket(port, tls, ca, timeout)
        self.buf = b""
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def read_frame(self):
        """(type, flags, stream, payload), or None at the end of the connection."""
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            try:
                d = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError, ssl.SSLEOFError):
                d = b""
            if not d:
                return None
            self.buf += d
        n = int.from_bytes(self.buf[:3], "big")
        f = (self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big") & 0x7fffffff,
             self.buf[9:9 + n])
        self.buf = self.buf[9 + n:]
        return f

    def until(self, predicate, timeout=10.0):
        """Reads frames until one matches (returned) or the connection ends (None)."""
        self.sock.settimeout(timeout)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            f = self.read_frame()
            if f is None or predicate(f):
                return f
        return None

    def goaway(self, timeout=10.0):
        """The error code of the GOAWAY the server sends, or None when the connection ended
        without one."""
        f = self.until(lambda f: f[0] == GOAWAY, timeout)
        return None if f is None else int.from_bytes(f[3][4:8], "big")

    def closed_within(self, timeout):
        self.sock.settimeout(timeout)
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end:
                if self.read_frame() is None:
                    return True
        except socket.timeout:
            return False
        return False


class H2Client:
    """A python3-h2 client connection: requests on streams, events read as they come."""

    def __init__(self, port, tls=True, ca=None, timeout=10.0, window=None):
        self.sock = open_socket(port, tls, ca, timeout)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        if window:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.flush()
        self.responses = {}  # stream id -> {"headers", "data", "trailers", "ended", "reset"}
        self.auto_ack = True  # give window back as data is read
        self.goaway = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path="/", method="GET", host=WEBMAIL, headers=(), body=None,
                end_stream=True):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", "https"), (":authority", host),
                (":path", path)] + list(headers)
        self.conn.send_headers(sid, hdrs, end_stream=body is None and end_stream)
        self.responses[sid] = {"headers": None, "data": bytearray(), "trailers": None,
                               "ended": False, "reset": None, "received": 0, "interim": [],
                               "at": {}}
        if body is not None:
            self.send_body(sid, body, end=end_stream)
        self.flush()
        return sid

    def send_body(self, sid, body, end=True):
        """Sends as much as the windows allow; the rest with pump()."""
        view = memoryview(body)
        while view:
            room = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if room <= 0:
                self.flush()
                self.pump_once(1.0)
                continue
            self.conn.send_data(sid, bytes(view[:room]))
            view = view[room:]
            self.flush()
        if end:
            self.conn.end_stream(sid)
        self.flush()

    def pump_once(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return True
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        if not data:
            return False
        for ev in self.conn.receive_data(data):
            self.handle(ev)
        self.flush()
        return True

    def handle(self, ev):
        r = self.responses.get(getattr(ev, "stream_id", None))
        if isinstance(ev, h2.events.ResponseReceived):
            r["headers"] = ev.headers
            r["at"]["headers"] = time.monotonic()
        elif isinstance(ev, h2.events.InformationalResponseReceived):
            r["interim"].append(ev.headers)  # 1xx, in order
            r["at"].setdefault("interim", time.monotonic())
        elif isinstance(ev, h2.events.DataReceived):
            r["data"] += ev.data
            r["received"] += len(ev.data)
            if self.auto_ack:
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            else:
                r.setdefault("unacked", 0)
                r["unacked"] += ev.flow_controlled_length
        elif isinstance(ev, h2.events.TrailersReceived):
            r["trailers"] = ev.headers
        elif isinstance(ev, h2.events.StreamEnded):
            r["ended"] = True
        elif isinstance(ev, h2.events.StreamReset):
            if r is not None:
                r["reset"] = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = ev.error_code

    def wait(self, predicate, timeout=10.0):
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                raise AssertionError("timed out waiting")
            if not self.pump_once(min(1.0, end - time.monotonic())):
                break
        return predicate()

    def done(self, sid):
        r = self.responses[sid]
        return r["ended"] or r["reset"] is not None

    def response(self, sid, timeout=10.0):
        self.wait(lambda: self.done(sid), timeout)
        return self.responses[sid]


def status_of(r):
    for k, v in r["headers"] or ():
        if k in (b":status", ":status"):
            return int(v)
    return None


def header_of(r, name):
    name = name.encode() if isinstance(name, str) else name
    for k, v in r["headers"] or ():
        k = k.encode() if isinstance(k, str) else k
        if k == name:
            return v.decode() if isinstance(v, bytes) else v
    return None


def curl(*args, timeout=120):
    exe = require_tool("curl")
    return subprocess.run([exe, "-s", "-S", "--max-time", str(timeout)] + list(args),
                          capture_output=True, timeout=timeout + 30)


class H2TestCase(TlsTestCase):
    def url(self, proxy, path="/"):
        return "https://%s:%d%s" % (WEBMAIL, proxy.port, path)

    def resolve(self, proxy):
        return "--resolve", "%s:%d:127.0.0.1" % (WEBMAIL, proxy.port)

    def h2_proxy(self, node=None, tls=None, **kw):
        t = {"http2": True}
        t.update(tls or {})
        return self.webmail_proxy(node, tls=t, **kw)


class RawNode:
    """A node on a loopback port written by hand, for answers nginx cannot give: each
    connection goes to serve(conn) in a thread of its own."""

    def __init__(self):
        self.srv = socket.create_server((LOOPBACK, 0))
        self.port = self.srv.getsockname()[1]
        self.address = "%s:%d" % (LOOPBACK, self.port)
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        raise NotImplementedError

    def close(self):
        self.srv.close()


def read_head(conn, buf=b""):
    """Reads from `conn` until a request head is in `buf`: (head, the bytes after it), or
    (None, buf) when the peer closes first."""
    while b"\r\n\r\n" not in buf:
        d = conn.recv(65536)
        if not d:
            return None, buf
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest

