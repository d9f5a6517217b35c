"""A real Prometheus server scrapes a running Passeur every second while the test sends traffic
through it: the per-node request counters add up to exactly what the test sent, a node whose
nginx is stopped shows as down, the alert rules load and evaluate, and every PromQL expression
of the Grafana dashboard and of the alert rules (comparison stripped) returns data. The
expressions are read from deploy/, so renaming a metric on either side breaks this test."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from monitoring_support import (ALERTS, MonitoredStackTestCase, Prometheus,  # noqa: E402
                             dashboard_expressions, grafana_substitute, load_alert_rules,
                             load_dashboard, strip_comparison)
from harness import LOOPBACK, main, wait_until  # noqa: E402

DATA_WAIT = 20  # seconds

class PrometheusTest(MonitoredStackTestCase):
    def start_prometheus(self):
        prom = Prometheus(self.tmp, ["%s:%d" % (LOOPBACK, self.proxy.admin_port)],
                          rule_files=[ALERTS])
        self.addCleanup(prom.stop)
        prom.start()
        prom.wait_for('up{job="passeur"} == 1', bool, 30, "the first scrape of passeur")
        return prom

    def test_dashboard_and_alerts_against_a_live_passeur(self):
        self.start_stack()
        prom = self.start_prometheus()

        # 1. traffic over a few seconds (several scrapes, so that rate() sees it), counted
        # exactly; 8 % of it answered 500 by the nodes
        sent = 0
        for _ in range(6):
            sent += self.send_traffic(plain=80, failing=8, tls_connections=2,
                                      tls_per_connection=5)
            time.sleep(0.7)
        self.reload()
        prom.wait_for('sum(passeur_node_requests_total{job="passeur", pool="web"})',
                      lambda r: r and float(r[0]["value"][1]) >= sent, 30,
                      "Prometheus to see all %d requests" % sent)
        per_node = {dict(k)["node"]: v for k, v in prom.query_values(
            'sum by (node) (passeur_node_requests_total{job="passeur", pool="web"})').items()}
        self.assertEqual(set(per_node), {"node-a", "node-b"})
        self.assertEqual(sum(per_node.values()), sent, per_node)
        for node, n in per_node.items():
            self.assertGreater(n, sent / 4, "round robin: %s got %d of %d" % (node, n, sent))
        fivexx = prom.query_values('sum(passeur_node_requests_total{job="passeur", code="5xx"})')
        self.assertEqual(list(fivexx.values()), [48.0])
        # the nodes' own logs agree
        self.assertEqual(self.proxied_requests_seen(), sent)

        # 2. a node stops: Prometheus sees it down, the node-down alert query selects it
        self.stop_node_b()
        prom.wait_for('passeur_node_health{job="passeur", pool="web", node="node-b", '
                      'state="down"} == 1', bool, 15, "node-b down through Prometheus")
        up = prom.query_values('passeur_node_health{job="passeur", node="node-a", state="up"}')
        self.assertEqual(list(up.values()), [1.0])
        usable = prom.query_values('passeur_node_usable{job="passeur", pool="web"}')
        self.assertEqual({dict(k)["node"]: v for k, v in usable.items()},
                         {"node-a": 1.0, "node-b": 0.0})

        # 3. every dashboard expression returns data
        problems = []
        for title, ref, expr in dashboard_expressions(load_dashboard()):
            q = grafana_substitute(expr)
            if not self.has_data(prom, q):
                problems.append("panel %r target %s: no data for %s" % (title, ref, q))
        # the variables' label_values() queries: their selector has the values
        for var in load_dashboard()["templating"]["list"]:
            if var["type"] != "query":
                continue
            definition = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            m = re.fullmatch(r"label_values\((.*), *(\w+)\)", definition)
            self.assertIsNotNone(m, definition)
            values = {s["metric"].get(m.group(2))
                      for s in prom.query(grafana_substitute(m.group(1)))}
            expected = {"job": {"passeur"}, "pool": {"web"}, "node": {"node-a", "node-b"}}
            self.assertEqual(values, expected[var["name"]], definition)

        # 4. every alert query returns data, and the rules load and evaluate in Prometheus
        for rule in load_alert_rules():
            query, _, _ = strip_comparison(rule["expr"])
            if not self.has_data(prom, query):
                problems.append("alert %s: no data for %s" % (rule["alert"], query))
        self.assertEqual(problems, [], "\n".join(problems))

        node_down = prom.query_values(strip_comparison(
            [r for r in load_alert_rules() if r["alert"] == "PasseurNodeDown"][0]["expr"])[0])
        self.assertEqual({dict(k)["node"]: v for k, v in node_down.items()},
                         {"node-a": 0.0, "node-b": 1.0})
        loaded = {r["name"]: (r.get("health"), r.get("lastError"))
                   for r in self.evaluated_rules(prom)}
        self.assertEqual(set(loaded), {r["alert"] for r in load_alert_rules()})
        for name, (health, error) in loaded.items():
            self.assertEqual(health, "ok", "%s: %s" % (name, error))
        # node-b is down, but for less than the rule's minute: pending; 48 of the pool's
        # requests were 5xx (8 %, over the 5 % threshold): pending for its 5 minutes
        alerts = self.wait_alerts(prom, lambda a: a.get(("PasseurNodeDown", "node-b")) == "pending"
                                  and a.get(("PasseurHigh5xxRatio", "web")) == "pending")
        self.assertEqual(set(alerts), {("PasseurNodeDown", "node-b"),
                                       ("PasseurHigh5xxRatio", "web")}, alerts)

    def has_data(self, prom, query):
        """The query returns at least one sample. Scrapes are a second apart and a rate()
        needs two samples after a series first appears: the first queries may wait, all of
        them together for at most DATA_WAIT seconds."""
        if not hasattr(self, "_data_deadline"):
            self._data_deadline = time.monotonic() + DATA_WAIT
        while True:
            if prom.query(query):
                return True
            if time.monotonic() >= self._data_deadline:
                return False
            time.sleep(0.25)

    def evaluated_rules(self, prom):
        out = []

        def evaluated():
            out[:] = prom.rules()
            return out and all(r.get("health") != "unknown" for r in out)
        wait_until(evaluated, 15, interval=0.25, message="the alert rules to be evaluated")
        return out

    def wait_alerts(self, prom, predicate, timeout=20):
        """{(alertname, node or pool): state} once predicate(it) holds."""
        out = {}

        def probe():
            out.clear()
            for a in prom.alerts():
                labels = a["labels"]
                out[(labels["alertname"], labels.get("node") or labels.get("pool"))] = a["state"]
            return predicate(out)
        try:
            wait_until(probe, timeout, interval=0.25, message="the alerts")
        except AssertionError as e:
            raise AssertionError("%s: %s" % (e, out))
        return dict(out)

    def proxied_requests_seen(self):
        """Requests the nginx nodes got through Passeur (with X-Forwarded-For; the health
        checks come without)."""
        return sum(1 for node in (self.a, self.b) for e in node.log_entries()
                   if e.get("xff") not in ("", "-"))

if __name__ == "__main__":
    main()
