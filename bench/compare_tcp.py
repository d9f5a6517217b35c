"""The TCP relay rows of bench/compare: each proxy's plain TCP listeners (Passeur
`protocol = "tcp"`, HAProxy `mode tcp`, nginx `stream`), the bulk client and sink (tcpbulk.c,
compiled at run time), the pre-flight check that bytes arrive intact, and the ratio table.
bench/compare runs these rows in the same interleaved rounds as the HTTP ones and measures
them the same way (pinning, proxy CPU from /proc, noise refusal, medians)."""

import os
import re
import subprocess

import harness  # tests/integration, put on the path by bench/compare

BULK_CONNS = 4  # parallel streams in the bulk row
VERIFY_BYTES = 8 << 20  # per stream, in the pre-flight check
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
CONNECT_TIMEOUT_S = 5
IDLE_TIMEOUT_S = 30

# key, label, path (for wrk), new connection per request, protocol; the shape of
# compare's SCENARIOS, protocol "tcp".
SCENARIOS = [
    ("tcp-bulk", f"TCP relay, bulk bytes ({BULK_CONNS} streams)", None, False, "tcp"),
    ("tcp-conn", "TCP relay, new connection per request (HTTP GET, 3 B body)", "/small", True,
     "tcp"),
]
MIB = 1 << 20


def build_tool(d):
    """Compiles tcpbulk.c into d; returns the binary's path."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcpbulk.c")
    out = os.path.join(d, "tcpbulk")
    r = subprocess.run(["cc", "-O2", "-o", out, src], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("compiling tcpbulk.c failed:\n" + r.stderr)
    return out


# ---------------------------------------------------------------------------------------------
# Configurations: two TCP listeners per proxy, in the proxy's existing configuration. "bulk"
# relays to the sink, "conn" to the two nginx origins; least connections, no logging, connect
# timeout 5 s, idle timeout 30 s everywhere.


def passeur_listeners(host, ports):
    return f"""
[[listener]]
name = "tcp-bulk"
listen = "{host}:{ports['bulk']}"
protocol = "tcp"
pool = "sink"
idle_timeout = "{IDLE_TIMEOUT_S}s"
connect_timeout = "{CONNECT_TIMEOUT_S}s"

[[listener]]
name = "tcp-conn"
listen = "{host}:{ports['conn']}"
protocol = "tcp"
pool = "origin"
idle_timeout = "{IDLE_TIMEOUT_S}s"
connect_timeout = "{CONNECT_TIMEOUT_S}s"
"""


def passeur_sink_pool(host, ports):
    return f"""
[pool.sink]
balance = "least_loaded"
nodes = ["{host}:{ports['sink']}"]
"""


def haproxy_sections(host, ports, origins):
    servers = "\n".join(f"    server o{i + 1} {host}:{p}" for i, p in enumerate(origins))
    common = f"""    mode tcp
    balance leastconn
    timeout connect {CONNECT_TIMEOUT_S}s
    timeout client {IDLE_TIMEOUT_S}s
    timeout server {IDLE_TIMEOUT_S}s"""
    return f"""
listen tcp-bulk
    bind {host}:{ports['bulk']}
{common}
    server sink {host}:{ports['sink']}

listen tcp-conn
    bind {host}:{ports['conn']}
{common}
{servers}
"""


def nginx_stream(host, ports, origins):
    servers = "\n".join(f"        server {host}:{p};" for p in origins)
    return f"""stream {{
    upstream tcp_sink {{ least_conn; server {host}:{ports['sink']}; }}
    upstream tcp_origin {{
        least_conn;
{servers}
    }}
    proxy_connect_timeout {CONNECT_TIMEOUT_S}s;
    proxy_timeout {IDLE_TIMEOUT_S}s;
    server {{ listen {host}:{ports['bulk']} backlog=4096; proxy_pass tcp_sink; }}
    server {{ listen {host}:{ports['conn']} backlog=4096; proxy_pass tcp_origin; }}
}}
"""


def nginx_load_module():
    if not os.path.exists(NGINX_STREAM_MODULE):
        raise RuntimeError(f"nginx: no stream module at {NGINX_STREAM_MODULE} "
                           "(libnginx-mod-stream)")
    return f"load_module {NGINX_STREAM_MODULE};\n"


# ---------------------------------------------------------------------------------------------
# The bulk client and sink


def run_bulk(tool, cpu, port, sink_port, seconds, running, verify=0):
    """Runs tcpbulk pinned to cpu through port (the sink listening on sink_port) for seconds
    (or, with verify, until each stream has sent verify bytes). running: a list the process is
    kept in while it runs (stopped by pid at exit). Returns (result, its CPU seconds)."""
    argv = ["taskset", "-c", cpu, tool, str(port), str(sink_port), str(BULK_CONNS),
            str(seconds)] + ([str(verify)] if verify else [])
    # tcpbulk stops itself at seconds + 10
    out, status, cpu = harness.run_timed(argv, seconds + 20, running)
    fields = dict(re.findall(r"(\w+) ([\d.]+)", out))
    if status != 0 or "received" not in fields:
        raise RuntimeError(f"tcpbulk exited with status {status}:\n{out}")
    f = {k: float(v) for k, v in fields.items()}
    lost = int(f["sent"] - f["received"])
    r = {
        "rps": f["received"] / MIB / f["seconds"] if f["seconds"] > 0 else 0.0,
        "amount": f["received"] / MIB,  # MiB: per busy core is MiB per CPU second
        "bytes": int(f["received"]),
        "p50": None,
        "p99": None,
        "requests": 0,
        "non2xx": 0,
        "socket_errors": int(f["errors"]) + (lost != 0) + int(f["timed_out"]),
        "socket_detail": (f"{int(f['errors'])} socket errors, {lost} bytes sent but not "
                          f"received, {int(f['accepted'])} of {BULK_CONNS} streams reached the "
                          f"sink" + (", timed out" if f["timed_out"] else "")),
        "verify": f,
    }
    return r, cpu


def check_bulk(tool, cpu, name, port, sink_port, running):
    """Pre-flight: BULK_CONNS streams of VERIFY_BYTES each through port arrive intact."""
    r, _ = run_bulk(tool, cpu, port, sink_port, 10, running, verify=VERIFY_BYTES)
    f = r["verify"]
    want = BULK_CONNS * VERIFY_BYTES
    if (f["sent"] != want or f["received"] != want or f["mismatches"] or f["short"]
            or f["accepted"] != BULK_CONNS or f["errors"] or f["timed_out"]):
        raise RuntimeError(f"{name}: TCP relay check failed: {r['socket_detail']}; "
                           f"sent {int(f['sent'])}, received {int(f['received'])} bytes "
                           f"(expected {want}), {int(f['mismatches'])} bytes differ, "
                           f"{int(f['short'])} streams short")


# ---------------------------------------------------------------------------------------------
# Tables


def ratio_table(results, order, summarize, render, ratio, fmt_ratio):
    """Passeur / HAProxy on the TCP rows: per busy core (the target: at least 1.00×), raw rate
    and p99."""
    if "passeur" not in order or "haproxy" not in order:
        return None
    out = []
    for key, label, _, _, _ in SCENARIOS:
        if key not in results:
            continue
        p = summarize(results[key]["passeur"])
        h = summarize(results[key]["haproxy"])
        if p is None or h is None:
            out.append([label, "failed", "—", "—", "—", "—"])
            continue
        per_core = ratio(p["rps_per_core"], h["rps_per_core"])
        out.append([label, "noisy" if p["noisy"] or h["noisy"] else "",
                    fmt_ratio(per_core), fmt_ratio(ratio(p["rps"], h["rps"])),
                    fmt_ratio(ratio(p["p99"], h["p99"])),
                    "yes" if per_core is not None and round(per_core, 2) >= 1 else "no"])
    if not out:
        return None
    return render(out, ["Passeur / HAProxy (TCP)", "note",
                        "per busy core (higher is better)", "MiB/s or connections/s",
                        "p99 (lower is better)", "at least HAProxy's per busy core"])
