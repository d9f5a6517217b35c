"""A mail node that closes a session before its greeting (a stopping server whose listening
socket still takes connections into its backlog, then resets them) never saw it: the session
moves to another node, on a plain and on an implicit TLS listener, and the client sees only the
other node's greeting. A client that speaks first stays on its node."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "metrics"))
from mail_support import LOOPBACK, MAIL_NAME, MailTestCase  # noqa: E402
from harness import DyingNode, main, wait_until  # noqa: E402
from metrics_support import scrape  # noqa: E402


class UnansweredSessionTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.dovecot = self.start_dovecot("node1")

    def proxy_to(self, dying, tls):
        d = self.dovecot
        return self.start_mail_proxy(
            [{"name": "imap", "pool": "imap", "tls": tls}],
            {"imap": {"balance": "round_robin", "proxy_protocol": "v2",
                      "nodes": [{"address": dying.address, "name": "dying"},
                                {"address": d.address(d.imap_proxy_port), "name": "node1"}]}})

    def connect(self, port, tls):
        s = socket.create_connection((LOOPBACK, port), timeout=10)
        if tls:
            s = self.client_context().wrap_socket(s, server_hostname=MAIL_NAME)
        return s

    def session_on_dying_node(self, proxy, tls):
        """A client connected and waiting for its greeting from the dying node: the greeting of
        node1 comes within 0.5 s, so a client still waiting then went to the dying node."""
        for _ in range(10):
            s = self.connect(proxy.port, tls)
            got = {}
            t = threading.Thread(target=lambda: got.update(line=s.makefile("rb").readline()))
            t.start()
            t.join(0.5)
            if t.is_alive():
                return s, t, got
            self.assertIn(b"node1", got["line"])
            s.close()
        self.fail("no session went to the dying node")

    def check_moved(self, tls):
        dying = DyingNode()
        self.addCleanup(dying.close)
        proxy = self.proxy_to(dying, tls)
        s, t, got = self.session_on_dying_node(proxy, tls)
        dying.close()
        t.join(10)
        self.assertRegex(got["line"], rb"^\* OK .*node1")
        s.sendall(b"a1 LOGOUT\r\n")
        rest = s.makefile("rb").read()
        self.assertIn(b"a1 OK", rest)
        s.close()
        wait_until(lambda: scrape(proxy).total("passeur_node_connections_active", pool="imap")
                   == 0, 5, message="the session to end on both nodes")
        m = scrape(proxy)
        self.assertEqual(m.value("passeur_node_retries_total", pool="imap", node="dying"), 1)

    def test_plain_session_moves_to_another_node(self):
        self.check_moved(tls=False)

    def test_tls_session_moves_to_another_node(self):
        self.check_moved(tls=True)

    def test_client_speaking_first_stays_on_its_node(self):
        dying = DyingNode()
        self.addCleanup(dying.close)
        proxy = self.proxy_to(dying, tls=False)
        s, t, got = self.session_on_dying_node(proxy, tls=False)
        s.sendall(b"a1 CAPABILITY\r\n")  # what a client-first protocol would do
        time.sleep(0.3)  # relayed to the dying node by now
        dying.close()
        t.join(10)
        self.assertEqual(got["line"], b"", "the session ends: the node may have read the bytes")
        s.close()
        m = scrape(proxy)
        self.assertEqual(m.value("passeur_node_retries_total", pool="imap", node="dying"), 0)


if __name__ == "__main__":
    main()
