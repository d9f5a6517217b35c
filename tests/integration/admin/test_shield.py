"""The login shield's operator surface on a running passeur: `passeur ctl shield` and the admin
API list its entries and clear one or all (each clear logged with the admin client's address),
under the API's token rules; its metrics; [login_shield] read at start, checked by `passeur
check` and applied on reload.

Entries get into the shield only through mail logins judged by a node, which the mail front
brings: here the table is empty, and listing and counting entries, the delays, blocks and
clears of real entries are covered by the unit tests (routing/login_shield_test.cpp,
proxy/admin/shield_api_test.cpp)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_support import TOKEN, ProxyTestCase, admin, ctl, wait_logged, write_token  # noqa: E402
from harness import main, passeur_binary, run_check  # noqa: E402

SHIELD = """
[login_shield]
window = "15m"
block = "30m"
table_size = %d
trusted_clients = ["10.0.0.5"]
address = { delay_after = 2, refuse_after = 6 }
"""


class ShieldTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.node = self.start_nginx("node-a")
        self.proxy = self.start_passeur(
            [{"pool": "web"}], {"web": {"nodes": [self.node.address]}},
            extra_config=SHIELD % 500)
        self.admin = "127.0.0.1:%d" % self.proxy.admin_port

    def test_list_empty_table(self):
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "login shield enabled: 0 entries of 500, 0 evicted\n"
                              "no key has failed logins\n")
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "--json", "shield", "5")
        self.assertEqual(rc, 0, err)
        data = json.loads(out)
        self.assertEqual(data["enabled"], True)
        self.assertEqual(data["table_size"], 500)
        self.assertEqual(data["window_seconds"], 900)
        self.assertEqual(data["block_seconds"], 1800)
        self.assertEqual(data["list"], [])
        r = admin(self.proxy, "GET", "/api/v1/shield?limit=0")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json["error"], "limit must be a number from 1 to 100000")
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield", "0")
        self.assertEqual(rc, 2)
        self.assertIn("N must be a number of entries", err)

    def test_clear(self):
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield", "clear", "all")
        self.assertEqual((rc, out), (0, "login shield: cleared 0 entries\n"), err)
        wait_logged(self.proxy, "admin API: login shield cleared (0 entries) by 127.0.0.1")
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield", "clear", "192.0.2.7")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "passeur ctl: HTTP 404: no login shield entry for address "
                              "192.0.2.7\n")
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield", "clear", "Alice")
        self.assertEqual(err, "passeur ctl: HTTP 404: no login shield entry for user alice\n")
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield", "clear", "network",
                           "192.0.2.0/24")
        self.assertEqual(err, "passeur ctl: HTTP 404: no login shield entry for network "
                              "192.0.2.0/24\n")
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield", "clear", "address",
                           "not-an-address")
        self.assertEqual((rc, err), (1, 'passeur ctl: HTTP 400: "not-an-address" is not a key '
                                        'of the address dimension\n'))
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield", "clear", "host", "x")
        self.assertEqual(rc, 2)
        self.assertIn('unknown dimension "host"', err)
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield", "clear")
        self.assertEqual(rc, 2)
        r = admin(self.proxy, "GET", "/api/v1/shield/clear")
        self.assertEqual(r.status, 405)

    def test_token(self):
        token_file = write_token(os.path.join(self.tmp, "admin.token"))
        self.proxy.server["admin_token_file"] = token_file
        self.proxy.write_config()
        self.proxy.stop()
        self.proxy.start()
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield")
        self.assertEqual(rc, 1)
        self.assertIn("HTTP 401: a bearer token is required", err)
        self.assertEqual(admin(self.proxy, "POST", "/api/v1/shield/clear").status, 401)
        rc, out, err = ctl(self.proxy, "-c", self.proxy.config_path, "shield", "clear", "all")
        self.assertEqual(rc, 0, err)
        self.assertEqual(admin(self.proxy, "GET", "/api/v1/shield", TOKEN).status, 200)

    def test_metrics(self):
        r = admin(self.proxy, "GET", "/metrics")
        self.assertEqual(r.status, 200)
        text = r.body.decode()
        for line in ('passeur_login_shield_failures_total{dimension="address"} 0',
                     'passeur_login_shield_refusals_total{dimension="country"} 0',
                     'passeur_login_shield_delays_total{dimension="user"} 0',
                     "passeur_login_shield_entries 0",
                     "passeur_login_shield_table_size 500",
                     "passeur_login_shield_evictions_total 0",
                     "passeur_login_shield_successes_total 0"):
            self.assertIn("\n" + line + "\n", text)

    def test_reload_applies_new_settings(self):
        self.proxy.extra_config = SHIELD % 800 + "enabled = false\n"
        self.proxy.write_config()
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "reload")
        self.assertEqual(rc, 0, err)
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield")
        self.assertEqual(out.splitlines()[0], "login shield disabled: 0 entries of 800, 0 evicted")
        # A bad value is refused with the key named; the running settings stay.
        self.proxy.extra_config = SHIELD % 0
        self.proxy.write_config()
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "reload")
        self.assertEqual(rc, 1)
        self.assertIn('"table_size" must be between 1 and 10000000', err)
        rc, out, err = ctl(self.proxy, "--admin", self.admin, "shield")
        self.assertIn("of 800", out)

    def test_check_names_the_key(self):
        self.proxy.extra_config = SHIELD % 500 + "max_delay = \"0s\"\n[login_shield.user]\n" \
            "delay_after = 9\nrefuse_after = 4\n"
        self.proxy.write_config()
        rc, out, err = run_check(passeur_binary(), self.proxy.config_path)
        self.assertNotEqual(rc, 0)
        self.assertIn('"max_delay" must be greater than 0', err)
        self.assertIn('"refuse_after" (4) must be 0 or at least "delay_after" (9) in '
                      "[login_shield.user]", err)
        self.proxy.extra_config = SHIELD % 500
        self.proxy.write_config()
        rc, out, err = run_check(passeur_binary(), self.proxy.config_path)
        self.assertEqual(rc, 0, err)


if __name__ == "__main__":
    main()
