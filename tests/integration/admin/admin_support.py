"""Helpers for the admin API tests: requests to a running passeur's admin port, token files,
and `passeur ctl`."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import LOOPBACK, http, wait_port, wait_until  # noqa: E402
from harness import ProxyTestCase  # noqa: E402,F401 - the tests take it from here

TOKEN = "c0ffee0123456789abcdef0123456789"


def wait_admin(proxy):
    """Waits for the admin port of a passeur just started: Passeur.start() waits for the
    proxy's listener only, which may accept a moment before the admin listener does."""
    if getattr(proxy, "_admin_pid", None) != proxy.proc.pid:
        wait_port(proxy.admin_port, 10, proxy.proc, "passeur's admin API", proxy.stderr_path)
        proxy._admin_pid = proxy.proc.pid


def admin(proxy, method, path, token=None, headers=(), body=b"", timeout=10.0):
    """One request to the admin API on a fresh connection. Returns a harness Response with
    .json set when the body is JSON."""
    wait_admin(proxy)
    headers = list(headers)
    if token is not None:
        headers.append(("Authorization", "Bearer " + token))
    r = http(proxy.admin_port, method, path, host="%s:%d" % (LOOPBACK, proxy.admin_port),
             headers=headers, body=body, timeout=timeout)
    r.json = None
    if (r.header("Content-Type") or "").startswith("application/json"):
        r.json = json.loads(r.body)
    return r


def pools(proxy, token=None):
    r = admin(proxy, "GET", "/api/v1/pools", token)
    assert r.status == 200, r
    return {p["name"]: p for p in r.json["pools"]}


def node_state(proxy, pool, node, token=None):
    for n in pools(proxy, token)[pool]["nodes"]:
        if n["name"] == node:
            return n
    raise AssertionError("no node %r in pool %r" % (node, pool))


def action(proxy, pool, node, what, token=None):
    return admin(proxy, "POST", "/api/v1/pools/%s/nodes/%s/%s" % (pool, node, what), token)


def write_token(path, token=TOKEN):
    with open(path, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)
    return path


def ctl(proxy, *args, timeout=30):
    """Runs `passeur ctl ARGS`; returns (exit status, stdout, stderr)."""
    wait_admin(proxy)
    p = subprocess.run([proxy.binary, "ctl"] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def wait_logged(proxy, text, since=0, timeout=5.0):
    return wait_until(lambda: text in proxy.stderr_text()[since:], timeout,
                      message="%r in passeur's log" % text)
