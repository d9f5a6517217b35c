"""Shared pieces of the integration tests: free ports, real backends (nginx and small Python
servers), the passeur process itself, and raw-socket HTTP helpers.

Everything listens on 127.0.0.1 on ports chosen at run time, lives in a temporary directory made
for one test, and is stopped by pid when the test ends (cleanups registered with addCleanup).

Environment:
  PASSEUR_BIN         the binary under test (default: <source>/build/passeur)
  PASSEUR_SOURCE_DIR  the source tree (default: two levels above this file)
  PASSEUR_KEEP_TMP=1  keep each test's temporary directory and print its path
  PASSEUR_IT_VERBOSE=1  some tests print the numbers they measured
"""

import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("PASSEUR_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
BACKENDS_SCRIPT = os.path.join(HERE, "backends.py")
SYSTEM_PYTHON = "/usr/bin/python3"
LOOPBACK = "127.0.0.1"

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


# ---------------------------------------------------------------------------------------------
# Ports and waiting


_handed_out = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Ports for servers are taken below the kernel's ephemeral range: a port the kernel hands out
# for bind(0) is one it may also give, a moment later, to any outgoing connection on the machine
# (another test's client, a proxy dialing its node) as its source port, and the server started
# on it then fails with "Address already in use".
_PORT_LOW = 20000
_PORT_HIGH = _ephemeral_low() - 1
_ports = random.Random(int.from_bytes(os.urandom(8), "little"))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now, and that this process has not
    handed out before (a config whose listener and admin_listen share a port is refused)."""
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if _PORT_HIGH - _PORT_LOW >= 1000:
                try:
                    s.bind((LOOPBACK, _ports.randint(_PORT_LOW, _PORT_HIGH)))
                except OSError:
                    continue
            else:  # no room below the ephemeral range: let the kernel choose
                s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port left on %s" % LOOPBACK)


def free_ports(n):
    """n distinct free ports (free_port() n times)."""
    return [free_port() for _ in range(n)]


def refused_port():
    """A port where a connect is refused (nothing listens, nothing will)."""
    return free_port()


class DyingNode:
    """A stopping server whose listening socket is still open (nginx's master after its workers
    left, a Dovecot going down): it never accepts, connections wait in its backlog until
    close() resets them all."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(16)
        self.address = "%s:%d" % (LOOPBACK, self.sock.getsockname()[1])

    def close(self):
        self.sock.close()


def can_connect(port, host=LOOPBACK, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def connect_error(port, host=LOOPBACK, timeout=1.0):
    """None if a connect succeeds, else the errno (ECONNREFUSED, ...) or 'timeout'."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        return None
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return e.errno
    finally:
        s.close()


def wait_until(predicate, timeout, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, message))
        time.sleep(interval)


def wait_port(port, timeout=10.0, proc=None, what="server", log_path=None, ready=None):
    """Poll until something accepts on 127.0.0.1:port, or with ready, until ready(port) is
    true (an OSError or a closed connection counts as not yet). Fails early if proc exits."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s exited with %s before accepting on port %d%s"
                                 % (what, proc.returncode, port, _log_tail(log_path)))
        if ready is None:
            if can_connect(port, timeout=0.2):
                return
        else:
            try:
                if ready(port):
                    return
                last = " (not ready)"
            except (OSError, ConnectionClosed) as e:
                last = " (%s)" % e
        time.sleep(0.02)
    raise AssertionError("%s did not accept on port %d within %.0fs%s%s"
                         % (what, port, timeout, last, _log_tail(log_path)))


def tail(path, lines=40):
    """The last lines of a text file ("" if it does not exist)."""
    return "\n".join(read_text(path).splitlines()[-lines:]) if path else ""


def _log_tail(path, lines=40):
    text = tail(path, lines)
    return "\n--- %s (tail) ---\n%s\n" % (path, text) if text else ""


def read_text(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def ensure_open_files(want):
    """Raises this process's soft open-file limit to want; an error when the hard limit is
    lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return
    if hard != resource.RLIM_INFINITY and hard < want:
        raise AssertionError("open-file limit %d is below the %d this test needs" % (hard, want))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def require_tool(name):
    path = shutil.which(name)
    if not path:
        raise AssertionError("%s is not installed (run scripts/install-deps --test)" % name)
    return path


def proc_status(pid, field):
    """A field of /proc/PID/status, in kB (VmHWM, VmRSS, Threads...); None if absent."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def run_timed(argv, limit, running=None, env=None):
    """Runs a command to its end, its output (stdout and stderr) read into a string; SIGKILL
    after limit seconds. running: a list the process is kept in while it runs (for a cleanup
    at exit). Returns (output, exit status, CPU seconds of the process from its rusage)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    if running is not None:
        running.append(proc)

    def kill():
        if proc.returncode is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    timer = threading.Timer(limit, kill)
    timer.start()
    try:
        out = proc.stdout.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        timer.cancel()
        proc.stdout.close()
        if running is not None:
            running.remove(proc)
    return out, proc.returncode, usage.ru_utime + usage.ru_stime


def stop_process(proc, sig=signal.SIGTERM, timeout=10.0):
    """Stop one process we started, by pid: sig, then SIGKILL after timeout."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=10)


class ChildServer:
    """A server of ours in a child process, its output (stdout and stderr) in a log file,
    stopped by pid: SIGTERM, SIGKILL after stop_timeout seconds."""

    proc = None
    stop_timeout = 5

    def spawn(self, argv, log_path, port=None, what="server", wait_log=None, timeout=10,
              mode="wb"):
        """Starts argv; with port, waits until it accepts there (the tail of wait_log, else of
        log_path, in the error), and stops it if it does not."""
        self._log = open(log_path, mode)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        if port is not None:
            try:
                wait_port(port, timeout, self.proc, what, wait_log or log_path)
            except Exception:
                self.stop()
                raise
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, signal.SIGTERM, self.stop_timeout)
            self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None


class ScriptNode(ChildServer):
    """A node written by a test as a Python script, run by this Python with its port as the
    only argument."""

    def __init__(self, workdir, name, source):
        self.port = free_port()
        self.address = "%s:%d" % (LOOPBACK, self.port)
        self.dir = workdir
        self.name = name
        self.script = os.path.join(workdir, name + ".py")
        with open(self.script, "w") as f:
            f.write(source)

    def start(self):
        self.spawn([sys.executable, self.script, str(self.port)],
                   os.path.join(self.dir, self.name + ".log"), port=self.port, what=self.name)
        return self


# A WebSocket node: the 101 with the right Sec-WebSocket-Accept, then an echo of the raw bytes
# of the tunnel (for a ScriptNode).
WS_ECHO_NODE = r'''
import asyncio, base64, hashlib, sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

async def serve(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    key = b""
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    await writer.drain()
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()

asyncio.run(main())
'''


# ---------------------------------------------------------------------------------------------
# Raw HTTP over sockets


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) in order
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Response %s %s %r body=%d bytes>" % (self.status, self.reason, self.headers,
                                                       len(self.body))


class ConnectionClosed(Exception):
    pass


class HttpConn:
    """A client connection that writes exactly the bytes asked for and parses responses."""

    def __init__(self, port, host=LOOPBACK, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def request(self, method="GET", path="/", host="example.test", headers=(), body=b"",
                version="HTTP/1.1", send_body=True):
        """Send one request. headers: iterable of (name, value) or a dict. A Host header is
        added unless host is None or headers carry one; Content-Length is added for a body
        unless headers carry Content-Length or Transfer-Encoding."""
        if isinstance(headers, dict):
            headers = list(headers.items())
        headers = list(headers)
        names = {k.lower() for k, _ in headers}
        if host is not None and "host" not in names:
            headers.insert(0, ("Host", host))
        if body and "content-length" not in names and "transfer-encoding" not in names:
            headers.append(("Content-Length", str(len(body))))
        head = "%s %s %s\r\n" % (method, path, version)
        head += "".join("%s: %s\r\n" % (k, v) for k, v in headers) + "\r\n"
        data = head.encode("latin-1")
        if send_body and body:
            data += body if isinstance(body, bytes) else body.encode()
        self.send(data)

    def _fill(self):
        chunk = self.sock.recv(256 * KiB)
        if not chunk:
            self.eof = True
            raise ConnectionClosed("connection closed by peer")
        self.buf += chunk

    def _read_until(self, marker, limit=1 * MiB):
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out, self.buf = self.buf[:i + len(marker)], self.buf[i + len(marker):]
                return out
            if len(self.buf) > limit:
                raise AssertionError("no %r within %d bytes" % (marker, limit))
            self._fill()

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _read_to_eof(self):
        try:
            while True:
                self._fill()
        except ConnectionClosed:
            pass
        out, self.buf = self.buf, b""
        return out

    def read_head(self):
        """Read one response head (may be an interim 1xx); returns a Response with no body."""
        raw = self._read_until(b"\r\n\r\n")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        m = re.match(r"(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise AssertionError("bad status line %r" % lines[0])
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        return Response(m.group(1), int(m.group(2)), m.group(3) or "", headers, b"", raw)

    def read_body(self, resp, method="GET"):
        if method == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200:
            return b""
        te = (resp.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = []
            while True:
                size_line = self._read_until(b"\r\n").decode("latin-1").strip()
                size = int(size_line.split(";")[0], 16)
                if size == 0:
                    # trailers until an empty line
                    while self._read_until(b"\r\n") != b"\r\n":
                        pass
                    break
                out.append(self._read_exact(size))
                if self._read_exact(2) != b"\r\n":
                    raise AssertionError("bad chunk terminator")
            return b"".join(out)
        cl = resp.header("Content-Length")
        if cl is not None:
            return self._read_exact(int(cl))
        return self._read_to_eof()

    def read_response(self, method="GET", skip_interim=True):
        while True:
            resp = self.read_head()
            if skip_interim and 100 <= resp.status < 200 and resp.status != 101:
                continue
            resp.body = self.read_body(resp, method)
            return resp

    def closed_within(self, timeout):
        """True if the peer closes (EOF or reset) within timeout; data received is discarded
        into self.buf."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                chunk = self.sock.recv(64 * KiB)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def roundtrip(self, method="GET", path="/", host="example.test", headers=(), body=b"",
                  **kw):
        self.request(method, path, host, headers, body, **kw)
        return self.read_response(method)


def http(port, method="GET", path="/", host="example.test", headers=(), body=b"",
         timeout=10.0, **kw):
    """One request on a fresh connection (Connection: close added unless given)."""
    headers = list(headers.items()) if isinstance(headers, dict) else list(headers)
    if not any(k.lower() == "connection" for k, _ in headers):
        headers.append(("Connection", "close"))
    with HttpConn(port, timeout=timeout) as c:
        return c.roundtrip(method, path, host, headers, body, **kw)


def raw_exchange(port, data, timeout=5.0, shutdown_write=False):
    """Send bytes, read everything until the peer closes or timeout. Returns (bytes, closed)."""
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as s:
        s.sendall(data)
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        out = b""
        deadline = time.monotonic() + timeout
        closed = False
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(64 * KiB)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            out += chunk
        return out, closed


def status_of(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------------
# Load generation


def parallel_load(port, clients, duration, path="/", host="example.test", max_requests=100000,
                  headers=()):
    """Keep-alive clients in threads hammering one URL for `duration` seconds (and at most
    max_requests in all). Returns (bodies counter dict, errors list, total)."""
    counts = {}
    errors = []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    budget = [max_requests]

    def take():
        with lock:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            return True

    def worker():
        conn = None
        while time.monotonic() < stop_at and take():
            try:
                if conn is None:
                    conn = HttpConn(port, timeout=10)
                r = conn.roundtrip("GET", path, host, headers)
                key = (r.status, r.text.strip())
                with lock:
                    counts[key] = counts.get(key, 0) + 1
                if (r.header("Connection") or "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001 - any failure is a test result
                with lock:
                    errors.append(repr(e))
                if conn:
                    conn.close()
                conn = None
        if conn:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 30)
    return counts, errors, sum(counts.values())


def run_wrk(port, duration_s, connections=8, threads=2, path="/", host=None, timeout_s=None,
            extra=()):
    """Run wrk (bounded in time) and return its parsed summary. extra: more wrk options
    (--latency, -s script)."""
    wrk = require_tool("wrk")
    cmd = [wrk, "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration_s,
           "--timeout", "%ds" % (timeout_s or 5)] + list(extra)
    if host:
        cmd += ["-H", "Host: %s" % host]
    cmd.append("http://%s:%d%s" % (LOOPBACK, port, path))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 30)
    return parse_wrk(p.stdout + p.stderr, p.returncode)


WRK_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def wrk_ms(text):
    """A duration as wrk prints it ("812.00us", "1.23ms", "2.00s") in milliseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError("cannot read latency %r" % text)
    return float(m.group(1)) * WRK_UNITS_MS[m.group(2)]


def parse_wrk(out, rc=0):
    """wrk's summary: requests, the rate ("rps", None if wrk printed none), the latency
    percentiles of --latency as wrk prints them ({"50": "1.23ms", ...}), errors."""
    res = {"output": out, "rc": rc, "requests": 0, "non2xx": 0, "rps": None, "latency": {},
           "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0}}
    m = re.search(r"(\d+) requests in", out)
    if m:
        res["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        res["rps"] = float(m.group(1))
    res["latency"] = dict(re.findall(r"^\s+(\d+)%\s+(\S+)", out, re.M))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                        map(int, m.groups())))
    return res


# ---------------------------------------------------------------------------------------------
# Big files with markers: mostly sparse, with tagged bytes at known offsets so that a
# transferred copy can be checked for size, order and content while streaming.


def marker_offsets(size):
    offs = [k * 64 * MiB + 12345 for k in range(size // (64 * MiB))
            if k * 64 * MiB + 12345 + 16 <= size]
    offs.append(size - 16)
    return sorted(set(o for o in offs if o >= 0))


def marker_at(offset):
    return ("[%012x]\n\n" % offset).encode()


def make_marked_file(path, size):
    with open(path, "wb") as f:
        f.truncate(size)
        for off in marker_offsets(size):
            f.seek(off)
            f.write(marker_at(off))


class MarkedStreamChecker:
    """Feed the bytes of a copy of make_marked_file(size) in order; check() tells what is
    wrong, if anything."""

    def __init__(self, size):
        self.size = size
        self.offset = 0
        self.nonzero = 0
        self.markers = [(off, marker_at(off)) for off in marker_offsets(size)]
        self.next_marker = 0
        self.expected_nonzero = sum(len(m) - m.count(0) for _, m in self.markers)
        self.tail = b""  # last 15 bytes, for markers split across chunks
        self.problems = []

    def feed(self, chunk):
        end = self.offset + len(chunk)
        if self.next_marker < len(self.markers) and self.markers[self.next_marker][0] + 16 <= end:
            start = self.offset - len(self.tail)
            window = self.tail + chunk
            while (self.next_marker < len(self.markers)
                   and self.markers[self.next_marker][0] + 16 <= end):
                off, m = self.markers[self.next_marker]
                got = window[off - start:off - start + 16]
                if got != m:
                    self.problems.append("at offset %d: %r instead of %r" % (off, got, m))
                self.next_marker += 1
        self.nonzero += len(chunk) - chunk.count(0)
        self.offset = end
        self.tail = (self.tail + chunk[-15:])[-15:]

    def check(self):
        p = list(self.problems[:5])
        if self.offset != self.size:
            p.append("got %d bytes, expected %d" % (self.offset, self.size))
        if self.nonzero != self.expected_nonzero:
            p.append("%d non-zero bytes, expected %d" % (self.nonzero, self.expected_nonzero))
        return p


def check_marked_stream(f, size):
    """Reads a copy of make_marked_file(size) from the file object f to its end, checking it as
    it arrives (no second copy held); returns what is wrong, as MarkedStreamChecker.check()."""
    chk = MarkedStreamChecker(size)
    while True:
        b = f.read(4 * MiB)
        if not b:
            break
        chk.feed(b)
    return chk.check()


def check_marked_file(path, size):
    with open(path, "rb") as f:
        return check_marked_stream(f, size)


def run_marked_download(test, argv, size):
    """Runs a client (argv) that writes a copy of make_marked_file(size) to its stdout, checking
    the bytes as they arrive. Returns (exit status, stderr text, problems)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    test.addCleanup(lambda: p.poll() is None and p.kill())
    problems = check_marked_stream(p.stdout, size)
    err = p.stderr.read().decode(errors="replace")
    p.stdout.close()
    p.stderr.close()
    return p.wait(), err, problems


# ---------------------------------------------------------------------------------------------
# nginx backend

NGINX_LOG_FIELDS = [
    ("conn", "$connection"),
    ("conn_requests", "$connection_requests"),
    ("remote", "$remote_addr"),
    ("request", "$request"),
    ("method", "$request_method"),
    ("uri", "$request_uri"),
    ("status", "$status"),
    ("bytes", "$body_bytes_sent"),
    ("request_length", "$request_length"),
    ("host", "$http_host"),
    ("xff", "$http_x_forwarded_for"),
    ("xfp", "$http_x_forwarded_proto"),
    ("xfh", "$http_x_forwarded_host"),
    ("connection", "$http_connection"),
    ("keep_alive", "$http_keep_alive"),
    ("proxy_connection", "$http_proxy_connection"),
    ("te", "$http_te"),
    ("trailer", "$http_trailer"),
    ("upgrade", "$http_upgrade"),
    ("expect", "$http_expect"),
    ("transfer_encoding", "$http_transfer_encoding"),
    ("content_length", "$http_content_length"),
    ("x_hop", "$http_x_hop"),
    ("x_custom", "$http_x_custom"),
    ("forwarded", "$http_forwarded"),
    ("via", "$http_via"),
    ("msec", "$msec"),
]


def nginx_main_conf(pid_file, error_log, level="info", worker_connections=1024, main=""):
    """The main context of an nginx.conf for a server of ours: one worker (run by root when we
    are root, so that it reads the test's files), its pid file and error log, more main
    directives (main) and the events block."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (f"{user}worker_processes 1;\n{main}pid {pid_file};\n"
            f"error_log {error_log} {level};\n"
            f"events {{ worker_connections {worker_connections}; }}\n")


def nginx_temp_paths(prefix):
    """http-level lines putting nginx's temporary files at prefix + "<kind>_temp" (prefix: a
    directory with its slash, or a path with a file name prefix)."""
    return "\n".join(f"    {k}_temp_path {prefix}{k}_temp;"
                     for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))


def nginx_command(prefix_dir, conf, error_log):
    """nginx in the foreground on conf, relative paths under prefix_dir, start-up errors to
    error_log. SIGTERM to this process (the master) stops its worker too."""
    return ["nginx", "-p", prefix_dir + "/", "-c", conf, "-g", "daemon off;", "-e", error_log]


class Nginx(ChildServer):
    """nginx on 127.0.0.1:port, everything under its own directory.

    Locations: `/` answers `body` (default "<name>\\n"); `/static/` serves files from
    DIR/static; `/dav/` accepts PUT/DELETE into DIR/dav (no body size limit). Each request is
    logged to DIR/access.log as tab-separated key=value fields (NGINX_LOG_FIELDS). SIGTERM to
    the master (our child) makes it stop its worker too."""

    stop_timeout = 10

    def __init__(self, workdir, name="node-a", port=None, body=None, extra_server="",
                 extra_http="", keepalive_timeout="120s", tls=None, error_level="info",
                 worker_connections=1024):
        self.name = name
        self.error_level = error_level
        self.worker_connections = worker_connections
        self.tls = tls  # (certificate chain file, key file): the node speaks HTTPS
        self.dir = os.path.join(workdir, "nginx-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.static_dir = os.path.join(self.dir, "static")
        self.dav_dir = os.path.join(self.dir, "dav")
        os.makedirs(self.static_dir, exist_ok=True)
        os.makedirs(self.dav_dir, exist_ok=True)
        self.port = port or free_port()
        self.body = body if body is not None else name + "\n"
        self.access_log = os.path.join(self.dir, "access.log")
        self.error_log = os.path.join(self.dir, "error.log")
        self.conf = os.path.join(self.dir, "nginx.conf")
        self.extra_server = extra_server
        self.extra_http = extra_http
        self.keepalive_timeout = keepalive_timeout
        self.stderr_path = os.path.join(self.dir, "stderr.log")

    @property
    def address(self):
        return "%s:%d" % (LOOPBACK, self.port)

    def _config(self):
        d = self.dir
        fmt = "\\t".join("%s=%s" % (k, v) for k, v in NGINX_LOG_FIELDS)
        body = self.body.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        main = nginx_main_conf(f"{d}/nginx.pid", self.error_log, self.error_level,
                               self.worker_connections)
        return main + f"""http {{
    log_format passeur_test '{fmt}';
    access_log {d}/access.log passeur_test;
{nginx_temp_paths(d + "/")}
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout {self.keepalive_timeout};
    {self.extra_http}
    server {{
        listen {LOOPBACK}:{self.port}{" ssl" if self.tls else ""};
        {"ssl_certificate %s; ssl_certificate_key %s;" % self.tls if self.tls else ""}
        server_name _;
        location / {{ return 200 "{body}"; }}
        location /static/ {{ alias {self.static_dir}/; }}
        location /dav/ {{
            alias {self.dav_dir}/;
            dav_methods PUT DELETE;
            create_full_put_path on;
            client_max_body_size 0;
            client_body_temp_path {d}/dav_temp;
        }}
        {self.extra_server}
    }}
}}
"""

    def start(self):
        require_tool("nginx")
        with open(self.conf, "w") as f:
            f.write(self._config())
        return self.spawn(nginx_command(self.dir, self.conf, self.error_log), self.stderr_path,
                          self.port, "nginx " + self.name, wait_log=self.error_log)

    def log_entries(self):
        # nginx writes a request's log line just after sending the response: give it a moment
        time.sleep(0.05)
        out = []
        for line in read_text(self.access_log).splitlines():
            if not line.strip():
                continue
            entry = {}
            for field in line.split("\t"):
                k, _, v = field.partition("=")
                entry[k] = v
            out.append(entry)
        return out

    def request_count(self):
        return len(self.log_entries())

    def distinct_connections(self):
        return len({e["conn"] for e in self.log_entries()})


# ---------------------------------------------------------------------------------------------
# Python backends (backends.py in a child /usr/bin/python3)


class Backend(ChildServer):
    """A special-case backend from backends.py: mode is one of
    http (named node; /slow?delay=S, /chunked, /head echo), blackhole, partial, ws."""

    def __init__(self, workdir, mode, name=None, port=None, delay=0.0, extra_args=()):
        self.mode = mode
        self.name = name or mode
        self.port = port or free_port()
        self.delay = delay
        self.log_path = os.path.join(workdir, "backend-%s-%d.log" % (self.name, self.port))
        self.extra_args = list(extra_args)

    @property
    def address(self):
        return "%s:%d" % (LOOPBACK, self.port)

    def start(self):
        cmd = [SYSTEM_PYTHON, BACKENDS_SCRIPT, self.mode, "--port", str(self.port),
               "--name", self.name, "--delay", str(self.delay)] + self.extra_args
        return self.spawn(cmd, self.log_path, self.port, "backend " + self.name)

    def requests_seen(self):
        """Lines 'REQ <method> <path>' the backend wrote for each request it received."""
        return [l for l in read_text(self.log_path).splitlines() if l.startswith("REQ ")]


# ---------------------------------------------------------------------------------------------
# passeur


def passeur_binary():
    b = os.environ.get("PASSEUR_BIN")
    if b:
        return b
    return os.path.join(SOURCE_DIR, "build", "passeur")


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join("%s = %s" % (k, toml_value(x)) for k, x in v.items()) + "}"
    raise TypeError("no TOML form for %r" % (v,))


def toml_table(header, items):
    lines = [header]
    for k, v in items.items():
        if v is None:
            continue
        lines.append("%s = %s" % (k, toml_value(v)))
    return "\n".join(lines) + "\n"


def render_config(server, listeners, routes, pools, certificates=()):
    """server: dict; listeners, routes, certificates: lists of dicts; pools: {name: dict}."""
    parts = [toml_table("[server]", server)]
    for c in certificates:
        parts.append(toml_table("[[certificate]]", c))
    for l in listeners:
        parts.append(toml_table("[[listener]]", l))
    for r in routes:
        parts.append(toml_table("[[route]]", r))
    for name, p in pools.items():
        parts.append(toml_table("[pool.%s]" % name, p))
    return "\n".join(parts)


class Passeur:
    """The proxy under test, with its config file, logs and a listener on a free port."""

    def __init__(self, workdir, routes, pools, workers=2, access_log=None, grace_period="5s",
                 listener=None, server=None, listen_port=None, binary=None,
                 extra_listeners=(), certificates=(), env=None, extra_config=""):
        self.dir = tempfile.mkdtemp(prefix="passeur-", dir=workdir)
        self.env = env  # extra environment variables for the process
        self.binary = binary or passeur_binary()
        self.port = listen_port or free_port()
        self.admin_port = free_port()
        self.config_path = os.path.join(self.dir, "passeur.toml")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.access_log = access_log if access_log is not None else os.path.join(
            self.dir, "access.log")
        self.server = {"workers": workers, "admin_listen": "%s:%d" % (LOOPBACK, self.admin_port),
                       "access_log": self.access_log, "grace_period": grace_period}
        self.server.update(server or {})
        self.listener = {"name": "web", "listen": "%s:%d" % (LOOPBACK, self.port),
                         "protocol": "http"}
        self.listener.update(listener or {})
        # more listeners (dicts with their own "listen"), after the main one
        self.extra_listeners = list(extra_listeners)
        # [[certificate]] tables: dicts with "cert" and "key"
        self.certificates = list(certificates)
        self.extra_config = extra_config  # more tables, as TOML text ([geoip])
        self.routes = routes
        self.pools = pools
        self.proc = None
        self.expect_exit = False
        self.write_config()

    def config_text(self, routes=None, pools=None):
        return render_config(self.server, [self.listener] + self.extra_listeners,
                             self.routes if routes is None else routes,
                             self.pools if pools is None else pools,
                             self.certificates) + self.extra_config

    def write_config(self, routes=None, pools=None, text=None):
        """Write the config file atomically (rename), from routes/pools or raw text."""
        if routes is not None:
            self.routes = routes
        if pools is not None:
            self.pools = pools
        if text is None:
            text = self.config_text()
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    def start(self, wait=True):
        if not os.path.exists(self.binary):
            raise AssertionError("passeur binary not found at %s (set PASSEUR_BIN)" % self.binary)
        self._stderr = open(self.stderr_path, "ab")
        self._stdout = open(self.stdout_path, "ab")
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = subprocess.Popen([self.binary, "-c", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=self._stdout,
                                     stderr=self._stderr, env=env)
        self.pid = self.proc.pid
        if wait:
            try:
                wait_port(self.port, 10, self.proc, "passeur", self.stderr_path)
            except Exception:
                self.stop()
                raise
        return self

    def url(self, path="/"):
        return "http://%s:%d%s" % (LOOPBACK, self.port, path)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout=15):
        """SIGTERM and wait; SIGKILL if it does not exit. Returns the exit status."""
        if self.proc is None:
            return None
        rc = stop_process(self.proc, signal.SIGTERM, timeout)
        for f in ("_stderr", "_stdout"):
            if getattr(self, f, None):
                getattr(self, f).close()
                setattr(self, f, None)
        return rc

    def cleanup(self):
        """For addCleanup: stop, and report a crash or an exit nobody asked for."""
        if self.proc is None:
            return
        died_alone = self.proc.poll() is not None and not self.expect_exit
        rc = self.stop()
        if died_alone:
            raise AssertionError("passeur exited on its own with status %s%s"
                                 % (rc, _log_tail(self.stderr_path)))
        if rc is not None and rc < 0 and rc != -signal.SIGTERM and not self.expect_exit:
            raise AssertionError("passeur died from signal %d on SIGTERM%s"
                                 % (-rc, _log_tail(self.stderr_path)))

    def status_field(self, field):
        """A field of /proc/PID/status, in kB (VmHWM, VmRSS, Threads...)."""
        return proc_status(self.proc.pid, field)

    def vm_hwm_bytes(self):
        return self.status_field("VmHWM") * 1024

    def stderr_text(self):
        if getattr(self, "_stderr", None):
            self._stderr.flush()
        return read_text(self.stderr_path)

    def stdout_text(self):
        return read_text(self.stdout_path)

    def access_lines(self):
        return [l for l in read_text(self.access_log).splitlines() if l.strip()]

    def check(self, path=None):
        return run_check(self.binary, path or self.config_path)


def run_check(binary, path):
    p = subprocess.run([binary, "check", "-c", path], capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


# ---------------------------------------------------------------------------------------------
# Test case base


class ProxyTestCase(unittest.TestCase):
    """Each test gets a fresh temporary directory; everything started through the start_*
    helpers is stopped by pid when the test ends."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="passeur-it-")
        if os.environ.get("PASSEUR_KEEP_TMP") == "1":
            sys.stderr.write("\n[%s] temporary directory: %s\n" % (self.id(), self.tmp))
        else:
            self.addCleanup(shutil.rmtree, self.tmp, True)

    def start_nginx(self, name="node-a", **kw):
        n = Nginx(self.tmp, name, **kw)
        self.addCleanup(n.stop)
        return n.start()

    def start_backend(self, mode, name=None, **kw):
        b = Backend(self.tmp, mode, name, **kw)
        self.addCleanup(b.stop)
        return b.start()

    def start_passeur(self, routes, pools, wait=True, **kw):
        p = Passeur(self.tmp, routes, pools, **kw)
        self.addCleanup(p.cleanup)
        return p.start(wait)

    def simple_proxy(self, nodes, balance="least_loaded", route_extra=None, pool_extra=None,
                     **kw):
        """One catch-all route to one pool of `nodes` (objects with .address, or strings)."""
        route = {"path_prefix": "/", "pool": "main"}
        route.update(route_extra or {})
        pool = {"balance": balance,
                "nodes": [n if isinstance(n, (str, dict)) else n.address for n in nodes]}
        pool.update(pool_extra or {})
        return self.start_passeur([route], {"main": pool}, **kw)

    def assertNothingReached(self, backend, msg=""):
        entries = backend.log_entries() if isinstance(backend, Nginx) else backend.requests_seen()
        self.assertEqual(entries, [], "backend received requests it should not have %s" % msg)


def main():
    unittest.main(verbosity=2)
