"""Pieces shared by the health-check integration tests: check tables, waiting for the proxy's
health log lines, mail banner servers, a host in a network namespace that can go dark, and a
client that counts which node answered, request by request."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from harness import (LOOPBACK, SYSTEM_PYTHON, ChildServer, HttpConn, ProxyTestCase,  # noqa: E402
                     free_port)

BANNER_SCRIPT = os.path.join(HERE, "banner.py")


def check(type_="http", **keys):
    """A pool's `check` inline table."""
    out = {"type": type_}
    out.update(keys)
    return out


def node(address, name):
    return {"address": address, "name": name}


# ---------------------------------------------------------------------------------------------
# The proxy's health log lines

def health_lines(proxy, node_name=None):
    lines = [l for l in proxy.stderr_text().splitlines() if " health: " in l]
    if node_name is not None:
        lines = [l for l in lines if 'node "%s"' % node_name in l]
    return lines


def wait_for_health(proxy, node_name, change, timeout, after=0):
    """Waits until the proxy logs `change` ("up -> down") for node_name, beyond the first
    `after` health lines of that node. Returns (line, monotonic time it was seen)."""
    pattern = "health %s" % change
    deadline = time.monotonic() + timeout
    while True:
        lines = health_lines(proxy, node_name)[after:]
        for line in lines:
            if pattern in line:
                return line, time.monotonic()
        if time.monotonic() >= deadline:
            raise AssertionError("no \"%s\" for node %s within %.1fs; health lines:\n%s"
                                 % (pattern, node_name, timeout,
                                    "\n".join(health_lines(proxy)) or "(none)"))
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------
# Mail banner servers (banner.py in a child /usr/bin/python3)

class Banner(ChildServer):
    """A tiny IMAP, POP3 or SMTP server on 127.0.0.1 that greets, answers the goodbye and logs
    each command it receives ("CMD <line>"). `greeting` replaces the protocol's usual one."""

    def __init__(self, workdir, protocol, greeting=None, port=None, ehlo_reply=None):
        self.protocol = protocol
        self.port = port or free_port()
        self.greeting = greeting
        self.ehlo_reply = ehlo_reply
        self.log_path = os.path.join(workdir, "banner-%s-%d.log" % (protocol, self.port))

    @property
    def address(self):
        return "%s:%d" % (LOOPBACK, self.port)

    def start(self):
        cmd = [SYSTEM_PYTHON, BANNER_SCRIPT, self.protocol, "--port", str(self.port)]
        if self.greeting is not None:
            cmd += ["--greeting", self.greeting]
        if self.ehlo_reply is not None:
            cmd += ["--ehlo-reply", self.ehlo_reply]
        return self.spawn(cmd, self.log_path, self.port, "banner " + self.protocol, mode="ab")

    def commands(self):
        with open(self.log_path, errors="replace") as f:
            return [l[4:].rstrip("\n") for l in f if l.startswith("CMD ")]

    def connections(self):
        with open(self.log_path, errors="replace") as f:
            return sum(1 for l in f if l.startswith("CONNECT"))


# ---------------------------------------------------------------------------------------------
# A host that goes dark: an HTTP server in a network namespace behind a veth pair

class DarkHost(ChildServer):
    """An HTTP server (python's http.server) at 198.51.100.x in its own network namespace,
    reached over a veth pair. go_dark() sets the namespace's end of the link down: packets to
    it are dropped, connects time out. Only 198.51.100.0/24 is used, with an unreachable route
    for the whole /24 first so that nothing meant for it leaves the machine."""

    ROUTE = ["198.51.100.0/24", "metric", "4000"]

    def __init__(self, workdir):
        self.ip_tool = shutil.which("ip")
        tag = os.getpid() % 50
        self.netns = "pshc%d" % tag
        self.host_if = "pshc%dh" % tag
        self.ns_if = "pshc%dn" % tag
        base = 4 * (tag + 10)  # a /30 of its own: 198.51.100.40 .. .239
        self.host_ip = "198.51.100.%d" % (base + 1)
        self.ip = "198.51.100.%d" % (base + 2)
        self.port = 8080
        self.dir = os.path.join(workdir, "dark-host")
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, "index.html"), "w") as f:
            f.write("dark-node\n")
        self.added_route = False
        self.made = []

    @property
    def address(self):
        return "%s:%d" % (self.ip, self.port)

    def usable(self):
        return os.geteuid() == 0 and self.ip_tool is not None

    def _ip(self, *args, check=True):
        p = subprocess.run([self.ip_tool] + list(args), capture_output=True, text=True,
                           timeout=10)
        if check and p.returncode != 0:
            raise AssertionError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
        return p

    def start(self):
        # The unreachable route first: nothing may leak out. Another test may have added it.
        p = self._ip("route", "add", "unreachable", *self.ROUTE, check=False)
        self.added_route = p.returncode == 0
        self._ip("netns", "add", self.netns)
        self.made.append("netns")
        self._ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        self.made.append("link")
        self._ip("link", "set", self.ns_if, "netns", self.netns)
        self._ip("addr", "add", self.host_ip + "/30", "dev", self.host_if)
        self._ip("link", "set", self.host_if, "up")
        self._ip("-n", self.netns, "addr", "add", self.ip + "/30", "dev", self.ns_if)
        self._ip("-n", self.netns, "link", "set", self.ns_if, "up")
        self._ip("-n", self.netns, "link", "set", "lo", "up")
        self.spawn([self.ip_tool, "netns", "exec", self.netns, SYSTEM_PYTHON, "-m", "http.server",
                    "--bind", self.ip, "--directory", self.dir, str(self.port)],
                   os.path.join(self.dir, "server.log"), mode="ab")
        deadline = time.monotonic() + 10
        while not self._reachable():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the server in namespace %s did not start" % self.netns)
            time.sleep(0.05)
        return self

    def _reachable(self):
        import socket
        try:
            with socket.create_connection((self.ip, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def go_dark(self):
        self._ip("-n", self.netns, "link", "set", self.ns_if, "down")

    def come_back(self):
        self._ip("-n", self.netns, "link", "set", self.ns_if, "up")

    def stop(self):
        super().stop()
        if "link" in self.made:
            self._ip("link", "del", self.host_if, check=False)
        if "netns" in self.made:
            self._ip("netns", "del", self.netns, check=False)
        self.made = []
        if self.added_route:
            self._ip("route", "del", "unreachable", *self.ROUTE, check=False)
            self.added_route = False


# ---------------------------------------------------------------------------------------------
# Load that remembers who answered when

class RecordingLoad:
    """Keep-alive clients in threads sending GET / until stopped; every answer is kept as
    (monotonic time, status, body)."""

    def __init__(self, port, clients=8, host="example.test"):
        self.port = port
        self.clients = clients
        self.host = host
        self.records = []
        self.errors = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    def start(self):
        for _ in range(self.clients):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _run(self):
        conn = None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = HttpConn(self.port, timeout=10)
                r = conn.roundtrip("GET", "/", self.host)
                with self._lock:
                    self.records.append((time.monotonic(), r.status, r.text.strip()))
                if (r.header("Connection") or "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001 - any failure is a test result
                with self._lock:
                    self.errors.append(repr(e))
                if conn:
                    conn.close()
                conn = None
        if conn:
            conn.close()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(15)

    def window(self, start, end):
        with self._lock:
            return [r for r in self.records if start <= r[0] < end]

    def share(self, body, start, end):
        """(share of answers from `body` in [start, end), number of answers)."""
        w = self.window(start, end)
        if not w:
            return 0.0, 0
        return sum(1 for r in w if r[2] == body) / len(w), len(w)


class HealthTestCase(ProxyTestCase):
    def start_banner(self, protocol, **kw):
        b = Banner(self.tmp, protocol, **kw)
        self.addCleanup(b.stop)
        return b.start()

    def start_load(self, port, **kw):
        load = RecordingLoad(port, **kw)
        self.addCleanup(load.stop)
        return load.start()

    def rewrite_nginx(self, nginx, extra_server):
        """New server-block lines for a running nginx, then SIGHUP to its master (our child):
        it re-reads its configuration, the port stays open throughout."""
        nginx.extra_server = extra_server
        with open(nginx.conf, "w") as f:
            f.write(nginx._config())
        nginx.proc.send_signal(signal.SIGHUP)

