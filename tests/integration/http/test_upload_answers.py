"""A node's answer during an upload reaches the client: an early refusal (413) while a slow
client is still sending, `Expect: 100-continue` passed on to the node (its 100 or its refusal
relayed, Passeur's own 100 after expect_timeout for a node that never sends one), trailers both
ways, and one access log line for every request whatever its end (early answer, client abort,
client_timeout, a 502 of Passeur's own)."""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import (GiB, KiB, MiB, ChildServer, HttpConn, ProxyTestCase, free_port,  # noqa: E402
                     main, read_text, require_tool, wait_until)

MODULES = "/usr/lib/apache2/modules"
UPLOAD = 100 * MiB


class Apache(ChildServer):
    """Apache httpd with mod_dav on 127.0.0.1:port, its own config and files under one
    directory. /dav/ takes PUTs; /dav/limited/ has LimitRequestBody 1 MiB (413 beyond);
    /denied/ is refused (403). Its access log has, per request, the request line, the status
    and the bytes Apache received for it (%I: head and body)."""

    def __init__(self, workdir):
        self.dir = tempfile.mkdtemp(prefix="apache-", dir=workdir)
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "access.log")
        self.error_log = os.path.join(self.dir, "error.log")

    def start(self):
        require_tool("apache2")
        docs = os.path.join(self.dir, "docs")
        for d in ("dav/limited", "denied"):
            os.makedirs(os.path.join(docs, d))
        for root, dirs, _ in os.walk(self.dir):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o777)
        os.chmod(self.dir, 0o777)
        os.chmod(os.path.dirname(self.dir), 0o755)
        user = "User nobody\nGroup nogroup\n" if os.geteuid() == 0 else ""
        mods = ["mpm_event", "authz_core", "dav", "dav_fs"]
        conf = "".join("LoadModule %s_module %s/mod_%s.so\n" % (m, MODULES, m) for m in mods)
        conf += f"""ServerRoot {self.dir}
{user}Listen 127.0.0.1:{self.port}
ServerName 127.0.0.1
PidFile {self.dir}/httpd.pid
DefaultRuntimeDir {self.dir}
Mutex file:{self.dir} default
ErrorLog {self.error_log}
LogLevel warn
LogFormat "%r\t%>s\t%I" io
CustomLog {self.log_path} io
DavLockDB {self.dir}/davlock
DocumentRoot {docs}
<Directory {docs}>
  Require all granted
</Directory>
<Location /dav/>
  Dav On
</Location>
<Location /dav/limited/>
  LimitRequestBody 1048576
</Location>
<Location /denied/>
  Require all denied
</Location>
"""
        path = os.path.join(self.dir, "httpd.conf")
        with open(path, "w") as f:
            f.write(conf)
        return self.spawn(["apache2", "-f", path, "-DFOREGROUND"],
                          os.path.join(self.dir, "stdout.log"), self.port, "apache2",
                          wait_log=self.error_log)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def received(self, request_line):
        """The bytes Apache received for the request with this request line (its log line)."""
        def find():
            for line in read_text(self.log_path).splitlines():
                parts = line.split("\t")
                if len(parts) == 3 and parts[0] == request_line:
                    return parts
            return None
        parts = wait_until(find, 5, message="apache log line for %r" % request_line)
        return int(parts[1]), int(parts[2])


class SlowUpload:
    """A client sending a big body slowly in a thread (64 KiB every 20 ms, about 3 MiB/s) on
    an HttpConn, until the body is sent, it is told to stop, or the connection fails."""

    def __init__(self, conn, total, chunked=False, piece=64 * KiB, pause=0.02):
        self.conn, self.total, self.chunked = conn, total, chunked
        self.piece, self.pause = piece, pause
        self.sent = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        data = b"u" * self.piece
        try:
            while self.sent < self.total and not self.stopped.is_set():
                n = min(self.piece, self.total - self.sent)
                out = b"%x\r\n%s\r\n" % (n, data[:n]) if self.chunked else data[:n]
                self.conn.sock.sendall(out)
                self.sent += n
                time.sleep(self.pause)
        except OSError:
            pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(10)


def access_line(proxy, pattern):
    return wait_until(lambda: next((l for l in proxy.access_lines() if re.search(pattern, l)),
                                   None), 10, message="access line matching %r" % pattern)


def field(line, name):
    return re.search(r"\b%s=(\S+)" % name, line).group(1)


def read_chunked_with_trailers(conn):
    """The data and the trailer lines of a chunked body on an HttpConn."""
    data = b""
    while True:
        size = int(conn._read_until(b"\r\n").split(b";")[0], 16)
        if size == 0:
            break
        data += conn._read_exact(size)
        conn._read_exact(2)
    trailers = []
    while True:
        line = conn._read_until(b"\r\n")
        if line == b"\r\n":
            return data, trailers
        trailers.append(line[:-2].decode("latin-1"))


class UploadAnswersTest(ProxyTestCase):
    def start_apache(self):
        a = Apache(self.tmp)
        self.addCleanup(a.stop)
        return a.start()

    # --- early answers ---------------------------------------------------------------------

    def slow_upload_refused(self, path, status, chunked=False):
        apache = self.start_apache()
        proxy = self.simple_proxy([apache], route_extra={"max_body": "0"})
        framing = [("Transfer-Encoding", "chunked")] if chunked else [
            ("Content-Length", str(UPLOAD))]
        with HttpConn(proxy.port, timeout=10) as c:
            c.request("PUT", path, host="cloud.example.coop", headers=framing)
            t0 = time.monotonic()
            with SlowUpload(c, UPLOAD, chunked=chunked) as up:
                r = c.read_response("PUT")
                took = time.monotonic() - t0
                sent = up.sent
        self.assertEqual(r.status, status, r)
        self.assertLess(took, 1.0, "the node's %d reached the client after %.2fs" % (status, took))
        self.assertEqual(r.header("Connection"), "close", r)
        self.assertLess(sent, UPLOAD // 4)
        line = access_line(proxy, r'"PUT %s HTTP/1.1" %d ' % (re.escape(path), status))
        self.assertEqual(field(line, "close"), "early_response", line)
        self.assertLess(int(field(line, "bytes_in")), UPLOAD // 4, line)
        logged = int(line.split('" %d ' % status)[1].split()[0])
        if r.header("Content-Length"):
            self.assertEqual(logged, len(r.raw_head) + len(r.body), line)
        else:  # chunked: the body's framing counts too
            self.assertGreater(logged, len(r.raw_head) + len(r.body), line)
        # The node's connection is not used again: the next request on a new client
        # connection is answered normally.
        with HttpConn(proxy.port) as c:
            r = c.roundtrip("PUT", "/dav/small.txt", host="cloud.example.coop", body=b"ok")
        self.assertIn(r.status, (201, 204), r)
        return apache, line, took

    def test_413_while_a_slow_client_uploads_100MiB(self):
        apache, line, took = self.slow_upload_refused("/dav/limited/big.bin", 413)
        if os.environ.get("PASSEUR_IT_VERBOSE") == "1":
            print("\n413 after %.3fs: %s" % (took, line))

    def test_413_after_part_of_a_chunked_upload(self):
        # Apache reads the chunked body up to its limit, then refuses.
        apache, line, took = self.slow_upload_refused("/dav/limited/chunked.bin", 413,
                                                      chunked=True)
        self.assertGreater(int(field(line, "bytes_in")), 1 * MiB, line)

    # --- Expect: 100-continue ----------------------------------------------------------------

    def curl_expect(self, proxy, path, size):
        """curl -T of a sparse file of `size` bytes with Expect: 100-continue; (status, s)."""
        require_tool("curl")
        big = os.path.join(self.tmp, "big-%d.bin" % size)
        with open(big, "wb") as f:
            f.truncate(size)  # sparse: nothing written to the disk
        t0 = time.monotonic()
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                              "--max-time", "60", "-T", big, "-H", "Expect: 100-continue",
                              "-H", "Host: cloud.example.coop",
                              "http://127.0.0.1:%d%s" % (proxy.port, path)],
                             capture_output=True, text=True, timeout=90)
        return out.stdout, time.monotonic() - t0

    def test_expect_refused_by_the_node_sends_no_body(self):
        apache = self.start_apache()
        proxy = self.simple_proxy([apache], route_extra={"max_body": "0"})
        # 2 GiB is over Apache's stock LimitRequestBody (1 GiB): 413. A path it refuses: 403.
        for path, size, status in (("/dav/big.bin", 2 * GiB, 413),
                                   ("/denied/big.bin", 512 * MiB, 403)):
            code, took = self.curl_expect(proxy, path, size)
            self.assertEqual(code, str(status), path)
            self.assertLess(took, 1.0, "curl took %.2fs" % took)
            logged, received = apache.received("PUT %s HTTP/1.1" % path)
            self.assertEqual(logged, status)
            self.assertLess(received, 4 * KiB, "the node received %d bytes" % received)
            line = access_line(proxy, r'"PUT %s HTTP/1.1" %d ' % (re.escape(path), status))
            self.assertLessEqual(int(field(line, "bytes_in")), 4 * KiB + 1 * MiB, line)
            if os.environ.get("PASSEUR_IT_VERBOSE") == "1":
                print("\n%s: the node received %d bytes of %d; curl %.3fs; %s"
                      % (path, received, size, took, line))

    def test_expect_the_nodes_100_is_relayed(self):
        apache = self.start_apache()
        # A long expect_timeout: a 100 within a second can only be the node's.
        proxy = self.simple_proxy([apache], route_extra={"expect_timeout": "10s"})
        body = os.urandom(256 * KiB)
        with HttpConn(proxy.port) as c:
            c.request("PUT", "/dav/expect.bin", host="cloud.example.coop",
                      headers=[("Expect", "100-continue"), ("Content-Length", str(len(body)))])
            t0 = time.monotonic()
            interim = c.read_head()
            self.assertEqual(interim.status, 100, interim)
            self.assertLess(time.monotonic() - t0, 1.0)
            c.send(body)
            r = c.read_response("PUT")
        self.assertEqual(r.status, 201, r)
        with open(os.path.join(apache.dir, "docs", "dav", "expect.bin"), "rb") as f:
            self.assertEqual(f.read(), body)

    def test_node_without_100_gets_the_body_after_expect_timeout(self):
        node = self.start_backend("plain")
        proxy = self.simple_proxy([node], route_extra={"expect_timeout": "300ms"})
        body = b"b" * 5000
        with HttpConn(proxy.port) as c:
            c.request("POST", "/up", headers=[("Expect", "100-continue"),
                                              ("Content-Length", str(len(body)))])
            t0 = time.monotonic()
            interim = c.read_head()  # Passeur's own, once the node kept silent
            waited = time.monotonic() - t0
            self.assertEqual(interim.status, 100, interim)
            self.assertGreater(waited, 0.25)
            self.assertLess(waited, 1.5)
            c.send(body)
            r = c.read_response("POST")
        self.assertEqual(r.status, 200, r)
        report = json.loads(r.body)
        self.assertEqual(report["body_length"], len(body))
        self.assertIn(["Expect", "100-continue"], report["headers"])
        # A client that sends its body at once: the node still gets it after expect_timeout.
        with HttpConn(proxy.port) as c:
            r = c.roundtrip("POST", "/up", headers=[("Expect", "100-continue")], body=body)
        self.assertEqual(r.status, 200, r)
        report = json.loads(r.body)
        self.assertEqual(report["body_length"], len(body))
        self.assertGreater(report["body_wait"], 0.25)
        self.assertLess(report["body_wait"], 1.5)

    def test_curl_expect_to_a_node_without_100(self):
        require_tool("curl")
        node = self.start_backend("plain")
        proxy = self.simple_proxy([node], route_extra={"expect_timeout": "300ms"})
        src = os.path.join(self.tmp, "up.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(3 * MiB))
        t0 = time.monotonic()
        out = subprocess.run(["curl", "-sS", "--expect100-timeout", "20", "-T", src,
                              "-H", "Expect: 100-continue",
                              "http://127.0.0.1:%d/up" % proxy.port],
                             capture_output=True, text=True, timeout=60)
        took = time.monotonic() - t0
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["body_length"], 3 * MiB)
        self.assertLess(took, 5.0, "curl waited for its own expect100-timeout")

    # --- trailers ------------------------------------------------------------------------------

    def test_trailers_both_ways(self):
        node = self.start_backend("plain")
        proxy = self.simple_proxy([node])
        with HttpConn(proxy.port) as c:
            c.request("POST", "/t", headers=[("Transfer-Encoding", "chunked"),
                                             ("TE", "trailers"), ("Trailer", "X-Client-Sum")])
            c.send(b"5\r\nhello\r\n0\r\nX-Client-Sum: 7\r\n\r\n")
            head = c.read_head()
            self.assertEqual(head.status, 200, head)
            data, trailers = read_chunked_with_trailers(c)
            report = json.loads(data)
            self.assertEqual(report["body_length"], 5)
            self.assertEqual(report["trailers"], ["X-Client-Sum: 7"])
            self.assertIn(["Trailer", "X-Client-Sum"], report["headers"])
            self.assertIn(["TE", "trailers"], report["headers"])
            self.assertEqual(trailers, ["X-Node-Sum: 42"])
            self.assertEqual(head.header("Trailer"), "X-Node-Sum")
            # Without TE: trailers, the response's trailers are dropped (RFC 9110 6.5); the
            # request's still go to the node.
            c.request("POST", "/t", headers=[("Transfer-Encoding", "chunked")])
            c.send(b"2\r\nhi\r\n0\r\nX-Client-Sum: 8\r\n\r\n")
            head = c.read_head()
            data, trailers = read_chunked_with_trailers(c)
            self.assertEqual(json.loads(data)["trailers"], ["X-Client-Sum: 8"])
            self.assertEqual(trailers, [])
        # An HTTP/1.0 client gets the body delimited by the close, without trailers.
        with HttpConn(proxy.port) as c:
            c.request("GET", "/t", version="HTTP/1.0", headers=[("TE", "trailers")])
            r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(r.body)["body_length"], 0)
        self.assertNotIn(b"X-Node-Sum: 42", r.body)

    # --- one access line whatever the end ------------------------------------------------------

    def test_client_abort_mid_upload_is_logged(self):
        node = self.start_backend("plain")
        proxy = self.simple_proxy([node])
        with HttpConn(proxy.port) as c:
            c.request("PUT", "/abort", headers=[("Content-Length", str(10 * MiB))])
            c.send(b"a" * MiB)
            time.sleep(0.3)
        line = access_line(proxy, r'"PUT /abort HTTP/1.1" ')
        self.assertRegex(line, r'" 499 0 ')
        self.assertEqual(field(line, "close"), "client_fin", line)
        self.assertGreaterEqual(int(field(line, "bytes_in")), MiB, line)
        self.assertLess(int(field(line, "bytes_in")), MiB + 4 * KiB, line)

    def test_client_timeout_mid_upload_is_logged(self):
        node = self.start_backend("plain")
        proxy = self.simple_proxy([node], listener={"client_timeout": "500ms"})
        with HttpConn(proxy.port) as c:
            c.request("PUT", "/stall", headers=[("Content-Length", str(MiB))])
            c.send(b"s" * 1000)
            self.assertTrue(c.closed_within(5), "the stalled upload was not cut")
        line = access_line(proxy, r'"PUT /stall HTTP/1.1" ')
        self.assertRegex(line, r'" 408 0 ')
        self.assertEqual(field(line, "close"), "timeout", line)
        self.assertGreaterEqual(int(field(line, "bytes_in")), 1000, line)

    def test_own_502_logs_its_bytes(self):
        node = self.start_backend("partial")
        proxy = self.simple_proxy([node])
        with HttpConn(proxy.port) as c:
            r = c.roundtrip("POST", "/close", body=b"x" * 100)
        self.assertEqual(r.status, 502, r)
        line = access_line(proxy, r'"POST /close HTTP/1.1" 502 ')
        self.assertEqual(int(line.split('" 502 ')[1].split()[0]), len(r.raw_head) + len(r.body),
                         line)
        self.assertIn(field(line, "close"), ("node_fin", "node_error"), line)

    def test_keepalive_and_done(self):
        node = self.start_backend("plain")
        proxy = self.simple_proxy([node])
        with HttpConn(proxy.port) as c:
            self.assertEqual(c.roundtrip("GET", "/one").status, 200)
            r = c.roundtrip("GET", "/two", headers=[("Connection", "close")])
            self.assertEqual(r.status, 200)
        self.assertEqual(field(access_line(proxy, r'"GET /one '), "close"), "keepalive")
        self.assertEqual(field(access_line(proxy, r'"GET /two '), "close"), "done")


if __name__ == "__main__":
    main()
