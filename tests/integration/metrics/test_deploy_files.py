"""The monitoring files shipped in deploy/: promtool accepts the alert rules and the scrape
config, the Grafana dashboard is an importable Grafana 10 dashboard whose every panel queries
the Prometheus data source chosen in its variable, and every alert expression has the
'<query> <comparison> <number>' form the live test relies on."""

import os
import re
import shutil
import sys
import tempfile
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from monitoring_support import (ALERTS, FAMILIES, PROMETHEUS_CONFIG, all_panels,  # noqa: E402
                             dashboard_expressions, grafana_substitute, load_alert_rules,
                             load_dashboard, promtool, strip_comparison)
from harness import main  # noqa: E402

ALERT_NAMES = {"PasseurNodeDown", "PasseurPoolDown", "PasseurHigh5xxRatio",
               "PasseurHighP99Latency", "PasseurCertificateExpiring", "PasseurReloadFailed"}


def metric_names(expr):
    """The passeur_/process_ metric names an expression reads."""
    return set(re.findall(r"\b((?:passeur|process)_[a-z0-9_]+)", expr))


def family_of(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and FAMILIES.get(name[:-len(suffix)]) == "histogram":
            return name[:-len(suffix)]
    return name


class AlertRulesTest(unittest.TestCase):
    def test_promtool_accepts_the_rules(self):
        rc, out = promtool("check", "rules", ALERTS)
        self.assertEqual(rc, 0, out)
        self.assertIn("SUCCESS: %d rules found" % len(ALERT_NAMES), out)

    def test_the_alerts_the_issue_asks_for(self):
        rules = load_alert_rules()
        self.assertEqual({r["alert"] for r in rules}, ALERT_NAMES)
        for r in rules:
            with self.subTest(alert=r["alert"]):
                self.assertIn(r.get("labels", {}).get("severity"), ("warning", "critical"))
                self.assertTrue(r["annotations"].get("summary"))
                self.assertTrue(r["annotations"].get("description"))
                # the annotations name what fired
                self.assertIn("{{ $labels.", r["annotations"]["summary"]
                              + r["annotations"]["description"])

    def test_every_expression_is_query_comparison_number(self):
        for r in load_alert_rules():
            with self.subTest(alert=r["alert"]):
                query, op, number = strip_comparison(r["expr"])
                self.assertTrue(query)
                rc, out = promtool("check", "rules", self._single_rule(query))
                self.assertEqual(rc, 0, "the query alone does not parse: %s\n%s" % (query, out))

    def test_thresholds(self):
        by_name = {r["alert"]: r for r in load_alert_rules()}
        self.assertEqual(strip_comparison(by_name["PasseurCertificateExpiring"]["expr"])[1:],
                         ("<", 14.0))
        self.assertEqual(strip_comparison(by_name["PasseurHigh5xxRatio"]["expr"])[1:],
                         (">", 0.05))
        self.assertEqual(strip_comparison(by_name["PasseurHighP99Latency"]["expr"])[1:],
                         (">", 2.0))
        self.assertEqual(by_name["PasseurNodeDown"]["for"], "1m")
        self.assertIn("maintenance", by_name["PasseurNodeDown"]["expr"])
        self.assertIn("passeur_node_response_header_duration_seconds_bucket",
                      by_name["PasseurHighP99Latency"]["expr"])

    def test_strip_comparison_rejects_inner_comparisons(self):
        self.assertEqual(strip_comparison("sum(x) / sum(y) > 0.05"), ("sum(x) / sum(y)", ">", 0.05))
        self.assertEqual(strip_comparison("(a unless (b == 1)) == 1"),
                         ("(a unless (b == 1))", "==", 1.0))
        with self.assertRaises(AssertionError):
            strip_comparison("a unless (b == 1)")
        with self.assertRaises(AssertionError):
            strip_comparison("a > b")

    def test_only_documented_metrics(self):
        for r in load_alert_rules():
            for name in metric_names(r["expr"]):
                self.assertIn(family_of(name), FAMILIES, "%s in alert %s" % (name, r["alert"]))

    def _single_rule(self, expr):
        d = tempfile.mkdtemp(prefix="passeur-rules-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "one.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"groups": [{"name": "t", "rules": [{"record": "t:query",
                                                                 "expr": expr}]}]}, f)
        return path


class ScrapeConfigTest(unittest.TestCase):
    def test_promtool_accepts_the_config_with_the_target_rewritten(self):
        d = tempfile.mkdtemp(prefix="passeur-promcfg-")
        self.addCleanup(shutil.rmtree, d, True)
        with open(PROMETHEUS_CONFIG) as f:
            text = f.read()
        self.assertIn("127.0.0.1:9900", text)
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(text.replace("127.0.0.1:9900", "127.0.0.1:19999"))
        shutil.copy(ALERTS, os.path.join(d, "alerts.yml"))
        rc, out = promtool("check", "config", os.path.join(d, "prometheus.yml"))
        self.assertEqual(rc, 0, out)
        self.assertIn("1 rule files found", out)

        cfg = yaml.safe_load(text)
        self.assertEqual(cfg["rule_files"], ["alerts.yml"])
        job = cfg["scrape_configs"][0]
        self.assertEqual(job["scrape_interval"], "15s")
        self.assertEqual(job["metrics_path"], "/metrics")

    def test_bearer_token_variant_is_valid_when_uncommented(self):
        d = tempfile.mkdtemp(prefix="passeur-promcfg-")
        self.addCleanup(shutil.rmtree, d, True)
        token = os.path.join(d, "token")
        with open(token, "w") as f:
            f.write("secret\n")
        with open(PROMETHEUS_CONFIG) as f:
            lines = f.read().splitlines()
        out_lines = []
        for line in lines:
            m = re.match(r"^(\s*)# ?(authorization:|  type: Bearer|  credentials_file: .*)$", line)
            if m:
                line = m.group(1) + m.group(2)
            out_lines.append(line)
        text = "\n".join(out_lines).replace("/etc/prometheus/passeur-token", token)
        self.assertIn("credentials_file: " + token, text)
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(text)
        shutil.copy(ALERTS, os.path.join(d, "alerts.yml"))
        rc, out = promtool("check", "config", os.path.join(d, "prometheus.yml"))
        self.assertEqual(rc, 0, out)
        job = yaml.safe_load(text)["scrape_configs"][0]
        self.assertEqual(job["authorization"], {"type": "Bearer", "credentials_file": token})


class DashboardTest(unittest.TestCase):
    def setUp(self):
        self.dash = load_dashboard()

    def test_grafana_10_schema(self):
        self.assertGreaterEqual(self.dash["schemaVersion"], 38)
        self.assertIsNone(self.dash.get("id"))  # importable anywhere
        self.assertTrue(self.dash.get("uid"))
        self.assertTrue(self.dash.get("title"))

    def test_variables(self):
        variables = {v["name"]: v for v in self.dash["templating"]["list"]}
        ds = variables["datasource"]
        self.assertEqual((ds["type"], ds["query"]), ("datasource", "prometheus"))
        pool = variables["pool"]
        self.assertEqual(pool["type"], "query")
        self.assertTrue(pool["multi"])
        self.assertTrue(pool["includeAll"])
        definition = pool["query"]["query"] if isinstance(pool["query"], dict) else pool["query"]
        self.assertRegex(definition, r"^label_values\(passeur_node_requests_total(\{.*\})?, pool\)$")
        self.assertEqual(pool["datasource"]["uid"], "${datasource}")
        node = variables["node"]
        self.assertTrue(node["multi"])
        self.assertIn("$pool", node["query"]["query"])

    def test_every_panel_uses_the_datasource_variable(self):
        panels = [p for p in all_panels(self.dash) if p["type"] != "row"]
        self.assertGreaterEqual(len(panels), 20)
        for p in panels:
            with self.subTest(panel=p["title"]):
                self.assertEqual(p["datasource"], {"type": "prometheus", "uid": "${datasource}"})
                self.assertTrue(p["targets"])
                for t in p["targets"]:
                    self.assertEqual(t["datasource"]["uid"], "${datasource}")
                    self.assertTrue(t["expr"].strip())
                    self.assertTrue(t["refId"])
        ids = [p["id"] for p in all_panels(self.dash)]
        self.assertEqual(len(ids), len(set(ids)), "panel ids must be unique")

    def test_panels_the_issue_asks_for(self):
        exprs = " ".join(e for _, _, e in dashboard_expressions(self.dash))
        types = {p["type"] for p in all_panels(self.dash)}
        self.assertIn("state-timeline", types)
        for q in ("0.5", "0.95", "0.99"):
            self.assertIn("histogram_quantile(%s, sum by (pool, node, le) "
                          "(rate(passeur_node_response_header_duration_seconds_bucket" % q, exprs)
        for family in ("passeur_node_requests_total", "passeur_node_health",
                       "passeur_node_admin_state", "passeur_node_in_flight_requests",
                       "passeur_node_connections_active", "passeur_node_connections_idle",
                       "passeur_node_connect_duration_seconds_bucket",
                       "passeur_node_connect_errors_total", "passeur_node_retries_total",
                       "passeur_listener_tls_handshakes_total", "passeur_node_checks_total",
                       "passeur_node_check_duration_seconds_bucket",
                       "passeur_certificate_expiry_timestamp_seconds",
                       "passeur_config_reloads_total", "process_cpu_seconds_total",
                       "process_resident_memory_bytes", "process_open_fds"):
            self.assertIn(family, exprs)

    def test_every_expression_substitutes_and_parses(self):
        d = tempfile.mkdtemp(prefix="passeur-dash-")
        self.addCleanup(shutil.rmtree, d, True)
        rules = []
        for i, (title, ref, expr) in enumerate(dashboard_expressions(self.dash)):
            e = grafana_substitute(expr)
            for name in metric_names(e):
                self.assertIn(family_of(name), FAMILIES, "%s in panel %s" % (name, title))
            rules.append({"record": "dashboard:expr_%d" % i, "expr": e})
        path = os.path.join(d, "dashboard-exprs.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        rc, out = promtool("check", "rules", path)
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    main()
