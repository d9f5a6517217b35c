"""sd_notify: with NOTIFY_SOCKET set, passeur tells its service manager READY=1 once its
listeners accept, RELOADING=1 then READY=1 around every reload (SIGHUP or the admin API, taken
or rejected), and STOPPING=1 when SIGTERM starts a graceful stop. The test plays systemd: it
owns the unix datagram socket and reads what arrives."""

import os
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import LOOPBACK, ProxyTestCase, can_connect, http, main, wait_until  # noqa: E402


class NotifySocket:
    """A unix datagram socket in the test's directory, as systemd's notify socket."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []  # every message received, each a dict of its fields

    def close(self):
        self.sock.close()

    def receive(self, timeout):
        """The next message as a dict (KEY=VALUE lines), or None after timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        fields = {}
        for line in data.decode().split("\n"):
            if line:
                k, _, v = line.partition("=")
                fields[k] = v
        self.messages.append(fields)
        return fields

    def expect(self, key, timeout=10.0):
        """Reads messages until one carries key=1; returns it. Fails on a timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            m = self.receive(max(0.0, left)) if left > 0 else None
            if m is None:
                raise AssertionError("no %s=1 within %.0fs; received %r"
                                     % (key, timeout, self.messages))
            if m.get(key) == "1":
                return m

    def nothing_within(self, timeout):
        return self.receive(timeout)


class SdNotifyTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.notify = NotifySocket(self.tmp)
        self.addCleanup(self.notify.close)
        self.a = self.start_backend("http", "node-a")
        self.b = self.start_backend("http", "node-b")
        self.proxy = self.start_passeur(
            [{"path_prefix": "/", "pool": "main"}], {"main": {"nodes": [self.a.address]}},
            wait=False, env={"NOTIFY_SOCKET": self.notify.path})

    def get_text(self):
        r = http(self.proxy.port)
        return r.status, r.text

    def test_ready_only_once_listeners_accept(self):
        ready = self.notify.expect("READY")
        # The first thing done on READY=1, as systemd would start dependent units: the
        # listener and the admin API must already accept and serve.
        self.assertEqual(self.get_text(), (200, "node-a\n"))
        self.assertEqual(http(self.proxy.admin_port, path="/healthz",
                              host="%s:%d" % (LOOPBACK, self.proxy.admin_port)).status, 200)
        self.assertEqual([m for m in self.notify.messages if m.get("READY") == "1"], [ready],
                         "READY=1 was sent more than once at start")
        self.assertIn("STATUS", ready)
        self.assertIn("1 listeners", ready["STATUS"])
        self.assertIn(self.proxy.config_path, ready["STATUS"])

    def test_sighup_reload_is_bracketed_by_reloading_and_ready(self):
        self.notify.expect("READY")
        self.proxy.write_config(pools={"main": {"nodes": [self.b.address]}})
        self.proxy.signal(signal.SIGHUP)
        reloading = self.notify.expect("RELOADING", 10)
        self.assertNotIn("READY", reloading)
        self.assertRegex(reloading.get("MONOTONIC_USEC", ""), r"^\d+$")
        ready = self.notify.expect("READY", 10)
        # READY=1 after a reload means the new config serves.
        self.assertEqual(self.get_text(), (200, "node-b\n"))
        self.assertIn("reloaded", ready.get("STATUS", ""))
        self.assertEqual(self.notify.messages[-2:], [reloading, ready])

    def test_rejected_reload_still_ends_with_ready(self):
        self.notify.expect("READY")
        self.proxy.write_config(text="[server\nbroken")
        self.proxy.signal(signal.SIGHUP)
        self.notify.expect("RELOADING", 10)
        ready = self.notify.expect("READY", 10)
        self.assertIn("rejected", ready.get("STATUS", ""))
        self.assertEqual(self.get_text(), (200, "node-a\n"))

    def test_admin_api_reload_notifies_too(self):
        self.notify.expect("READY")
        self.proxy.write_config(pools={"main": {"nodes": [self.b.address]}})
        r = http(self.proxy.admin_port, "POST", "/api/v1/reload",
                 host="%s:%d" % (LOOPBACK, self.proxy.admin_port))
        self.assertEqual(r.status, 200, r.text)
        self.notify.expect("RELOADING", 10)
        self.notify.expect("READY", 10)
        self.assertEqual(self.get_text(), (200, "node-b\n"))

    def test_sigterm_sends_stopping(self):
        self.notify.expect("READY")
        self.proxy.expect_exit = True
        self.proxy.signal(signal.SIGTERM)
        stopping = self.notify.expect("STOPPING", 10)
        self.assertIn("stopping", stopping.get("STATUS", ""))
        self.assertEqual(self.proxy.wait(10), 0)
        self.assertFalse([m for m in self.notify.messages if m.get("READY") == "1"][1:],
                         "READY=1 again during the stop")


class EarlySignalTest(ProxyTestCase):
    def test_sighup_as_soon_as_the_port_accepts_is_a_reload(self):
        # A reload asked for the moment the port accepts (before READY=1, perhaps before the
        # control thread waits for signals) is queued, not fatal.
        a = self.start_backend("http", "node-a")
        for _ in range(5):
            notify = NotifySocket(tempfile.mkdtemp(dir=self.tmp))
            self.addCleanup(notify.close)
            proxy = self.start_passeur([{"path_prefix": "/", "pool": "main"}],
                                       {"main": {"nodes": [a.address]}}, wait=False,
                                       env={"NOTIFY_SOCKET": notify.path})
            while not can_connect(proxy.port, timeout=0.2):
                self.assertTrue(proxy.alive(), proxy.stderr_text())
                time.sleep(0.001)
            proxy.signal(signal.SIGHUP)
            notify.expect("READY")
            notify.expect("RELOADING")
            notify.expect("READY")
            self.assertTrue(proxy.alive(), proxy.stderr_text())
            proxy.expect_exit = True
            self.assertEqual(proxy.stop(), 0)


class NoNotifySocketTest(ProxyTestCase):
    def test_unreachable_notify_socket_is_logged_not_fatal(self):
        a = self.start_backend("http", "node-a")
        missing = os.path.join(self.tmp, "nobody-listens.sock")
        proxy = self.start_passeur([{"path_prefix": "/", "pool": "main"}],
                                   {"main": {"nodes": [a.address]}},
                                   env={"NOTIFY_SOCKET": missing})
        wait_until(lambda: "sd_notify" in proxy.stderr_text(), 10,
                   message="the failed notification to be logged")
        self.assertEqual(http(proxy.port).text, "node-a\n")
        self.assertTrue(proxy.alive())


if __name__ == "__main__":
    main()
