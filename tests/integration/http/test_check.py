"""`passeur check -c FILE`: exit 0 on a good file, non-zero with FILE:LINE:COL errors."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import ProxyTestCase, free_port, main, passeur_binary, run_check  # noqa: E402


def good_config():
    return """[server]
workers = 2
admin_listen = "127.0.0.1:%d"
access_log = "off"
grace_period = "5s"

[[listener]]
name = "web"
listen = "127.0.0.1:%d"
protocol = "http"
header_timeout = "10s"

[[route]]
host = "webmail.example.coop"
path_prefix = "/"
pool = "webmail"
max_body = "64MiB"

[pool.webmail]
balance = "least_loaded"
nodes = ["127.0.0.1:%d", {address = "127.0.0.1:%d", name = "node2", weight = 2}]
""" % (free_port(), free_port(), free_port(), free_port())


class CheckTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.binary = passeur_binary()
        if not os.path.exists(self.binary):
            self.fail("passeur binary not found at %s" % self.binary)

    def write(self, text, name="passeur.toml"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def with_line(self, lineno, new_line):
        lines = good_config().split("\n")
        lines[lineno - 1] = new_line
        return "\n".join(lines)

    def assertErrorAt(self, path, line, rc, err):
        self.assertNotEqual(rc, 0)
        pattern = r"(?m)^%s:%d:\d+: \S" % (re.escape(path), line)
        self.assertRegex(err, pattern, "expected an error at %s:%d" % (path, line))

    def test_good_config(self):
        path = self.write(good_config())
        rc, out, err = run_check(self.binary, path)
        self.assertEqual(rc, 0, err)

    def test_toml_syntax_error(self):
        path = self.write(self.with_line(10, 'protocol = "http'))
        rc, out, err = run_check(self.binary, path)
        self.assertErrorAt(path, 10, rc, err)

    def test_bad_duration(self):
        path = self.write(self.with_line(11, 'header_timeout = "ten seconds"'))
        rc, out, err = run_check(self.binary, path)
        self.assertErrorAt(path, 11, rc, err)

    def test_expect_timeout(self):
        path = self.write(self.with_line(17, 'expect_timeout = "250ms"'))
        rc, out, err = run_check(self.binary, path)
        self.assertEqual(rc, 0, err)
        path = self.write(self.with_line(17, 'expect_timeout = "soon"'))
        rc, out, err = run_check(self.binary, path)
        self.assertErrorAt(path, 17, rc, err)
        self.assertIn("expect_timeout", err)

    def test_http2(self):
        path = self.write(self.with_line(11, 'http2 = "prior-knowledge"'))
        rc, out, err = run_check(self.binary, path)
        self.assertEqual(rc, 0, err)
        for bad in ('http2 = true', 'http2 = "yes"', 'http2 = 2'):
            path = self.write(self.with_line(11, bad))
            rc, out, err = run_check(self.binary, path)
            self.assertErrorAt(path, 11, rc, err)
            self.assertIn("http2", err)

    def test_bad_size(self):
        path = self.write(self.with_line(17, 'max_body = "lots"'))
        rc, out, err = run_check(self.binary, path)
        self.assertErrorAt(path, 17, rc, err)

    def test_unknown_pool(self):
        path = self.write(self.with_line(16, 'pool = "nowhere"'))
        rc, out, err = run_check(self.binary, path)
        self.assertErrorAt(path, 16, rc, err)

    def test_bad_node_address(self):
        path = self.write(self.with_line(21, 'nodes = ["not-an-address"]'))
        rc, out, err = run_check(self.binary, path)
        self.assertErrorAt(path, 21, rc, err)

    def test_bad_balance(self):
        path = self.write(self.with_line(20, 'balance = "random_walk"'))
        rc, out, err = run_check(self.binary, path)
        self.assertErrorAt(path, 20, rc, err)

    def test_unknown_key(self):
        path = self.write(self.with_line(5, 'grace_periode = "5s"'))
        rc, out, err = run_check(self.binary, path)
        self.assertErrorAt(path, 5, rc, err)

    def test_several_errors_all_reported(self):
        text = self.with_line(11, 'header_timeout = "soon"')
        lines = text.split("\n")
        lines[20 - 1] = 'balance = "random_walk"'
        path = self.write("\n".join(lines))
        rc, out, err = run_check(self.binary, path)
        self.assertErrorAt(path, 11, rc, err)
        self.assertErrorAt(path, 20, rc, err)

    def test_missing_file(self):
        path = os.path.join(self.tmp, "absent.toml")
        rc, out, err = run_check(self.binary, path)
        self.assertNotEqual(rc, 0)
        self.assertRegex(err, r"%s:\d+:\d+: " % re.escape(path))

    def test_run_refuses_bad_config(self):
        path = self.write(self.with_line(16, 'pool = "nowhere"'))
        p = subprocess.run([self.binary, "-c", path], capture_output=True, text=True,
                           timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, r"%s:16:\d+: " % re.escape(path))


if __name__ == "__main__":
    main()
