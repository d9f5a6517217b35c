"""`passeur ctl`: the pools table and --json, drain/ready/maintenance, reload, the admin
address and token taken from the config, and clear failures."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_support import ProxyTestCase, ctl, node_state, write_token  # noqa: E402
from harness import free_port, main  # noqa: E402


class CtlTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.a = self.start_nginx("node-a")
        self.b = self.start_nginx("node-b")
        self.proxy = self.start_passeur(
            [{"pool": "cloud"}],
            {"cloud": {"nodes": [{"address": self.a.address, "name": "node1", "weight": 2},
                                 {"address": self.b.address, "name": "node2"}]}})
        self.admin = "127.0.0.1:%d" % self.proxy.admin_port

    def test_pools_table(self):
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "pools")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["POOL", "NODE", "ADDRESS", "HEALTH", "ADMIN",
                                            "WEIGHT", "IN_FLIGHT", "USABLE", "LAST", "CHECK",
                                            "LAST", "CHANGE"])
        self.assertEqual(lines[1].split(),
                         ["cloud", "node1", self.a.address, "up", "active", "2", "0", "yes", "-",
                          "-"])
        self.assertEqual(lines[2].split()[:5], ["cloud", "node2", self.b.address, "up", "active"])
        self.assertEqual(len(lines), 3)

    def test_pools_json(self):
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "--json", "pools")
        self.assertEqual(rc, 0, err)
        data = json.loads(out)
        self.assertEqual([n["name"] for n in data["pools"][0]["nodes"]], ["node1", "node2"])
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "--json", "pools", "cloud")
        self.assertEqual(json.loads(out)["name"], "cloud")

    def test_address_from_config(self):
        rc, out, err = ctl(self.proxy, "-c", self.proxy.config_path, "pools")
        self.assertEqual(rc, 0, err)
        self.assertIn("node1", out)

    def test_drain_maintenance_ready(self):
        rc, out, err = ctl(self.proxy, "-c", self.proxy.config_path, "drain", "cloud", "node2")
        self.assertEqual((rc, out), (0, 'pool "cloud" node "node2": now draining, health up\n'))
        self.assertEqual(node_state(self.proxy, "cloud", "node2")["admin"], "draining")
        rc, out, err = ctl(self.proxy, "-c", self.proxy.config_path, "drain", "cloud", "node2")
        self.assertEqual(out, 'pool "cloud" node "node2": already draining, health up\n')
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "maintenance", "cloud", "node2")
        self.assertEqual(rc, 0)
        self.assertIn("now maintenance", out)
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "pools")
        self.assertRegex(out, r"node2 .* maintenance .* no +- +\d+s ago: admin API from 127\.0\.0\.1")
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "ready", "cloud", "node2")
        self.assertEqual((rc, out), (0, 'pool "cloud" node "node2": now active, health up\n'))

    def test_errors_are_reported_with_nonzero_status(self):
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "drain", "cloud", "node9")
        self.assertEqual(rc, 1)
        self.assertEqual(err, 'passeur ctl: HTTP 404: no node "node9" in pool "cloud"\n')
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "ready", "nope", "node1")
        self.assertEqual(err, 'passeur ctl: HTTP 404: no pool "nope"\n')
        rc, out, err = ctl(self.proxy, "--admin", "127.0.0.1:%d" % free_port(), "pools")
        self.assertEqual(rc, 1)
        self.assertIn("Connection refused", err)
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "frobnicate")
        self.assertEqual(rc, 2)
        self.assertIn('unknown command "frobnicate"', err)
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "drain", "cloud")
        self.assertEqual(rc, 2)

    def test_reload(self):
        rc, out, err = ctl(self.proxy, "-c", self.proxy.config_path, "reload")
        self.assertEqual((rc, out), (0, "reloaded %s\n" % self.proxy.config_path))
        with open(self.proxy.config_path, "a") as f:
            f.write("\n[pool.broken]\nnodes = [\"nowhere\"]\n")
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "reload")
        self.assertEqual(rc, 1)
        self.assertIn("reload rejected", err)
        self.assertIn('bad node address "nowhere"', err)

    def test_token(self):
        token_file = write_token(os.path.join(self.tmp, "admin.token"))
        self.proxy.server["admin_token_file"] = token_file
        self.proxy.write_config()
        self.proxy.stop()
        self.proxy.start()
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "pools")
        self.assertEqual(rc, 1)
        self.assertIn("HTTP 401: a bearer token is required", err)
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "--token-file", token_file, "pools")
        self.assertEqual(rc, 0, err)
        rc, out, err = ctl(self.proxy, "-c", self.proxy.config_path, "drain", "cloud", "node1")
        self.assertEqual(rc, 0, err)
        other = write_token(os.path.join(self.tmp, "other.token"), "0" * 32)
        rc, out, err = ctl(self.proxy, "-c", self.proxy.config_path, "--token-file", other,
                           "pools")
        self.assertEqual(rc, 1)
        self.assertIn("HTTP 401: wrong bearer token", err)


if __name__ == "__main__":
    main()
