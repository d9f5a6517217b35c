"""Long-lived TCP sessions to two real Dovecot nodes: least-loaded spreading (a session counts
as load while it lasts), the imap check (with its PROXY header) taking a stopped node out and
new sessions going to the other, drain keeping an IMAP IDLE session alive while new logins go
elsewhere, idle timeout, and half-close passed on with the other direction still flowing."""

import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "admin"))
from mail_support import MailTestCase, greeting_node, imap_login  # noqa: E402
from admin_support import action  # noqa: E402
from harness import can_connect, free_port, main, wait_until  # noqa: E402

# A stopped node refuses connections at once; a loaded machine can make a running Dovecot's
# greeting take over a second, which must not count as down.
CHECK = {"type": "imap", "interval": "200ms", "timeout": "3s", "rise": 1, "fall": 1}


def health_lines(proxy, node):
    return [l for l in proxy.stderr_text().splitlines()
            if " health: " in l and 'node "%s"' % node in l]


class TwoNodesTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.n1 = self.start_dovecot("node1")
        self.n2 = self.start_dovecot("node2")
        self.proxy = self.start_mail_proxy(
            [{"name": "imap", "pool": "imap"}],
            {"imap": {"nodes": [{"address": self.n1.address(self.n1.imap_proxy_port),
                                 "name": "node1"},
                                {"address": self.n2.address(self.n2.imap_proxy_port),
                                 "name": "node2"}],
                      "proxy_protocol": "v2", "check": CHECK}})
        self.sessions = []
        self.addCleanup(self.close_sessions)

    def close_sessions(self):
        for c in self.sessions:
            try:
                c.shutdown()
            except Exception:  # noqa: BLE001 - already closed
                pass

    def login(self):
        c = imap_login(self.proxy.port, context=self.starttls_context())
        self.sessions.append(c)
        return c

    def test_checks_send_proxy_header_and_long_sessions_spread(self):
        time.sleep(1.0)  # several probe rounds against haproxy=yes listeners
        self.assertEqual(health_lines(self.proxy, "node1") + health_lines(self.proxy, "node2"),
                         [], "both nodes stay up: the checks send their PROXY header")
        nodes = [greeting_node(self.login()) for _ in range(6)]
        self.assertEqual(sorted(nodes), ["node1"] * 3 + ["node2"] * 3, nodes)
        # Two of node1's sessions end: the next two go to node1.
        ones = [c for c in self.sessions if greeting_node(c) == "node1"]
        for c in ones[:2]:
            c.logout()
            self.sessions.remove(c)
        time.sleep(0.2)
        self.assertEqual([greeting_node(self.login()) for _ in range(2)], ["node1", "node1"])

    def test_stopped_node_is_taken_out_and_new_sessions_go_to_the_other(self):
        self.n1.stop()
        wait_until(lambda: any("up -> down" in l for l in health_lines(self.proxy, "node1")), 5,
                   message="node1 marked down by the imap check")
        nodes = [greeting_node(self.login()) for _ in range(5)]
        self.assertEqual(nodes, ["node2"] * 5)

    def test_drain_keeps_an_idle_session_and_sends_new_logins_elsewhere(self):
        idle = None
        for _ in range(4):
            c = self.login()
            if greeting_node(c) == "node1":
                idle = c
                break
        self.assertIsNotNone(idle, "a session on node1")
        idle.select("INBOX")
        tag = idle._new_tag().decode()
        idle.send(("%s IDLE\r\n" % tag).encode())
        self.assertTrue(idle.readline().startswith(b"+"))
        r = action(self.proxy, "imap", "node1", "drain")
        self.assertEqual(r.status, 200, r.text)
        # New logins: node2 only.
        self.assertEqual([greeting_node(self.login()) for _ in range(3)], ["node2"] * 3)
        # The IDLE session on the draining node still works: it hears of new mail.
        self.n1.deliver("while draining", b"still here\r\n")
        idle.sock.settimeout(10)
        line = idle.readline()
        while line.startswith(b"* OK Still here"):  # Dovecot's IDLE keepalive
            line = idle.readline()
        self.assertRegex(line, rb"^\* \d+ EXISTS")
        idle.send(b"DONE\r\n")
        while True:
            line = idle.readline()
            if line.startswith(tag.encode()):
                break
        self.assertIn(b"OK", line)
        typ, data = idle.search(None, "ALL")
        self.assertEqual(typ, "OK")
        idle.logout()
        self.sessions.remove(idle)


class RelayTest(MailTestCase):
    """Idle timeout and half-close, against Dovecot and a small echo-after-EOF server."""

    def test_idle_timeout_closes_and_traffic_keeps_it_open(self):
        d = self.start_dovecot("node1")
        proxy = self.start_mail_proxy(
            [{"name": "imap", "pool": "imap", "idle_timeout": "2s"}],
            {"imap": {"nodes": [d.address(d.imap_proxy_port)], "proxy_protocol": "v1"}})
        busy = imap_login(proxy.port, context=self.starttls_context())
        quiet = imap_login(proxy.port, context=self.starttls_context())
        t0 = time.monotonic()
        while time.monotonic() - t0 < 4:  # twice the idle timeout, with traffic
            self.assertEqual(busy.noop()[0], "OK")
            time.sleep(0.25)
        quiet.sock.settimeout(5)
        self.assertEqual(quiet.sock.recv(100), b"", "the quiet session was closed")
        self.assertEqual(busy.noop()[0], "OK")
        busy.logout()
        wait_until(lambda: any("close=idle_timeout" in l for l in proxy.access_lines()), 5,
                   message="idle timeout in the access log")

    def test_half_close_passes_fin_and_the_other_way_keeps_flowing(self):
        # A server that answers only after the client's FIN: the whole input, then 1 MiB.
        port = free_port()
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(8)
        self.addCleanup(srv.close)

        def answer(conn):
            data = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            time.sleep(0.3)
            try:
                conn.sendall(b"got:" + data + b"\n" + b"z" * (1024 * 1024))
            except OSError:
                pass  # the harness's readiness probe is gone already
            conn.close()

        def serve():
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        proxy = self.start_mail_proxy([{"name": "tcp", "pool": "echo"}],
                                      {"echo": {"nodes": ["127.0.0.1:%d" % port]}})
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
            s.sendall(b"hello, then FIN")
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        self.assertEqual(got, b"got:hello, then FIN\n" + b"z" * (1024 * 1024))
        wait_until(lambda: any("bytes_in=15 " in l for l in proxy.access_lines()), 5,
                   message="access line")
        line = [l for l in proxy.access_lines() if "bytes_in=15 " in l][0]
        self.assertIn("bytes_in=15 bytes_out=%d " % len(got), line)
        self.assertIn("close=client_fin", line)


    def test_node_closes_first_and_the_client_keeps_sending_bulk(self):
        # A server that greets, sends 3 MiB of a pattern and half-closes, then reads what the
        # client sends until its FIN. Short first chunks go through the relay's buffer, the
        # bulk through splice(2) after the switch; every byte is compared.
        def pat(n, seed):
            return bytes((i * 131 + seed + i // 4099) % 251 for i in range(n))

        down = b"* hello\r\n" + pat(3 * 1024 * 1024 + 11, 1)
        up = b"a1 noop\r\n" + pat(2 * 1024 * 1024 + 5, 2)
        port = free_port()
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(8)
        self.addCleanup(srv.close)
        received = []

        def answer(conn):
            try:
                conn.sendall(down[:9])
                time.sleep(0.05)
                conn.sendall(down[9:])
                conn.shutdown(socket.SHUT_WR)
                data = b""
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                received.append(data)
            except OSError:
                pass  # the harness's readiness probe
            conn.close()

        def serve():
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        proxy = self.start_mail_proxy([{"name": "tcp", "pool": "bulk"}],
                                      {"bulk": {"nodes": ["127.0.0.1:%d" % port]}})
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
            got = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break  # the node's FIN, passed on while this side still sends
                got += chunk
            self.assertEqual(len(got), len(down))
            self.assertTrue(got == down, "the download arrived intact")
            s.sendall(up)
            s.shutdown(socket.SHUT_WR)
        wait_until(lambda: any(r == up for r in received), 10, message="upload at the node")
        wait_until(lambda: any("bytes_in=%d " % len(up) in l for l in proxy.access_lines()), 5,
                   message="access line")
        line = [l for l in proxy.access_lines() if "bytes_in=%d " % len(up) in l][0]
        self.assertIn("bytes_out=%d " % len(down), line)
        self.assertIn("close=node_fin", line)


class StopReloadTest(MailTestCase):
    """SIGHUP leaves open sessions alone; SIGTERM lets them run for the grace period, then
    closes them."""

    def test_reload_keeps_sessions_and_stop_waits_for_the_grace_period(self):
        n1 = self.start_dovecot("node1")
        n2 = self.start_dovecot("node2")
        pools = {"imap": {"nodes": [{"address": n1.address(n1.imap_proxy_port),
                                     "name": "node1"}], "proxy_protocol": "v2"}}
        proxy = self.start_mail_proxy([{"name": "imap", "pool": "imap"}], pools,
                                      grace_period="2s")
        old = imap_login(proxy.port, context=self.starttls_context())
        self.assertEqual(greeting_node(old), "node1")
        # Reload: the pool now has node2 only. The open session stays on node1.
        pools["imap"]["nodes"] = [{"address": n2.address(n2.imap_proxy_port), "name": "node2"}]
        proxy.write_config(pools=pools)
        proxy.signal(signal.SIGHUP)
        wait_until(lambda: "reloaded" in proxy.stderr_text(), 5, message="reload")
        new = imap_login(proxy.port, context=self.starttls_context())
        self.assertEqual(greeting_node(new), "node2")
        new.logout()
        self.assertEqual(old.noop()[0], "OK")
        # Stop: no new connections, the open session goes on within the grace period...
        t0 = time.monotonic()
        proxy.expect_exit = True
        proxy.signal(signal.SIGTERM)
        wait_until(lambda: "stopping" in proxy.stderr_text(), 5, message="stopping")
        time.sleep(0.3)
        self.assertFalse(can_connect(proxy.port), "the listener is closed")
        self.assertEqual(old.noop()[0], "OK")
        # ...and is closed when it ends; then the process exits cleanly.
        old.sock.settimeout(5)
        self.assertEqual(old.sock.recv(100), b"")
        self.assertGreaterEqual(time.monotonic() - t0, 1.8)
        self.assertEqual(proxy.wait(10), 0)
        stopped = [l for l in proxy.access_lines() if "close=stopped" in l]
        self.assertEqual(len(stopped), 1, proxy.access_lines())


if __name__ == "__main__":
    main()
