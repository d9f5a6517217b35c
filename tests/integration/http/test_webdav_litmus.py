"""The litmus WebDAV suite against a real Apache mod_dav node, run direct and through Passeur:
over a plain listener, and over the TLS listener with the Destination rule (the node speaks
http, the client names https:// in COPY and MOVE). Every test of every group must give the
same result through Passeur as direct."""

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tls"))
from harness import LOOPBACK, ChildServer, free_port, main, require_tool, tail  # noqa: E402
from tls_support import TlsTestCase  # noqa: E402

MODULES = "/usr/lib/apache2/modules"
DESTINATION_RULE = {"replace": "Destination", "pattern": "^https://(.*)$", "with": "http://\\1"}


class ApacheDav(ChildServer):
    """Apache with mod_dav on loopback, its own config and directories (not the system
    service). When run by root it serves as www-data, as Debian's does."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "apache")
        self.root = os.path.join(self.dir, "dav")
        self.locks = os.path.join(self.dir, "locks")
        for d in (self.dir, self.root, self.locks):
            os.makedirs(d, exist_ok=True)
        self.port = free_port()
        self.address = "%s:%d" % (LOOPBACK, self.port)
        self.error_log = os.path.join(self.dir, "error.log")
        user = ""
        if os.geteuid() == 0:
            www = pwd.getpwnam("www-data")
            for d in (self.root, self.locks):
                os.chown(d, www.pw_uid, www.pw_gid)
            # the test's own directories must let the server user through
            path = self.dir
            while path not in ("/", ""):
                os.chmod(path, os.stat(path).st_mode | 0o111)
                path = os.path.dirname(path)
                if path == os.path.dirname(workdir):
                    break
            user = "User www-data\nGroup www-data\n"
        self.conf = os.path.join(self.dir, "apache.conf")
        modules = ["mpm_event", "authz_core", "dav", "dav_fs", "dir", "mime"]
        with open(self.conf, "w") as f:
            f.write("".join("LoadModule %s_module %s/mod_%s.so\n" % (m, MODULES, m)
                            for m in modules))
            f.write(user + """ServerRoot {dir}
ServerName 127.0.0.1
Listen {address}
PidFile {dir}/apache.pid
DefaultRuntimeDir {dir}
Mutex file:{dir} default
ErrorLog {error_log}
LogLevel warn
TypesConfig /etc/mime.types
DavLockDB {locks}/DavLock
DocumentRoot {root}
<Directory {root}>
  Require all granted
</Directory>
<Location />
  Dav On
</Location>
""".format(dir=self.dir, address=self.address, error_log=self.error_log, locks=self.locks,
           root=self.root))

    def start(self):
        apache = require_tool("apache2") if shutil.which("apache2") else "/usr/sbin/apache2"
        return self.spawn([apache, "-f", self.conf, "-DFOREGROUND"],
                          os.path.join(self.dir, "stdout.log"), port=self.port,
                          what="apache2", wait_log=self.error_log)


RESULT = re.compile(r"^\s*(\d+)\.\s+(\S+?)\.*\s*(pass|FAIL|SKIPPED|WARNING)", re.M)
GROUP = re.compile(r"^-> running `([^']+)':", re.M)


def run_litmus(url):
    """Runs litmus against url; returns {group: {test: result}} and the output."""
    litmus = require_tool("litmus")
    with tempfile.TemporaryDirectory(prefix="litmus-") as cwd:  # its debug.log, child.log
        p = subprocess.run([litmus, "-k", url], capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL, cwd=cwd)
    out = p.stdout + p.stderr
    results = {}
    group = None
    for line in out.splitlines():
        g = GROUP.match(line)
        if g:
            group = g.group(1)
            results[group] = {}
            continue
        m = RESULT.match(line)
        if m and group:
            results[group]["%s %s" % (m.group(1), m.group(2))] = m.group(3)
    return results, out


class WebdavLitmusTest(TlsTestCase):
    def setUp(self):
        super().setUp()
        self.node = ApacheDav(self.tmp)
        self.addCleanup(self.node.stop)
        self.node.start()
        self.direct, self.direct_out = run_litmus("http://%s/" % self.node.address)
        self.assertEqual(sorted(self.direct), ["basic", "copymove", "http", "locks", "props"],
                         self.direct_out)
        passed = sum(r == "pass" for g in self.direct.values() for r in g.values())
        self.assertGreater(passed, 60, self.direct_out)

    def assertSameAsDirect(self, via, out, tls=False):
        for group, tests in self.direct.items():
            self.assertIn(group, via, out)
            differ = {t: (r, via[group].get(t)) for t, r in tests.items()
                      if via[group].get(t) != r}
            if tls and group == "http":
                # litmus runs its expect100 test on a raw socket, never over TLS: it says
                # "SKIPPED (skipping for SSL server)" whatever the server does.
                self.assertIn("skipping for SSL server", out)
                differ.pop("2 expect100", None)
            self.assertEqual(differ, {}, "group %s differs (direct, via passeur):\n%s\n%s"
                             % (group, out, tail(self.node.error_log)))

    def test_plain_listener(self):
        proxy = self.start_passeur([{"path_prefix": "/", "pool": "dav", "max_body": "0"}],
                                   {"dav": {"nodes": [self.node.address]}})
        via, out = run_litmus("http://%s:%d/" % (LOOPBACK, proxy.port))
        self.assertSameAsDirect(via, out)

    def test_tls_listener_with_destination_rule(self):
        proxy = self.start_tls_proxy(
            [{"path_prefix": "/", "pool": "dav", "max_body": "0",
              "request_headers": [DESTINATION_RULE]}],
            {"dav": {"nodes": [self.node.address]}})
        via, out = run_litmus("https://%s:%d/" % (LOOPBACK, proxy.port))
        self.assertSameAsDirect(via, out, tls=True)

    def test_tls_listener_without_the_rule_fails_copy(self):
        # What the rule is for: without it, COPY and MOVE are refused by the node.
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "dav", "max_body": "0"}],
                                     {"dav": {"nodes": [self.node.address]}})
        via, out = run_litmus("https://%s:%d/" % (LOOPBACK, proxy.port))
        copymove = via.get("copymove", {})
        self.assertTrue(any(r == "FAIL" for r in copymove.values()), out)


if __name__ == "__main__":
    main()
