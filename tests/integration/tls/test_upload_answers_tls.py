"""An early answer of a node (Apache's 413 for a body over its stock 1 GiB LimitRequestBody)
reaches a client uploading 2 GiB at once, over Passeur's TLS listener as over its plain one,
without Expect: 100-continue (the body is on its way when the answer comes)."""

import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "http"))
from tls_support import TlsTestCase  # noqa: E402
from harness import GiB, main, require_tool  # noqa: E402
from test_upload_answers import Apache, access_line, field  # noqa: E402


class TlsUploadAnswersTest(TlsTestCase):
    def test_early_413_over_tls_and_plain(self):
        require_tool("curl")
        apache = Apache(self.tmp)
        self.addCleanup(apache.stop)
        apache.start()
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "dav", "max_body": "0"}],
                                     {"dav": {"nodes": [apache.address]}}, plain={})
        big = os.path.join(self.tmp, "big.bin")
        with open(big, "wb") as f:
            f.truncate(2 * GiB)  # sparse
        for scheme, port in (("https", proxy.port), ("http", proxy.plain_port)):
            path = "/dav/%s.bin" % scheme
            t0 = time.monotonic()
            # HTTP/1.1 here; the same answer over HTTP/2 is test_h2_early_answers'
            out = subprocess.run(["curl", "-sS", "-k", "--http1.1", "-o", "/dev/null",
                                  "-w", "%{http_code}",
                                  "--max-time", "60", "-H", "Expect:", "-T", big,
                                  "%s://127.0.0.1:%d%s" % (scheme, port, path)],
                                 capture_output=True, text=True, timeout=90)
            took = time.monotonic() - t0
            self.assertEqual(out.stdout, "413", "%s: %s" % (scheme, out.stderr))
            self.assertLess(took, 2.0, "%s: curl took %.2fs" % (scheme, took))
            line = access_line(proxy, r'"PUT %s HTTP/1.1" 413 ' % re.escape(path))
            self.assertEqual(field(line, "close"), "early_response", line)
            self.assertLess(int(field(line, "bytes_in")), GiB // 4, line)
            if os.environ.get("PASSEUR_IT_VERBOSE") == "1":
                print("\n%s: 413 after %.3fs; %s" % (scheme, took, line))


if __name__ == "__main__":
    main()
