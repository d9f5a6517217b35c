"""The co-op's edge as bench/load and bench/soak run it: nginx, WebSocket and Dovecot nodes,
Passeur's configuration (deploy/examples/demo.toml on ports picked at run time), the
environment that starts and stops them all, and the transfer and IMAP-login clients with their
checks. Imported by both scripts (bench/ is on sys.path when they run)."""

import datetime
import hashlib
import json
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402  (free ports, waiting, wrk output, stopping by pid)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "mail"))
import mail_support  # noqa: E402  (Dovecot nodes, imaplib client from a chosen source)
from pki import Pki  # noqa: E402  (mail_support put tests/integration/tls on the path)

HOST = "127.0.0.1"
WEBMAIL, CLOUD = "webmail.example.coop", "cloud.example.coop"
TRANSFER_SIZE = 4 * 1024 * 1024


def log(msg):
    print(msg, flush=True)




# ---------------------------------------------------------------------------------------------
# Backends


class NginxNode(harness.Nginx):
    """The integration tests' nginx node (`/static/` files, `/dav/` PUT) as a node of a pool:
    `/` answers "<pool> served by <name>", /status.php the health check; every response
    carries X-Node: <name>; the access log has the time of each request ($msec) for the
    node-mix windows. stop() is nginx's fast shutdown (SIGTERM): every connection, in flight
    or idle, is closed at once, as when a node goes down under traffic."""

    STATUS = "location = /status.php { return 200 '{\"maintenance\":false}'; }"

    def __init__(self, workdir, pool, name):
        super().__init__(workdir, name, body="%s served by %s\n" % (pool, name),
                         extra_server="add_header X-Node %s always; %s" % (name, self.STATUS),
                         error_level="warn", worker_connections=4096)
        self.pool = pool

    def requests_between(self, t0, t1):
        return sum(1 for e in self.log_entries() if t0 <= float(e.get("msec") or -1) < t1)


def passeur_config(env):
    def nodes(ns, weights=None):
        return ", ".join('{ address = "%s", name = "%s"%s }'
                         % (n.address, n.name, ", weight = %d" % weights[i] if weights else "")
                         for i, n in enumerate(ns))
    web, cloud, push = env.webmail, env.cloud, env.push
    imap = ", ".join('{ address = "%s", name = "%s" }' % (d.address(d.imap_proxy_port), d.name)
                     for d in env.imap)
    return f"""# bench/load: deploy/examples/demo.toml on ports picked at run time, plus health checks
# on the cloud pool and a WebSocket pool, as the co-op runs them.
[server]
workers = 2
admin_listen = "{HOST}:{env.admin_port}"
access_log = "{env.access_log}"
grace_period = "10s"

[[listener]]
name = "web"
listen = "{HOST}:{env.port}"
protocol = "http"

[[route]]
host = "{WEBMAIL}"
path_prefix = "/"
pool = "webmail"

[[route]]
host = "{CLOUD}"
pool = "cloud"
max_body = "0"

[[route]]
host = "{CLOUD}"
path_prefix = "/push/"
pool = "push"
tunnel_timeout = "30s"

[pool.webmail]
balance = "least_loaded"
nodes = [{nodes(web)}]
idle_timeout = "1s"

[pool.cloud]
nodes = [{nodes(cloud, [2, 1])}]
check = {{ type = "http", path = "/status.php", interval = "1s", timeout = "1s", rise = 2, fall = 2 }}
idle_timeout = "1s"

[pool.push]
nodes = [{nodes(push)}]

# IMAPS (a TCP listener with TLS at Passeur) to two Dovecot nodes, each with a PROXY-protocol
# listener, as the co-op's mail pools (deploy/examples/coop.toml), with checks every second.
# Dovecot runs with its stock `disable_plaintext_auth = yes`: the PROXY header's SSL TLV is what
# lets the members' logins through.
[[certificate]]
cert = "{env.mail_cert.cert}"
key = "{env.mail_cert.key}"

[[listener]]
name = "imap"
listen = "{HOST}:{env.imap_port}"
protocol = "tcp"
tls = true
pool = "imap"

[pool.imap]
balance = "least_loaded"
nodes = [{imap}]
proxy_protocol = "v2"
check = {{ type = "imap", interval = "1s", timeout = "3s", rise = 2, fall = 3 }}
"""


# ---------------------------------------------------------------------------------------------
# Phases: each runs in its own thread during its window of every round, records what happened,
# and checks it after the round. A new feature adds a Phase subclass to PHASES.


class Phase:
    name = "phase"
    window = (0.0, 1.0)  # part of the round this phase runs in

    def setup(self, env):
        pass

    def run(self, env, rnd, deadline):
        """Generate load until time.monotonic() >= deadline; return a dict of results."""
        raise NotImplementedError

    def check(self, env, rnd, res, stop):
        """Returns (figures line, [violations]). stop: the round's Disruption."""
        raise NotImplementedError




class TransferPhase(Phase):
    """Concurrent 4 MiB downloads (/static/blob) and uploads (PUT /dav/...) on the cloud host,
    each checked byte for byte (sha256; uploads on the disk of the node that stored them).
    Expected failures: only transfers that the stopped node was serving when it went down
    (Passeur's access log names the node): a cut download must end short of its
    Content-Length (never passed as complete), and an upload whose body was sent is never
    replayed. Everything else must succeed."""

    name = "transfers"

    def __init__(self, downloaders=2, uploaders=2):
        self.downloaders, self.uploaders = downloaders, uploaders

    def setup(self, env):
        rng = random.Random(8)
        self.blob = rng.randbytes(TRANSFER_SIZE)
        self.blob_sha = hashlib.sha256(self.blob).hexdigest()
        for n in env.cloud:
            with open(os.path.join(n.static_dir, "blob"), "wb") as f:
                f.write(self.blob)
        self.uploads = [rng.randbytes(TRANSFER_SIZE) for _ in range(2)]
        self.upload_sha = [hashlib.sha256(b).hexdigest() for b in self.uploads]

    def one(self, env, kind, tag, n):
        """One transfer on a fresh connection. Returns a record dict."""
        rec = {"kind": kind, "tag": tag, "start": time.time(), "ok": False, "node": None}
        try:
            with socket.create_connection((HOST, env.port), timeout=10) as s:
                if kind == "download":
                    s.sendall(("GET /static/blob?t=%s HTTP/1.1\r\nHost: %s\r\n"
                               "Connection: close\r\n\r\n" % (tag, CLOUD)).encode())
                else:
                    body = self.uploads[n % 2]
                    rec["sha"] = self.upload_sha[n % 2]
                    s.sendall(("PUT /dav/load/%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
                               "Connection: close\r\n\r\n" % (tag, CLOUD, len(body))).encode())
                    s.sendall(body)
                buf = b""
                while b"\r\n\r\n" not in buf:
                    d = s.recv(65536)
                    if not d:
                        raise ConnectionError("closed before a response head")
                    buf += d
                head, _, rest = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                rec["status"] = int(lines[0].split(" ")[1])
                hdr = {k.strip().lower(): v.strip() for k, _, v in
                       (l.partition(":") for l in lines[1:])}
                rec["node"] = hdr.get("x-node")
                length = int(hdr.get("content-length", "-1"))
                h, got = hashlib.sha256(), 0
                h.update(rest)
                got += len(rest)
                while length < 0 or got < length:
                    d = s.recv(1 << 18)
                    if not d:
                        break
                    h.update(d)
                    got += len(d)
                rec["bytes"] = got
                if length >= 0 and got < length:
                    rec["error"] = "connection closed after %d of %d bytes" % (got, length)
                elif kind == "download":
                    if rec["status"] != 200:
                        rec["error"] = "status %d" % rec["status"]
                    elif h.hexdigest() != self.blob_sha:
                        rec["error"] = "CORRUPT: %d bytes, sha256 differs" % got
                    else:
                        rec["ok"] = True
                elif rec["status"] in (201, 204):
                    rec["ok"] = True  # checked on the node's disk after the round
                else:
                    rec["error"] = "status %d" % rec["status"]
        except (OSError, ValueError, IndexError) as e:
            rec["error"] = "%s: %s" % (type(e).__name__, e)
        rec["end"] = time.time()
        return rec

    def run(self, env, rnd, deadline):
        records, lock = [], threading.Lock()

        def worker(kind, w):
            n = 0
            while time.monotonic() < deadline:
                r = self.one(env, kind, "r%d-%s%d-%d" % (rnd, kind[0], w, n), n)
                with lock:
                    records.append(r)
                n += 1

        threads = [threading.Thread(target=worker, args=(k, w), daemon=True)
                   for k, count in (("download", self.downloaders), ("upload", self.uploaders))
                   for w in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return {"records": records}

    def check(self, env, rnd, res, stop):
        recs = res["records"]
        by_tag = env.access_nodes()
        bad, expected = [], []
        for r in recs:
            if r["ok"] and r["kind"] == "upload":
                path = os.path.join(next((n.dav_dir for n in env.cloud if n.name == r["node"]),
                                         "/nonexistent"), "load", r["tag"])
                try:
                    with open(path, "rb") as f:
                        sha = hashlib.sha256(f.read()).hexdigest()
                    os.unlink(path)
                except OSError as e:
                    sha = "unreadable (%s)" % e
                if sha != r["sha"]:
                    r["ok"] = False
                    r["error"] = "CORRUPT: stored file on %s: sha256 %s" % (r["node"], sha[:16])
            if r["ok"]:
                continue
            node = r["node"] or by_tag.get(r["tag"])
            if ("CORRUPT" not in r["error"] and stop.node is not None and node == stop.node.name
                    and r["start"] < stop.stopped_at + 1.0 and r["end"] >= stop.stopping_at):
                expected.append(r)
            else:
                bad.append("transfers: %s %s via node %s failed: %s (%.2fs..%.2fs of the round; "
                           "%s)" % (r["kind"], r["tag"], node, r["error"],
                                    r["start"] - stop.round_start, r["end"] - stop.round_start,
                                    stop.describe()))
        done = {k: sum(1 for r in recs if r["ok"] and r["kind"] == k)
                for k in ("download", "upload")}
        mib = sum(r.get("bytes", 0) if r["kind"] == "download" else TRANSFER_SIZE
                  for r in recs if r["ok"]) / 1048576
        line = ("%-14s %3d downloads, %3d uploads intact (%.0f MiB), %d cut on the stopped node"
                % (self.name, done["download"], done["upload"], mib, len(expected)))
        if len(bad) > 8:
            bad[8:] = ["transfers: and %d more failed transfers" % (len(bad) - 8)]
        if not done["download"] or not done["upload"]:
            bad.append("transfers: no complete download or upload in the round")
        return line, bad




class LoadDovecot(mail_support.Dovecot):
    """The mail tests' Dovecot node, with two settings for load on a busy machine: imap-login
    in Dovecot's high-performance mode (one long-lived login process, not a fork and TLS
    set-up per connection, whose greeting came later than the check's timeout under load), and
    no stats writer (on SIGTERM an imap process otherwise waits 5 s for the dead stats process,
    which kept the master from exiting)."""

    def __init__(self, workdir, name, cert, key):
        super().__init__(workdir, name, cert, key)
        with open(self.config_path) as f:
            conf = f.read()
        login = "service imap-login {\n"
        if login not in conf:
            raise AssertionError("no imap-login service in %s" % self.config_path)
        conf = conf.replace(login, login + "  service_count=0\n  process_min_avail=1\n", 1)
        with open(self.config_path, "w") as f:
            f.write(conf + "stats_writer_socket_path=\n")


class TracedImap(mail_support.ImapSsl):
    """imaplib's IMAPS client from a chosen source address, recording its local port as soon as
    it connects (before the greeting), so that a session that fails before the greeting can be
    found in Passeur's access log, which names its node."""

    def __init__(self, port, context, source, rec, timeout=10):
        self.rec = rec
        super().__init__(port, context, source, timeout=timeout)

    def _create_socket(self, timeout):
        sock = super()._create_socket(timeout)
        self.rec["port"] = sock.getsockname()[1]
        return sock


class ImapPhase(Phase):
    """Parallel IMAPS logins (python3 imaplib) through Passeur's `imap` listener to the two
    Dovecot nodes: connect, greeting (it names the node), LOGIN, SELECT INBOX, LOGOUT, in a loop
    per thread, each thread from its own source address (127.0.0.2x: Dovecot allows 10
    sessions per user and address). Expected failures: only sessions on the Dovecot node
    stopped in the round that had its greeting and were open when it went down (until 1 s
    after); a connect refused by it, and a session it closed before its greeting, move to the
    other node. Both nodes serve in rounds where neither is stopped, and the stopped one serves
    again after its restart."""

    name = "imap logins"

    def __init__(self, threads=8, timeout=10):
        self.threads, self.timeout = threads, timeout  # timeout: of each read, in seconds

    def one(self, env, source):
        rec = {"start": time.time(), "ok": False, "node": None, "port": None,
               "source": source}
        try:
            c = TracedImap(env.imap_port, env.mail_context, source, rec, self.timeout)
            try:
                rec["node"] = mail_support.greeting_node(c)
                typ, data = c.login(mail_support.USER, mail_support.PASSWORD)
                if typ != "OK":
                    raise AssertionError("LOGIN answered %s %r" % (typ, data))
                typ, data = c.select("INBOX")
                if typ != "OK":
                    raise AssertionError("SELECT INBOX answered %s %r" % (typ, data))
                typ, data = c.logout()  # closes the connection
                if typ != "BYE":
                    raise AssertionError("LOGOUT answered %s %r" % (typ, data))
            except BaseException:
                try:
                    c.shutdown()
                except OSError:
                    pass
                raise
            rec["ok"] = True
        except Exception as e:  # noqa: BLE001 - every failure is a finding
            rec["error"] = "%s: %s" % (type(e).__name__, e)
        rec["end"] = time.time()
        return rec

    def run(self, env, rnd, deadline):
        records, lock = [], threading.Lock()
        t0 = time.monotonic()

        def worker(k):
            source = "127.0.0.%d" % (20 + k)
            while time.monotonic() < deadline:
                r = self.one(env, source)
                with lock:
                    records.append(r)

        threads = [threading.Thread(target=worker, args=(k,), daemon=True)
                   for k in range(self.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return {"records": records, "seconds": time.monotonic() - t0}

    @staticmethod
    def access_nodes(env):
        """'source:port' -> [(time, node)] from Passeur's access log lines of the imap listener.
        A source address reuses its ports over a run: a session is matched by time too."""
        nodes = {}
        for line in harness.read_text(env.access_log).splitlines():
            m = re.match(r'(\S+) - \[([^]]*)\] "(?:TCP|IMAP) imap\S*" .*? node=(\S+)', line)
            if m:
                t = datetime.datetime.strptime(m.group(2), "%d/%b/%Y:%H:%M:%S.%f %z").timestamp()
                nodes.setdefault(m.group(1), []).append((t, m.group(3)))
        return nodes

    @staticmethod
    def session_node(by_addr, r):
        """The node of the logged session from r's source and port that ended nearest to r."""
        seen = by_addr.get("%s:%d" % (r["source"], r["port"]), [])
        best = min(seen, key=lambda e: abs(e[0] - r["end"]), default=None)
        return best[1] if best and abs(best[0] - r["end"]) < 5 else None

    def check(self, env, rnd, res, stop):
        recs = res["records"]
        stopped = next((n for n in stop.nodes if n in env.imap), None)
        ok = [r for r in recs if r["ok"]]
        counts = {d.name: sum(1 for r in ok if r["node"] == d.name) for d in env.imap}
        by_addr = None
        bad, expected = [], []
        for r in recs:
            if r["ok"]:
                continue
            node = r["node"]
            if node is None and r["port"] is not None:
                if by_addr is None:
                    by_addr = self.access_nodes(env)
                node = self.session_node(by_addr, r)
            if stopped is not None:
                stopping_at, stopped_at, _ = stop.windows[stopped]
                if (r["node"] == stopped.name and r["start"] < stopped_at + 1.0
                        and r["end"] >= stopping_at):
                    expected.append(r)
                    continue
            bad.append("imap: login from %s:%s via node %s failed: %s (%.2fs..%.2fs of the "
                       "round; %s)" % (r["source"], r["port"], node, r["error"],
                                       r["start"] - stop.round_start,
                                       r["end"] - stop.round_start, stop.describe()))
        if len(bad) > 8:
            bad[8:] = ["imap: and %d more failed logins" % (len(bad) - 8)]
        mix = "/".join(str(counts[d.name]) for d in env.imap)
        if stopped is not None:
            started_at = stop.windows[stopped][2]
            back = sum(1 for r in ok if r["node"] == stopped.name and r["start"] >= started_at)
            mix += " (%s after restart: %d)" % (stopped.name, back)
            if back == 0:
                bad.append("imap: %s served no login after its restart (%s)"
                           % (stopped.name, stop.describe()))
        elif ok:
            # least_loaded with sessions as load: 8 sessions at a time split about 4/4.
            for name, n in counts.items():
                if n < 0.2 * len(ok):
                    bad.append("imap: %s served %d of %d logins in a round where no Dovecot "
                               "node was stopped (expected at least 20 %%): %s"
                               % (name, n, len(ok), counts))
        if not ok:
            bad.append("imap: no login completed")
        line = ("%-14s %5d logins  %6.0f logins/s  failures %d (%d cut on the stopped node after "
                "its greeting)  %s %s"
                % (self.name, len(ok), len(ok) / max(res["seconds"], 0.001), len(recs) - len(ok),
                   len(expected), "/".join(d.name for d in env.imap), mix))
        return line, bad


# The phases of a round and the part of it each runs in. wrk's keep-alive run sees the stop, its
# new-connection run the restart; transfers, WebSockets and IMAP logins run throughout.


class Env:
    def __init__(self, d, binary):
        self.dir, self.binary = d, binary
        self.webmail = [NginxNode(d, "webmail", n) for n in ("node-a", "node-b")]
        self.cloud = [NginxNode(d, "cloud", n) for n in ("node1", "node2")]
        # WebSocket echo nodes (tests/integration/backends.py ws)
        self.push = [harness.Backend(d, "ws", n) for n in ("push1", "push2")]
        # One certificate for Passeur's IMAPS listener and Dovecot (ssl=yes).
        self.pki = pki = Pki(os.path.join(d, "pki"))
        leaf = pki.issue("mail", [mail_support.MAIL_NAME], key="ecdsa")
        self.mail_cert = leaf
        self.mail_context = ssl.create_default_context(cafile=pki.ca_cert)
        self.imap = [LoadDovecot(d, n, leaf.cert, leaf.key)
                     for n in ("node-imap1", "node-imap2")]
        self.imap_port = harness.free_port()
        self.port, self.admin_port = harness.free_port(), harness.free_port()
        self.access_log = os.path.join(d, "access.log")
        self.config = os.path.join(d, "passeur.toml")
        self.stderr = os.path.join(d, "passeur.err")
        self.proc = None
        self._access_offset, self._access_nodes = 0, {}

    def start(self):
        for n in self.webmail + self.cloud + self.push + self.imap:
            n.start()
        with open(self.config, "w") as f:
            f.write(self.config_text())
        self._err = open(self.stderr, "wb")
        self.proc = subprocess.Popen([self.binary, "-c", self.config], stdin=subprocess.DEVNULL,
                                     stdout=self._err, stderr=subprocess.STDOUT)
        harness.wait_port(self.port, 10, self.proc, "passeur", self.stderr)
        # the cloud pool starts once its checks passed (rise = 2 at 1 s)
        harness.wait_until(lambda: all(
            n.requests_between(0, time.time() + 1) >= 2 for n in self.cloud), 10,
            message="the first health checks of the cloud nodes")
        harness.wait_until(lambda: self.usable("imap") == 2, 10,
                           message="the first health checks of the Dovecot nodes")

    def config_text(self):
        """Passeur's configuration file (a subclass adds listeners and routes)."""
        return passeur_config(self)

    def usable(self, pool):
        """How many nodes of the pool the admin API shows usable (0 if it does not answer)."""
        try:
            r = harness.http(self.admin_port, path="/api/v1/pools", host=HOST, timeout=2)
            pools = {p["name"]: p for p in json.loads(r.body)["pools"]}
            return sum(1 for n in pools[pool]["nodes"] if n["usable"])
        except (OSError, ValueError, KeyError, harness.ConnectionClosed):
            return 0

    def stop(self):
        if self.proc is not None:
            rc = harness.stop_process(self.proc, signal.SIGTERM, 15)
            self.proc = None
            self._err.close()
            if rc != 0:
                return "passeur exited with status %s on SIGTERM" % rc
        for n in self.webmail + self.cloud + self.push + self.imap:
            n.stop()
        return None

    def access_nodes(self):
        """tag -> node, from Passeur's access log lines of the transfers (read incrementally)."""
        with open(self.access_log, "rb") as f:
            f.seek(self._access_offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self._access_offset += end
        for line in data[:end].split(b"\n"):
            if b"/dav/load/" in line or b"/static/blob?t=" in line:
                m = re.search(rb'"\S+ /(?:dav/load/|static/blob\?t=)(\S+) .* node=(\S+)', line)
                if m:
                    self._access_nodes[m.group(1).decode()] = m.group(2).decode()
        return self._access_nodes

    def proc_figures(self):
        fds = len(os.listdir("/proc/%d/fd" % self.proc.pid))
        return fds, harness.proc_status(self.proc.pid, "VmRSS")
