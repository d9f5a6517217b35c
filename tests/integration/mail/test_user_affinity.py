"""One node per mailbox: an IMAP listener's pool has user affinity unless it says otherwise.
Three real Dovecot nodes (stock settings, told apart by their loopback address and their own
logs) behind an imap listener: a user's sessions from three client addresses land on the node
of their first while it is open; users without open sessions spread over the nodes in their
rendezvous order; a user whose node refuses connections goes to the next one of their order;
`passeur ctl where USER` names the node and why; a pop3 listener's pool of the same machines
sends the user's POP3 session to the node of their open IMAP sessions."""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import PASSWORD, USER, ImapSsl, MailTestCase, Pop3Ssl  # noqa: E402
from harness import LOOPBACK, free_port, http, main, wait_until  # noqa: E402

USERS = [("member%d" % i, "pw%d" % i) for i in range(1, 31)]


class UserAffinityTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.nodes = [self.start_dovecot("node%d" % i, ip="127.0.0.%d" % (10 + i), users=USERS)
                      for i in (1, 2, 3)]
        self.listener = {"name": "imaps", "protocol": "imap", "tls": True, "pool": "mail"}
        self.pop3s = {"name": "pop3s", "protocol": "pop3", "tls": True, "pool": "pop3"}
        nodes = [{"name": d.name, "address": d.address(d.imap_proxy_port)} for d in self.nodes]
        # Nothing listens there: connects are refused.
        nodes.append({"name": "dead", "address": "127.0.0.14:%d" % free_port()})
        # The same machines' POP3 listeners, named otherwise: a node is its IP address.
        pop3_nodes = [{"name": "pop3-" + d.name, "address": d.address(d.pop3_proxy_port)}
                      for d in self.nodes]
        self.proxy = self.start_mail_proxy(
            [self.listener, self.pop3s],
            {"mail": {"nodes": nodes, "proxy_protocol": "v2"},
             "pop3": {"nodes": pop3_nodes, "proxy_protocol": "v2"}})

    def login(self, user, password, source):
        c = ImapSsl(self.listener["port"], self.client_context(), source=source)
        typ, _ = c.login(user, password)
        self.assertEqual(typ, "OK")
        return c

    def node_of(self, user, source):
        """The name of the Dovecot node that logged the user's login from `source`."""
        needle = re.compile(r"Login: user=<%s>.*rip=%s[,\s]" % (re.escape(user),
                                                                  re.escape(source)))
        found = []

        def look():
            found[:] = [d.name for d in self.nodes if needle.search(d.log())]
            return found
        wait_until(look, 10, message="the login of %s from %s in a node's log" % (user, source))
        self.assertEqual(len(found), 1, found)
        return found[0]

    def where(self, user):
        return self.ctl("where", user)

    def ctl(self, *args):
        p = subprocess.run([self.proxy.binary, "ctl", "--admin",
                            "%s:%d" % (LOOPBACK, self.proxy.admin_port)] + list(args),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def admin_json(self, path):
        r = http(self.proxy.admin_port, "GET", path,
                 host="%s:%d" % (LOOPBACK, self.proxy.admin_port))
        self.assertEqual(r.status, 200, r.body)
        return json.loads(r.body)

    def predicted(self, user):
        m = re.search(r'pool "mail": user "%s" would get node "(\w+)" .*: rendezvous' % user,
                      self.where(user))
        self.assertTrue(m, user)
        return m.group(1)

    def test_a_users_sessions_share_one_node_while_open(self):
        expected = self.predicted(USER)
        clients = [self.login(USER, PASSWORD, "127.0.0.2")]
        if expected == "dead":
            expected = self.node_of(USER, "127.0.0.2")
        self.assertEqual(self.node_of(USER, "127.0.0.2"), expected)
        for source in ("127.0.0.3", "127.0.0.4"):
            clients.append(self.login(USER, PASSWORD, source))
            self.assertEqual(self.node_of(USER, source), expected)
        out = self.where("Alice")  # user names are compared lower-cased
        self.assertRegex(out, r'user "alice" is on node "%s" \(127\.0\.0\.\d+:\d+\): open '
                         r'sessions, 3 open session\(s\)' % expected)
        self.assertIn("ORDER", out)
        # A drain says which users it waits for; the node keeps their sessions, gets no new one.
        drained = self.ctl("drain", "mail", expected)
        self.assertRegex(drained, r'node "%s": now draining, .*1 mail user with 3 open '
                         r'sessions \(alice\)' % expected)
        status = self.admin_json("/status.json")
        row = next(n for p in status["pools"] if p["name"] == "mail" for n in p["nodes"]
                   if n[0] == expected)
        self.assertEqual(row[status["node_fields"].index("mail_users")], 1)
        node = next(n for n in self.admin_json("/api/v1/pools/mail")["nodes"]
                    if n["name"] == expected)
        self.assertEqual((node["mail_users"], node["mail_sessions"], node["mail_user_names"]),
                         (1, 3, ["alice"]))
        clients.append(self.login(USER, PASSWORD, "127.0.0.5"))
        self.assertNotEqual(self.node_of(USER, "127.0.0.5"), expected)
        self.ctl("ready", "mail", expected)
        for c in clients:
            c.logout()
        wait_until(lambda: len(self.sessions_from(self.proxy, "127.0.0.2")) == 1, 10,
                   message="the session's end")

    def test_users_without_open_sessions_spread_over_the_nodes(self):
        source = "127.0.0.5"
        seen = {}
        for n, (user, password) in enumerate(USERS[:9], 1):
            predicted = self.predicted(user)
            c = self.login(user, password, source)
            seen[user] = self.node_of(user, source)
            if predicted != "dead":
                self.assertEqual(seen[user], predicted, user)
            c.logout()
            wait_until(lambda: len(self.sessions_from(self.proxy, source)) == n, 10,
                       message="the session's end")
        self.assertGreaterEqual(len(set(seen.values())), 2, seen)

    def test_a_refused_connect_moves_the_user_to_the_next_node(self):
        users = [(u, p) for u, p in USERS if self.predicted(u) == "dead"]
        self.assertTrue(users, "no user has the refusing node first")
        user, password = users[0]
        order = re.findall(r"^\s+\d+\s+(\w+)\s", self.where(user), re.M)
        self.assertEqual(order[0], "dead")
        c = self.login(user, password, "127.0.0.6")
        self.assertEqual(self.node_of(user, "127.0.0.6"), order[1])
        self.assertRegex(self.where(user), r'user "%s" is on node "%s"' % (user, order[1]))
        c.logout()

    def test_a_pop3_session_goes_to_the_node_of_the_users_imap_sessions(self):
        # Users whose POP3 rendezvous order differs from their IMAP one would tell a table
        # keyed by pool apart from one keyed by machine; a user of each kind is enough.
        imap = self.login(USER, PASSWORD, "127.0.0.7")
        node = self.node_of(USER, "127.0.0.7")
        for n, source in enumerate(("127.0.0.8", "127.0.0.9")):
            c = Pop3Ssl(self.pop3s["port"], self.client_context(), source=source)
            c.user(USER)
            self.assertTrue(c.pass_(PASSWORD).startswith(b"+OK"))
            self.assertEqual(self.node_of(USER, source), node)
            c.quit()
        self.assertRegex(self.where(USER), r'pool "pop3": user "alice" is on node "pop3-%s"'
                         % node)
        imap.logout()


if __name__ == "__main__":
    main()
