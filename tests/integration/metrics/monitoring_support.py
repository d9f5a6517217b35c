"""Pieces shared by the metrics tests: the metric families Passeur must expose, a parser for the
Prometheus text exposition, the PromQL expressions of deploy/grafana/passeur.json and
deploy/prometheus/alerts.yml, promtool, a Prometheus server of our own, and a monitored stack
(two nginx nodes behind Passeur with a plain and a TLS listener and health checks on)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tls"))

from harness import (LOOPBACK, SOURCE_DIR, ChildServer, HttpConn, ProxyTestCase,  # noqa: E402
                     free_port, http, read_text, require_tool, wait_port, wait_until)
import pki  # noqa: E402
from tls_support import TlsConn  # noqa: E402
import metrics_support  # noqa: E402

DASHBOARD = os.path.join(SOURCE_DIR, "deploy", "grafana", "passeur.json")
ALERTS = os.path.join(SOURCE_DIR, "deploy", "prometheus", "alerts.yml")
PROMETHEUS_CONFIG = os.path.join(SOURCE_DIR, "deploy", "prometheus", "prometheus.yml")

# Every family of the /metrics exposition, with its type (README, "Metrics").
FAMILIES = {
    "passeur_listener_connections_accepted_total": "counter",
    "passeur_listener_connections_active": "gauge",
    "passeur_listener_tls_handshakes_total": "counter",
    "passeur_listener_requests_total": "counter",
    "passeur_listener_received_bytes_total": "counter",
    "passeur_listener_sent_bytes_total": "counter",
    "passeur_node_requests_total": "counter",
    "passeur_node_response_header_duration_seconds": "histogram",
    "passeur_node_request_duration_seconds": "histogram",
    "passeur_node_connect_duration_seconds": "histogram",
    "passeur_node_in_flight_requests": "gauge",
    "passeur_node_connections_active": "gauge",
    "passeur_node_connections_idle": "gauge",
    "passeur_node_connect_errors_total": "counter",
    "passeur_node_retries_total": "counter",
    "passeur_node_sent_bytes_total": "counter",
    "passeur_node_received_bytes_total": "counter",
    "passeur_node_health": "gauge",
    "passeur_node_admin_state": "gauge",
    "passeur_node_usable": "gauge",
    "passeur_node_checks_total": "counter",
    "passeur_node_check_duration_seconds": "histogram",
    "passeur_node_last_change_timestamp_seconds": "gauge",
    "passeur_node_state_changes_total": "counter",
    "passeur_login_shield_failures_total": "counter",
    "passeur_login_shield_delays_total": "counter",
    "passeur_login_shield_refusals_total": "counter",
    "passeur_login_shield_successes_total": "counter",
    "passeur_login_shield_entries": "gauge",
    "passeur_login_shield_table_size": "gauge",
    "passeur_login_shield_evictions_total": "counter",
    "passeur_certificate_expiry_timestamp_seconds": "gauge",
    "passeur_config_reloads_total": "counter",
    "passeur_config_last_reload_successful": "gauge",
    "passeur_config_last_reload_success_timestamp_seconds": "gauge",
    "passeur_build_info": "gauge",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
}

# Grafana's variables, as the test substitutes them: every pool and node selected ("All").
GRAFANA_SUBSTITUTIONS = [
    ("$__rate_interval", "1m"),
    ("${__rate_interval}", "1m"),
    ("$__interval", "15s"),
    ("${__interval}", "15s"),
    ("$__range", "5m"),
    ("${__range}", "5m"),
    ("${job}", ".*"),
    ("$job", ".*"),
    ("${pool}", ".*"),
    ("$pool", ".*"),
    ("${node}", ".*"),
    ("$node", ".*"),
]


# ---------------------------------------------------------------------------------------------
# The exposition


class Exposition(metrics_support.Exposition):
    """The exposition, checked against FAMILIES."""

    def family_problems(self):
        """What is missing or mistyped among FAMILIES (an empty list when all is well)."""
        problems = []
        names = {n for n, _, _ in self.samples}
        for family, kind in sorted(FAMILIES.items()):
            if self.types.get(family) != kind:
                problems.append("%s: TYPE %s, expected %s" % (family, self.types.get(family), kind))
            wanted = [family + "_bucket", family + "_sum", family + "_count"] \
                if kind == "histogram" else [family]
            for n in wanted:
                if n not in names:
                    problems.append("%s: no sample" % n)
        return problems


def scrape(admin_port, token=None):
    headers = []
    if token:
        headers.append(("Authorization", "Bearer " + token))
    r = http(admin_port, "GET", "/metrics", host="%s:%d" % (LOOPBACK, admin_port), headers=headers)
    if r.status != 200:
        raise AssertionError("GET /metrics: %s %s\n%s" % (r.status, r.reason, r.text[:2000]))
    return r


def promtool(*args, stdin=None):
    """Runs promtool; returns (returncode, stdout + stderr)."""
    tool = require_tool("promtool")
    p = subprocess.run([tool] + list(args), input=stdin, capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# Expressions in the deploy files


def load_dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def all_panels(dashboard):
    """Every panel, including those nested in collapsed rows."""
    out = []
    for p in dashboard.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def dashboard_expressions(dashboard):
    """[(panel title, refId, expr)] of every panel target."""
    out = []
    for p in all_panels(dashboard):
        for t in p.get("targets", []):
            if "expr" in t:
                out.append((p.get("title", ""), t.get("refId", ""), t["expr"]))
    return out


def grafana_substitute(expr):
    for k, v in GRAFANA_SUBSTITUTIONS:
        expr = expr.replace(k, v)
    if "$" in expr:
        raise AssertionError("a Grafana variable the test does not know in %r" % expr)
    return expr


def load_alert_rules():
    with open(ALERTS) as f:
        doc = yaml.safe_load(f)
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def _balanced(text):
    depth = 0
    for c in text:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def strip_comparison(expr):
    """'<query> <op> <number>' -> (query, op, number); the comparison must be the top-level
    one (not inside parentheses). Raises if the expression does not have that form."""
    expr = expr.strip()
    candidates = [m for m in re.finditer(r"(==|!=|>=|<=|(?<![<>=!])>(?!=)|(?<![<>=!])<(?!=))",
                                         expr)]
    for m in reversed(candidates):
        query, op, number = expr[:m.start()].strip(), m.group(1), expr[m.end():].strip()
        if re.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?", number) and _balanced(query):
            return query, op, float(number)
        break
    raise AssertionError("alert expression is not '<query> <comparison> <number>': %r" % expr)


# ---------------------------------------------------------------------------------------------
# A Prometheus server of our own


class Prometheus(ChildServer):
    """prometheus on 127.0.0.1:<free port> scraping Passeur's admin port every second, with the
    alert rules loaded, its storage in a temporary directory; stopped by pid."""

    stop_timeout = 20

    def __init__(self, workdir, targets, rule_files=(), interval="1s"):
        self.dir = tempfile.mkdtemp(prefix="prometheus-", dir=workdir)
        self.port = free_port()
        self.config_path = os.path.join(self.dir, "prometheus.yml")
        self.log_path = os.path.join(self.dir, "prometheus.log")
        rules = []
        for path in rule_files:
            dest = os.path.join(self.dir, os.path.basename(path))
            shutil.copy(path, dest)
            rules.append(dest)
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval,
                       "scrape_timeout": interval},
            "rule_files": rules,
            "scrape_configs": [{"job_name": "passeur", "metrics_path": "/metrics",
                                "static_configs": [{"targets": list(targets)}]}],
        }
        with open(self.config_path, "w") as f:
            yaml.safe_dump(config, f)

    def start(self):
        tool = require_tool("prometheus")
        self.spawn([tool, "--config.file=" + self.config_path,
                    "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                    "--web.listen-address=%s:%d" % (LOOPBACK, self.port),
                    "--storage.tsdb.retention.time=1h"],
                   self.log_path, self.port, "prometheus", timeout=20)
        try:
            wait_until(lambda: self._get("/-/ready", raw=True) == 200, 20,
                       message="prometheus to be ready")
        except Exception:
            self.stop()
            raise
        return self

    def log_tail(self, lines=30):
        return "\n".join(read_text(self.log_path).splitlines()[-lines:])

    def _get(self, path, params=None, raw=False):
        url = "http://%s:%d%s" % (LOOPBACK, self.port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.status if raw else json.loads(r.read())
        except urllib.error.HTTPError as e:
            if raw:
                return e.code
            body = e.read().decode("utf-8", "replace")
            try:
                return json.loads(body)
            except ValueError:
                return {"status": "error", "error": "HTTP %d: %s" % (e.code, body)}
        except OSError:
            if raw:
                return None
            raise

    def query(self, expr):
        """Instant query; returns the result list (raises on a PromQL error)."""
        out = self._get("/api/v1/query", {"query": expr})
        if out.get("status") != "success":
            raise AssertionError("query %r failed: %s" % (expr, out.get("error", out)))
        data = out["data"]
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def query_values(self, expr):
        """{frozenset(labels.items()): float} of an instant vector query."""
        return {frozenset(s["metric"].items()): float(s["value"][1]) for s in self.query(expr)}

    def wait_for(self, expr, predicate, timeout, what=None):
        """Polls an instant query until predicate(result list) holds; returns the result."""
        last = [None]

        def probe():
            last[0] = self.query(expr)
            return predicate(last[0])
        try:
            wait_until(probe, timeout, interval=0.25, message=what or expr)
        except AssertionError as e:
            raise AssertionError("%s; last result of %s: %s\nprometheus log:\n%s"
                                 % (e, expr, last[0], self.log_tail()))
        return last[0]

    def alerts(self):
        return self._get("/api/v1/alerts")["data"]["alerts"]

    def rules(self):
        out = self._get("/api/v1/rules")
        return [r for g in out["data"]["groups"] for r in g["rules"]]


# ---------------------------------------------------------------------------------------------
# The monitored stack


FAIL_LOCATION = "location = /fail { return 500 'broken\\n'; }"


class MonitoredStackTestCase(ProxyTestCase):
    """start_stack(): nginx node-a and node-b (`/` answers the node's name, `/fail` a 500),
    Passeur with a plain listener "web" and a TLS listener "web-tls" routing everything to
    pool "web" (round robin, HTTP checks every second). send_traffic() counts what it sent."""

    CHECK_INTERVAL = "1s"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        require_tool("openssl")
        cls.pki_dir = tempfile.mkdtemp(prefix="passeur-pki-")
        cls.addClassCleanup(shutil.rmtree, cls.pki_dir, True)
        cls.pki = pki.Pki(cls.pki_dir)
        cls.leaf = cls.pki.issue("webmail-ecdsa", [pki.WEBMAIL], "ecdsa")

    def start_stack(self):
        self.a = self.start_nginx("node-a", extra_server=FAIL_LOCATION)
        self.b = self.start_nginx("node-b", extra_server=FAIL_LOCATION)
        self.tls_port = free_port()
        pool = {"balance": "round_robin",
                "nodes": [{"address": self.a.address, "name": "node-a"},
                          {"address": self.b.address, "name": "node-b"}],
                "check": {"type": "http", "path": "/", "interval": self.CHECK_INTERVAL,
                          "timeout": "500ms", "fall": 2, "rise": 1}}
        tls = {"name": "web-tls", "listen": "%s:%d" % (LOOPBACK, self.tls_port),
               "protocol": "http", "tls": True}
        self.proxy = self.start_passeur([{"path_prefix": "/", "pool": "web"}], {"web": pool},
                                        extra_listeners=[tls],
                                        certificates=[self.leaf.config()])
        wait_port(self.tls_port, 10, self.proxy.proc, "passeur (TLS listener)",
                  self.proxy.stderr_path)
        wait_port(self.proxy.admin_port, 10, self.proxy.proc, "passeur (admin)",
                  self.proxy.stderr_path)
        self.sent = 0
        return self.proxy

    def send_traffic(self, plain=200, failing=20, tls_connections=10, tls_per_connection=5):
        """Requests on keep-alive connections: `plain` GET / and `failing` GET /fail (500) on
        the plain listener, then TLS connections of a few requests each. Every answer is
        checked; returns the number of requests sent."""
        n = 0
        with HttpConn(self.proxy.port) as c:
            for i in range(plain):
                r = c.roundtrip("GET", "/", "webmail.example.coop")
                assert r.status == 200 and r.text in ("node-a\n", "node-b\n"), r
                n += 1
            for i in range(failing):
                r = c.roundtrip("GET", "/fail", "webmail.example.coop")
                assert r.status == 500, r
                n += 1
        for _ in range(tls_connections):
            with TlsConn(self.tls_port, pki.WEBMAIL) as c:
                for i in range(tls_per_connection):
                    r = c.roundtrip("GET", "/", pki.WEBMAIL)
                    assert r.status == 200, r
                    n += 1
        self.sent += n
        return n

    def reload(self):
        r = http(self.proxy.admin_port, "POST", "/api/v1/reload",
                 host="%s:%d" % (LOOPBACK, self.proxy.admin_port))
        assert r.status == 200, r
        return r

    def stop_node_b(self, requests=40):
        """Stops node-b's nginx, then sends requests at once (the first ones meet the refused
        node and are retried on node-a). Returns how many got a 200."""
        self.b.stop()
        ok = 0
        for _ in range(requests):
            try:
                if http(self.proxy.port, "GET", "/", "webmail.example.coop").status == 200:
                    ok += 1
            except Exception:  # noqa: BLE001 - counted as not ok
                pass
        return ok

    def scrape(self):
        return Exposition(scrape(self.proxy.admin_port).text)
