"""A real browser over HTTP/2: headless Chromium loads, through Passeur's TLS listener (h2 by
default), a page of a real nginx node that references 50 resources (images, stylesheets,
scripts). The page's own script reports what the browser saw (every resource loaded, each over
h2); Passeur's access log shows the 51 requests as HTTP/2.0, all from one client connection."""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from h2_support import H2TestCase  # noqa: E402
from harness import main, wait_until  # noqa: E402
from tls_support import WEBMAIL  # noqa: E402

IMAGES, STYLES, SCRIPTS = 20, 15, 15  # 50 resources

# nginx's types for the files of the page (the harness's nginx has no mime.types)
TYPES = ("types { text/html html; text/css css; application/javascript js; "
         "image/png png; }")

ACCESS_LINE = re.compile(r'^(\S+) - \[[^\]]*\] "(\S+) (\S+) (\S+)" (\d+) ')


def png(width, height, rgb):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def write_page(root):
    """index.html and its 50 resources under root; returns their paths as requested."""
    paths = []
    body = []
    for i in range(STYLES):
        name = "s%02d.css" % i
        with open(os.path.join(root, name), "w") as f:
            f.write(".c%d { width: %dpx; }\n" % (i, i + 1))
        paths.append("/static/" + name)
        body.append('<link rel="stylesheet" href="/static/%s">' % name)
    for i in range(SCRIPTS):
        name = "j%02d.js" % i
        with open(os.path.join(root, name), "w") as f:
            f.write("window.scriptsRun = (window.scriptsRun || 0) + 1;\n")
        paths.append("/static/" + name)
        body.append('<script src="/static/%s"></script>' % name)
    for i in range(IMAGES):
        name = "i%02d.png" % i
        with open(os.path.join(root, name), "wb") as f:
            f.write(png(8 + i, 8, (10 * i, 100, 200)))
        paths.append("/static/" + name)
        body.append('<img src="/static/%s" onload="window.imagesLoaded='
                    '(window.imagesLoaded||0)+1">' % name)
    report = """<script>
window.addEventListener("load", function () {
  var res = performance.getEntriesByType("resource").map(function (e) {
    return [new URL(e.name).pathname, e.nextHopProtocol, e.responseEnd > 0];
  });
  var nav = performance.getEntriesByType("navigation")[0];
  var sheets = 0;
  for (var i = 0; i < document.styleSheets.length; i++)
    if (document.styleSheets[i].cssRules.length > 0) sheets++;
  document.getElementById("result").textContent = JSON.stringify({
    page: nav.nextHopProtocol, resources: res, images: window.imagesLoaded || 0,
    scripts: window.scriptsRun || 0, sheets: sheets});
});
</script>"""
    html = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>fifty</title>\n"
            + report + "\n" + "\n".join(b for b in body if b.startswith("<link"))
            + "\n</head><body>\n<pre id=\"result\">pending</pre>\n"
            + "\n".join(b for b in body if not b.startswith("<link")) + "\n</body></html>\n")
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write(html)
    return paths


class BrowserTest(H2TestCase):
    def test_chromium_loads_fifty_resources_over_one_h2_connection(self):
        chromium = shutil.which("chromium")
        self.assertIsNotNone(chromium, "chromium is installed by scripts/install-deps --test")
        node = self.start_nginx("webmail", extra_http=TYPES)
        resources = write_page(node.static_dir)
        self.assertEqual(len(resources), 50)
        proxy = self.webmail_proxy(node=node)  # http2 left at its default
        url = "https://%s:%d/static/index.html" % (WEBMAIL, proxy.port)
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.tmp)
        shot = os.path.join(os.environ.get("PASSEUR_ARTIFACTS", self.tmp), "h2-fifty.png")
        base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--user-data-dir=" + profile, "--window-size=1024,768",
                # the test's certificate is made at run time: not in any trust store
                "--ignore-certificate-errors",
                "--host-resolver-rules=MAP %s 127.0.0.1" % WEBMAIL,
                "--virtual-time-budget=8000"]
        dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        m = re.search(r'<pre id="result">(.*?)</pre>', dom.stdout, re.S)
        self.assertIsNotNone(m, dom.stdout[-2000:])
        self.assertNotEqual(m.group(1), "pending", "the page's load event never came")
        seen = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
        self.assertEqual(seen["page"], "h2", seen)
        self.assertEqual((seen["images"], seen["scripts"], seen["sheets"]),
                         (IMAGES, SCRIPTS, STYLES), seen)
        loaded = {path: (proto, done) for path, proto, done in seen["resources"]
                  if path.startswith("/static/")}
        self.assertEqual(sorted(loaded), sorted(resources))
        self.assertEqual({v for v in loaded.values()}, {("h2", True)}, loaded)

        # Passeur's access log: the page and its 50 resources, HTTP/2.0, one client connection
        wanted = set(resources) | {"/static/index.html"}

        def logged():
            lines = [ACCESS_LINE.match(l) for l in proxy.access_lines()]
            got = [x for x in lines if x and x.group(3) in wanted]
            return got if len(got) >= 51 else None
        lines = wait_until(logged, 10, interval=0.1, message="51 access log lines")
        self.assertEqual(sorted(x.group(3) for x in lines), sorted(wanted))
        self.assertEqual({(x.group(2), x.group(4), x.group(5)) for x in lines},
                         {("GET", "HTTP/2.0", "200")})
        clients = {x.group(1) for x in lines}
        self.assertEqual(len(clients), 1, "requests came over several connections: %r"
                         % sorted(clients))
        # the node got them all as HTTP/1.1
        node_reqs = [e["request"] for e in node.log_entries()]
        self.assertEqual(sum(1 for r in node_reqs if r.split(" ")[1] in wanted), 51)

        r = subprocess.run(base + ["--screenshot=" + shot, url], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        with open(shot, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"\x89PNG"))
        self.assertEqual((int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")),
                         (1024, 768))


if __name__ == "__main__":
    main()
