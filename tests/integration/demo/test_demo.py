"""scripts/demo, as a newcomer runs it (without its install and build: --no-build with the
binary under test, on ports picked at run time): every URL and command it prints answers as
printed (HTTPS to both pools, the redirect to HTTPS, IMAPS logins through Passeur to its
Dovecot, the status page, `passeur ctl` drain and ready, a reload, /metrics, Prometheus when
installed), and SIGINT stops it with every process it started."""

import imaplib
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import LOOPBACK, SOURCE_DIR, http, main, passeur_binary, wait_until  # noqa: E402

SCRIPT = os.path.join(SOURCE_DIR, "scripts", "demo")
READY = "The demo is ready; Ctrl-C stops it."
# Ports the demo takes, as offsets from PASSEUR_DEMO_PORT_BASE.
OFFSETS = {"http": 80, "https": 443, "imaps": 993, "prometheus": 1090, "admin": 1900,
           "nodes": 10101, "nodes2": 10102, "nodes3": 10103, "nodes4": 10104, "dovecot": 10143}
WEBMAIL = "webmail.example.coop"
CLOUD = "cloud.example.coop"


def port_base():
    """A base whose every demo port is free on loopback now, all of them below the kernel's
    ephemeral range, where no other test's connection can take one before the demo binds it."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral_low = int(f.read().split()[0])
    top = min(ephemeral_low, 65536) - max(OFFSETS.values()) - 1
    for _ in range(200):
        base = random.randrange(1024, top) if top > 1024 else random.randrange(1024, 55000)
        try:
            for off in OFFSETS.values():
                with socket.socket() as s:
                    s.bind((LOOPBACK, base + off))
            return base
        except OSError:
            continue
    raise RuntimeError("no free range of ports for the demo")


def descendants(pid):
    """The pids of every process below `pid`, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def https_get(port, host, path, cafile):
    """(status, body) of a GET over TLS to 127.0.0.1:port, verified against cafile for host."""
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection((LOOPBACK, port), 10) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % (path, host)).encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


class DemoTest(unittest.TestCase):
    def setUp(self):
        self.base = port_base()
        self.ports = {k: self.base + v for k, v in OFFSETS.items()}
        env = dict(os.environ, PASSEUR_BIN=passeur_binary(),
                   PASSEUR_DEMO_PORT_BASE=str(self.base))
        env.pop("PASSEUR_DEMO_NO_BUILD", None)
        self.proc = subprocess.Popen(["bash", SCRIPT, "--no-build"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.addCleanup(self.stop_leftovers)
        self.output = ""
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self.read_output, daemon=True)
        self.reader.start()
        wait_until(lambda: READY in self.out() or self.proc.poll() is not None, 120,
                   message="the demo's ready line")
        self.assertIn(READY, self.out(), "the demo exited: " + self.out())
        text = self.out()
        self.run_dir = re.search(r"\(files in (/tmp/passeur-demo\.\w+)\)", text).group(1)
        self.password = re.search(r"user demo, password (\w+)", text).group(1)
        self.token = re.search(r"token (\w+)\n", text).group(1)
        self.passeur_pid = int(re.search(r"Passeur pid (\d+)\.", text).group(1))
        self.cafile = os.path.join(self.run_dir, "demo.pem")
        # The commands printed to try: indented lines that start with a command.
        self.commands = [l.strip() for l in text.splitlines()
                         if re.match(r"^  (curl |kill |%s )" % re.escape(passeur_binary()), l)]

    def read_output(self):
        for line in iter(self.proc.stdout.readline, b""):
            with self.lock:
                self.output += line.decode(errors="replace")

    def out(self):
        with self.lock:
            return self.output

    def stop_leftovers(self):
        """After a failed test: the demo, then whatever it left, by pid."""
        if self.proc.poll() is None:
            left = descendants(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            for pid in left:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        self.proc.stdout.close()

    def printed(self, pattern):
        """The one printed command that `pattern` (a regular expression) finds."""
        found = [c for c in self.commands if re.search(pattern, c)]
        self.assertEqual(len(found), 1, "%r in %r" % (pattern, self.commands))
        return found[0]

    def run_printed(self, pattern):
        """Runs a printed command as printed (with bash); its standard output."""
        cmd = self.printed(pattern)
        p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60,
                           cwd="/")
        self.assertEqual(p.returncode, 0, "%s: %s%s" % (cmd, p.stdout, p.stderr))
        return p.stdout

    def test_everything_printed_answers_then_sigint_stops_all(self):
        # Web over HTTPS, with the certificate made for the run, to both pools' nodes.
        seen = set()
        for _ in range(40):  # idle nodes tie: least_loaded picks one at random
            status, body = https_get(self.ports["https"], WEBMAIL, "/", self.cafile)
            self.assertEqual(status, 200)
            self.assertRegex(body, r"^webmail served by node-[ab]\n$")
            seen.add(body)
            if len(seen) == 2:
                break
        self.assertEqual(len(seen), 2, "both webmail nodes serve: %r" % seen)
        status, body = https_get(self.ports["https"], CLOUD, "/status.php", self.cafile)
        self.assertEqual(status, 200)
        self.assertIn('"maintenance":false', body)
        self.assertRegex(self.run_printed(r"https://%s:\d+/$" % WEBMAIL),
                         r"^webmail served by node-[ab]\n$")
        self.assertRegex(self.run_printed(r"https://%s:\d+/status.php$" % CLOUD),
                         r'^\{"maintenance":false,"node":"node[12]"\}\n$')

        # Plain HTTP: a redirect to HTTPS.
        r = http(self.ports["http"], "GET", "/login", host=WEBMAIL)
        self.assertEqual((r.status, r.header("Location")), (301, "https://%s/login" % WEBMAIL))
        out = self.run_printed(r"http://127.0.0.1:%d/login$" % self.ports["http"])
        self.assertIn("301 Moved Permanently", out)
        self.assertIn("Location: https://%s/login" % WEBMAIL, out)

        # IMAPS through Passeur to Dovecot (stock disable_plaintext_auth): the printed password
        # logs in, another one does not.
        ctx = ssl.create_default_context(cafile=self.cafile)
        with imaplib.IMAP4_SSL("localhost", self.ports["imaps"], ssl_context=ctx,
                               timeout=10) as c:
            self.assertEqual(c.login("demo", self.password)[0], "OK")
            self.assertEqual(c.select("INBOX"), ("OK", [b"1"]))
            typ, msg = c.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
            self.assertIn(b"Welcome to the demo", msg[0][1])
        with imaplib.IMAP4_SSL("localhost", self.ports["imaps"], ssl_context=ctx,
                               timeout=10) as c:
            with self.assertRaises(imaplib.IMAP4.error):
                c.login("demo", self.password + "x")
        self.assertIn('"." INBOX', self.run_printed(r"-u demo:\w+ imaps://localhost:\d+/$"))
        self.assertIn("Subject: Welcome to the demo",
                      self.run_printed(r"-u demo:\w+ 'imaps://localhost:\d+/INBOX;UID=1'$"))

        # The status page: a login form without the token, the page with it (its session
        # cookie), and every pool in its JSON.
        admin = self.ports["admin"]
        host = "%s:%d" % (LOOPBACK, admin)
        r = http(admin, "GET", "/", host=host)
        self.assertEqual(r.status, 401)
        self.assertIn('action="/login"', r.text)
        r = http(admin, "POST", "/login", host=host,
                 headers=[("Origin", "http://" + host),
                          ("Content-Type", "application/x-www-form-urlencoded")],
                 body=urllib.parse.urlencode({"token": self.token}).encode())
        self.assertEqual(r.status, 303, r)
        cookie = r.header("Set-Cookie").split(";")[0]
        r = http(admin, "GET", "/", host=host, headers=[("Cookie", cookie)])
        self.assertEqual(r.status, 200)
        self.assertIn("node-a", r.text)
        r = http(admin, "GET", "/status.json", host=host, headers=[("Cookie", cookie)])
        self.assertEqual(r.status, 200)
        for name in ("webmail", "cloud", "imap", "node1", "node2", "dovecot"):
            self.assertIn('"%s"' % name, r.text)
        self.assertIn("http://%s/" % host, self.out())

        # passeur ctl, as printed: every node up after its checks, a drain, then ready.
        pools = self.run_printed(r" pools$")
        rows = [l.split() for l in pools.splitlines()[1:]]
        self.assertEqual(sorted((r[0], r[1], r[3], r[4]) for r in rows),
                         [("cloud", "node1", "up", "active"), ("cloud", "node2", "up", "active"),
                          ("imap", "dovecot", "up", "active"),
                          ("webmail", "node-a", "up", "active"),
                          ("webmail", "node-b", "up", "active")])
        self.assertEqual(self.run_printed(r" drain webmail node-a "),
                         'pool "webmail" node "node-a": now draining, health up\n')
        for _ in range(4):
            self.assertEqual(https_get(self.ports["https"], WEBMAIL, "/", self.cafile),
                             (200, "webmail served by node-b\n"))
        self.assertEqual(self.run_printed(r" ready webmail node-a$"),
                         'pool "webmail" node "node-a": now active, health up\n')

        # /metrics with the token, as printed.
        metrics = self.run_printed(r"/metrics \| grep")
        self.assertIn('passeur_node_health{pool="webmail",node="node-a",state="up"} 1', metrics)

        # A reload, as printed.
        self.run_printed(r"^kill -HUP %d\b" % self.passeur_pid)
        wait_until(lambda: "passeur info: reloaded %s/passeur.toml" % self.run_dir in self.out(),
                   10, message="the reload's log line")

        # Prometheus, when installed, scrapes Passeur with the token.
        if shutil.which("prometheus"):
            url = re.search(r"Prometheus: (http://\S+)/graph", self.out()).group(1)
            self.assertEqual(url, "http://127.0.0.1:%d" % self.ports["prometheus"])
            wait_until(lambda: '"health":"up"' in self.prometheus_targets(), 30,
                       message="Prometheus's scrape of Passeur")
        else:
            self.assertIn("Prometheus: not installed", self.out())

        # SIGINT: the demo stops everything it started and removes its files.
        started = descendants(self.proc.pid)
        self.assertIn(self.passeur_pid, started)
        self.assertGreaterEqual(len(started), 6, started)  # nginx x2, dovecot..., passeur
        self.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.proc.wait(60), 130)
        self.reader.join(10)
        left = [p for p in started if alive(p)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        self.assertEqual(left, [], "processes the demo left running")
        self.assertFalse(os.path.exists(self.run_dir))
        self.assertIn("passeur info: stopped", self.out())

    def prometheus_targets(self):
        r = http(self.ports["prometheus"], "GET", "/api/v1/targets", host="127.0.0.1")
        return r.text if r.status == 200 else ""


if __name__ == "__main__":
    main()
