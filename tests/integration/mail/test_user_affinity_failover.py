"""One node per mailbox when a node stops and comes back: two real Dovecot nodes (stock
settings) serving one shared maildir behind an imaps listener whose pool has user affinity and
an imap health check. The user's IDLE session is on node A, the node the user's rendezvous
order prefers. A's Dovecot is stopped (by the pid the test started): the user's new sessions
go to node B. A is started again and its health check sees it up, while the user still has a
session open on B: new sessions still go to B, never two nodes for one mailbox. Once every
session on B is closed, the next one goes back to A. The admin API
(GET /api/v1/users/USER) names the node and the reason ("open sessions", "rendezvous") at
each step; each node's own log shows which one took each login."""

import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import PASSWORD, USER, Dovecot, ImapSsl, MailTestCase  # noqa: E402
from harness import LOOPBACK, http, main, wait_until  # noqa: E402

# Bounds of the waits; each wait ends as soon as its condition holds.
HEALTH_WAIT = 20
LOG_WAIT = 10


class SharedStoreDovecot(Dovecot):
    """A Dovecot node whose users' homes are in `store`, a directory other nodes serve too
    (the co-op's GlusterFS volume, here a local directory)."""

    def __init__(self, workdir, name, cert, key, store, ip):
        super().__init__(workdir, name, cert, key, ip=ip)
        with open(self.config_path) as f:
            conf = f.read()
        own = "home=%s/mail/%%u" % self.dir
        self.assert_in(own, conf)
        with open(self.config_path, "w") as f:
            f.write(conf.replace(own, "home=%s/%%u" % store))
        self.mail_dir = store

    @staticmethod
    def assert_in(needle, text):
        if needle not in text:
            raise AssertionError("dovecot config without %r" % needle)


class UserAffinityFailoverTest(MailTestCase):
    def setUp(self):
        super().setUp()
        store = os.path.join(self.tmp, "store")
        os.makedirs(store)
        shutil.chown(store, "nobody", "nogroup")
        self.nodes = {}
        for i in (1, 2):
            d = SharedStoreDovecot(self.tmp, "node%d" % i, self.leaf.cert, self.leaf.key, store,
                                   "127.0.0.%d" % (40 + i))
            self.addCleanup(d.stop)
            self.nodes[d.name] = d.start()
        self.listener = {"name": "imaps", "protocol": "imap", "tls": True, "pool": "mail"}
        nodes = [{"name": d.name, "address": d.address(d.imap_proxy_port)}
                 for d in self.nodes.values()]
        check = {"type": "imap", "interval": "200ms", "fast_interval": "200ms",
                 "down_interval": "200ms", "timeout": "1s", "rise": 1, "fall": 1}
        self.proxy = self.start_mail_proxy(
            [self.listener], {"mail": {"nodes": nodes, "proxy_protocol": "v2", "check": check}})

    # -- what Passeur says

    def admin_json(self, path):
        r = http(self.proxy.admin_port, "GET", path,
                 host="%s:%d" % (LOOPBACK, self.proxy.admin_port))
        self.assertEqual(r.status, 200, r.body)
        return json.loads(r.body)

    def where(self):
        (pool,) = self.admin_json("/api/v1/users/" + USER)["pools"]
        return pool

    def wait_where(self, node, reason, open_sessions=None):
        """Polls the admin API until it names `node` for the user, for `reason`."""
        seen = []

        def look():
            w = self.where()
            seen[:] = [w]
            return (w["node"] == node and w["reason"] == reason and
                    (open_sessions is None or w["open_sessions"] == open_sessions))
        try:
            wait_until(look, LOG_WAIT, message="user %s on %s (%s)" % (USER, node, reason))
        except AssertionError:
            raise AssertionError("admin API: %r" % seen)
        return seen[0]

    def wait_health(self, node, usable):
        def look():
            for n in self.admin_json("/api/v1/pools/mail")["nodes"]:
                if n["name"] == node:
                    return n["usable"] == usable
            return False
        wait_until(look, HEALTH_WAIT,
                   message="node %s %s" % (node, "usable" if usable else "down"))

    # -- what the nodes say

    def node_of(self, source):
        """The node whose log has the user's login from `source`."""
        needle = re.compile(r"Login: user=<%s>.*rip=%s[,\s]" % (re.escape(USER),
                                                                  re.escape(source)))
        found = []

        def look():
            found[:] = [d.name for d in self.nodes.values() if needle.search(d.log())]
            return found
        wait_until(look, LOG_WAIT, message="the login from %s in a node's log" % source)
        self.assertEqual(len(found), 1, found)
        return found[0]

    def login(self, source):
        c = ImapSsl(self.listener["port"], self.client_context(), source=source)
        typ, _ = c.login(USER, PASSWORD)
        self.assertEqual(typ, "OK")
        typ, _ = c.select("INBOX")
        self.assertEqual(typ, "OK")
        return c

    @staticmethod
    def idle(c):
        """Puts an imaplib client in IDLE (RFC 2177): the session stays open, silent."""
        c.send(c._new_tag() + b" IDLE\r\n")
        line = c.readline()
        if not line.startswith(b"+"):
            raise AssertionError("IDLE answered %r" % line)

    @staticmethod
    def closed(c):
        """Whether the session ends (after Dovecot's "* BYE Server shutting down.")."""
        try:
            for _ in range(10):
                if c.readline() == b"":
                    return True
            return False
        finally:
            c.shutdown()

    def test_a_stopped_node_moves_the_user_and_gets_them_back_after_their_sessions(self):
        first = self.where()
        self.assertEqual(first["reason"], "rendezvous")
        a = first["node"]
        b = next(name for name in self.nodes if name != a)
        self.assertEqual([n["node"] for n in first["order"]], [a, b])

        # The user's session on A, idle.
        s1 = self.login("127.0.0.31")
        self.assertEqual(self.node_of("127.0.0.31"), a)
        self.idle(s1)
        self.wait_where(a, "open sessions", open_sessions=1)

        # A stops: its health check sees it down, the IDLE session is gone with it, the user's
        # next session goes to B.
        self.nodes[a].stop()
        self.wait_health(a, False)
        self.assertTrue(self.closed(s1), "the IDLE session outlived its node")
        self.wait_where(b, "rendezvous", open_sessions=0)
        s2 = self.login("127.0.0.32")
        self.assertEqual(self.node_of("127.0.0.32"), b)
        self.idle(s2)
        self.wait_where(b, "open sessions", open_sessions=1)

        # A comes back while the user has a session on B: the user stays on B.
        self.nodes[a].start()
        self.wait_health(a, True)
        self.assertEqual(self.where()["order"][0]["node"], a)
        self.wait_where(b, "open sessions", open_sessions=1)
        s3 = self.login("127.0.0.33")
        self.assertEqual(self.node_of("127.0.0.33"), b)
        self.wait_where(b, "open sessions", open_sessions=2)

        # Every session on B closed: back to A, the user's rendezvous-preferred node.
        s3.logout()
        s2.send(b"DONE\r\n")
        s2.logout()
        self.wait_where(a, "rendezvous", open_sessions=0)
        s4 = self.login("127.0.0.34")
        self.assertEqual(self.node_of("127.0.0.34"), a)
        self.wait_where(a, "open sessions", open_sessions=1)
        s4.logout()


if __name__ == "__main__":
    main()
