"""One node per mailbox without shared state: two Passeur processes with the same config send
each of 1,000 users with no open session to the same node, and the users spread over the
nodes in proportion to their weights (within 15 %). Asked through each process's admin API
(GET /api/v1/users/USER), which answers from the same choice the sessions use."""

import http.client
import json
import os
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import MailTestCase  # noqa: E402
from harness import LOOPBACK, main  # noqa: E402

USERS = ["member%04d@example.coop" % i for i in range(1000)]
WEIGHTS = {"mail1": 1, "mail2": 2, "mail3": 1}


class UserAffinitySpreadTest(MailTestCase):
    def start(self):
        # The nodes are never contacted: no session is opened, and without checks they are up.
        nodes = [{"name": name, "address": "127.0.0.%d:%d" % (20 + i, 10143), "weight": w}
                 for i, (name, w) in enumerate(sorted(WEIGHTS.items()), 1)]
        listener = {"name": "imaps", "protocol": "imap", "tls": True, "pool": "imap"}
        return self.start_mail_proxy([listener], {"imap": {"nodes": nodes,
                                                           "proxy_protocol": "v2"}})

    @staticmethod
    def choices(proxy):
        conn = http.client.HTTPConnection(LOOPBACK, proxy.admin_port, timeout=10)
        out = {}
        for user in USERS:
            conn.request("GET", "/api/v1/users/" + user)
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200, (r.status, body)
            (pool,) = json.loads(body)["pools"]
            assert pool["reason"] == "rendezvous", pool
            out[user] = pool["node"]
        conn.close()
        return out

    def test_two_processes_agree_and_users_follow_the_weights(self):
        first, second = self.start(), self.start()
        self.assertNotEqual(first.admin_port, second.admin_port)
        a, b = self.choices(first), self.choices(second)
        self.assertEqual([u for u in USERS if a[u] != b[u]], [])
        count = Counter(a.values())
        total = sum(WEIGHTS.values())
        for name, w in WEIGHTS.items():
            expected = len(USERS) * w / total
            self.assertLess(abs(count[name] - expected), 0.15 * expected, (name, count))


if __name__ == "__main__":
    main()
