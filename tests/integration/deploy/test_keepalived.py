"""deploy/keepalived/keepalived.conf: keepalived's own config test accepts it, for edge1 as
written and for edge2 as its comments say to change it, and its track_script, run as written
against a real passeur, passes while passeur runs and fails once it stopped.

keepalived checks that the interface exists, so the config test runs in a network namespace
made for it with an eth0 (nothing else is set up in it; no VRRP packet is sent)."""

import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import SOURCE_DIR, ProxyTestCase, main, require_tool  # noqa: E402

CONF = os.path.join(SOURCE_DIR, "deploy", "keepalived", "keepalived.conf")


def edge2(text):
    """The file as the comments marked "edge2" say to change it for the second host."""
    out = []
    for line in text.splitlines():
        m = re.search(r"#\s*edge2:\s*(.*)$", line)
        if m:
            indent = re.match(r"\s*", line).group(0)
            line = indent + m.group(1).strip()
        out.append(line)
    return "\n".join(out) + "\n"


class KeepalivedTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.keepalived = require_tool("keepalived")
        with open(CONF) as f:
            self.text = f.read()
        self.netns = "pkad%d" % os.getpid()
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", self.netns])
        # A veth pair with both ends inside (this kernel has no dummy interfaces).
        subprocess.run(["ip", "-n", self.netns, "link", "add", "eth0", "type", "veth", "peer",
                        "name", "eth0peer"], check=True)
        subprocess.run(["ip", "-n", self.netns, "link", "set", "eth0", "up"], check=True)

    def config_test(self, text, name):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run(["ip", "netns", "exec", self.netns, self.keepalived, "-t", "-l",
                            "-f", path], capture_output=True, text=True, timeout=60)
        return p.returncode, (p.stdout + p.stderr).strip()

    def test_edge1_config_passes(self):
        self.assertEqual(self.config_test(self.text, "edge1.conf"), (0, ""))

    def test_edge2_config_passes(self):
        text = edge2(self.text)
        self.assertIn("router_id edge2", text)
        self.assertRegex(text, r"\n\s+priority 100\b")
        self.assertEqual(self.config_test(text, "edge2.conf"), (0, ""))

    def test_config_test_sees_a_mistake(self):
        rc, out = self.config_test(self.text.replace("advert_int 1", "advert_intervl 1"),
                                   "broken.conf")
        self.assertNotEqual(rc, 0)
        self.assertIn("Unknown keyword", out)

    def test_track_script_follows_passeur(self):
        m = re.search(r'^\s*script "([^"]+)"', self.text, re.M)
        self.assertTrue(m, "no script in the vrrp_script")
        backend = self.start_backend("http", "node-a")
        proxy = self.start_passeur([{"path_prefix": "/", "pool": "main"}],
                                   {"main": {"nodes": [backend.address]}})
        self.assertIn("127.0.0.1:9900", m.group(1))
        argv = shlex.split(m.group(1).replace("127.0.0.1:9900",
                                              "127.0.0.1:%d" % proxy.admin_port))
        self.assertEqual(subprocess.run(argv, timeout=10).returncode, 0)
        proxy.expect_exit = True
        self.assertEqual(proxy.stop(), 0)
        self.assertNotEqual(subprocess.run(argv, timeout=10).returncode, 0)


if __name__ == "__main__":
    main()
