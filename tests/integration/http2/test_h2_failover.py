"""Nodes failing or leaving under HTTP/2: a real nginx node killed (SIGKILL) while h2load sends
GETs through Passeur costs no request (idempotent requests are retried on the other node); a
node drained through the admin API while slow downloads are in flight on one h2 connection
lets them finish byte-exact, and the connection's new streams go to the other node."""

import hashlib
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "admin"))
from admin_support import action, node_state, pools  # noqa: E402
from h2_support import H2Client, H2TestCase, header_of, status_of  # noqa: E402
from harness import MiB, can_connect, main, require_tool, wait_until  # noqa: E402
from tls_support import WEBMAIL  # noqa: E402

REQUESTS = 20000
KILL_AFTER = 1500  # requests the victim has answered when it is killed

BIG = 24 * MiB
RATE = "8m"  # bytes/s per connection at the node: a download takes about 3 s


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def kill_nginx(node):
    """SIGKILL to the nginx we started and to its worker (a worker outlives a killed master).
    The master goes first: it would start a new worker in place of a killed one."""
    master = node.proc.pid
    workers = children(master)
    os.kill(master, signal.SIGKILL)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    node.proc.wait(timeout=10)


class H2FailoverTest(H2TestCase):
    def two_nodes(self, extra_server=""):
        nodes = {}
        for name in ("node-a", "node-b"):
            nodes[name] = self.start_nginx(name, extra_server=extra_server(name)
                                           if callable(extra_server) else extra_server)
        pool = {"nodes": [{"address": n.address, "name": name} for name, n in nodes.items()]}
        proxy = self.start_tls_proxy([{"path_prefix": "/", "pool": "main"}], {"main": pool})
        return nodes, proxy

    def test_node_killed_under_h2load_fails_no_request(self):
        h2load = require_tool("h2load")
        nodes, proxy = self.two_nodes()
        victim, survivor = nodes["node-a"], nodes["node-b"]
        out_path = os.path.join(self.tmp, "h2load.out")
        with open(out_path, "w") as out:
            p = subprocess.Popen([h2load, "-n", str(REQUESTS), "-c", "4", "-m", "10",
                                  "https://127.0.0.1:%d/" % proxy.port,
                                  "-H", ":authority: " + WEBMAIL],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        wait_until(lambda: victim.request_count() >= KILL_AFTER or p.poll() is not None, 60,
                   interval=0.02, message="the victim to answer %d requests" % KILL_AFTER)
        self.assertIsNone(p.poll(), "h2load ended before the node could be killed")
        kill_nginx(victim)
        # the worker's socket closes when the kernel has finished it off
        wait_until(lambda: not can_connect(victim.port), 5, interval=0.01,
                   message="the killed node to stop accepting")
        killed_at = victim.request_count()
        p.wait(timeout=120)
        with open(out_path) as f:
            text = f.read()
        sys.stderr.write("\nvictim answered %d before its kill; h2load:\n%s\n"
                         % (killed_at, "\n".join(l for l in text.splitlines()
                                                 if l.startswith(("finished", "requests",
                                                                  "status codes")))))
        self.assertEqual(p.returncode, 0, text)
        self.assertIn("Application protocol: h2", text)
        self.assertRegex(text, r"requests: %d total, %d started, %d done, %d succeeded, "
                               r"0 failed, 0 errored" % ((REQUESTS,) * 4))
        self.assertRegex(text, r"status codes: %d 2xx, 0 3xx, 0 4xx, 0 5xx" % REQUESTS)
        # Passeur logged every request as a 200 from one of the two nodes
        def logged():
            got = [re.search(r'" (\d{3}) .* node=(\S+) ', l) for l in proxy.access_lines()]
            return got if len(got) >= REQUESTS else None
        lines = wait_until(logged, 10, interval=0.1, message="the access log lines")
        self.assertEqual(len(lines), REQUESTS)
        self.assertTrue(all(lines), "access log lines without status or node")
        self.assertEqual({m.group(1) for m in lines}, {"200"})
        by_node = {}
        for m in lines:
            by_node[m.group(2)] = by_node.get(m.group(2), 0) + 1
        self.assertEqual(set(by_node), {"node-a", "node-b"}, by_node)
        # what the victim did not answer went to the survivor (up to the 40 streams that may
        # have been answered by the victim but not yet in its log when it was killed)
        self.assertGreater(REQUESTS - killed_at, 1000, "the kill came too late to matter")
        wait_until(lambda: survivor.request_count() >= by_node["node-b"], 5,
                   message="the survivor's log to catch up")
        self.assertEqual(survivor.request_count(), by_node["node-b"])
        self.assertGreaterEqual(by_node["node-b"], REQUESTS - killed_at - 40, by_node)

    def test_drain_with_streams_in_flight_on_one_connection(self):
        def slow(name):
            static = os.path.join(self.tmp, "nginx-" + name, "static")
            return ("location /slow/ { alias %s/; limit_rate_after 0; limit_rate %s; }"
                    % (static, RATE))
        nodes, proxy = self.two_nodes(slow)
        content = os.urandom(BIG)
        digest = hashlib.sha256(content).hexdigest()
        for n in nodes.values():
            with open(os.path.join(n.static_dir, "big.bin"), "wb") as f:
                f.write(content)
        del content

        c = H2Client(proxy.port, ca=self.certs.ca, timeout=30)
        self.addCleanup(c.close)

        def in_flight():
            return {n["name"]: n["in_flight"] for n in pools(proxy)["main"]["nodes"]}

        def pump_until(predicate, timeout, message):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                c.pump_once(0.05)
                got = predicate()
                if got:
                    return got
            raise AssertionError("timed out waiting for " + message)

        s1 = c.request("/slow/big.bin")
        busy = pump_until(lambda: next((k for k, v in in_flight().items() if v == 1), None), 10,
                          "the first download to be in flight on a node")
        other = "node-b" if busy == "node-a" else "node-a"
        s2 = c.request("/slow/big.bin")
        pump_until(lambda: sum(in_flight().values()) == 2, 10, "both downloads in flight")

        r = action(proxy, "main", busy, "drain")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["node"]["admin"], "draining")
        self.assertGreaterEqual(r.json["node"]["in_flight"], 1)

        # new streams on the same connection: the other node only
        answers = []
        for i in range(20):
            sid = c.request("/?i=%d" % i)
            resp = c.response(sid, timeout=10)
            self.assertEqual(status_of(resp), 200, resp)
            answers.append(bytes(resp["data"]).decode().strip())
        self.assertEqual(answers, [other] * 20, "a draining node took new streams")
        self.assertFalse(c.done(s1), "the download ended before the drain could be checked")
        state = node_state(proxy, "main", busy)
        self.assertEqual((state["usable"], state["in_flight"] >= 1), (False, True), state)

        for sid in (s1, s2):
            resp = c.response(sid, timeout=60)
            self.assertIsNone(resp["reset"], "stream %d reset: %r" % (sid, resp["reset"]))
            self.assertEqual(status_of(resp), 200)
            self.assertEqual(header_of(resp, "content-length"), str(BIG))
            self.assertEqual(len(resp["data"]), BIG)
            self.assertEqual(hashlib.sha256(resp["data"]).hexdigest(), digest,
                             "stream %d is not byte-exact" % sid)
        self.assertIsNone(c.goaway, "the connection was closed")
        # the drained node served its download and nothing else
        uris = [e["uri"] for e in nodes[busy].log_entries()]
        self.assertEqual(uris.count("/slow/big.bin"), len(uris), uris)
        self.assertGreaterEqual(len(uris), 1)
        wait_until(lambda: node_state(proxy, "main", busy)["in_flight"] == 0, 5,
                   message="the drained node to have nothing in flight")


if __name__ == "__main__":
    main()
