"""IMAP, POP3 and SMTP checks against small banner servers: a server that greets as it should
is checked politely (LOGOUT, QUIT) and stays up; one that greets wrongly is taken out with the
greeting in the log line; fixed, it comes back; a TCP check only connects."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from health_support import HealthTestCase, check, health_lines, node, wait_for_health  # noqa: E402
from harness import main, wait_until  # noqa: E402

FAST = {"interval": "200ms", "timeout": "500ms", "rise": 1, "fall": 1}


class MailCheckTest(HealthTestCase):
    def proxy_with(self, pools):
        """An HTTP route for the harness's listener, and the mail pools beside it (checked,
        not routed)."""
        web = self.start_nginx("web")
        all_pools = {"web": {"nodes": [web.address]}}
        all_pools.update(pools)
        return self.start_passeur([{"path_prefix": "/", "pool": "web"}], all_pools)

    def test_good_greetings_are_checked_politely(self):
        imap = self.start_banner("imap")
        pop3 = self.start_banner("pop3")
        smtp = self.start_banner("smtp")
        proxy = self.proxy_with({
            "imap": {"nodes": [node(imap.address, "imap1")], "check": check("imap", **FAST)},
            "pop3": {"nodes": [node(pop3.address, "pop1")], "check": check("pop3", **FAST)},
            "smtp": {"nodes": [node(smtp.address, "mx1")], "check": check("smtp", **FAST)},
        })
        for b in (imap, pop3, smtp):
            wait_until(lambda: b.connections() >= 3, 5, message=b.protocol + " probes")
        time.sleep(0.3)  # the last dialogue ends
        self.assertEqual(health_lines(proxy, "imap1") + health_lines(proxy, "pop1") +
                         health_lines(proxy, "mx1"), [], "no state change: all stay up")
        self.assertEqual(set(imap.commands()), {"a1 LOGOUT"})
        self.assertEqual(set(pop3.commands()), {"QUIT"})
        cmds = smtp.commands()
        self.assertEqual(set(cmds), {"EHLO passeur", "QUIT"})
        self.assertEqual(cmds[:2], ["EHLO passeur", "QUIT"])

    def test_bad_greetings_take_nodes_out(self):
        imap = self.start_banner("imap", greeting="* BYE Too many connections")
        pop3 = self.start_banner("pop3", greeting="-ERR [SYS/TEMP] try later")
        smtp = self.start_banner("smtp", greeting="554 5.3.2 mx.example.test No service")
        ehlo = self.start_banner("smtp", ehlo_reply="421 4.3.2 Shutting down")
        proxy = self.proxy_with({
            "imap": {"nodes": [node(imap.address, "imap1")], "check": check("imap", **FAST)},
            "pop3": {"nodes": [node(pop3.address, "pop1")], "check": check("pop3", **FAST)},
            "smtp": {"nodes": [node(smtp.address, "mx1"), node(ehlo.address, "mx2")],
                     "check": check("smtp", **FAST)},
        })
        line, _ = wait_for_health(proxy, "imap1", "up -> down", 3)
        self.assertIn("no * OK greeting: * BYE Too many connections", line)
        line, _ = wait_for_health(proxy, "pop1", "up -> down", 3)
        self.assertIn("no +OK greeting: -ERR [SYS/TEMP] try later", line)
        line, _ = wait_for_health(proxy, "mx1", "up -> down", 3)
        self.assertIn("no 220 greeting: 554 5.3.2 mx.example.test No service", line)
        line, _ = wait_for_health(proxy, "mx2", "up -> down", 3)
        self.assertIn("EHLO answered: 421 4.3.2 Shutting down", line)

        # Dovecot comes back to its senses on the same port.
        imap.stop()
        fixed = self.start_banner("imap", port=imap.port)
        line, _ = wait_for_health(proxy, "imap1", "down -> up", 3)
        self.assertIn("health check passed 1 time in a row: IMAP * OK", line)
        self.assertIn("a1 LOGOUT", fixed.commands())

    def test_silent_server_times_out_and_tcp_check_only_connects(self):
        silent = self.start_backend("blackhole", "silent")  # accepts, never speaks
        proxy = self.proxy_with({
            "imap": {"nodes": [node(silent.address, "mute")],
                     "check": check("imap", interval="200ms", timeout="300ms", fall=1)},
            "tcp": {"nodes": [node(silent.address, "tcp1")],
                    "check": check("tcp", interval="200ms", timeout="300ms", fall=1)},
        })
        line, _ = wait_for_health(proxy, "mute", "up -> down", 3)
        self.assertIn("timeout while waiting for the greeting", line)
        time.sleep(0.6)
        self.assertEqual(health_lines(proxy, "tcp1"), [], "a connect is all a tcp check needs")


if __name__ == "__main__":
    main()
