"""Bodies are streamed, never held whole: chunked in both directions, HEAD, and 2 GiB uploads
and downloads with the proxy's memory staying small."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import (GiB, KiB, MiB, HttpConn, ProxyTestCase, check_marked_file,  # noqa: E402
                     main, make_marked_file, require_tool, run_marked_download)

BIG = 2 * GiB
MEMORY_LIMIT = 64 * MiB


class StreamingTest(ProxyTestCase):
    def test_chunked_request_body(self):
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node])
        pieces = [os.urandom(n) for n in (1, 100, 4096, 65536, 300000, 7)]
        with HttpConn(proxy.port) as c:
            c.request("PUT", "/dav/chunked.bin", headers=[("Transfer-Encoding", "chunked")])
            for p in pieces:
                c.send(b"%x\r\n" % len(p) + p + b"\r\n")
                time.sleep(0.01)
            c.send(b"0\r\n\r\n")
            r = c.read_response()
        self.assertIn(r.status, (201, 204), r)
        with open(os.path.join(node.dav_dir, "chunked.bin"), "rb") as f:
            self.assertEqual(f.read(), b"".join(pieces))

    def test_chunked_request_body_to_python_backend(self):
        echo = self.start_backend("http", "echo")
        proxy = self.simple_proxy([echo])
        with HttpConn(proxy.port) as c:
            c.request("POST", "/head", headers=[("Transfer-Encoding", "chunked")])
            c.send(b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("X-Body-Length"), "11")
            # the connection stays usable after a chunked body with trailers
            r = c.roundtrip("GET", "/")
            self.assertEqual((r.status, r.text), (200, "echo\n"))

    def test_chunked_response_streamed(self):
        backend = self.start_backend("http", "chunky")
        proxy = self.simple_proxy([backend])
        with HttpConn(proxy.port) as c:
            t0 = time.monotonic()
            c.request("GET", "/chunked?n=4&size=1000&pause=1.5&pause_after=1")
            head = c.read_head()
            self.assertEqual(head.status, 200)
            # the first 1000 bytes were sent before the backend paused: they must reach the
            # client before the pause ends, not after the whole body
            while c.buf.count(b"A") < 1000:
                c._fill()
            first = time.monotonic() - t0
            self.assertLess(first, 1.2, "first chunk arrived only after %.2fs" % first)
            body = c.read_body(head)
        self.assertEqual(body, b"A" * 1000 + b"B" * 1000 + b"C" * 1000 + b"D" * 1000)

    def test_head_has_no_body(self):
        node = self.start_nginx("node-a")
        make_marked_file(os.path.join(node.static_dir, "f.bin"), 10 * MiB)
        proxy = self.simple_proxy([node])
        with HttpConn(proxy.port) as c:
            r = c.roundtrip("HEAD", "/static/f.bin")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Content-Length"), str(10 * MiB))
            self.assertEqual(r.body, b"")
            # nothing of a body may follow: the next response on the connection is intact
            r = c.roundtrip("GET", "/")
            self.assertEqual((r.status, r.text), (200, "node-a\n"))

    def test_bodiless_statuses_on_keepalive(self):
        node = self.start_nginx("node-a", extra_server="location = /204 { return 204; }\n"
                                "location = /304 { return 304; }")
        proxy = self.simple_proxy([node])
        with HttpConn(proxy.port, timeout=5) as c:
            for path in ("/204", "/304", "/204"):
                r = c.roundtrip("GET", path)
                self.assertEqual(r.status, int(path[1:]))
                self.assertEqual(r.body, b"")
            r = c.roundtrip("GET", "/")
            self.assertEqual((r.status, r.text), (200, "node-a\n"))

    def test_download_2gib(self):
        curl = require_tool("curl")
        node = self.start_nginx("node-a")
        make_marked_file(os.path.join(node.static_dir, "big.bin"), BIG)
        proxy = self.simple_proxy([node])
        status, err, problems = run_marked_download(
            self, [curl, "-s", "-S", "--max-time", "120", "-o", "-", proxy.url("/static/big.bin")],
            BIG)
        self.assertEqual(status, 0, err)
        self.assertEqual(problems, [])
        hwm = proxy.vm_hwm_bytes()
        self.assertLess(hwm, MEMORY_LIMIT, "proxy peak RSS %.1f MiB" % (hwm / MiB))

    def test_upload_2gib(self):
        curl = require_tool("curl")
        node = self.start_nginx("node-a")
        src = os.path.join(self.tmp, "upload.bin")
        make_marked_file(src, BIG)
        proxy = self.simple_proxy([node], route_extra={"max_body": "0"})
        # curl sends Expect: 100-continue for a body this size: the proxy answers it
        p = subprocess.run([curl, "-s", "-S", "--max-time", "180", "-o", "/dev/null",
                            "-w", "%{http_code} %{size_upload}", "-T", src,
                            proxy.url("/dav/stored.bin")],
                           capture_output=True, text=True, timeout=200)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(node.error_log, errors="replace") as f:
            errors = [l for l in f.read().splitlines() if "[error]" in l or "[crit]" in l]
        self.assertEqual(p.stdout.split(), ["201", str(BIG)], "nginx: %s" % errors[-5:])
        stored = os.path.join(node.dav_dir, "stored.bin")
        self.assertEqual(os.path.getsize(stored), BIG)
        self.assertEqual(check_marked_file(stored, BIG), [])
        hwm = proxy.vm_hwm_bytes()
        self.assertLess(hwm, MEMORY_LIMIT, "proxy peak RSS %.1f MiB" % (hwm / MiB))

    def test_body_over_default_limit_refused(self):
        # Without max_body on the route the default (64 MiB) applies.
        node = self.start_nginx("node-a")
        proxy = self.simple_proxy([node])
        with HttpConn(proxy.port) as c:
            c.request("PUT", "/dav/x.bin", headers=[("Content-Length", str(65 * MiB))],
                      send_body=False)
            r = c.read_response()
        self.assertEqual(r.status, 413)
        self.assertNothingReached(node)

    def test_small_post_roundtrip(self):
        echo = self.start_backend("http", "echo")
        proxy = self.simple_proxy([echo])
        with HttpConn(proxy.port) as c:
            for size in (0, 1, 1000, 100 * KiB, 3 * MiB):
                r = c.roundtrip("POST", "/head", body=b"z" * size,
                                headers=[("Content-Length", str(size))])
                self.assertEqual(r.status, 200)
                self.assertEqual(r.header("X-Body-Length"), str(size))


if __name__ == "__main__":
    main()
