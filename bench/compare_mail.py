"""The IMAP rows of bench/compare (`--only-mail`): Passeur's `protocol = "imap"` listener (STARTTLS
ended at Passeur, PROXY v2 to Dovecot), its `protocol = "tcp"` listener (bytes relayed, STARTTLS
end to end with Dovecot) and nginx's mail module (`auth_http` answered by a small Python server,
`proxy on`), all in front of the same Dovecot with its stock security settings. The load
client is mailload.c (compiled at run time). Measured as the other rows are: the proxy pinned
to CPU 0 with one worker, the load and the servers behind it on CPU 1, the proxy's CPU time
from /proc, interleaved rounds, medians.

Rows: whole sessions (STARTTLS + LOGIN + SELECT + LOGOUT) per busy core; bulk FETCH after a
login (over STARTTLS and in plain text); memory per idle logged-in session (IDLE)."""

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

import harness  # tests/integration, put on the path by bench/compare

NGINX_MAIL_MODULE = "/usr/lib/nginx/modules/ngx_mail_module.so"
PASSWORD = "benchpw"
SESSION_CONNS = 16  # concurrent sessions in the sessions row
FETCH_CONNS = 4  # logged-in connections fetching in the bulk rows
MESSAGE_SIZE = 1 << 20  # the message every fetching user has in INBOX
MIB = 1 << 20
IDLE_TIMEOUT_S = 300

# Columns: the process measured and the listener used.
COLUMNS = ["imap", "imap-records", "tcp", "nginx"]
TITLES = {"imap": 'Passeur `imap`', "imap-records": 'Passeur `imap`, own records',
          "tcp": 'Passeur `tcp`', "nginx": "nginx mail"}
PROCESS = {"imap": "passeur", "imap-records": "passeur", "tcp": "passeur", "nginx": "nginx"}

# key, label, mailload mode, TLS (STARTTLS before the login), columns
SCENARIOS = [
    ("mail-sessions", "IMAP session: STARTTLS + LOGIN + SELECT + LOGOUT", "sessions", True,
     ["imap", "nginx"]),
    ("mail-fetch-tls", "bulk FETCH after a STARTTLS login (1 MiB message)", "fetch", True,
     ["imap", "tcp", "nginx"]),
    ("mail-fetch-plain", "bulk FETCH after a plain-text login (1 MiB message)", "fetch", False,
     ["imap", "tcp", "nginx"]),
]
# key, label, TLS, columns
IDLE_KINDS = [
    ("idle-tls", "idle logged-in sessions (STARTTLS, IDLE)", True,
     ["imap", "imap-records", "tcp", "nginx"]),
    ("idle-plain", "idle logged-in sessions (plain-text login, IDLE)", False,
     ["imap", "tcp", "nginx"]),
]

# nginx's auth_http: every login is accepted and sent to Dovecot's plain IMAP listener (Dovecot
# checks the password itself). One process of its own, so that its CPU time is counted.
AUTH_HTTP = r"""
import http.server, sys
port, backend = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Auth-Status", "OK")
        self.send_header("Auth-Server", "127.0.0.1")
        self.send_header("Auth-Port", backend)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer.request_queue_size = 1024
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def build_tool(d):
    """Compiles mailload.c into d; returns the binary's path."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mailload.c")
    out = os.path.join(d, "mailload")
    r = subprocess.run(["cc", "-O2", "-o", out, src, "-lssl", "-lcrypto", "-lpthread"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("compiling mailload.c failed:\n" + r.stderr)
    return out


def user_name(i):
    return f"bench{i:04d}"


# ---------------------------------------------------------------------------------------------
# Configurations


def dovecot_conf(d, ports):
    """Stock security settings (disable_plaintext_auth = yes, as Debian ships it). nginx logs
    in over plain IMAP from 127.0.0.1: login_trusted_networks makes that accepted as secure,
    Dovecot's documented setting for a trusted proxy. Login and imap processes are reused
    (Dovecot's high-performance mode) so that a session does not cost a fork."""
    return f"""base_dir={d}/run
state_dir={d}/state
log_path={d}/dovecot.log
info_log_path={d}/dovecot.log
protocols=imap
listen=127.0.0.1
auth_mechanisms=plain login
ssl=yes
ssl_cert=<{d}/cert.pem
ssl_key=<{d}/key.pem
ssl_dh=</usr/share/dovecot/dh.pem
haproxy_trusted_networks=127.0.0.0/8
login_trusted_networks=127.0.0.0/8
login_greeting=Dovecot ready.
stats_writer_socket_path=
default_client_limit=8192
passdb {{
  driver=passwd-file
  args=scheme=PLAIN {d}/users
}}
userdb {{
  driver=passwd-file
  args={d}/users
  default_fields=uid=nobody gid=nogroup home={d}/mail/%u mail=maildir:~/Maildir
}}
service imap-login {{
  inet_listener imap {{
    port={ports['imap']}
  }}
  inet_listener imaps {{
    port=0
  }}
  inet_listener imap_proxy {{
    port={ports['haproxy']}
    haproxy=yes
  }}
  service_count=0
  process_min_avail=1
  client_limit=8192
  vsz_limit=1G
}}
service imap {{
  service_count=0
  process_min_avail=8
  process_limit=4096
}}
"""


def passeur_conf(d, ports, admin_port):
    listeners = ""
    for name, port, extra in (("imap", ports["imap"], ""),
                              ("imap-plain", ports["imap-plain"], "allow_plaintext_auth = true\n"),
                              ("imap-records", ports["imap-records"], 'tls_records = "passeur"\n')):
        listeners += f"""
[[listener]]
name = "{name}"
listen = "127.0.0.1:{port}"
protocol = "imap"
pool = "mail"
idle_timeout = "{IDLE_TIMEOUT_S}s"
{extra}"""
    return f"""[server]
workers = 1
admin_listen = "127.0.0.1:{admin_port}"
access_log = "off"
grace_period = "1s"

[[certificate]]
cert = "{d}/tls/cert.pem"
key = "{d}/tls/key.pem"
{listeners}
[[listener]]
name = "tcp"
listen = "127.0.0.1:{ports['tcp']}"
protocol = "tcp"
pool = "mailtcp"
idle_timeout = "{IDLE_TIMEOUT_S}s"

[pool.mail]
nodes = ["127.0.0.1:{ports['dovecot-haproxy']}"]
proxy_protocol = "v2"

[pool.mailtcp]
balance = "least_loaded"
nodes = ["127.0.0.1:{ports['dovecot-haproxy']}"]
proxy_protocol = "v2"
"""


def nginx_conf(d, main_conf, tls_conf, port, auth_port):
    """nginx's mail proxy: STARTTLS offered (plain-text logins allowed too, `starttls on`),
    every login asked of auth_http, then proxied to Dovecot's plain listener (no PROXY header,
    no XCLIENT: nginx's defaults for IMAP)."""
    return f"load_module {NGINX_MAIL_MODULE};\n" + main_conf + f"""mail {{
    server_name bench.example;
    auth_http 127.0.0.1:{auth_port}/auth;
    proxy on;
    proxy_timeout {IDLE_TIMEOUT_S}s;
    imap_capabilities IMAP4rev1 LITERAL+ SASL-IR ID IDLE;
{tls_conf}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        protocol imap;
        starttls on;
    }}
}}
"""


# ---------------------------------------------------------------------------------------------
# The servers


def wait_greeting(port, proc, name, logfile, timeout=20.0):
    """Until a connection to port gets an IMAP `* OK` greeting; fails early if proc exits."""
    def ready(p):
        with socket.create_connection(("127.0.0.1", p), timeout=2) as s:
            greeting = s.recv(512)
            # a fresh Dovecot whose auth process is not up yet says "Waiting for ..."
            return greeting.startswith(b"* OK") and b"Waiting" not in greeting
    harness.wait_port(port, timeout, proc, name, logfile, ready=ready)


def make_mail_store(d, users, fetch_users):
    """The users file (USERS users, one password) and, for the first fetch_users, an INBOX
    holding one MESSAGE_SIZE message."""
    with open(os.path.join(d, "users"), "w") as f:
        for i in range(users):
            f.write(f"{user_name(i)}:{{PLAIN}}{PASSWORD}::::::\n")
    line = b"".join(bytes([65 + (i * 7) % 26]) for i in range(76)) + b"\r\n"
    head = (b"From: bench@example.test\r\nTo: user@example.test\r\nSubject: bulk\r\n"
            b"Message-ID: <bulk@example.test>\r\n\r\n")
    body = line * ((MESSAGE_SIZE - len(head)) // len(line))
    message = head + body + b"x" * (MESSAGE_SIZE - len(head) - len(body))
    assert len(message) == MESSAGE_SIZE
    mail = os.path.join(d, "mail")
    os.makedirs(mail)
    for i in range(fetch_users):
        box = os.path.join(mail, user_name(i), "Maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(box, sub))
        with open(os.path.join(box, "cur", "1.bulk.bench:2,S"), "wb") as f:
            f.write(message)
    for root, dirs, files in os.walk(mail):
        shutil.chown(root, "nobody", "nogroup")
        for name in files:
            shutil.chown(os.path.join(root, name), "nobody", "nogroup")


class Column:
    """One measured column: the process (pid, registry entry, restart) and its ports."""

    def __init__(self, name, proc_target, tls_port, plain_port):
        self.name = name
        self.proc_target = proc_target  # compare's Target-like object of the process
        self.tls_port = tls_port
        self.plain_port = plain_port

    def port(self, tls):
        return self.tls_port if tls else self.plain_port


class ProcTarget:
    def __init__(self, starter):
        self.starter = starter
        self.entry, self.pid = starter()

    def restart(self, registry):
        registry.stop(self.entry)
        self.entry, self.pid = self.starter()

    def alive(self):
        return self.entry[1].poll() is None


def tree_cpu(root, read_stat):
    """CPU seconds of a process, its live descendants, and the children it reaped (Dovecot's
    master reaps its login and imap processes)."""
    total = 0.0
    pids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            st = read_stat(int(p))
            if st:
                pids[int(p)] = st
    family = {root}
    changed = True
    while changed:
        changed = False
        for pid, st in pids.items():
            if pid not in family and st["ppid"] in family:
                family.add(pid)
                changed = True
    for pid in family:
        if pid in pids:
            total += pids[pid]["cpu"]
    try:
        with open(f"/proc/{root}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        total += (int(rest[13]) + int(rest[14])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        pass
    return total


# ---------------------------------------------------------------------------------------------
# Runs


def run_mailload(tool, cpu, mode, port, conns, seconds, tls, users, running):
    argv = ["taskset", "-c", cpu, tool, mode, str(port), str(conns), str(seconds),
            "1" if tls else "0", str(users), PASSWORD]
    out, status, cpu_s = harness.run_timed(argv, seconds + 30, running)
    f = {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+)", out)}
    if status != 0 or "errors" not in f:
        raise RuntimeError(f"mailload exited with status {status}:\n{out}")
    return f, cpu_s


def measured(host, col, load, servers):
    """Runs load() (figures, client CPU seconds); adds the proxy's CPU and the unexplained
    load of the machine (what is not the proxies, Dovecot, auth_http, the client or us)."""
    ours = set()
    for t in servers["procs"]:
        ours.update((t.pid, t.entry[1].pid, *t.entry[2]))
    ours.update(host.kernel_softirq_pids())
    before_ours = {pid: host.proc_cpu(pid) for pid in ours}
    dove = servers["dovecot"].entry[1].pid
    before_dove = tree_cpu(dove, host.read_stat)
    before_self = sum(os.times()[:2])
    before_proxy = host.proc_cpu(col.proc_target.pid)
    before_machine = host.machine_busy()
    t0 = time.monotonic()
    r, client_cpu = load()
    wall = time.monotonic() - t0
    proxy = host.proc_cpu(col.proc_target.pid) - before_proxy
    machine = host.machine_busy() - before_machine
    ours_cpu = sum(host.proc_cpu(pid) - c for pid, c in before_ours.items())
    ours_cpu += tree_cpu(dove, host.read_stat) - before_dove
    ours_cpu += client_cpu + sum(os.times()[:2]) - before_self
    r.update(wall=wall, proxy_cpu=proxy, busy_cores=proxy / wall, client_cpu=client_cpu,
             client_cores=client_cpu / wall, unexplained_cores=(machine - ours_cpu) / wall)
    r["noisy"] = r["unexplained_cores"] > host.NOISE_LIMIT
    r["rps_per_core"] = r["amount"] / proxy if proxy > 0 else None
    return r


def session_load(tool, cpu, port, seconds, tls, users, running):
    f, client = run_mailload(tool, cpu, "sessions", port, SESSION_CONNS, seconds, tls, users,
                             running)
    return {"rps": f["sessions"] / f["seconds"], "amount": f["sessions"], "p50": f["p50_ms"],
            "p99": f["p99_ms"], "errors": int(f["errors"])}, client


def fetch_load(tool, cpu, port, seconds, tls, users, running):
    f, client = run_mailload(tool, cpu, "fetch", port, FETCH_CONNS, seconds, tls, users, running)
    bad = int(f["bytes"] != f["fetches"] * MESSAGE_SIZE)
    return {"rps": f["bytes"] / MIB / f["seconds"], "amount": f["bytes"] / MIB, "p50": None,
            "p99": None, "errors": int(f["errors"]) + bad}, client


def idle_rss(host, tool, cpu, col, tls, n, users):
    """Opens n logged-in sessions in IDLE through col; (KiB of RSS per session, sessions open,
    RSS before, RSS after)."""
    pid = col.proc_target.pid
    time.sleep(0.3)
    before = host.vm_rss_kib(pid)
    proc = subprocess.Popen(["taskset", "-c", cpu, tool, "idle", str(col.port(tls)), str(n), "0",
                             "1" if tls else "0", str(users), PASSWORD],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    host.CURRENT_WRK.append(proc)
    try:
        line = proc.stdout.readline()
        m = re.match(r"ready (\d+) errors (\d+)", line)
        if not m:
            raise RuntimeError(f"mailload idle printed {line!r}")
        opened, errors = int(m.group(1)), int(m.group(2))
        if opened < n:
            raise RuntimeError(f"{opened} of {n} sessions logged in ({errors} failed)")
        time.sleep(0.5)
        after = host.vm_rss_kib(pid)
        proc.stdin.close()  # mailload closes its sessions and exits
        proc.wait(30)
        return (after - before) / max(opened, 1), opened, before, after
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        host.CURRENT_WRK.remove(proc)


# ---------------------------------------------------------------------------------------------


def setup(host, d, args, wanted):
    """Dovecot, the auth_http server, Passeur and nginx; returns (columns, servers)."""
    reg = host.REGISTRY
    users = max(args.idle_sessions, SESSION_CONNS, FETCH_CONNS) + 16
    dd = os.path.join(d, "dovecot")
    os.makedirs(dd)
    os.chmod(d, 0o755)
    os.chmod(dd, 0o755)
    shutil.copy(os.path.join(d, "tls", "cert.pem"), os.path.join(dd, "cert.pem"))
    shutil.copy(os.path.join(d, "tls", "key.pem"), os.path.join(dd, "key.pem"))
    make_mail_store(dd, users, max(SESSION_CONNS, FETCH_CONNS))
    p = harness.free_ports(10)
    dports = {"imap": p[0], "haproxy": p[1]}
    with open(os.path.join(dd, "dovecot.conf"), "w") as f:
        f.write(dovecot_conf(dd, dports))
    check = subprocess.run(["dovecot", "-c", os.path.join(dd, "dovecot.conf"), "-n"],
                           capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError("dovecot config: " + check.stderr)

    def start_dovecot():
        logfile = os.path.join(dd, "stderr.log")
        e = reg.start("dovecot", ["dovecot", "-c", os.path.join(dd, "dovecot.conf"), "-F"],
                      host.LOAD_CPU, logfile)
        for port in dports.values():
            harness.wait_port(port, 20, e[1], "dovecot", logfile)
        wait_greeting(dports["imap"], e[1], "dovecot", os.path.join(dd, "dovecot.log"))
        return e, e[1].pid
    dovecot = ProcTarget(start_dovecot)
    servers = {"dovecot": dovecot, "procs": []}
    columns = {}

    if "passeur" in wanted:
        binary = os.path.join(d, "passeur")
        shutil.copy2(args.passeur, binary)
        ports = {"imap": p[2], "imap-plain": p[3], "imap-records": p[4], "tcp": p[5],
                 "dovecot-haproxy": dports["haproxy"]}
        conf = os.path.join(d, "passeur-mail.toml")
        with open(conf, "w") as f:
            f.write(passeur_conf(d, ports, p[6]))
        r = subprocess.run([binary, "check", "-c", conf], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("passeur check: " + r.stdout + r.stderr)

        def start_passeur(binary=binary, conf=conf):
            logfile = os.path.join(d, "passeur-mail.log")
            e = reg.start("passeur", [binary, "-c", conf], host.PROXY_CPU, logfile)
            wait_greeting(ports["imap"], e[1], "passeur", logfile)
            return e, e[1].pid
        pt = ProcTarget(start_passeur)
        servers["procs"].append(pt)
        columns["imap"] = Column("imap", pt, ports["imap"], ports["imap-plain"])
        columns["imap-records"] = Column("imap-records", pt, ports["imap-records"], None)
        columns["tcp"] = Column("tcp", pt, ports["tcp"], ports["tcp"])
    if "nginx" in wanted:
        if not os.path.exists(NGINX_MAIL_MODULE):
            raise RuntimeError(f"nginx: no mail module at {NGINX_MAIL_MODULE} "
                               "(libnginx-mod-mail)")
        with open(os.path.join(d, "auth_http.py"), "w") as f:
            f.write(AUTH_HTTP)
        auth_log = os.path.join(d, "auth_http.log")
        e = reg.start("auth_http", [sys.executable, os.path.join(d, "auth_http.py"), str(p[7]),
                                    str(dports["imap"])], host.LOAD_CPU, auth_log)
        harness.wait_port(p[7], 10, e[1], "auth_http", auth_log)
        servers["procs"].append(ProcTarget(lambda e=e: (e, e[1].pid)))
        conf_text = nginx_conf(d, host.nginx_main(d, "nginx-mail", 16384), host.nginx_tls(d),
                               p[8], p[7])
        conf = os.path.join(d, "nginx-mail.conf")
        with open(conf, "w") as f:
            f.write(conf_text)

        def start_nginx(conf=conf):
            logfile = os.path.join(d, "nginx-mail.log")
            e = reg.start("nginx-mail", harness.nginx_command(
                d, conf, os.path.join(d, "nginx-mail-error.log")), host.PROXY_CPU, logfile)
            wait_greeting(p[8], e[1], "nginx-mail", logfile)
            workers = []
            deadline = time.monotonic() + 5
            while not workers and time.monotonic() < deadline:
                workers = host.children(e[1].pid)
                time.sleep(0.05)
            if len(workers) != 1:
                raise RuntimeError(f"nginx-mail: expected one worker, found {workers}")
            e[2].extend(workers)
            return e, workers[0]
        nt = ProcTarget(start_nginx)
        servers["procs"].append(nt)
        columns["nginx"] = Column("nginx", nt, p[8], p[8])
    servers["procs"].append(dovecot)
    return columns, servers, users


def preflight(tool, cpu, columns, users, running):
    """Every column: whole sessions (STARTTLS and plain) and fetches of the exact message."""
    for name, col in columns.items():
        for tls in (True, False):
            if col.port(tls) is None:
                continue
            for mode in ("sessions", "fetch"):
                f, _ = run_mailload(tool, cpu, mode, col.port(tls), 1, 1, tls, users, running)
                n = f.get("sessions" if mode == "sessions" else "fetches", 0)
                if f["errors"] or n < 1 or (mode == "fetch"
                                            and f["bytes"] != n * MESSAGE_SIZE):
                    raise RuntimeError(f"{TITLES[name]}: {mode} check "
                                       f"({'STARTTLS' if tls else 'plain'}) failed: {f}")


def run(host, d, args, wanted):
    """The mail rows; returns (text of the tables, raw results for --json)."""
    started = time.monotonic()
    tool = build_tool(d)
    columns, servers, users = setup(host, d, args, wanted)
    preflight(tool, host.LOAD_CPU, columns, users, host.CURRENT_WRK)
    host.log("mail: " + ", ".join(f"{TITLES[c]} on {col.tls_port}" for c, col in columns.items()))
    results = {s[0]: {c: [] for c in s[4] if c in columns} for s in SCENARIOS}
    notes = []
    order = [c for c in COLUMNS if c in columns]
    for rnd in range(args.rounds):
        rot = order[rnd % len(order):] + order[:rnd % len(order)]
        for key, label, mode, tls, cols in SCENARIOS:
            for name in rot:
                if name not in cols:
                    continue
                col = columns[name]
                fn = session_load if mode == "sessions" else fetch_load

                def load(col=col, fn=fn, tls=tls):
                    return fn(tool, host.LOAD_CPU, col.port(tls), args.duration, tls, users,
                              host.CURRENT_WRK)
                attempts = 0
                best = None
                while True:
                    r = measured(host, col, load, servers)
                    if best is None or r["unexplained_cores"] < best["unexplained_cores"]:
                        best = r
                    host.log(f"[mail round {rnd + 1}/{args.rounds}] {key:<16} {name:<12} "
                             f"{r['rps']:>8,.1f} {'sessions/s' if mode == 'sessions' else 'MiB/s'}"
                             f"  proxy {r['busy_cores']:.2f} cores  client "
                             f"{r['client_cores']:.2f} cores  errors {r['errors']}  other load "
                             f"{r['unexplained_cores']:+.2f} cores"
                             + ("  -> noisy" if r["noisy"] else ""))
                    if not r["noisy"] or attempts >= args.mail_retries:
                        break
                    attempts += 1
                best["round"] = rnd + 1
                results[key][name].append(best)
                if best["errors"]:
                    notes.append(f"{TITLES[name]}, {label}, round {rnd + 1}: {best['errors']} "
                                 f"failed sessions or fetches")
                if not col.proc_target.alive():
                    raise RuntimeError(f"{TITLES[name]}: the process exited")

    idle = {k: {} for k, _, _, _ in IDLE_KINDS}
    for kind, label, tls, cols in IDLE_KINDS:
        for name in cols:
            col = columns.get(name)
            if col is None or col.port(tls) is None:
                continue
            try:
                # A fresh process, then a few sessions of the same kind so that one-time
                # allocations are in the baseline.
                col.proc_target.restart(host.REGISTRY)
                run_mailload(tool, host.LOAD_CPU, "sessions", col.port(tls), 4, 1, tls, users,
                             host.CURRENT_WRK)
                idle[kind][name] = idle_rss(host, tool, host.LOAD_CPU, col, tls,
                                            args.idle_sessions, users)
                per, opened, before, after = idle[kind][name]
                host.log(f"mail {kind} {name:<12} {opened} sessions: RSS {before} -> {after} "
                         f"KiB, {per:.1f} KiB per session")
            except Exception as e:  # noqa: BLE001 - reported, the others go on
                notes.append(f"{TITLES[name]}: {label} failed: {e}")
                host.log(f"mail {kind} {name}: FAILED: {e}")
    text = tables(host, results, idle, order, args, notes, time.monotonic() - started)
    return text, {"results": results, "idle": idle}


def summarize(runs):
    """The median of every figure over the rounds (clean runs only, if there are any)."""
    if not runs:
        return None
    used = [r for r in runs if not r["noisy"]] or runs

    def med(k):
        xs = [r[k] for r in used if r.get(k) is not None]
        return statistics.median(xs) if xs else None
    rps = [r["rps"] for r in used]
    out = {k: med(k) for k in ("rps", "p50", "p99", "busy_cores", "rps_per_core",
                                "client_cores", "unexplained_cores")}
    out["spread"] = ((max(rps) - min(rps)) / 2 / out["rps"]
                     if len(rps) > 1 and out["rps"] else None)
    out["errors"] = sum(r["errors"] for r in runs)
    out["noisy"] = len(used) == len(runs) and all(r["noisy"] for r in runs)
    return out


def tables(host, results, idle, order, args, notes, elapsed):
    s = summarize
    header = ["scenario", "metric"] + [TITLES[c] for c in order]
    rows = []
    for key, label, mode, tls, cols in SCENARIOS:
        unit = "sessions/s" if mode == "sessions" else "MiB/s"
        cells = {c: s(results[key][c]) if c in results[key] else None for c in order}
        first = [True]

        def row(metric, f):
            out = [label if first[0] else "", metric] + [
                "—" if c not in cols else "failed" if cells[c] is None else f(cells[c])
                for c in order]
            first[0] = False
            rows.append(out)

        row(unit, lambda c: f"{c['rps']:,.1f}" + (f" ±{c['spread'] * 100:.0f}%"
                                                   if c["spread"] is not None else "")
            + (" (noisy)" if c["noisy"] else ""))
        if mode == "sessions":
            row("p50 / p99 (ms)", lambda c: f"{c['p50']:.1f} / {c['p99']:.1f}")
        row("proxy CPU (busy cores)", lambda c: f"{c['busy_cores']:.2f}")
        row(f"{unit} per busy core", lambda c: f"{c['rps_per_core']:,.0f}")
        row("client CPU (cores)", lambda c: f"{c['client_cores']:.2f}")
        row("errors", lambda c: f"{c['errors']}")
    for kind, label, tls, cols in IDLE_KINDS:
        cells = []
        for c in order:
            if c not in cols:
                cells.append("—")
            elif c not in idle[kind]:
                cells.append("failed")
            else:
                per, opened, _, _ = idle[kind][c]
                cells.append(f"{per:.1f}" + (f" ({opened} open)" if opened < args.idle_sessions
                                             else ""))
        rows.append([f"{args.idle_sessions:,} {label}", "RSS per session (KiB)"] + cells)
    out = [f"Mail rows: {args.rounds} round(s) × {args.duration} s per run; proxies pinned to "
           f"CPU {host.PROXY_CPU}, mailload, Dovecot and auth_http to CPU {host.LOAD_CPU}; "
           f"{SESSION_CONNS} concurrent sessions, {FETCH_CONNS} fetching connections; medians "
           f"over rounds; total {elapsed:.0f} s", "", host.render(rows, header)]

    def ratio(a, b):
        return a / b if a is not None and b else None

    def fr(x):
        return "—" if x is None else f"{x:.2f}×"
    rr = []

    def cell(key, c):
        return s(results[key][c]) if c in results.get(key, {}) else None
    for key, label, mode, tls, cols in SCENARIOS:
        p = cell(key, "imap")
        for other in ("nginx", "tcp"):
            o = cell(key, other)
            if p is None or o is None:
                continue
            x = ratio(p["rps_per_core"], o["rps_per_core"])
            rr.append([f"{label}", f"Passeur `imap` / {TITLES[other]}",
                       "noisy" if p["noisy"] or o["noisy"] else "", fr(x),
                       fr(ratio(p["rps"], o["rps"])),
                       "yes" if x is not None and round(x, 2) >= 1 else "no"])
    for kind, label, tls, cols in IDLE_KINDS:
        for mine in ("imap", "imap-records"):
            for other in ("tcp", "nginx"):
                if mine in idle[kind] and other in idle[kind] and idle[kind][other][0] > 0:
                    x = idle[kind][mine][0] / idle[kind][other][0]
                    rr.append([f"{args.idle_sessions:,} {label}",
                               f"{TITLES[mine]} / {TITLES[other]}", "", "—", fr(x),
                               "yes" if round(x, 2) <= 1 else "no"])
    if rr:
        out += ["", host.render(rr, ["mail row", "ratio", "note",
                                     "per busy core (higher is better)",
                                     "rate, or RSS per session (lower is better)",
                                     "at least as good"])]
    if notes:
        out += ["", "Notes:"] + [f"- {n}" for n in notes]
    return "\n".join(out)
