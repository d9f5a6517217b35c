"""HTTP/2 bodies under flow control, with Passeur's memory measured: a 256 MiB download
stalled by the client's window while another stream on the connection is answered, and 2 GiB
up and down through one stream each with curl, byte-exact, with the peak RSS bounded. Run in the release build only
(the sanitizers' shadow memory would be measured too)."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from h2_support import H2Client, H2TestCase, curl  # noqa: E402
from harness import (GiB, MiB, MarkedStreamChecker, check_marked_file, main,  # noqa: E402
                     make_marked_file, require_tool, run_marked_download)



class H2StreamingTest(H2TestCase):
    def test_big_download_while_another_stream_answers(self):
        node = self.start_nginx("webmail")
        size = 256 * MiB
        make_marked_file(os.path.join(node.static_dir, "big.bin"), size)
        proxy = self.h2_proxy(node=node)
        c = H2Client(proxy.port, ca=self.certs.ca)
        self.addCleanup(c.close)
        c.auto_ack = False  # the client reads nothing more: the stream's window closes
        c.conn.increment_flow_control_window(16 * MiB)  # the connection's stays open
        c.flush()
        big = c.request("/static/big.bin")
        c.wait(lambda: c.responses[big]["received"] >= 65535 - 1, timeout=10)
        time.sleep(0.5)
        # Passeur stops reading the node instead of holding the body
        stalled = c.responses[big]["received"]
        self.assertLess(stalled, 1 * MiB)
        # ... and the connection still serves other streams at once
        t0 = time.monotonic()
        small = c.request("/")
        c.wait(lambda: c.done(small), timeout=5)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(bytes(c.responses[small]["data"]), b"webmail\n")
        # then the big one goes through, byte-exact
        chk = MarkedStreamChecker(size)
        r = c.responses[big]
        chk.feed(bytes(r["data"]))
        r["data"] = bytearray()
        c.auto_ack = True
        c.conn.acknowledge_received_data(r.get("unacked", 0), big)
        c.flush()
        while not c.done(big):
            c.pump_once(5)
            if r["data"]:
                chk.feed(bytes(r["data"]))
                r["data"] = bytearray()
        self.assertTrue(r["ended"], r["reset"])
        self.assertEqual(chk.check(), [])
        hwm = proxy.vm_hwm_bytes()
        self.assertLess(hwm, 64 * MiB, "proxy peak RSS %.1f MiB" % (hwm / MiB))

    def test_curl_2gib_upload_and_download(self):
        node = self.start_nginx("webmail")
        size = 2 * GiB
        src = os.path.join(self.tmp, "upload.bin")
        make_marked_file(src, size)
        proxy = self.start_tls_proxy(
            [{"path_prefix": "/", "pool": "webmail", "max_body": "0"}],
            {"webmail": {"nodes": [node.address]}}, tls={"http2": True})
        p = curl("--http2", "--cacert", self.certs.ca, *self.resolve(proxy), "-o", "/dev/null",
                 "-w", "%{http_version} %{http_code} %{size_upload}", "-T", src,
                 self.url(proxy, "/dav/stored.bin"), timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode().split(), ["2", "201", str(size)])
        os.unlink(src)
        stored = os.path.join(node.dav_dir, "stored.bin")
        self.assertEqual(check_marked_file(stored, size), [])
        os.rename(stored, os.path.join(node.static_dir, "big.bin"))
        # the download is checked as it arrives, without a second copy on disk
        status, err, problems = run_marked_download(
            self, [require_tool("curl"), "-s", "-S", "--max-time", "300", "--http2",
                   "--cacert", self.certs.ca, *self.resolve(proxy), "-o", "-",
                   "-w", "%{stderr}%{http_version} %{http_code}",
                   self.url(proxy, "/static/big.bin")], size)
        self.assertEqual(status, 0, err)
        self.assertEqual(err.split()[-2:], ["2", "200"], err)
        self.assertEqual(problems, [])
        hwm = proxy.vm_hwm_bytes()
        self.assertLess(hwm, 64 * MiB, "proxy peak RSS %.1f MiB" % (hwm / MiB))


if __name__ == "__main__":
    main()
