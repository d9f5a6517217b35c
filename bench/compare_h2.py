"""The HTTP/2 rows of bench/compare: each proxy's HTTP/2 TLS listener (Passeur's TLS listener
with `http2` at its default, nginx `listen ... ssl http2`, HAProxy `bind ... alpn h2,http/1.1`,
and the first origin's own `ssl http2` listener for the direct column), all in front of the
same nginx origins over HTTP/1.1 keep-alive; h2load as the load generator (latencies from its
--log-file); the pre-flight check over HTTP/2 (python3-h2); the request an idle HTTP/2
connection makes before it is held open; and the ratio table against the targets.
bench/compare runs these rows in the same interleaved rounds as the others and measures them
the same way (pinning, proxy CPU from /proc, noise refusal, medians)."""

import os
import re
import socket

try:  # python3-h2: only the HTTP/2 rows need it (bench/compare checks before using it)
    import h2.config
    import h2.connection
    import h2.events
except ImportError:  # pragma: no cover - reported by available()
    h2 = None

import harness  # tests/integration, put on the path by bench/compare
import tls_support  # tests/integration/tls

# h2load -c CLIENTS -m STREAMS: CLIENTS connections, each with up to STREAMS concurrent streams,
# so CLIENTS * STREAMS (100) requests in flight at all times, spread evenly over the connections.
CLIENTS = 10
STREAMS = 10

# key, label, path, new connection per request, protocol; the shape of compare's SCENARIOS,
# protocol "h2".
SCENARIOS = [
    ("h2-small", f"HTTP/2, {CLIENTS * STREAMS} streams over {CLIENTS} connections, 3 B body",
     "/small", False, "h2"),
    ("h2-16k", f"HTTP/2, {CLIENTS * STREAMS} streams over {CLIENTS} connections, 16 KiB body",
     "/16k", False, "h2"),
]
IDLE_KIND = ("h2", "idle HTTP/2 connections", "h2")  # key, label, protocol (compare's IDLE_KINDS)
TARGET_PER_CORE = 1.2   # at least this × the better of HAProxy and nginx per busy core
TARGET_IDLE_KIB = 4.0   # an idle h2 connection: at most an idle HTTPS/1.1 one + this


def available():
    """Why the HTTP/2 rows cannot run here, or None."""
    if h2 is None:
        return "python3-h2 is not installed (import h2 failed)"
    return None


# ---------------------------------------------------------------------------------------------
# Configurations: one more TLS listener per proxy, with HTTP/2, in the proxy's existing
# configuration (the same process as every other row).


def passeur_listener(host, port):
    """Passeur: a TLS HTTP listener; `http2` is left at its default (true: ALPN h2, http/1.1)."""
    return f"""
[[listener]]
name = "web-h2"
listen = "{host}:{port}"
protocol = "http"
tls = true
"""


def haproxy_frontend(host, port, tls_bind):
    """HAProxy: the HTTPS frontend's settings, ALPN h2 first."""
    return f"""
frontend web-h2
    bind {host}:{port} {tls_bind} alpn h2,http/1.1
    option forwardfor
    http-request set-header X-Forwarded-Proto https
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    default_backend origin
"""


def nginx_listen(host, port):
    """nginx 1.22 (proxy, and the first origin for the direct column): HTTP/2 on the listen."""
    return f"\n        listen {host}:{port} ssl http2 backlog=4096;"


# ---------------------------------------------------------------------------------------------
# h2load
#
# h2load runs a number of requests (-n), not a duration (-D): h2load 1.52's timing-based mode
# sometimes never exits after "Stopped all clients" (about one run in six against nginx on a
# busy machine), and with -N to break that its counters wrap around. The number is the rate
# last measured for the same target and path (RATES) times the seconds wanted, so a run lasts
# about as long as a wrk run; the rate is h2load's, requests / its own elapsed time.

FIRST_RATE = 5000.0  # req/s assumed before a target and path have been measured
MIN_REQUESTS = 1000
RATES = {}  # (target, path) -> req/s of the last run


def requests_for(target, path, seconds):
    rate = RATES.get((target, path)) or max(
        [r for (t, _), r in RATES.items() if t == target] or [FIRST_RATE])
    return max(MIN_REQUESTS, int(rate * seconds))


def h2load_argv(cpu, url, requests, log_file=None):
    argv = ["taskset", "-c", cpu, "h2load", "-t1", f"-c{CLIENTS}", f"-m{STREAMS}",
            f"-n{requests}"]
    if log_file:
        argv += ["--log-file", log_file]
    return argv + [url]


def percentile(sorted_values, pct):
    """Nearest-rank percentile of a sorted list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * pct // 100))  # ceil
    return sorted_values[int(rank) - 1]


def parse(out, log_file):
    """The figures of one h2load run: rate, errors, and p50/p99 (ms) from the log file (the
    time of each successful request from its start to the end of its response), if any."""
    m = re.search(r"finished in [\d.]+[mu]?s, ([\d.]+) req/s", out)
    if not m:
        raise RuntimeError("h2load printed no req/s:\n" + out)
    proto = re.search(r"Application protocol: (\S+)", out)
    if not proto or proto.group(1) != "h2":
        raise RuntimeError("h2load did not negotiate h2 (Application protocol: "
                           f"{proto.group(1) if proto else 'none'}):\n" + out)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                    r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if not req or not codes:
        raise RuntimeError("h2load printed no request counts:\n" + out)
    failed, errored, timeout = (int(req.group(i)) for i in (5, 6, 7))
    times = []
    if log_file:
        with open(log_file) as f:
            for line in f:
                cols = line.split("\t")
                if len(cols) >= 3 and cols[1] != "-1":
                    times.append(int(cols[2]) / 1000.0)
    times.sort()
    r = {"rps": float(m.group(1)), "requests": int(req.group(4)),
         "socket_errors": failed + errored + timeout,
         "non2xx": int(codes.group(3)) + int(codes.group(4)),
         "p50": percentile(times, 50), "p99": percentile(times, 99)}
    if r["socket_errors"]:
        r["socket_detail"] = f"failed {failed}, errored {errored}, timeout {timeout}"
    cipher = re.search(r"Cipher: (\S+)", out)
    tls = re.search(r"TLS Protocol: (\S+)", out)
    r["tls"] = f"{tls.group(1) if tls else '?'} {cipher.group(1) if cipher else '?'}"
    return r


def run(cpu, target, port, path, seconds, host, workdir, running, measured=True):
    """One h2load run of about seconds against https://host:port/path (target names it in
    RATES); returns (figures, h2load's CPU seconds). Without measured, a warm-up: no log file
    (no latencies)."""
    log_file = os.path.join(workdir, "h2load.log") if measured else None
    if log_file and os.path.exists(log_file):
        os.unlink(log_file)  # h2load appends to it
    requests = requests_for(target, path, seconds)
    argv = h2load_argv(cpu, f"https://{host}:{port}{path}", requests, log_file)
    out, status, cpu_s = harness.run_timed(argv, 4 * seconds + 20, running)
    if status != 0:
        raise RuntimeError(f"h2load exited with status {status}:\n{out}")
    r = parse(out, log_file)
    RATES[(target, path)] = r["rps"]
    if r["requests"] + r["socket_errors"] + r["non2xx"] < requests:
        raise RuntimeError(f"h2load completed {r['requests']} of {requests} requests:\n{out}")
    return r, cpu_s


# ---------------------------------------------------------------------------------------------
# python3-h2 clients: the pre-flight check and the idle connections' one request


def client_context():
    return tls_support.client_context(verify=False, alpn=["h2", "http/1.1"])


class OneRequest:
    """One GET on a new HTTP/2 connection, driven by the caller's socket loop: bytes() gives
    what to send, feed(data) takes what arrived and says whether the response is complete.
    The connection's SETTINGS are acknowledged as they arrive (bytes() again), so that it can
    stay open and idle."""

    def __init__(self, host, path):
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.conn.send_headers(1, [(":method", "GET"), (":scheme", "https"),
                                   (":authority", host), (":path", path)], end_stream=True)
        self.status = None
        self.body = bytearray()
        self.ended = False

    def bytes(self):
        return self.conn.data_to_send()

    def feed(self, data):
        for ev in self.conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == 1:
                self.status = int(dict(ev.headers)[b":status"])
            elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == 1:
                self.body += ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, 1)
            elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == 1:
                self.ended = True
            elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == 1:
                raise RuntimeError(f"stream reset by the server (error {ev.error_code})")
            elif isinstance(ev, h2.events.ConnectionTerminated):
                raise RuntimeError(f"GOAWAY from the server (error {ev.error_code})")
        return self.ended


def get(port, path, host, sni, timeout=5.0):
    """One GET over HTTP/2 on a new TLS connection: (status, body, info) with info the
    negotiated version, cipher, ALPN protocol and the server's certificate (DER)."""
    raw = socket.create_connection((host, port), timeout=timeout)
    with client_context().wrap_socket(raw, server_hostname=sni) as s:
        info = {"version": s.version(), "cipher": s.cipher()[0],
                "alpn": s.selected_alpn_protocol(), "cert": s.getpeercert(binary_form=True)}
        if info["alpn"] != "h2":
            return None, b"", info
        req = OneRequest(f"{host}:{port}", path)
        s.sendall(req.bytes())
        while True:
            data = s.recv(65536)
            if not data:
                raise RuntimeError("connection closed before the end of the response")
            done = req.feed(data)
            out = req.bytes()
            if out:
                s.sendall(out)
            if done:
                return req.status, bytes(req.body), info


# ---------------------------------------------------------------------------------------------
# Ratio table


def ratio_table(results, idle, order, summarize, render, ratio, fmt_ratio, idle_label, titles):
    """Passeur against the better of HAProxy and nginx on the HTTP/2 rows, with the targets:
    per busy core at least TARGET_PER_CORE ×, and an idle HTTP/2 connection at most an idle
    HTTPS/1.1 one + TARGET_IDLE_KIB (both Passeur's, measured in the same run)."""
    rows_h2 = [s for s in SCENARIOS if s[0] in results]
    others = [t for t in ("haproxy", "nginx") if t in order]
    if "passeur" not in order or not others or not (rows_h2 or "h2" in idle):
        return None
    rrows = []
    for key, label, _, _, _ in rows_h2:
        p = summarize(results[key]["passeur"])
        o = {t: summarize(results[key][t]) for t in others}
        o = {t: c for t, c in o.items() if c is not None}
        if p is None or not o:
            rrows.append([label, "failed", "—", "—", "—"])
            continue
        best_eff = max(o, key=lambda t: o[t]["rps_per_core"] or 0)
        best_p99 = min(o, key=lambda t: o[t]["p99"] if o[t]["p99"] else float("inf"))
        eff = ratio(p["rps_per_core"], o[best_eff]["rps_per_core"])
        noisy = p["noisy"] or any(c["noisy"] for c in o.values())
        met = eff is not None and round(eff, 2) >= TARGET_PER_CORE
        rrows.append([label, "noisy" if noisy else "", fmt_ratio(eff, best_eff),
                      fmt_ratio(ratio(p["p99"], o[best_p99]["p99"]), best_p99),
                      "yes" if met else f"no (target {TARGET_PER_CORE:.1f}×)"])
    h2_idle, https_idle = idle.get("h2", {}), idle.get("https", {})
    if "passeur" in h2_idle:
        per_h2 = h2_idle["passeur"][0]
        o = {t: h2_idle[t][0] for t in others if t in h2_idle and h2_idle[t][0] > 0}
        vs = "—"
        if o:
            best = min(o, key=o.get)
            vs = fmt_ratio(ratio(per_h2, o[best]), best)
        if "passeur" in https_idle:
            extra = per_h2 - https_idle["passeur"][0]
            met = round(extra, 1) <= TARGET_IDLE_KIB
            target = (f"{per_h2:.1f} KiB = HTTPS/1.1 {extra:+.1f} KiB: "
                      + ("yes" if met else "no") + f" (target ≤ +{TARGET_IDLE_KIB:.0f} KiB)")
        else:
            target = "— (no idle HTTPS/1.1 figure)"
        rrows.append([idle_label(IDLE_KIND[1]), "", "RSS: " + vs, "—", target])
    return render(rrows, ["Passeur / better of " + " and ".join(titles[t] for t in others)
                          + " (HTTP/2)", "note", "req/s per busy core (higher is better)",
                          "p99 (lower is better)", "target met"])
